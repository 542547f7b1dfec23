package web

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// clock is a settable time for the store.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newStore(t *testing.T) (Store, *clock) {
	t.Helper()
	dir := t.TempDir()
	c := &clock{t: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)}
	s := Store{UsersFile: filepath.Join(dir, "etc", "users"), Dir: filepath.Join(dir, "state"), Now: c.now}
	for name, r := range map[string]Role{"alice": Admin, "olga": Operator, "vic": Viewer} {
		if err := s.SetUser(name, r); err != nil {
			t.Fatal(err)
		}
	}
	return s, c
}

func TestLink(t *testing.T) {
	tests := []struct {
		name    string
		user    string
		wait    time.Duration
		twice   bool   // redeem once before
		mangle  string // redeem this instead
		remove  bool   // the user is removed after the link was made
		wantErr error
		newErr  error
	}{
		{name: "fresh link logs in", user: "alice"},
		{name: "just before expiry", user: "vic", wait: LinkTTL - time.Second},
		{name: "expired", user: "alice", wait: LinkTTL, wantErr: ErrBadLink},
		{name: "second use refused", user: "alice", twice: true, wantErr: ErrBadLink},
		{name: "unknown token", user: "alice", mangle: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", wantErr: ErrBadLink},
		{name: "empty token", user: "alice", mangle: "", wantErr: ErrBadLink},
		{name: "path in token", user: "alice", mangle: "../users", wantErr: ErrBadLink},
		{name: "user removed since", user: "olga", remove: true, wantErr: ErrBadLink},
		{name: "unknown user gets no link", user: "mallory", newErr: ErrNoUser},
		{name: "invalid user gets no link", user: "<img>", newErr: ErrNoUser},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := newStore(t)
			tok, err := s.NewLink(tt.user)
			if tt.newErr != nil {
				if !errors.Is(err, tt.newErr) {
					t.Fatalf("NewLink(%q) = %v, want %v", tt.user, err, tt.newErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.twice {
				if _, _, err := s.Redeem(tok); err != nil {
					t.Fatalf("first use: %v", err)
				}
			}
			if tt.remove {
				if err := s.SetUser(tt.user, NoRole); err != nil {
					t.Fatal(err)
				}
			}
			c.t = c.t.Add(tt.wait)
			use := tok
			if tt.mangle != "" || tt.name == "empty token" {
				use = tt.mangle
			}
			sid, sess, err := s.Redeem(use)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Redeem = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				return
			}
			if sess.User != tt.user || sid == "" || sess.CSRF == "" || sid == sess.CSRF {
				t.Fatalf("session %+v sid %q", sess, sid)
			}
			got, err := s.Session(sid)
			if err != nil || got.User != tt.user || got.CSRF != sess.CSRF {
				t.Fatalf("Session = %+v, %v", got, err)
			}
		})
	}
}

func TestTokensNotStored(t *testing.T) {
	s, _ := newStore(t)
	tok, err := s.NewLink("alice")
	if err != nil {
		t.Fatal(err)
	}
	sid, _, err := s.Redeem(tok)
	if err != nil {
		t.Fatal(err)
	}
	// Whoever reads the store's directory finds hashes, not tokens.
	for _, kind := range []string{"links", "sessions"} {
		ents, _ := os.ReadDir(filepath.Join(s.Dir, kind))
		for _, e := range ents {
			data, _ := os.ReadFile(filepath.Join(s.Dir, kind, e.Name()))
			if e.Name() == tok || e.Name() == sid || string(data) == tok {
				t.Fatalf("%s/%s holds a token", kind, e.Name())
			}
			if st, _ := e.Info(); st.Mode().Perm() != 0o600 {
				t.Errorf("%s/%s mode %v, want 0600", kind, e.Name(), st.Mode().Perm())
			}
		}
	}
}

func TestSession(t *testing.T) {
	tests := []struct {
		name    string
		wait    time.Duration
		logout  bool
		role    Role // changed to this after login; NoRole removes
		change  bool
		wantErr error
		want    Role
	}{
		{name: "valid", want: Operator},
		{name: "expired", wait: SessionTTL, wantErr: ErrNoSession},
		{name: "logged out", logout: true, wantErr: ErrNoSession},
		{name: "role lowered ends it", change: true, role: Viewer, wantErr: ErrNoSession},
		{name: "user removed", change: true, role: NoRole, wantErr: ErrNoSession},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := newStore(t)
			tok, _ := s.NewLink("olga")
			sid, _, err := s.Redeem(tok)
			if err != nil {
				t.Fatal(err)
			}
			if tt.change {
				if err := s.SetUser("olga", tt.role); err != nil {
					t.Fatal(err)
				}
			}
			if tt.logout {
				s.Logout(sid)
			}
			c.t = c.t.Add(tt.wait)
			sess, err := s.Session(sid)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Session = %v, want %v", err, tt.wantErr)
			}
			if err == nil && sess.Role != tt.want {
				t.Fatalf("role %v, want %v", sess.Role, tt.want)
			}
		})
	}
}

func TestCSRFAndRoles(t *testing.T) {
	sess := Session{User: "olga", Role: Operator, CSRF: "tok123"}
	for _, tt := range []struct {
		got  string
		want error
	}{{"tok123", nil}, {"", ErrBadCSRF}, {"tok12", ErrBadCSRF}, {"tok1234", ErrBadCSRF}, {"TOK123", ErrBadCSRF}} {
		if err := sess.CheckCSRF(tt.got); !errors.Is(err, tt.want) {
			t.Errorf("CheckCSRF(%q) = %v, want %v", tt.got, err, tt.want)
		}
	}
	for _, tt := range []struct {
		role, need Role
		ok         bool
	}{
		{Admin, Admin, true}, {Admin, Operator, true}, {Admin, Viewer, true},
		{Operator, Admin, false}, {Operator, Operator, true}, {Operator, Viewer, true},
		{Viewer, Admin, false}, {Viewer, Operator, false}, {Viewer, Viewer, true},
		{NoRole, Viewer, false},
	} {
		if got := (Session{Role: tt.role}).Allows(tt.need); got != tt.ok {
			t.Errorf("%v allows %v = %v, want %v", tt.role, tt.need, got, tt.ok)
		}
	}
}

func TestUsers(t *testing.T) {
	s, _ := newStore(t)
	for _, tt := range []struct {
		name string
		role string
		ok   bool
	}{
		{"bob", "viewer", true}, {"bob", "root", false}, {"Bob", "viewer", false},
		{"b<b>", "viewer", false}, {"", "admin", false}, {"a-b_9", "operator", true},
	} {
		r, err := ParseRole(tt.role)
		if err == nil {
			err = s.SetUser(tt.name, r)
		}
		if (err == nil) != tt.ok {
			t.Errorf("add %q --role %s: %v, want ok=%v", tt.name, tt.role, err, tt.ok)
		}
	}
	if err := os.WriteFile(s.UsersFile, []byte("alice superuser\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Users(); err == nil {
		t.Error("a bad role in the users file was accepted")
	}
}

// TestUserChangeEndsSessions: a user removed or given another role loses
// the sessions and links it had; the others keep theirs.
func TestUserChangeEndsSessions(t *testing.T) {
	for _, role := range []Role{NoRole, Operator, Admin} {
		st, _ := newStore(t)
		login := func(user string) (sid, link string) {
			t.Helper()
			tok, err := st.NewLink(user)
			if err != nil {
				t.Fatal(err)
			}
			sid, _, err = st.Redeem(tok)
			if err != nil {
				t.Fatal(err)
			}
			link, err = st.NewLink(user)
			if err != nil {
				t.Fatal(err)
			}
			return sid, link
		}
		vsid, vlink := login("vic")
		asid, alink := login("alice")
		if err := st.SetUser("vic", role); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Session(vsid); err == nil {
			t.Errorf("vic made %v: the session lives on", role)
		}
		if _, _, err := st.Redeem(vlink); err == nil {
			t.Errorf("vic made %v: the link still logs in", role)
		}
		if _, err := st.Session(asid); err != nil {
			t.Errorf("vic made %v: alice's session ended: %v", role, err)
		}
		if _, _, err := st.Redeem(alink); err != nil {
			t.Errorf("vic made %v: alice's link refused: %v", role, err)
		}
	}
	// The same role again ends nothing.
	st, _ := newStore(t)
	tok, _ := st.NewLink("vic")
	sid, _, _ := st.Redeem(tok)
	if err := st.SetUser("vic", Viewer); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Session(sid); err != nil {
		t.Errorf("vic kept viewer: %v", err)
	}
}
