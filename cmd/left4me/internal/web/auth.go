// Package web is left4me's web panel (left4me web serve, socket-activated
// by left4me-web.socket): pages over the same command code the CLI runs,
// with one-time login links, sessions, CSRF tokens and roles.
package web

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart/fsat"
)

// Role is what a user may do. Each role includes the ones below it.
type Role int

// The roles, weakest first.
const (
	NoRole   Role = iota
	Viewer        // read-only
	Operator      // start/stop/restart, console
	Admin         // everything: specs, overlays, game
)

func (r Role) String() string {
	switch r {
	case Viewer:
		return "viewer"
	case Operator:
		return "operator"
	case Admin:
		return "admin"
	}
	return "none"
}

// ParseRole reads a role's name, as `left4me web user add --role` takes it.
func ParseRole(s string) (Role, error) {
	for _, r := range []Role{Viewer, Operator, Admin} {
		if s == r.String() {
			return r, nil
		}
	}
	return NoRole, fmt.Errorf("%w: role %q: must be admin, operator or viewer", ErrBadInput, s)
}

// Errors of the store.
var (
	ErrBadInput   = errors.New("invalid input")
	ErrNoUser     = errors.New("no such web user")
	ErrBadLink    = errors.New("login link unknown, used or expired")
	ErrNoSession  = errors.New("not logged in")
	ErrBadCSRF    = errors.New("missing or wrong CSRF token")
	ErrForbidden  = errors.New("not allowed for this role")
	ErrUserExists = errors.New("web user exists")
	// ErrUsersFile: the users file cannot be read (its error names the
	// file and line). No login or session is judged meanwhile, and no
	// link is used up.
	ErrUsersFile = errors.New("the panel's users file cannot be used")
)

// How long things last.
const (
	LinkTTL    = 10 * time.Minute
	SessionTTL = 12 * time.Hour
)

// Store keeps the web users (UsersFile: "NAME ROLE" lines, root's), the
// login links and the sessions (files below Dir named by the SHA-256 of
// their token, so a read of the directory gives no usable token). Every
// call reads the files: a role taken away counts at the next request, and
// sessions outlive a restart of the socket-activated server.
type Store struct {
	UsersFile string
	Dir       string
	Now       func() time.Time
}

// Session is a logged-in user.
type Session struct {
	User    string
	Role    Role
	CSRF    string
	Expires time.Time
}

// ValidUser checks a web user's name: short, lower-case, no markup.
func ValidUser(name string) error {
	if name == "" || len(name) > 32 || !(name[0] >= 'a' && name[0] <= 'z') {
		return fmt.Errorf("%w: user name %q: 1-32 characters, starting with a-z", ErrBadInput, name)
	}
	for _, c := range []byte(name) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("%w: user name %q: only a-z, 0-9, - and _", ErrBadInput, name)
		}
	}
	return nil
}

// Users returns the users and their roles.
func (s Store) Users() (map[string]Role, error) {
	data, err := os.ReadFile(s.UsersFile)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]Role{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read web users: %w", err)
	}
	out := map[string]Role{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 || ValidUser(f[0]) != nil {
			return nil, fmt.Errorf("%s:%d: want NAME ROLE", s.UsersFile, n)
		}
		r, err := ParseRole(f[1])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", s.UsersFile, n, err)
		}
		out[f[0]] = r
	}
	return out, nil
}

// SetUser adds a user or changes its role (NoRole removes it).
func (s Store) SetUser(name string, r Role) error {
	if err := ValidUser(name); err != nil {
		return err
	}
	users, err := s.Users()
	if err != nil {
		return err
	}
	old, had := users[name]
	if r == NoRole {
		if !had {
			return fmt.Errorf("%w %q", ErrNoUser, name)
		}
		delete(users, name)
	} else {
		users[name] = r
	}
	var b strings.Builder
	b.WriteString("# left4me web users: NAME ROLE (admin, operator, viewer); `left4me web user add`\n")
	names := make([]string, 0, len(users))
	for n := range users {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(&b, "%s %s\n", n, users[n])
	}
	if err := os.MkdirAll(filepath.Dir(s.UsersFile), 0o750); err != nil {
		return err
	}
	if err := fsat.WriteFile(s.UsersFile, []byte(b.String()), fsat.WriteOptions{Perm: 0o640}); err != nil {
		return err
	}
	if had && old != r {
		// Removed or given another role: what was given to the old one
		// (an open page, a link not yet used) ends with it.
		return s.endUser(name)
	}
	return nil
}

// endUser removes the login links and sessions of a user.
func (s Store) endUser(name string) error {
	var errs []error
	for _, kind := range []string{"links", "sessions"} {
		dir := filepath.Join(s.Dir, kind)
		ents, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("web store: %w", err))
		}
		for _, e := range ents {
			p := filepath.Join(dir, e.Name())
			data, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			if f := strings.Fields(string(data)); len(f) > 0 && f[0] == name {
				if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
					errs = append(errs, fmt.Errorf("web store: end a session of %s: %w", name, err))
				}
			}
		}
	}
	return errors.Join(errs...)
}

func (s Store) role(name string) (Role, error) {
	users, err := s.Users()
	if err != nil {
		return NoRole, fmt.Errorf("%w: %w", ErrUsersFile, err)
	}
	r, ok := users[name]
	if !ok {
		return NoRole, fmt.Errorf("%w %q", ErrNoUser, name)
	}
	return r, nil
}

func token() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// file is where a token's record is: its hash, never the token.
func (s Store) file(kind, tok string) string {
	h := sha256.Sum256([]byte(tok))
	return filepath.Join(s.Dir, kind, hex.EncodeToString(h[:]))
}

func (s Store) write(kind, tok, content string) error {
	dir := filepath.Join(s.Dir, kind)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("web store: %w", err)
	}
	f, err := os.OpenFile(s.file(kind, tok), os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("web store: %w", err)
	}
	_, err = f.WriteString(content)
	return errors.Join(err, f.Sync(), f.Close())
}

// read returns a record's fields; a malformed or missing one is absent.
func (s Store) read(kind, tok string) ([]string, bool) {
	if tok == "" || len(tok) > 100 {
		return nil, false
	}
	f, err := os.OpenFile(s.file(kind, tok), os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	b := make([]byte, 512)
	n, _ := f.Read(b)
	return strings.Fields(string(b[:n])), true
}

// NewLink makes a one-time login link token for user.
func (s Store) NewLink(user string) (string, error) {
	if _, err := s.role(user); err != nil {
		return "", err
	}
	tok, err := token()
	if err != nil {
		return "", err
	}
	exp := s.Now().Add(LinkTTL).Unix()
	return tok, s.write("links", tok, fmt.Sprintf("%s %d\n", user, exp))
}

// Redeem uses a login link once and starts a session. Of two requests
// with one link only the one whose unlink succeeds logs in.
func (s Store) Redeem(link string) (sid string, sess Session, err error) {
	f, ok := s.read("links", link)
	if !ok {
		return "", Session{}, ErrBadLink
	}
	// A users file that cannot be read leaves the link for later.
	var r Role
	if len(f) == 2 {
		if r, err = s.role(f[0]); errors.Is(err, ErrUsersFile) {
			return "", Session{}, err
		}
	}
	if os.Remove(s.file("links", link)) != nil {
		return "", Session{}, ErrBadLink
	}
	if len(f) != 2 || err != nil {
		return "", Session{}, ErrBadLink
	}
	exp, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || !s.Now().Before(time.Unix(exp, 0)) {
		return "", Session{}, ErrBadLink
	}
	sid, err = token()
	if err != nil {
		return "", Session{}, err
	}
	csrf, err := token()
	if err != nil {
		return "", Session{}, err
	}
	sess = Session{User: f[0], Role: r, CSRF: csrf, Expires: s.Now().Add(SessionTTL)}
	if err := s.write("sessions", sid, fmt.Sprintf("%s %d %s\n", sess.User, sess.Expires.Unix(), csrf)); err != nil {
		return "", Session{}, err
	}
	s.sweep()
	return sid, sess, nil
}

// Session returns the session of sid, with the user's current role.
func (s Store) Session(sid string) (Session, error) {
	f, ok := s.read("sessions", sid)
	if !ok || len(f) != 3 {
		return Session{}, ErrNoSession
	}
	exp, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || !s.Now().Before(time.Unix(exp, 0)) {
		_ = os.Remove(s.file("sessions", sid))
		return Session{}, ErrNoSession
	}
	r, err := s.role(f[0])
	if errors.Is(err, ErrUsersFile) {
		return Session{}, err
	}
	if err != nil {
		return Session{}, ErrNoSession // the user was removed
	}
	return Session{User: f[0], Role: r, CSRF: f[2], Expires: time.Unix(exp, 0)}, nil
}

// Logout ends a session.
func (s Store) Logout(sid string) {
	if _, ok := s.read("sessions", sid); ok {
		_ = os.Remove(s.file("sessions", sid))
	}
}

// CheckCSRF compares a request's token with the session's in constant time.
func (sess Session) CheckCSRF(got string) error {
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRF)) != 1 {
		return ErrBadCSRF
	}
	return nil
}

// Allows says whether the session's role includes need.
func (sess Session) Allows(need Role) bool { return sess.Role >= need }

// Operates says whether the session may act on servers (for the pages:
// the server checks each request with Allows).
func (sess Session) Operates() bool { return sess.Allows(Operator) }

// Administers says whether the session may build, update and cancel those.
func (sess Session) Administers() bool { return sess.Allows(Admin) }

// sweep removes expired links and sessions, so they do not pile up.
func (s Store) sweep() {
	for _, kind := range []string{"links", "sessions"} {
		ents, _ := os.ReadDir(filepath.Join(s.Dir, kind))
		for _, e := range ents {
			p := filepath.Join(s.Dir, kind, e.Name())
			data, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			f := strings.Fields(string(data))
			if len(f) < 2 {
				continue
			}
			if exp, err := strconv.ParseInt(f[1], 10, 64); err == nil && !s.Now().Before(time.Unix(exp, 0)) {
				_ = os.Remove(p)
			}
		}
	}
}
