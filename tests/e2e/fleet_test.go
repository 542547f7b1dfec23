package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The rcon and Steam passwords, from Ansible Vault: they must reach the
// hosts and never the play's output.
const (
	fleetSecret = "Vault-only-rcon-7f3a9c"
	steamSecret = "Vault-only-steam-51d0e2"
)

// TestFleet deploys left4me with the Ansible role (packaging/ansible) to
// two containers, each in its own network namespace with its own sshd,
// reached by the controller (this host) only over their container-local
// addresses, and reads them back with `left4me list --host`.
func TestFleet(t *testing.T) {
	requireE2E(t)
	requireFleet(t)
	deb := buildDeb(t)
	if err := buildOnce(); err != nil {
		t.Fatal(err)
	}
	f := newFleet(t, deb, 2)
	h1, h2 := f.hosts[0], f.hosts[1]

	deployed := t.Run("the role deploys to both", func(t *testing.T) {
		out := f.play(t, "--diff")
		f.recap(t, out, map[string]string{"h1": "failed=0", "h2": "failed=0"})
		if info := query(t, h1.c, 27015); info.Name != "EU one" {
			t.Errorf("h1 eu1 A2S_INFO %+v", info)
		}
		if info := query(t, h2.c, 27015); info.Name != "NA one" {
			t.Errorf("h2 na1 A2S_INFO %+v", info)
		}
		if st := unitState(t, h1.c, "eu2"); st != "inactive" {
			t.Errorf("eu2 (declared stopped) is %s", st)
		}
		// The vault's secret reached the server's cfg, the overlay its tree.
		cfg := h1.c.MustRun(t, "cat", "/var/lib/left4me/runtime/eu1/upper/left4dead2/cfg/server.cfg")
		if !strings.Contains(cfg, `rcon_password "`+fleetSecret+`"`) {
			t.Errorf("eu1's server.cfg:\n%s", cfg)
		}
		if got := h1.c.MustRun(t, "cat", "/var/lib/left4me/runtime/eu1/merged/left4dead2/who.txt"); got != "comp" {
			t.Errorf("overlay comp: who.txt = %q", got)
		}
		// h2: the package came over HTTP, the overlay from its builder.
		if got := h2.c.MustRun(t, "cat", "/var/lib/left4me/runtime/na1/merged/left4dead2/built.txt"); got != "built\n" {
			t.Errorf("overlay built (by the role's left4me overlay build): built.txt = %q", got)
		}
		if mode := strings.TrimSpace(h1.c.MustRun(t, "stat", "-c", "%a %U", "/etc/left4me/instances/eu1.yaml")); mode != "640 root" {
			t.Errorf("spec mode %s", mode)
		}
		// The Steam account of left4me-update.service.
		if got := h2.c.MustRun(t, "stat", "-c", "%a %U", "/etc/left4me/steam-password"); strings.TrimSpace(got) != "600 root" {
			t.Errorf("steam-password mode %s", got)
		}
		if got := h2.c.MustRun(t, "cat", "/etc/left4me/steam-password"); got != steamSecret+"\n" {
			t.Errorf("steam-password holds %q", got)
		}
		if got := h2.c.MustRun(t, "cat", "/etc/left4me/update.env"); got != "LEFT4ME_STEAM_LOGIN=l4dfleet\n" {
			t.Errorf("update.env: %q", got)
		}
	})
	if !deployed {
		t.FailNow() // the rest builds on it
	}
	t.Run("a second run changes nothing", func(t *testing.T) {
		out := f.play(t, "--diff")
		f.recap(t, out, map[string]string{"h1": "changed=0", "h2": "changed=0"})
	})
	t.Run("a changed overlay is a new version, the running one untouched", func(t *testing.T) {
		const cur = "/var/lib/left4me/overlays/comp/"
		first := strings.TrimSpace(h1.c.MustRun(t, "cat", cur+".left4me-overlay-comp"))
		pid := mainPID(t, h1.c, "eu1")
		if err := os.WriteFile(filepath.Join(f.dir, "overlays/comp/left4dead2/who.txt"), []byte("comp 2"), 0o644); err != nil {
			t.Fatal(err)
		}
		// A plugin taken out of the source (copy alone never deletes).
		if err := os.RemoveAll(filepath.Join(f.dir, "overlays/comp/left4dead2/addons")); err != nil {
			t.Fatal(err)
		}
		// Without gc, which would remove the version eu1 ran on once eu1
		// was restarted (the next subtest).
		f.vars(t, "h1", h1Vars(f, `hostname "EU one"`, "stopped")+"left4me_overlay_gc: false\n")
		out := f.play(t)
		f.recap(t, out, map[string]string{"h1": "failed=0", "h2": "changed=0"})
		// Imported, not copied over the mounted tree: the version eu1 ran
		// on is whole in overlay-builds/, and eu1 was restarted onto the
		// new one.
		if got := h1.c.MustRun(t, "cat", "/var/lib/left4me/overlay-builds/comp/"+first+"/left4dead2/who.txt"); got != "comp" {
			t.Errorf("the version eu1 ran on: who.txt = %q", got)
		}
		if got := h1.c.MustRun(t, "cat", "/var/lib/left4me/runtime/eu1/merged/left4dead2/who.txt"); got != "comp 2" {
			t.Errorf("eu1 after the run: who.txt = %q", got)
		}
		if _, err := h1.c.Run(t, "test", "-e", "/var/lib/left4me/runtime/eu1/merged/left4dead2/addons/old.vpk"); err == nil {
			t.Error("eu1 still has the plugin taken out of the source")
		}
		if got := h1.c.MustRun(t, "cat", "/var/lib/left4me/overlay-builds/comp/"+first+"/left4dead2/addons/old.vpk"); got != "a plugin taken out later" {
			t.Errorf("the version eu1 ran on: old.vpk = %q", got)
		}
		if now := mainPID(t, h1.c, "eu1"); now == pid {
			t.Errorf("eu1 was not restarted onto the new version (PID %s)", now)
		}
		st := h1.c.MustRun(t, "left4me", "overlay", "status", "comp")
		if !regexp.MustCompile(`version ` + first + `  running: -\n  version \S+ \(current\)  running: eu1\n  last build: \S+ succeeded at .* \(imported\): imported from /var/lib/left4me/overlay-sources/comp; the previous version is ` + first).MatchString(st) {
			t.Errorf("overlay status comp:\n%s", st)
		}
	})
	t.Run("gc removes the versions no server runs on", func(t *testing.T) {
		// The earlier versions: overlay-builds/comp/ID/ with a game
		// directory (the current one is overlays/comp).
		versions := func() string {
			return strings.TrimSpace(h1.c.MustRun(t, "sh", "-c", "cd /var/lib/left4me/overlay-builds/comp && for v in *; do [ -d \"$v/left4dead2\" ] && echo \"$v\"; done; true"))
		}
		before := versions()
		f.vars(t, "h1", h1Vars(f, `hostname "EU one"`, "stopped"))
		pid := mainPID(t, h1.c, "eu1")
		out := f.play(t)
		f.recap(t, out, map[string]string{"h1": "changed=1", "h2": "changed=0"})
		cur := strings.TrimSpace(h1.c.MustRun(t, "cat", "/var/lib/left4me/overlays/comp/.left4me-overlay-comp"))
		if after := versions(); len(strings.Fields(before)) != 1 || before == cur || after != "" {
			t.Errorf("earlier versions of comp before gc: %q, after: %q; want the one eu1 left gone (current: %s)", before, after, cur)
		}
		if !strings.Contains(out, "removed comp "+before) {
			t.Errorf("the run does not say what gc removed:\n%s", tail(out, 40))
		}
		if now := mainPID(t, h1.c, "eu1"); now != pid {
			t.Errorf("eu1 was restarted by the run (PID %s, was %s)", now, pid)
		}
		if got := h1.c.MustRun(t, "cat", "/var/lib/left4me/runtime/eu1/merged/left4dead2/who.txt"); got != "comp 2" {
			t.Errorf("eu1 after gc: who.txt = %q", got)
		}
		out = f.play(t)
		f.recap(t, out, map[string]string{"h1": "changed=0", "h2": "changed=0"})
	})
	t.Run("check mode changes nothing", func(t *testing.T) {
		before := []string{treeSum(t, filepath.Join(h1.c.Root, "etc/left4me")), mainPID(t, h1.c, "eu1")}
		f.vars(t, "h1", h1Vars(f, `hostname "EU one, renamed"`, "stopped"))
		out := f.play(t, "--check", "--diff")
		f.recap(t, out, map[string]string{"h1": "failed=0", "h2": "changed=0"})
		if !regexp.MustCompile(`h1\s+: ok=\d+\s+changed=[1-9]`).MatchString(out) {
			t.Errorf("--check did not report the change to come:\n%s", tail(out, 40))
		}
		after := []string{treeSum(t, filepath.Join(h1.c.Root, "etc/left4me")), mainPID(t, h1.c, "eu1")}
		if fmt.Sprint(before) != fmt.Sprint(after) {
			t.Errorf("--check changed the host: %v -> %v", before, after)
		}
	})
	t.Run("a bad spec fails only its host", func(t *testing.T) {
		before := treeSum(t, filepath.Join(h2.c.Root, "etc/left4me"))
		pid := mainPID(t, h2.c, "na1")
		// A port that is the vaulted password: the validator quotes the
		// value, the role must not show it (f.run checks).
		f.vars(t, "h2", h2Vars(f, `"{{ vault_rcon_password }}"`))
		f.vars(t, "h1", h1Vars(f, `hostname "EU one, renamed"`, "absent"))
		out, err := f.run(t)
		if err == nil {
			t.Fatalf("the play succeeded with a bad spec:\n%s", out)
		}
		f.recap(t, out, map[string]string{"h1": "failed=0", "h2": "failed=1"})
		if !strings.Contains(out, "/etc/left4me/instances/na1.yaml:2:7: port: (message not shown here") {
			t.Errorf("the validator's FILE:LINE:COL is not in the output:\n%s", tail(out, 60))
		}
		if after := treeSum(t, filepath.Join(h2.c.Root, "etc/left4me")); after != before {
			t.Error("h2's /etc/left4me changed")
		}
		if got := mainPID(t, h2.c, "na1"); got != pid {
			t.Errorf("na1 was restarted (%s -> %s)", pid, got)
		}
		// h1 went on: its renamed server was restarted (it was empty).
		if info := query(t, h1.c, 27015); info.Name != "EU one, renamed" {
			t.Errorf("h1 eu1 A2S_INFO %+v", info)
		}
		if _, err := os.Stat(filepath.Join(h1.c.Root, "etc/left4me/instances/eu2.yaml")); !os.IsNotExist(err) {
			t.Errorf("eu2 (declared absent) still has a spec: %v", err)
		}
		f.vars(t, "h2", h2Vars(f, "27015"))
	})
	t.Run("the fleet view shows both hosts", func(t *testing.T) {
		out, err := f.left4me(t, "list", "--host", "h1", "--host", "h2")
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if strings.Contains(out, "eu2") {
			t.Errorf("eu2 (absent) is listed:\n%s", out)
		}
		for _, row := range [][]string{{"HOST", "NAME", "PORTS"}, {"h1", "eu1", "27015/28015/29015/30015", "yes", "active"}, {"h2", "na1", "27015/28015/29015/30015", "no", "active"}} {
			if !startsRow(out, row...) {
				t.Errorf("no row %q:\n%s", row, out)
			}
		}
		out, err = f.left4me(t, "status", "eu1", "--host", "h1")
		if err != nil || !startsRow(out, "h1", "eu1", "27015/28015/29015/30015", "yes", "active") {
			t.Errorf("status --host: %v\n%s", err, out)
		}
		// A host that answered with an error is not called unreachable.
		out, err = f.left4me(t, "status", "nope", "--host", "h1")
		if err == nil || !strings.Contains(out, "answered with an error: h1") || strings.Contains(out, "unreachable") {
			t.Errorf("status of an unknown instance --host h1: %v\n%s", err, out)
		}
	})
	t.Run("an unreachable host hides no other", func(t *testing.T) {
		h2.c.MustRun(t, "systemctl", "stop", "ssh.service")
		out, err := f.left4me(t, "list", "--host", "h1", "--host", "h2", "--host", "h3")
		if exitCode(t, err) != 1 {
			t.Errorf("exit %v, want 1", err)
		}
		if !startsRow(out, "h1", "eu1", "27015/28015/29015/30015", "yes", "active") || !startsRow(out, "h2", "-", "-", "-", "unreachable") ||
			!startsRow(out, "h3", "-", "-", "-", "unreachable") || !strings.Contains(out, "Connection refused") {
			t.Errorf("list:\n%s", out)
		}
	})
}

// requireFleet skips (fails with CI=true) without the controller's tools.
func requireFleet(t *testing.T) {
	t.Helper()
	for _, bin := range []string{"ansible-playbook", "ansible-vault", "ssh", "ssh-keygen", "sshd", "ip"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("e2e prerequisite missing (CI=true): %s (tests/deps.sh installs it)", bin)
			}
			t.Skipf("e2e prerequisite missing: %s (tests/deps.sh installs it)", bin)
		}
	}
}

type fleetHost struct {
	name string
	addr string // container-local address, reached over a veth pair
	c    *Container
}

// fleet is the controller's side: an ssh key and config, an inventory with
// a vaulted secret, a playbook using the role.
type fleet struct {
	dir    string // the controller's files
	deb    string
	debURL string // the same package over HTTP, for h2 (10.77.2.1)
	hosts  []*fleetHost
	env    []string
}

func newFleet(t *testing.T, deb string, n int) *fleet {
	t.Helper()
	f := &fleet{dir: t.TempDir(), deb: deb}
	key := filepath.Join(f.dir, "id_ed25519")
	mustExec(t, "", "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "left4me-e2e", "-f", key)
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	sshConfig := ""
	for i := 1; i <= n; i++ {
		state := t.TempDir()
		installGame(t, state)
		c := Boot(t, Options{State: state, Setup: func(root string) error {
			// The host's sshd was kept from running (tests/deps.sh);
			// this one is meant to.
			os.Remove(filepath.Join(root, "etc/ssh/sshd_not_to_be_run"))
			return writeFiles(root, map[string]string{
				"root/.ssh/authorized_keys": string(pub),
				// No PAM: its session module would wait for logind,
				// which the container does not run.
				"etc/ssh/sshd_config.d/left4me-e2e.conf": "UsePAM no\n",
			})
		}})
		h := &fleetHost{name: "h" + strconv.Itoa(i), addr: fmt.Sprintf("10.77.%d.2", i), c: c}
		connect(t, c, i)
		c.MustRun(t, "chmod", "-R", "go-rwx", "/root/.ssh")
		c.MustRun(t, "systemctl", "start", "ssh.service")
		f.hosts = append(f.hosts, h)
		t.Cleanup(func() { // the connection Ansible left open (ControlPersist)
			exec.Command("ssh", "-F", filepath.Join(f.dir, "ssh_config"), "-O", "exit", h.name).Run()
		})
		sshConfig += fmt.Sprintf("Host %s\n  HostName %s\n", h.name, h.addr)
	}
	// h2 installs the package from a URL: this host serves it on the
	// address of its end of h2's link.
	if n >= 2 {
		l, err := net.Listen("tcp", "10.77.2.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.ServeFile(w, r, deb)
		})}
		go srv.Serve(l)
		t.Cleanup(func() { srv.Close() })
		f.debURL = "http://" + l.Addr().String() + "/" + filepath.Base(deb)
	}
	// h3 has an address no container answers on.
	sshConfig += fmt.Sprintf("Host h3\n  HostName 10.77.%d.2\n", n+1)
	sshConfig += "Host *\n  User root\n  IdentityFile " + key + "\n  IdentitiesOnly yes\n  UserKnownHostsFile " +
		filepath.Join(f.dir, "known_hosts") + "\n  StrictHostKeyChecking accept-new\n  ConnectTimeout 5\n"
	bin := filepath.Join(f.dir, "bin")
	if err := writeFiles(f.dir, map[string]string{
		"ssh_config": sshConfig,
		// The operator's ssh, as left4me runs it: with this config.
		"bin/ssh":                          "#!/bin/sh\nexec /usr/bin/ssh -F " + filepath.Join(f.dir, "ssh_config") + " \"$@\"\n",
		"vault-pass":                       "correct horse battery staple\n",
		"ansible.cfg":                      "[defaults]\nroles_path = " + filepath.Join(repoRoot(t), "packaging/ansible/left4me/roles") + "\ninventory = " + filepath.Join(f.dir, "inventory.yml") + "\nretry_files_enabled = False\nnocolor = True\ninterpreter_python = /usr/bin/python3\nlocal_tmp = " + filepath.Join(f.dir, "ansible-tmp") + "\n[ssh_connection]\npipelining = True\n",
		"inventory.yml":                    "all:\n  hosts:\n    h1:\n    h2:\n",
		"site.yml":                         "- hosts: all\n  gather_facts: false\n  roles:\n    - left4me\n",
		"overlays/comp/left4dead2/who.txt": "comp",
		"overlays/comp/left4dead2/cfg/server.cfg": "sv_comp 1\n",
		"overlays/comp/left4dead2/addons/old.vpk": "a plugin taken out later",
	}); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(bin, "ssh"), 0o755)
	f.env = append(os.Environ(), "ANSIBLE_CONFIG="+filepath.Join(f.dir, "ansible.cfg"), "ANSIBLE_HOME="+filepath.Join(f.dir, "ansible-home"),
		"PATH="+bin+":"+os.Getenv("PATH"), "NO_COLOR=1",
		// One connection a host for the whole play; not in ansible.cfg,
		// where % would need escaping.
		"ANSIBLE_SSH_ARGS=-F "+filepath.Join(f.dir, "ssh_config")+" -o ControlMaster=auto -o ControlPersist=60s -o ControlPath="+filepath.Join(f.dir, "cm-%C"))
	vault := ""
	for name, secret := range map[string]string{"vault_rcon_password": fleetSecret, "vault_steam_password": steamSecret} {
		vault += strings.TrimSpace(mustExec(t, f.dir, "ansible-vault", "encrypt_string", "--vault-password-file", filepath.Join(f.dir, "vault-pass"),
			"--name", name, secret)) + "\n"
	}
	if err := writeFiles(f.dir, map[string]string{"group_vars/all/vault.yml": vault}); err != nil {
		t.Fatal(err)
	}
	f.vars(t, "h1", h1Vars(f, `hostname "EU one"`, "stopped"))
	f.vars(t, "h2", h2Vars(f, "27015"))
	start := time.Now()
	mustExec(t, "", filepath.Join(bin, "ssh"), "-o", "BatchMode=yes", "h1", "true")
	t.Logf("one ssh login to h1: %v", time.Since(start).Round(time.Millisecond))
	return f
}

func h1Vars(f *fleet, hostname, eu2 string) string {
	return fmt.Sprintf(`left4me_package: %s
left4me_deadline: 2m
left4me_overlays:
  comp: {src: %s/}
left4me_instances:
  eu1:
    port: 27015
    autostart: true
    overlays: [{path: comp, alias: comp}]
    config: ['%s', 'rcon_password "{{ vault_rcon_password }}"']
  eu2:
    port: 27016
    state: %s
`, f.deb, filepath.Join(f.dir, "overlays/comp"), hostname, eu2)
}

// h2Vars: the package from a URL, an overlay the host builds.
func h2Vars(f *fleet, port string) string {
	return fmt.Sprintf(`left4me_package: %s
left4me_steam_login: l4dfleet
left4me_steam_password: "{{ vault_steam_password }}"
left4me_overlays:
  built: {builder: "mkdir -p \"$GAME\"\necho built > \"$GAME/built.txt\"\n"}
left4me_instances:
  na1:
    port: %s
    overlays: [built]
    config: ['hostname "NA one"', 'rcon_password "{{ vault_rcon_password }}"']
`, f.debURL, port)
}

// vars writes host_vars/HOST.yml.
func (f *fleet) vars(t *testing.T, host, body string) {
	t.Helper()
	if err := writeFiles(f.dir, map[string]string{"host_vars/" + host + ".yml": body}); err != nil {
		t.Fatal(err)
	}
}

// run runs the playbook; its output must never hold the secret.
func (f *fleet) run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("ansible-playbook", append([]string{"--vault-password-file", filepath.Join(f.dir, "vault-pass"), filepath.Join(f.dir, "site.yml")}, args...)...)
	cmd.Dir, cmd.Env = f.dir, f.env
	start := time.Now()
	b, err := cmd.CombinedOutput()
	out := string(b)
	t.Logf("ansible-playbook %s: %v in %v\n%s", strings.Join(args, " "), err, time.Since(start).Round(time.Second), recapOf(out))
	if strings.Contains(out, fleetSecret) || strings.Contains(out, steamSecret) {
		t.Errorf("a vaulted secret is in the play's output:\n%s", out)
	}
	return out, err
}

// play is run that must succeed.
func (f *fleet) play(t *testing.T, args ...string) string {
	t.Helper()
	out, err := f.run(t, args...)
	if err != nil {
		t.Fatalf("ansible-playbook: %v\n%s", err, tail(out, 80))
	}
	return out
}

// recap checks each host's PLAY RECAP line for a field such as changed=0.
func (f *fleet) recap(t *testing.T, out string, want map[string]string) {
	t.Helper()
	r := recapOf(out)
	for host, field := range want {
		line := regexp.MustCompile(`(?m)^` + host + `\s+:.*$`).FindString(r)
		if !regexp.MustCompile(`\b` + field + `\b`).MatchString(line) {
			t.Errorf("%s: recap %q lacks %s\n%s", host, line, field, tail(out, 60))
		}
	}
}

func recapOf(out string) string {
	if i := strings.LastIndex(out, "PLAY RECAP"); i >= 0 {
		return out[i:]
	}
	return "(no PLAY RECAP)"
}

// left4me runs the controller's left4me (this tree's build) with the
// operator's ssh.
func (f *fleet) left4me(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(repoRoot(t), "build/left4me"), args...)
	cmd.Env = f.env
	b, err := cmd.CombinedOutput()
	return string(b), err
}

// connect gives container c (the i-th) an address reachable from this
// host: a veth pair, one end moved into the container's network namespace
// (10.77.i.2/24), the other here (10.77.i.1/24). The pair goes with the
// namespace at the latest; Cleanup deletes it first.
func connect(t *testing.T, c *Container, i int) {
	t.Helper()
	here, there := fmt.Sprintf("l4m%dh%d", os.Getpid()%100000, i), fmt.Sprintf("l4m%dc%d", os.Getpid()%100000, i)
	mustExec(t, "", "ip", "link", "add", here, "type", "veth", "peer", "name", there)
	t.Cleanup(func() { exec.Command("ip", "link", "del", here).Run() })
	mustExec(t, "", "ip", "link", "set", there, "netns", strconv.Itoa(c.PID1))
	mustExec(t, "", "ip", "addr", "add", fmt.Sprintf("10.77.%d.1/24", i), "dev", here)
	mustExec(t, "", "ip", "link", "set", here, "up")
	c.MustRun(t, "ip", "addr", "add", fmt.Sprintf("10.77.%d.2/24", i), "dev", there)
	c.MustRun(t, "ip", "link", "set", there, "up")
}

func mustExec(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, stderr.String())
	}
	return string(out)
}

// startsRow reports whether some line of out starts with the fields.
func startsRow(out string, fields ...string) bool {
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) >= len(fields) && strings.Join(f[:len(fields)], " ") == strings.Join(fields, " ") {
			return true
		}
	}
	return false
}
