package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// withEnvFile returns a getenv in which KEY=VALUE lines of path win over
// the environment. A missing file changes nothing.
func withEnvFile(path string, getenv func(string) string) func(string) string {
	f, err := os.Open(path)
	if err != nil {
		return getenv
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "="); ok && !strings.HasPrefix(k, "#") {
			vars[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		return getenv(k)
	}
}

// envCount reads a count 0..255 from the environment (STANDIN_PLAYERS,
// STANDIN_BOTS).
func envCount(getenv func(string) string, name string) (int, error) {
	v := getenv(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 8)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return int(n), nil
}
