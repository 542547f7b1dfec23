package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxCfgDepth bounds exec nesting, so a cfg that executes itself ends.
const maxCfgDepth = 8

// cfgFile is one executed cfg file in the report.
type cfgFile struct {
	File  string   `json:"file"`  // path relative to the working directory
	Lines []string `json:"lines"` // trimmed, without blank lines and comments
}

// cfgRun walks a chain of cfg files the way srcds executes them.
type cfgRun struct {
	root     string // prefix for opening files; "" means the working directory
	game     string
	out      io.Writer
	hostname string
	chain    []cfgFile
}

// readCfgChain executes game/cfg/server.cfg below root and everything it
// execs, starting from hostname, and returns the final hostname and the
// files in execution order. Progress goes to out, one line per event.
func readCfgChain(root, game, hostname string, out io.Writer) (string, []cfgFile) {
	r := &cfgRun{root: root, game: game, out: out, hostname: hostname, chain: []cfgFile{}}
	r.exec("server.cfg", 1)
	return r.hostname, r.chain
}

func (r *cfgRun) exec(name string, depth int) {
	if depth > maxCfgDepth {
		fmt.Fprintf(r.out, "standin: exec %s: nested deeper than %d\n", name, maxCfgDepth)
		return
	}
	file := name
	if !strings.HasSuffix(file, ".cfg") {
		file += ".cfg"
	}
	file = filepath.Join(r.game, "cfg", file)
	data, err := os.ReadFile(filepath.Join(r.root, file))
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(r.out, "standin: exec %s: missing\n", name)
		return
	}
	if err != nil {
		// Say why, e.g. a permission problem in the overlay.
		fmt.Fprintf(r.out, "standin: exec %s: %v\n", name, err)
		return
	}
	fmt.Fprintf(r.out, "standin: exec %s\n", file)
	entry := len(r.chain)
	r.chain = append(r.chain, cfgFile{File: file, Lines: []string{}})
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "//") {
			continue
		}
		r.chain[entry].Lines = append(r.chain[entry].Lines, line)
		words := fields(line)
		// Console commands are case-insensitive.
		if len(words) >= 2 && strings.EqualFold(words[0], "exec") {
			r.exec(words[1], depth+1)
			continue
		}
		fmt.Fprintf(r.out, "standin: cfg %s: %s\n", file, line)
		if len(words) >= 2 && strings.EqualFold(words[0], "hostname") {
			r.hostname = strings.Join(words[1:], " ")
		}
	}
}

// fields splits a console line into words like srcds does: a quoted
// string is one word, and "//" outside quotes starts a comment.
func fields(line string) []string {
	var words []string
	for {
		line = strings.TrimLeft(line, " \t")
		switch {
		case line == "" || strings.HasPrefix(line, "//"):
			return words
		case line[0] == '"':
			end := strings.IndexByte(line[1:], '"')
			if end < 0 { // srcds takes an unclosed quote to the line end
				return append(words, line[1:])
			}
			words = append(words, line[1:1+end])
			line = line[2+end:]
		default:
			end := strings.IndexAny(line, " \t\"")
			if i := strings.Index(line, "//"); i >= 0 && (end < 0 || i < end) {
				end = i
			}
			if end < 0 {
				return append(words, line)
			}
			words = append(words, line[:end])
			line = line[end:]
		}
	}
}
