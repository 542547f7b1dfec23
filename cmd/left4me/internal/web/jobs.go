package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/termsafe"
	"github.com/left4me/left4me/spec/layout"
)

// maxJobOutput is how much of a job's output is kept: the end of it.
const maxJobOutput = 256 << 10

// jobWriter appends a job's output as it comes, under the server's lock,
// so a page shows a build's lines while it runs.
type jobWriter struct {
	s *Server
	j *job
}

func (w jobWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	w.j.Output += string(p)
	if n := len(w.j.Output); n > maxJobOutput {
		w.j.Output = w.j.Output[n-maxJobOutput:]
	}
	return len(p), nil
}

// maxJobs bounds the instances' actions running at once: each is a
// command in this process, most of them a when-empty wait of up to
// hours that asks its server every few seconds. The overlays' and the
// game's (one each) are not counted: waits on every server of a host
// must not hold up a build or an update.
const maxJobs = 64

// keptJobs is how many finished actions a key keeps for its page;
// keptKeys, how many keys keep theirs (a stop may name any valid name,
// an instance or not): past it, those whose actions all ended longest
// ago go.
const (
	keptJobs = 5
	keptKeys = 1024
)

// Errors of the background actions.
var (
	ErrBusy    = errors.New("an action is running already")
	ErrTooMany = errors.New("too many actions are running")
	ErrNoJob   = errors.New("no action is running")
)

// instanceKey is the job key of instance name: apart from "overlays" and
// "game" (an instance may have either name), and from each other.
func instanceKey(name string) string { return "i/" + name }

func isInstanceKey(key string) bool { return strings.HasPrefix(key, "i/") }

// keyName is what a key names, for messages.
func keyName(key string) string { return strings.TrimPrefix(key, "i/") }

// startJob runs a left4me command line in the background, logged with
// the user's name, its output kept under key (instanceKey, "overlays",
// "game") for the pages. One runs per key at a time, maxJobs of the
// instances' in all. The
// returned channel closes when it ends.
func (s *Server) startJob(key string, sess Session, args []string) (<-chan struct{}, error) {
	cmd := strings.Join(args, " ")
	// Not the request's context: a when-empty stop or a build outlives it.
	ctx, cancel := context.WithTimeout(context.Background(), maxDeadline+time.Hour)
	j := &job{User: sess.User, What: cmd, Started: time.Now(), cancel: cancel}
	s.mu.Lock()
	running := 0
	for k, js := range s.jobs {
		for _, o := range js {
			if o.Done {
				continue
			}
			if isInstanceKey(k) {
				running++
			}
			if k == key {
				s.mu.Unlock()
				cancel()
				return nil, fmt.Errorf("%w for %s: left4me %s, started by %s at %s; wait for it or cancel it",
					ErrBusy, keyName(key), o.What, o.User, o.Started.Format("15:04:05"))
			}
		}
	}
	if isInstanceKey(key) && running >= maxJobs {
		s.mu.Unlock()
		cancel()
		return nil, fmt.Errorf("%w (%d); try again when one has ended", ErrTooMany, running)
	}
	s.jobs[key] = append(s.jobs[key], j)
	s.prune(key)
	s.pruneKeys()
	s.mu.Unlock()
	s.live.outdated()
	s.logf(sess, "left4me %s", cmd)
	done := make(chan struct{})
	go func() {
		defer cancel()
		defer close(done)
		w := jobWriter{s, j}
		err := s.Run(ctx, args, w, w)
		if err != nil {
			fmt.Fprintln(w, err)
		}
		s.mu.Lock()
		j.Done, j.Failed = true, err != nil
		s.mu.Unlock()
		s.live.outdated()
		result := "done"
		if err != nil {
			result = "failed: " + err.Error()
		}
		s.logf(sess, "left4me %s: %s", cmd, result)
	}()
	return done, nil
}

// pruneKeys drops, past keptKeys keys, those with no running action,
// the one whose last action started longest ago first. Under s.mu.
func (s *Server) pruneKeys() {
	for len(s.jobs) > keptKeys {
		oldest, at := "", time.Time{}
		for k, js := range s.jobs {
			if slices.ContainsFunc(js, func(j *job) bool { return !j.Done }) {
				continue
			}
			if last := js[len(js)-1].Started; oldest == "" || last.Before(at) {
				oldest, at = k, last
			}
		}
		if oldest == "" {
			return // every key has a running action: at most maxJobs+2
		}
		delete(s.jobs, oldest)
	}
}

// prune keeps the newest keptJobs finished actions of key and every
// running one. Under s.mu.
func (s *Server) prune(key string) {
	finished := 0
	for _, j := range s.jobs[key] {
		if j.Done {
			finished++
		}
	}
	s.jobs[key] = slices.DeleteFunc(s.jobs[key], func(j *job) bool {
		if j.Done && finished > keptJobs {
			finished--
			return true
		}
		return false
	})
}

// cancelJob ends key's running action: its context is cancelled, and the
// command stops as it does on Ctrl-C.
func (s *Server) cancelJob(key string, sess Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range s.jobs[key] {
		if !j.Done {
			j.cancel()
			j.Cancelled = sess.User
			s.logf(sess, "cancelled left4me %s (started by %s)", j.What, j.User)
			return nil
		}
	}
	return fmt.Errorf("%w for %s", ErrNoJob, keyName(key))
}

// cancel is the Cancel button of an instance's, the overlays' or the
// game's running action.
func (s *Server) cancel(key func(*http.Request) string) func(http.ResponseWriter, *http.Request, Session) {
	return func(w http.ResponseWriter, r *http.Request, sess Session) {
		k := key(r)
		if err := s.cancelJob(k, sess); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		back := "/" + k
		if name := r.PathValue("name"); name != "" {
			back = "/i/" + name
		}
		http.Redirect(w, r, back, http.StatusSeeOther)
	}
}

func (s *Server) jobsOf(key string) []job {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []job
	for _, j := range s.jobs[key] {
		out = append(out, *j)
	}
	return out
}

// ops is the data of the overlays and game pages.
type ops struct {
	Key    string // overlays or game
	Status string
	Jobs   []job
}

func (s *Server) ops(ctx context.Context, key string) ops {
	args := []string{"overlay", "status"}
	if key == "game" {
		// The page refreshes every 3 s: Steam is asked at most every
		// 10 minutes (and by one request at a time), not each time.
		args = []string{"game", "status", "--latest-max-age", "10m"}
	}
	out, err := s.run(ctx, args...)
	if err != nil {
		out += err.Error() + "\n"
	}
	return ops{Key: key, Status: out, Jobs: s.jobsOf(key)}
}

func (s *Server) opsPage(key, title string) func(http.ResponseWriter, *http.Request, Session) {
	return func(w http.ResponseWriter, r *http.Request, sess Session) {
		s.page(w, http.StatusOK, "ops", pageData{Title: title, Sess: sess, Data: s.ops(r.Context(), key)})
	}
}

func (s *Server) opsLive(key string) func(http.ResponseWriter, *http.Request, Session) {
	return func(w http.ResponseWriter, r *http.Request, sess Session) {
		s.page(w, http.StatusOK, "opslive", pageData{Sess: sess, Data: s.ops(r.Context(), key)})
	}
}

// opsArgs is the command line of an overlay or game action.
func opsArgs(key, what, name string) ([]string, error) {
	switch {
	case key == "overlays" && what == "build":
		if msg := layout.ValidateOverlayPath(name); msg != "" || name == "" || strings.HasPrefix(name, "-") {
			return nil, fmt.Errorf("%w: overlay %q: %s", ErrBadInput, name, msg)
		}
		return []string{"overlay", "build", "--", name}, nil
	case key == "overlays" && what == "gc":
		return []string{"overlay", "gc"}, nil
	case key == "game" && what == "update":
		// As left4me-update.service, outside the panel's process and
		// sandbox: steamcmd is not bound by them, a restart of the panel
		// does not end it, and the timer's update is followed, not
		// started twice. Cancel stops it.
		return []string{"game", "update", "--service"}, nil
	case key == "game" && what == "gc":
		return []string{"game", what}, nil
	}
	return nil, fmt.Errorf("%w: unknown action %q", ErrBadInput, what)
}

func (s *Server) opsAction(key string) func(http.ResponseWriter, *http.Request, Session) {
	return func(w http.ResponseWriter, r *http.Request, sess Session) {
		args, err := opsArgs(key, r.PostFormValue("action"), strings.TrimSpace(r.PostFormValue("name")))
		if err != nil {
			s.logf(sess, "refused %s %s: %v", key, r.PostFormValue("action"), err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if _, err := s.startJob(key, sess, args); err != nil {
			s.logf(sess, "refused left4me %s: %v", strings.Join(args, " "), err)
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		http.Redirect(w, r, "/"+key, http.StatusSeeOther)
	}
}

// backupsPage lists each instance's backups (left4me backups NAME).
func (s *Server) backupsPage(w http.ResponseWriter, r *http.Request, sess Session) {
	list, err := s.instances(r.Context(), sess)
	var b strings.Builder
	if err != nil {
		b.WriteString(err.Error() + "\n")
	}
	for _, in := range list {
		out, err := s.run(r.Context(), "backups", in.Name)
		if err != nil {
			out += err.Error() + "\n"
		}
		fmt.Fprintf(&b, "== %s\n%s\n", in.Name, out)
	}
	s.page(w, http.StatusOK, "text", pageData{Title: "Backups", Sess: sess, Data: b.String()})
}

// LogUnfinished puts in the journal, as the panel stops, each action
// still running: a command in this process, it ends with it, so a
// restart or stop that waited for players is never done, and the page
// that showed it goes too. Only this line tells the operator to ask
// again.
func (s *Server) LogUnfinished() {
	s.mu.Lock()
	defer s.mu.Unlock()
	var lines []string
	for _, js := range s.jobs {
		for _, j := range js {
			if !j.Done {
				lines = append(lines, fmt.Sprintf("web: stopping: left4me %s (by %s, started %s) did not finish and ends with the panel; nothing more of it is done: ask again",
					termsafe.Line(j.What), termsafe.Line(j.User), j.Started.Format("2006-01-02 15:04:05")))
			}
		}
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Fprintln(s.Log, l)
	}
}
