package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCollectionAsDocumented runs the ansible-galaxy lines of the role's
// README as written (from a copy of the repository's root, with a home of
// its own), then checks that a playbook naming the role as the README says
// ("name the role `left4me.left4me.left4me`") runs it.
func TestCollectionAsDocumented(t *testing.T) {
	if _, err := exec.LookPath("ansible-galaxy"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("prerequisite missing (CI=true): ansible-galaxy (tests/deps.sh installs Ansible)")
		}
		t.Skip("prerequisite missing: ansible-galaxy (tests/deps.sh installs Ansible)")
	}
	readme, err := os.ReadFile("../../packaging/ansible/left4me/README.md")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(l, "    ansible-galaxy ") {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	_, role, _ := strings.Cut(string(readme), "name the role `")
	role, _, _ = strings.Cut(role, "`")
	if len(lines) != 2 || role == "" {
		t.Fatalf("want the README's build and install lines and the role's name, got %q, %q", lines, role)
	}
	root := t.TempDir()
	src, err := filepath.Abs("../../packaging/ansible/left4me")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "packaging", "ansible"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(src, filepath.Join(root, "packaging", "ansible", "left4me")); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "HOME="+filepath.Join(root, "home"), "ANSIBLE_COLLECTIONS_PATH=", "ANSIBLE_LOCAL_TEMP="+filepath.Join(root, "tmp"))
	run := func(name string, args ...string) string {
		cmd := exec.Command(name, args...)
		cmd.Dir, cmd.Env = root, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	for _, l := range lines {
		run("sh", "-ec", l)
	}
	site := filepath.Join(root, "site.yml")
	if err := os.WriteFile(site, []byte("- hosts: all\n  gather_facts: false\n  roles: ["+role+"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// --list-tasks loads the role (a name not found fails); the role's
	// first task is its package check.
	if out := run("ansible-playbook", "-i", "localhost,", "--list-tasks", site); !strings.Contains(out, role+" :") {
		t.Errorf("the playbook does not run the installed role:\n%s", out)
	}
}
