package units

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/left4me/left4me/tests/unitverify"
)

// unitFile is a unit file's settings: "Section.Key" to its values in order.
type unitFile map[string][]string

func readUnit(t *testing.T, name string) unitFile {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u, section := unitFile{}, ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "["):
			section = strings.Trim(l, "[]")
		default:
			k, v, _ := strings.Cut(l, "=")
			u[section+"."+k] = append(u[section+"."+k], v)
		}
	}
	return u
}

// The metrics endpoint must keep serving Prometheus while any local user
// holds idle connections (operator review): one exporter that accepts
// every connection itself (Accept=no), not a service per connection
// behind MaxConnections=, which idle holders fill; and the exporter keeps
// its sandbox and its bounds.
func TestMetricsUnits(t *testing.T) {
	sock, svc := readUnit(t, "left4me-metrics.socket"), readUnit(t, "left4me-metrics@.service")
	for _, tc := range []struct {
		u     unitFile
		key   string
		want  []string // nil: not set
		about string
	}{
		{sock, "Socket.ListenStream", []string{"127.0.0.1:9788"}, "local only"},
		{sock, "Socket.Accept", []string{"no"}, "one exporter for every connection"},
		{sock, "Socket.MaxConnections", nil, "ignored with Accept=no: it would mislead"},
		{sock, "Socket.Service", []string{"left4me-metrics@9788.service"}, "the exporter"},
		{svc, "Unit.Requires", []string{"left4me-metrics.socket"}, "stopped with the socket"},
		{svc, "Service.ExecStart", []string{"/usr/bin/left4me metrics --http"}, ""},
		{svc, "Service.StandardInput", nil, "it is passed the listening socket, not a connection"},
		{svc, "Service.Type", []string{"exec"}, "long-lived"},
		{svc, "Service.MemoryMax", []string{"256M"}, "bounds"},
		{svc, "Service.TasksMax", []string{"64"}, "bounds"},
		{svc, "Service.NoNewPrivileges", []string{"yes"}, "sandbox"},
		{svc, "Service.ProtectSystem", []string{"strict"}, "sandbox"},
		{svc, "Service.ProtectHome", []string{"yes"}, "sandbox"},
		{svc, "Service.PrivateTmp", []string{"yes"}, "sandbox"},
	} {
		if got := tc.u[tc.key]; !slices.Equal(got, tc.want) {
			t.Errorf("%s = %q, want %q (%s)", tc.key, got, tc.want, tc.about)
		}
	}
}

// systemd itself reads the metrics units as we mean them: Service= may
// name an instance of the template, and no key is unknown.
func TestMetricsUnitsVerify(t *testing.T) {
	unitverify.Need(t)
	dir, bin := t.TempDir(), filepath.Join(t.TempDir(), "left4me")
	unitverify.Executables(t, bin)
	for _, u := range []string{"left4me-metrics.socket", "left4me-metrics@.service"} {
		text, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		text = []byte(strings.ReplaceAll(string(text), "/usr/bin/left4me", bin))
		if err := os.WriteFile(filepath.Join(dir, u), text, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	unitverify.Check(t, []string{"left4me-"},
		filepath.Join(dir, "left4me-metrics.socket"), filepath.Join(dir, "left4me-metrics@9788.service"))
}
