package web

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/termsafe"
	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/layout"
)

//go:embed assets/*.html assets/*.js assets/*.css
var assets embed.FS

// cookieName is the session cookie over plain HTTP (an SSH tunnel).
const cookieName = "left4me_session"

// secureCookieName is the session cookie under TLS: __Host- makes the
// browser refuse it unless Secure, Path=/ and no Domain, so no other
// host of the domain, nor plain HTTP, can set or shadow it.
const secureCookieName = "__Host-left4me_session"

// csp allows nothing but this origin's own script, style and fetches: no
// inline script, no third party, no framing.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Server is the panel. Every action goes through Run, the CLI's own
// command tree (left4me ARGS...), so its rules hold here too.
type Server struct {
	Store Store
	// Log is the journal (the service's stderr): each change with the
	// user's name.
	Log io.Writer
	// TLS: the browser reaches the panel over HTTPS (its own certificate,
	// or a reverse proxy's: web serve --url https://...). The cookie is
	// then Secure and __Host-, and HSTS is sent.
	TLS bool
	// Hosts are the Host headers served (lower case, with the port a
	// browser sends); any other is refused, so a name rebound to
	// 127.0.0.1 (DNS rebinding) reaches nothing. Empty: all.
	Hosts []string
	// Run runs one left4me command line (without the program's name).
	Run func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	// Attach copies what NAME's server prints to out until ctx ends
	// (left4me console NAME, typing nothing).
	Attach func(ctx context.Context, name string, out io.Writer) error
	// SaveSpec replaces NAME's spec atomically and reloads systemd.
	SaveSpec func(ctx context.Context, name string, data []byte, out io.Writer) error
	// RenderSpec shows what a start would do with data as NAME's spec,
	// not saved (left4me render NAME --spec -).
	RenderSpec func(ctx context.Context, name string, data []byte, out io.Writer) error
	SpecPath   func(name string) string
	SpecDir    string
	// JudgeSpec judges data as NAME's spec as saving it would (with the
	// other specs, the ports running servers hold, the host's ceilings);
	// nil: the ports against the other specs only.
	JudgeSpec func(name, path string, data []byte) error

	once sync.Once
	tmpl *template.Template
	mu   sync.Mutex
	jobs map[string][]*job // per instance, newest last
	live liveShare         // the instances, shared by live refreshes
	// streams counts the console streams open, per user.
	streams map[string]int
}

// job is an action started from the panel, shown on the instance's page.
type job struct {
	User, What string
	Started    time.Time
	Done       bool
	Failed     bool
	Output     string
	Cancelled  string // who cancelled it
	cancel     context.CancelFunc
}

func (s *Server) init() {
	s.once.Do(func() {
		s.tmpl = template.Must(template.New("").Funcs(template.FuncMap{
			"join": strings.Join,
		}).ParseFS(assets, "assets/*.html"))
		s.jobs = map[string][]*job{}
		s.streams = map[string]int{}
	})
}

// Handler is the panel's routes, each with the role it needs.
func (s *Server) Handler() http.Handler {
	s.init()
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "assets")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /login", s.loginForm)
	mux.HandleFunc("POST /login", s.login)
	mux.Handle("POST /logout", s.need(Viewer, s.logout))
	mux.Handle("GET /{$}", s.need(Viewer, s.instancesPage))
	mux.Handle("GET /fragment/instances", s.need(Viewer, s.instancesRows))
	mux.Handle("GET /i/{name}", s.need(Viewer, s.instancePage))
	mux.Handle("GET /i/{name}/live", s.need(Viewer, s.instanceLive))
	// The console's output is the operator's, as its input (left4me
	// console: root and left4me-admin only).
	mux.Handle("GET /i/{name}/stream", s.need(Operator, s.stream))
	mux.Handle("POST /i/{name}/action", s.need(Operator, s.action))
	mux.Handle("POST /i/{name}/console", s.need(Operator, s.console))
	mux.Handle("POST /i/{name}/cancel", s.need(Operator, s.cancel(func(r *http.Request) string { return instanceKey(r.PathValue("name")) })))
	// Specs are root's 0640: they may hold an RCON password.
	mux.Handle("GET /spec/{name}", s.need(Admin, s.specPage))
	mux.Handle("POST /spec/{name}/check", s.need(Admin, s.specCheck))
	mux.Handle("POST /spec/{name}/expose", s.need(Admin, s.specExpose))
	mux.Handle("POST /spec/{name}/save", s.need(Admin, s.specSave))
	mux.Handle("POST /spec/{name}/render", s.need(Admin, s.specRenderText))
	mux.Handle("GET /overlays", s.need(Viewer, s.opsPage("overlays", "Overlays")))
	mux.Handle("GET /overlays/live", s.need(Viewer, s.opsLive("overlays")))
	mux.Handle("POST /overlays", s.need(Admin, s.opsAction("overlays")))
	mux.Handle("POST /overlays/cancel", s.need(Admin, s.cancel(func(*http.Request) string { return "overlays" })))
	mux.Handle("GET /game", s.need(Viewer, s.opsPage("game", "Game")))
	mux.Handle("GET /game/live", s.need(Viewer, s.opsLive("game")))
	mux.Handle("POST /game", s.need(Admin, s.opsAction("game")))
	mux.Handle("POST /game/cancel", s.need(Admin, s.cancel(func(*http.Request) string { return "game" })))
	mux.Handle("GET /backups", s.need(Viewer, s.backupsPage))
	mux.Handle("GET /dayops", s.need(Viewer, s.dayopsPage))
	mux.Handle("POST /dayops/alert-test", s.need(Admin, s.alertTest))
	return s.headers(mux)
}

// cookie is the session cookie's name.
func (s *Server) cookie() string {
	if s.TLS {
		return secureCookieName
	}
	return cookieName
}

// headers sets what every answer carries.
func (s *Server) headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		if len(s.Hosts) > 0 && !slices.Contains(s.Hosts, strings.ToLower(r.Host)) {
			fmt.Fprintf(s.Log, "web: refused %s %q for host %q\n", termsafe.Line(r.Method), r.URL.Path, r.Host)
			http.Error(w, fmt.Sprintf("this is not the panel of %q (web serve --url names the panel's address)", r.Host), http.StatusMisdirectedRequest)
			return
		}
		if s.TLS {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		// Not no-referrer: under it a browser sends Origin null with
		// every form it posts, which sameOrigin refuses. No token is in
		// a URL (the login link's is in the fragment).
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Cache-Control", "no-store")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

// need admits a request with a session whose role includes role; a
// change (any method but GET) also needs the session's CSRF token and, when
// the browser names it, this origin.
func (s *Server) need(role Role, h func(http.ResponseWriter, *http.Request, Session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var sess Session
		c, err := r.Cookie(s.cookie())
		if err == nil {
			sess, err = s.Store.Session(c.Value)
		}
		if errors.Is(err, ErrUsersFile) {
			s.usersFileBroken(w, err)
			return
		}
		if err != nil {
			if r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/fragment/") && !strings.HasSuffix(r.URL.Path, "/live") && !strings.HasSuffix(r.URL.Path, "/stream") {
				s.page(w, http.StatusUnauthorized, "message", pageData{Title: "Not logged in",
					Message: "Log in with a link from `left4me web login NAME` on the host."})
				return
			}
			http.Error(w, "not logged in", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodGet {
			if !readForm(w, r) {
				return
			}
			if err := s.sameOrigin(r); err != nil {
				s.logf(sess, "refused %s %s: %v", r.Method, r.URL.Path, err)
				http.Error(w, err.Error(), http.StatusForbidden)
				return
			}
			if err := sess.CheckCSRF(csrfOf(r)); err != nil {
				s.logf(sess, "refused %s %s: %v", r.Method, r.URL.Path, err)
				http.Error(w, err.Error(), http.StatusForbidden)
				return
			}
		}
		if !sess.Allows(role) {
			if r.Method != http.MethodGet {
				s.logf(sess, "refused %s %s: needs role %s", r.Method, r.URL.Path, role)
			}
			http.Error(w, fmt.Sprintf("%v: %s needs the role %s; you are %s", ErrForbidden, r.URL.Path, role, sess.Role), http.StatusForbidden)
			return
		}
		if name := r.PathValue("name"); name != "" {
			if err := layout.ValidateName(name); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
		h(w, r, sess)
	})
}

func csrfOf(r *http.Request) string {
	if t := r.Header.Get("X-CSRF-Token"); t != "" {
		return t
	}
	return r.PostFormValue("csrf")
}

// maxForm bounds a change's form; a spec's (its text) may be larger.
const maxForm = 64 << 10

// readForm reads a change's form before anything else reads the body:
// a form (what the pages and app.js send) and no more than maxForm. It
// answers the refusal itself.
func readForm(w http.ResponseWriter, r *http.Request) bool {
	limit := int64(maxForm)
	if strings.HasPrefix(r.URL.Path, "/spec/") {
		limit = spec.MaxSpecSize + maxForm
	}
	return readFormMax(w, r, limit)
}

func readFormMax(w http.ResponseWriter, r *http.Request, limit int64) bool {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		http.Error(w, "a form (application/x-www-form-urlencoded) only", http.StatusUnsupportedMediaType)
		return false
	}
	if err := r.ParseForm(); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			http.Error(w, fmt.Sprintf("request larger than %d bytes", limit), http.StatusRequestEntityTooLarge)
			return false
		}
		http.Error(w, "unreadable form: "+err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

// sameOrigin refuses a change that a browser says comes from elsewhere:
// Sec-Fetch-Site (when sent) other than same-origin or none (typed, a
// bookmark), an Origin naming another host than the one it was sent to,
// or Origin null (a sandboxed frame, a data: page: an origin that hides
// itself).
func (s *Server) sameOrigin(r *http.Request) error {
	if sfs := r.Header.Get("Sec-Fetch-Site"); sfs != "" && sfs != "same-origin" && sfs != "none" {
		return fmt.Errorf("request from another origin (Sec-Fetch-Site %q)", sfs)
	}
	o := r.Header.Get("Origin")
	if o == "null" {
		return errors.New("request from an opaque origin (Origin null)")
	}
	if o == "" {
		return nil // SameSite=Strict and the CSRF token still hold
	}
	u, err := url.Parse(o)
	// The panel's own names count too: behind a reverse proxy that sends
	// its upstream's Host (nginx's proxy_pass does), the browser's Origin
	// is the --url's.
	if err != nil || u.Host != r.Host && !slices.Contains(s.Hosts, strings.ToLower(u.Host)) {
		return fmt.Errorf("request from another origin (%q)", o)
	}
	return nil
}

// usersFileBroken answers a request that a broken users file stops: it
// names the file and line (the operator's to mend), to the browser and
// the journal.
func (s *Server) usersFileBroken(w http.ResponseWriter, err error) {
	fmt.Fprintf(s.Log, "web: %s\n", termsafe.Line(err.Error()))
	http.Error(w, err.Error()+"; mend it (left4me web user add NAME ROLE writes it)", http.StatusInternalServerError)
}

// logf puts one line in the journal, with the user's name. Its control
// characters are escaped: a request's path or form value (a decoded %0a)
// must not start a line of its own, posing as another user's action.
func (s *Server) logf(sess Session, format string, args ...any) {
	fmt.Fprintf(s.Log, "web: user %s (%s): %s\n", sess.User, sess.Role, termsafe.Line(fmt.Sprintf(format, args...)))
}

type pageData struct {
	Title   string
	Sess    Session
	Message string
	Name    string
	Data    any
}

func (s *Server) page(w http.ResponseWriter, code int, name string, d pageData) {
	var b bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&b, name, d); err != nil {
		http.Error(w, "template: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(b.Bytes())
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	// A GET never uses the link: a mail scanner or a preview that fetches
	// it would otherwise log in (and burn it); the button posts it. The
	// token is in the link's fragment, which app.js puts in the form: a
	// token in the query would be in every access log on the way.
	s.page(w, http.StatusOK, "login", pageData{Title: "Log in"})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !readFormMax(w, r, 4<<10) {
		return
	}
	// Another site must not log this browser in as someone else.
	if err := s.sameOrigin(r); err != nil {
		fmt.Fprintf(s.Log, "web: refused a login: %v\n", err)
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	sid, sess, err := s.Store.Redeem(r.PostFormValue("token"))
	if errors.Is(err, ErrUsersFile) {
		s.usersFileBroken(w, err)
		return
	}
	if err != nil {
		fmt.Fprintf(s.Log, "web: refused a login: %v\n", err)
		s.page(w, http.StatusForbidden, "message", pageData{Title: "Login refused",
			Message: "This login link is unknown, used already or expired. Ask for a new one: left4me web login NAME."})
		return
	}
	s.logf(sess, "logged in")
	http.SetCookie(w, &http.Cookie{Name: s.cookie(), Value: sid, Path: "/", HttpOnly: true, Secure: s.TLS,
		SameSite: http.SameSiteStrictMode, Expires: sess.Expires})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, sess Session) {
	if c, err := r.Cookie(s.cookie()); err == nil {
		s.Store.Logout(c.Value)
	}
	s.logf(sess, "logged out")
	http.SetCookie(w, &http.Cookie{Name: s.cookie(), Value: "", Path: "/", HttpOnly: true, Secure: s.TLS,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	s.page(w, http.StatusOK, "message", pageData{Title: "Logged out", Message: "You are logged out."})
}

// run runs a left4me command line and returns what it printed.
func (s *Server) run(ctx context.Context, args ...string) (string, error) {
	var out bytes.Buffer
	err := s.Run(ctx, args, &out, &out)
	return out.String(), err
}

// runJSON runs a command with --json and decodes its output into v.
func (s *Server) runJSON(ctx context.Context, v any, args ...string) error {
	var out, errb bytes.Buffer
	err := s.Run(ctx, args, &out, &errb)
	if jerr := json.Unmarshal(out.Bytes(), v); jerr != nil {
		return errors.Join(err, fmt.Errorf("%s: %s", strings.Join(args, " "), strings.TrimSpace(errb.String())))
	}
	return nil
}
