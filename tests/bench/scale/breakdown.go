package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/left4me/left4me/tests/container"
)

// breakdown times one sandboxed floor unit without each directive of the
// sandbox in turn (leave-one-out), against the whole sandbox and none, all
// interleaved: what each directive adds to a start. Ports from 28000.
func breakdown(ct *container.Container, w io.Writer, reps int) error {
	full := sandboxUnit()
	lines := strings.Split(strings.TrimSpace(full), "\n")
	// Lines of one key go together: SystemCallFilter=ptrace alone, left
	// when @system-service is taken out, would allow nothing else.
	var keys []string
	byKey := map[string][]string{}
	for _, l := range lines {
		if strings.Contains(l, "=") && !strings.HasPrefix(l, "Description=") && !slices.Contains(strings.Split(floorUnit, "\n"), l) &&
			!strings.HasPrefix(l, "PartOf=") && l != installationBind {
			k, _, _ := strings.Cut(l, "=")
			if byKey[k] == nil {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], l)
		}
	}
	variants := map[string]string{"(whole sandbox)": full, "(no sandbox: the floor)": floorUnit}
	for _, k := range keys {
		v := full
		for _, l := range byKey[k] {
			v = strings.Replace(v, l+"\n", "", 1)
		}
		variants[strings.Join(byKey[k], " ")] = v
	}
	names := make([]string, 0, len(variants))
	for k := range variants {
		names = append(names, k)
	}
	sort.Strings(names)
	dir := filepath.Join(ct.Root, "etc/systemd/system")
	for i, k := range names {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("loo%d@.service", i)), []byte(variants[k]), 0o644); err != nil {
			return err
		}
	}
	ctx := context.Background()
	if _, err := ct.Run(ctx, "systemctl", "daemon-reload"); err != nil {
		return err
	}
	times := map[string][]time.Duration{}
	for r := range reps {
		for i, k := range names {
			port := 28000 + i
			unit := fmt.Sprintf("loo%d@%d.service", i, port)
			t0 := monoUS()
			if _, err := ct.Run(ctx, "systemctl", "start", "--no-block", unit); err != nil {
				return err
			}
			first, err := answering(ct, []int{port}, time.Minute)
			if err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			times[k] = append(times[k], time.Duration(first[port]-t0)*time.Microsecond)
			if _, err := ct.Run(ctx, "systemctl", "stop", unit); err != nil {
				return err
			}
			_ = r
		}
	}
	whole := med(times["(whole sandbox)"])
	fmt.Fprintf(w, "\nWhat each sandbox directive adds to one start (leave-one-out, %d interleaved starts each, start command to first A2S answer, medians; the whole sandbox: %v, none: %v):\n\n",
		reps, whole.Round(100*time.Microsecond), med(times["(no sandbox: the floor)"]).Round(100*time.Microsecond))
	fmt.Fprintln(w, "| without | start | saves |")
	fmt.Fprintln(w, "|---|---:|---:|")
	sort.Slice(names, func(i, j int) bool { return med(times[names[i]]) < med(times[names[j]]) })
	for _, k := range names {
		if strings.HasPrefix(k, "(") {
			continue
		}
		m := med(times[k])
		fmt.Fprintf(w, "| `%s` | %v | %v |\n", k, m.Round(100*time.Microsecond), (whole - m).Round(100*time.Microsecond))
	}
	return nil
}
