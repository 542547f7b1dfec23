package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"

	"github.com/left4me/left4me/cmd/left4me/internal/alert"
)

// scheduleRow is one instance's schedule (left4me status --json NAME).
type scheduleRow struct {
	Name     string
	Schedule *struct {
		Restart         string `json:"restart"`
		RestartDeadline string `json:"restart_deadline"`
		RestartForce    bool   `json:"restart_force"`
		RestartTimer    string `json:"restart_timer"`
		Backup          string `json:"backup"`
		BackupTimer     string `json:"backup_timer"`
	} `json:"schedule"`
	Error string
}

// dayops is the data of the schedules and alerts page.
type dayops struct {
	ListErr   string // the instances could not be listed
	Schedules []scheduleRow
	Alerts    []string // where alerts go, secrets left out (admins only)
	AlertsErr string
	Result    string // what the last test alert did
}

func (s *Server) dayops(ctx context.Context, sess Session) dayops {
	var d dayops
	list, err := s.instances(ctx, sess)
	if err != nil {
		d.ListErr = "the instances cannot be listed: " + err.Error()
	}
	for _, in := range list {
		row := scheduleRow{Name: in.Name}
		// status exits 3 for a stopped server, with its JSON all the same.
		if err := s.runJSON(ctx, &row, "status", "--json", "-n", "0", in.Name); err != nil && row.Schedule == nil {
			row.Error = "unknown (its spec cannot be read)"
		}
		d.Schedules = append(d.Schedules, row)
	}
	if sess.Role >= Admin {
		d.Alerts, d.AlertsErr = s.alertDestinations()
	}
	return d
}

// alertDestinations says where alerts.yaml sends them: the webhook by its
// host only (a Discord or Slack webhook URL holds its secret in the path).
func (s *Server) alertDestinations() ([]string, string) {
	c, err := alert.Load(filepath.Dir(s.SpecDir))
	if err != nil {
		return nil, err.Error()
	}
	if c == nil {
		return nil, "no " + alert.File + ": alerts go nowhere"
	}
	var out []string
	if c.Webhook != "" {
		host := "?"
		if u, err := url.Parse(c.Webhook); err == nil {
			host = u.Scheme + "://" + u.Host + "/…"
		}
		out = append(out, fmt.Sprintf("webhook %s (%s)", host, c.Format))
	}
	if c.Command != "" {
		out = append(out, "command "+c.Command)
	}
	if c.Email != "" {
		out = append(out, "email "+c.Email+" through "+c.Sendmail)
	}
	return out, ""
}

func (s *Server) dayopsPage(w http.ResponseWriter, r *http.Request, sess Session) {
	s.page(w, http.StatusOK, "dayops", pageData{Title: "Schedules and alerts", Sess: sess, Data: s.dayops(r.Context(), sess)})
}

// alertTest sends a test alert (left4me alert test) and shows what it did.
func (s *Server) alertTest(w http.ResponseWriter, r *http.Request, sess Session) {
	s.logf(sess, "left4me alert test")
	out, err := s.run(r.Context(), "alert", "test")
	result := "done"
	if err != nil {
		out += err.Error() + "\n"
		result = "failed: " + err.Error()
	}
	s.logf(sess, "left4me alert test: %s", result)
	d := s.dayops(r.Context(), sess)
	d.Result = out
	s.page(w, http.StatusOK, "dayops", pageData{Title: "Schedules and alerts", Sess: sess, Data: d})
}
