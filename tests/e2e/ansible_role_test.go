package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The role checks every inventory value with the CLI's rules before it
// changes anything, and no message shows a secret (issue 26, item 6). Its
// checks (tasks/check.yml, imported first by main.yml) run here against
// this machine as one local host per case: no container, no ssh.
func TestAnsibleRoleChecks(t *testing.T) {
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("e2e prerequisite missing (CI=true): ansible-playbook (tests/deps.sh installs it)")
		}
		t.Skip("e2e prerequisite missing: ansible-playbook (tests/deps.sh installs it)")
	}
	const secret = "hunter2-SECRET"
	cases := map[string]struct {
		vars map[string]any
		want string // in the host's failure; "" = passes
	}{
		"good": {vars: map[string]any{
			"left4me_instances":      map[string]any{"srv1": map[string]any{"port": 27015, "config": []string{"rcon_password " + secret}}},
			"left4me_overlays":       map[string]any{"comp": map[string]any{"src": "files/comp/"}, "workshop/maps": map[string]any{"src": "x/"}, "mods": map[string]any{"builder": "fetch x\n", "timeout": "10m"}},
			"left4me_steam_login":    "steam_user1",
			"left4me_steam_password": secret,
		}},
		"overlay-escape":   {vars: map[string]any{"left4me_overlays": map[string]any{"../../profile.d/zz-left4me": map[string]any{"src": "x/"}}}, want: `left4me_overlays."../../profile.d/zz-left4me"`},
		"overlay-absolute": {vars: map[string]any{"left4me_overlays": map[string]any{"/etc/cron.d": map[string]any{"src": "x/"}}}, want: `left4me_overlays."/etc/cron.d"`},
		"overlay-dots":     {vars: map[string]any{"left4me_overlays": map[string]any{"a/./b": map[string]any{"src": "x/"}}}, want: `left4me_overlays."a/./b"`},
		"overlay-marker":   {vars: map[string]any{"left4me_overlays": map[string]any{"a/.left4me-overlay-a": map[string]any{"src": "x/"}}}, want: `left4me_overlays."a/.left4me-overlay-a"`},
		"overlay-nested":   {vars: map[string]any{"left4me_overlays": map[string]any{"x": map[string]any{"src": "x/"}, "x/y": map[string]any{"src": "y/"}}}, want: `left4me_overlays."x"`},
		"builder-path":     {vars: map[string]any{"left4me_overlays": map[string]any{"a/b": map[string]any{"builder": "x"}}}, want: `left4me_overlays."a/b"`},
		"overlay-newline":  {vars: map[string]any{"left4me_overlays": map[string]any{"comp\n": map[string]any{"src": "x/"}}}, want: `left4me_overlays."comp\n"`},
		"login-newline":    {vars: map[string]any{"left4me_steam_login": "user\nLD_PRELOAD=/tmp/x.so"}, want: "left4me_steam_login: must be a Steam account name"},
		"login-trailing":   {vars: map[string]any{"left4me_steam_login": "user\n"}, want: "left4me_steam_login: must be"},
		"login-backslash":  {vars: map[string]any{"left4me_steam_login": `user\`}, want: "left4me_steam_login: must be"},
		"password-newline": {vars: map[string]any{"left4me_steam_password": secret + "\nLEFT4ME_STEAMCMD=/tmp/x"}, want: "left4me_steam_password: must be a string without"},
		"password-quote":   {vars: map[string]any{"left4me_steam_password": secret + `"`}, want: "left4me_steam_password: must be"},
		"name-trailing":    {vars: map[string]any{"left4me_instances": map[string]any{"srv1\n": map[string]any{"port": 27015}}}, want: `left4me_instances."srv1\n"`},
		"name-dots":        {vars: map[string]any{"left4me_instances": map[string]any{"..": map[string]any{"port": 27015}}}, want: `left4me_instances.".."`},
		"spec-key":         {vars: map[string]any{"left4me_instances": map[string]any{"srv1": map[string]any{"port": 1, "port: 2\nconfig": []string{"x"}}}}, want: `left4me_instances."srv1"`},
		"state":            {vars: map[string]any{"left4me_instances": map[string]any{"srv1": map[string]any{"state": "gone"}}}, want: `left4me_instances."srv1"`},
		"deadline":         {vars: map[string]any{"left4me_deadline": "1h; rm -rf /"}, want: "left4me_deadline: must be a duration"},
		"config-dir":       {vars: map[string]any{"left4me_config_dir": "/etc/left4me/../cron.d"}, want: "left4me_config_dir: must be an absolute path"},
		"package":          {vars: map[string]any{"left4me_package": "x.deb\n"}, want: "left4me_package: must be"},
	}
	dir := t.TempDir()
	hosts := map[string]any{}
	for name, c := range cases {
		v := map[string]any{"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"}
		for k, x := range c.vars {
			v[k] = x
		}
		hosts[name] = v
	}
	inv, err := json.Marshal(map[string]any{"all": map[string]any{"hosts": hosts}})
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFiles(dir, map[string]string{
		"inventory.yml": string(inv), // JSON is YAML
		"checks.yml":    "- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.include_role:\n        name: left4me\n        tasks_from: check\n    - ansible.builtin.debug:\n        msg: checked\n",
		"ansible.cfg": "[defaults]\nroles_path = " + filepath.Join(repoRoot(t), "packaging/ansible/left4me/roles") + "\nretry_files_enabled = False\nnocolor = True\nforks = 20\nlocal_tmp = " +
			filepath.Join(dir, "tmp") + "\n",
	}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ansible-playbook", "-i", filepath.Join(dir, "inventory.yml"), filepath.Join(dir, "checks.yml"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "ANSIBLE_CONFIG="+filepath.Join(dir, "ansible.cfg"), "ANSIBLE_HOME="+filepath.Join(dir, "home"), "NO_COLOR=1")
	b, _ := cmd.CombinedOutput() // the bad hosts fail the run
	out := string(b)
	if strings.Contains(out, secret) {
		t.Errorf("the password is in the output:\n%s", out)
	}
	for name, c := range cases {
		recap := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `\s+:.*$`).FindString(out)
		failed := !strings.Contains(recap, "failed=0")
		if c.want == "" {
			if failed || recap == "" {
				t.Errorf("%s was refused: %q\n%s", name, recap, out)
			}
			continue
		}
		if !failed {
			t.Errorf("%s passed the checks: %q", name, recap)
			continue
		}
		// Its failures: "failed: [NAME] ..." or "fatal: [NAME]: ..." and
		// the lines that continue them (an item with a newline).
		var mine []string
		owner := ""
		for _, l := range strings.Split(out, "\n") {
			if m := resultLine.FindStringSubmatch(l); m != nil {
				owner = ""
				if m[2] == name && (m[1] == "failed" || m[1] == "fatal") {
					owner = name
				}
			} else if l == "" || strings.HasPrefix(l, "TASK ") || strings.HasPrefix(l, "PLAY ") {
				owner = ""
			}
			if owner != "" {
				mine = append(mine, l)
			}
		}
		// The messages are JSON in the output: a newline shows as \n.
		if got := strings.Join(mine, "\n"); !strings.Contains(got, jsonText(c.want)) {
			t.Errorf("%s: failure lacks %q:\n%s", name, c.want, got)
		}
	}
}

// resultLine starts a host's result in ansible-playbook's output.
var resultLine = regexp.MustCompile(`^(failed|fatal|ok|skipping|changed): \[([^\]]+)\]`)

// jsonText is s as it appears inside a JSON string.
func jsonText(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}
