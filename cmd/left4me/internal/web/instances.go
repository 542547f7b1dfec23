package web

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/left4me/left4me/cmd/internal/relay"
)

// instance is one row of `left4me list --json` (the fields shown here).
type instance struct {
	Name        string `json:"name"`
	Port        int    `json:"port"`
	Autostart   bool   `json:"autostart"`
	State       string `json:"state"`
	SubState    string `json:"sub_state"`
	Mounted     bool   `json:"mounted"`
	Stale       bool   `json:"stale"`
	RunningPort int    `json:"running_port"`
	Outdated    bool   `json:"outdated"`
	Orphaned    bool   `json:"orphaned"`
	Humans      *int   `json:"humans"`
	Bots        *int   `json:"bots"`
	Hibernating bool   `json:"hibernating"` // its console said so: nobody on
	Error       string `json:"error"`
	Overlays    []struct {
		Path  string `json:"path"`
		Alias string `json:"alias"`
	} `json:"overlays"`
	// From `left4me players NAME --json` while it runs.
	Map     string
	Players *players
}

// players is `left4me players NAME --json`.
type players struct {
	Address    string `json:"address"`
	Map        string `json:"map"`
	Humans     int    `json:"humans"`
	Bots       int    `json:"bots"`
	MaxPlayers int    `json:"max_players"`
	Players    []struct {
		Name    string  `json:"name"`
		Score   int32   `json:"score"`
		Seconds float32 `json:"seconds"`
	} `json:"players"`
}

// liveFor is how long the pages (their loads and their live refreshes,
// every 3 s, app.js) share one gathering. Each gathering asks every
// running server three queries (list's A2S_INFO, players' A2S_INFO and
// A2S_PLAYER), two datagrams each with the challenge, all from 127.0.0.1
// like every left4me process; the engine answers one address at most 3 a
// second averaged over 30 s and drops the rest silently
// (sv_max_queries_sec, CIPRateLimit, engine/sv_ipratelimit.cpp, Source
// 2013). One page every 3 s (2/s) beside the relay's watchdog at the
// shortest hang_timeout (10 s: 1.2/s) was already past it, and each
// further page, viewer or reload added 2/s: the pages then showed the
// servers silent and the relay lost its answers (the e2e
// TestQueryBudget). Shared for 5 s, the panel costs 1.2/s however many
// pages are open or reloaded.
const liveFor = 5 * time.Second

// instances is the list with each running server's map, asked at once:
// the last gathering while it is younger than liveFor and no action
// started or ended since (what a page shows after its own action is
// fresh), else a new one. Pages arriving meanwhile wait for it rather
// than ask the servers again. A spec's problems are an admin's to read:
// they quote the spec's values (an rcon_password), which only admins see.
func (s *Server) instances(ctx context.Context, sess Session) ([]instance, error) {
	s.live.mu.Lock()
	defer s.live.mu.Unlock()
	if s.live.list == nil || time.Since(s.live.at) >= liveFor {
		list, err := s.gather(ctx)
		if err != nil {
			return nil, err
		}
		s.live.list, s.live.at = list, time.Now()
	}
	return forSession(s.live.list, sess), nil
}

// liveShare is the last gathering of the instances, for the pages.
type liveShare struct {
	mu   sync.Mutex
	at   time.Time
	list []instance
}

// outdated makes the next page gather anew: an action started or ended.
// It waits for a gathering under way (its result may predate the action).
func (l *liveShare) outdated() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = nil
}

// forSession is a copy of list as sess may see it: the gathering is shared
// and never changed.
func forSession(list []instance, sess Session) []instance {
	out := slices.Clone(list)
	for i := range out {
		if out[i].Error != "" && !sess.Administers() {
			out[i].Error = "invalid spec"
		}
	}
	return out
}

// gather runs list and, for each running server at once, players.
func (s *Server) gather(ctx context.Context) ([]instance, error) {
	var list []instance
	if err := s.runJSON(ctx, &list, "list", "--json"); err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	for i := range list {
		if list[i].State != "active" {
			continue
		}
		wg.Go(func() {
			var p players
			if s.runJSON(ctx, &p, "players", list[i].Name, "--json") == nil {
				list[i].Map, list[i].Players = p.Map, &p
			}
		})
	}
	wg.Wait()
	return list, nil
}

func (s *Server) instancesPage(w http.ResponseWriter, r *http.Request, sess Session) {
	list, err := s.instances(r.Context(), sess)
	d := pageData{Title: "Instances", Sess: sess, Data: list}
	if err != nil {
		d.Message = err.Error()
	}
	s.page(w, http.StatusOK, "instances", d)
}

func (s *Server) instancesRows(w http.ResponseWriter, r *http.Request, sess Session) {
	list, err := s.instances(r.Context(), sess)
	d := pageData{Sess: sess, Data: list}
	if err != nil {
		d.Message = err.Error()
	}
	s.page(w, http.StatusOK, "rows", d)
}

// one is the instance page's data.
type one struct {
	Inst *instance
	Jobs []job
	Logs string
}

// one gathers an instance's page data; the log only for an operator: it is
// the server's console output (what players said, what was typed), which
// the console's own stream keeps for operators too.
func (s *Server) one(ctx context.Context, name string, sess Session) (one, error) {
	list, err := s.instances(ctx, sess)
	if err != nil {
		return one{}, err
	}
	var o one
	for i := range list {
		if list[i].Name == name {
			o.Inst = &list[i]
		}
	}
	if o.Inst == nil {
		return one{}, fmt.Errorf("there is no instance %s", name)
	}
	if sess.Operates() {
		o.Logs, _ = s.run(ctx, "logs", name, "-n", "100", "--no-pager", "-o", "short-iso")
	}
	o.Jobs = s.jobsOf(instanceKey(name))
	return o, nil
}

func (s *Server) instancePage(w http.ResponseWriter, r *http.Request, sess Session) {
	name := r.PathValue("name")
	o, err := s.one(r.Context(), name, sess)
	if err != nil {
		s.page(w, http.StatusNotFound, "message", pageData{Title: name, Sess: sess, Message: err.Error()})
		return
	}
	s.page(w, http.StatusOK, "instance", pageData{Title: name, Name: name, Sess: sess, Data: o})
}

func (s *Server) instanceLive(w http.ResponseWriter, r *http.Request, sess Session) {
	name := r.PathValue("name")
	o, err := s.one(r.Context(), name, sess)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	s.page(w, http.StatusOK, "live", pageData{Name: name, Sess: sess, Data: o})
}

// maxDeadline bounds a when-empty wait started from the panel.
const maxDeadline = 24 * time.Hour

// actionArgs is the command line of an action asked for by a form.
func actionArgs(name, what string, whenEmpty bool, deadline string, force, kick bool) ([]string, error) {
	switch what {
	case "start":
		return []string{"start", name}, nil
	case "backup":
		// The spec's retention (backups: keep, max_age) applies, as for
		// the scheduled ones.
		return []string{"backup", name}, nil
	case "stop", "restart":
	default:
		return nil, fmt.Errorf("%w: unknown action %q", ErrBadInput, what)
	}
	args := []string{what}
	if force && !whenEmpty {
		// As the command line: --force only means something with
		// --when-empty. Dropped silently, it stopped the server at once,
		// its players unwarned.
		return nil, fmt.Errorf("%w: “then anyway, warning the players” needs “when empty”: tick both to wait and then warn, or neither to %s now", ErrBadInput, what)
	}
	if kick && whenEmpty {
		return nil, fmt.Errorf("%w: “now, even with players on” does not wait: untick “when empty” to %s now, or leave it ticked to wait for them", ErrBadInput, what)
	}
	if !whenEmpty && !kick {
		// At once, but only while nobody plays, as the command line
		// judges it (the console asked where A2S may count bots or
		// nobody; a server that cannot be asked counts as occupied):
		// left running otherwise, and the action's output says why.
		return append(args, "--when-empty", "--deadline", "0s", name), nil
	}
	if whenEmpty {
		d, err := time.ParseDuration(deadline)
		if err != nil || d <= 0 || d > maxDeadline {
			return nil, fmt.Errorf("%w: deadline %q: a duration such as 30m, at most %v", ErrBadInput, deadline, maxDeadline)
		}
		args = append(args, "--when-empty", "--deadline", d.String())
		if force {
			args = append(args, "--force")
		}
	}
	return append(args, name), nil
}

// action starts, stops, restarts or backs up an instance, in the
// background (a when-empty stop may wait hours); its output appears on the
// page.
func (s *Server) action(w http.ResponseWriter, r *http.Request, sess Session) {
	name := r.PathValue("name")
	args, err := actionArgs(name, r.PostFormValue("action"), r.PostFormValue("when_empty") == "on",
		r.PostFormValue("deadline"), r.PostFormValue("force") == "on", r.PostFormValue("kick") == "on")
	if err != nil {
		s.logf(sess, "refused %s of %s: %v", r.PostFormValue("action"), name, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	what := r.PostFormValue("action")
	atOnce := (what == "stop" || what == "restart") && r.PostFormValue("when_empty") != "on" && r.PostFormValue("kick") != "on"
	if who := ""; atOnce {
		if who = s.playing(r.Context(), sess, name); who != "" {
			s.logf(sess, "refused left4me %s: %s", strings.Join(args, " "), who)
			http.Error(w, who+": tick “when empty” to wait for them, or “now, even with players on” to kick them", http.StatusConflict)
			return
		}
	}
	// Only an instance with a spec: the actions are kept by name. A stop
	// goes to one without (its spec removed while it runs: left4me stop
	// stops such an orphan, and says so of a name that is neither).
	if _, err := os.Lstat(s.SpecPath(name)); err != nil && r.PostFormValue("action") != "stop" {
		s.logf(sess, "refused %s of %s: no such instance", r.PostFormValue("action"), name)
		http.Error(w, fmt.Sprintf("there is no instance %s", name), http.StatusNotFound)
		return
	}
	done, err := s.startJob(instanceKey(name), sess, args)
	if err != nil {
		s.logf(sess, "refused left4me %s: %v", strings.Join(args, " "), err)
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	// A plain start or stop is quick: answer with its result.
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	case <-r.Context().Done():
	}
	http.Redirect(w, r, "/i/"+name, http.StatusSeeOther)
}

// playing says who plays on name, from the pages' gathering (at most
// liveFor old), for a quick answer to a stop or restart at once; "" when
// it shows nobody. The command itself then judges again, as the command
// line does (actionArgs: --when-empty --deadline 0s).
func (s *Server) playing(ctx context.Context, sess Session, name string) string {
	list, err := s.instances(ctx, sess)
	if err != nil {
		return ""
	}
	for _, in := range list {
		if in.Name != name || in.State != "active" {
			continue
		}
		humans := 0
		if in.Humans != nil {
			humans = *in.Humans
		}
		if in.Players != nil && in.Players.Humans > humans {
			humans = in.Players.Humans
		}
		if humans > 0 {
			return fmt.Sprintf("%s has %d player(s) on it", name, humans)
		}
	}
	return ""
}

// console types one command into the server's console through
// `left4me send` (its rules: printable ASCII, no quit) and answers with
// what the server printed, as text.
func (s *Server) console(w http.ResponseWriter, r *http.Request, sess Session) {
	name := r.PathValue("name")
	cmd := r.PostFormValue("cmd")
	// The journal is read by more people than an rcon_password typed
	// here is meant for.
	s.logf(sess, "left4me send %s %q", name, relay.Redact([]byte(cmd)))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if strings.TrimSpace(cmd) == "" {
		http.Error(w, "type a command", http.StatusBadRequest)
		return
	}
	out, err := s.run(r.Context(), "send", "--", name, cmd)
	if err != nil {
		s.logf(sess, "left4me send %s: failed: %v", name, err)
		w.WriteHeader(http.StatusUnprocessableEntity)
		fmt.Fprintf(w, "%s%v\n", out, err)
		return
	}
	fmt.Fprint(w, out)
}
