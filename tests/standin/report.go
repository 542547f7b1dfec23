package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// report is what the stand-in saw, for the tests to read back.
type report struct {
	Argv     []string  `json:"argv"`
	UID      int       `json:"uid"`
	GID      int       `json:"gid"`
	Cwd      string    `json:"cwd"`
	Hostname string    `json:"hostname"`
	Map      string    `json:"map"`
	Port     uint16    `json:"port"`
	CfgChain []cfgFile `json:"cfg_chain"`
	PID      int       `json:"pid"`
	// BoundPort is the port the server socket got, 0 until it is bound
	// (the report is written again then); it differs from Port when the
	// engine moved on from a busy port.
	BoundPort uint16 `json:"bound_port"`
	// Ports is every socket's port once bound: server, client, hltv
	// (absent with -nohltv) and steam (absent when Steam did not start).
	Ports map[string]uint16 `json:"ports,omitempty"`
	// Ticks is the last "tick N" line printed (STANDIN_TICK).
	Ticks int `json:"ticks"`
	// Wrote lists the files written like the engine and SourceMod do
	// (paths relative to the working directory), WriteErrors the writes
	// that failed, as printed; both empty, not null, when there are none.
	Wrote       []string `json:"wrote"`
	WriteErrors []string `json:"write_errors"`
}

// writeReport writes rep as JSON to path through a temporary file and a
// rename, so a reader never sees half a report.
func writeReport(path string, rep report) error {
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".standin-report-*.tmp")
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		// CreateTemp makes the file private; the test harness may be
		// another user than the service.
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	return nil
}
