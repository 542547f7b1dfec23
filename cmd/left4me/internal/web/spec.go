package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	"gopkg.in/yaml.v3"

	"github.com/left4me/left4me/prestart"
	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/layout"
)

// Problem is one message of the editor, on its line.
type Problem struct {
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Text    string `json:"text"` // FILE:LINE:COL: FIELD: MESSAGE
	Warning bool   `json:"warning,omitempty"`
}

// Layer is one overlay of the stack, top-most first.
type Layer struct {
	Path   string `json:"path"`
	Alias  string `json:"alias"`
	Expose bool   `json:"expose"`
}

// Check is what the editor shows for a text: its problems, the overlay
// stack, and the server.cfg a start would stage (the exec server_ALIAS
// lines it adds, lowest overlay first, then the spec's lines).
type Check struct {
	Valid    bool      `json:"valid"`
	Problems []Problem `json:"problems"`
	Overlays []Layer   `json:"overlays"`
	Config   []string  `json:"config"`
	Auto     int       `json:"auto"` // the first Auto lines of Config are the added exec lines
}

// CheckSpec runs the generator's parser on data (as the spec file path),
// then judge (what a save applies), or without one the port check against
// the other specs in dir.
func CheckSpec(name, path, dir string, data []byte, judge func(name, path string, data []byte) error) Check {
	c := Check{Problems: []Problem{}, Overlays: []Layer{}, Config: []string{}}
	s, err := spec.Parse(path, data)
	if err == nil && judge != nil {
		err = judge(name, path, data)
	} else if err == nil {
		if all, lerr := spec.LoadAll(dir); lerr == nil {
			// Against the others: its own old ports are not a clash.
			all = slices.DeleteFunc(all, func(in spec.Instance) bool { return in.Name == name })
			err = spec.PortClash(all, nil, name, path, s)
		}
	}
	for _, e := range unjoin(err) {
		c.Problems = append(c.Problems, problemOf(e, false))
	}
	if s == nil {
		return c
	}
	for _, w := range s.Warnings {
		c.Problems = append(c.Problems, problemOf(w, true))
	}
	c.Valid = err == nil
	for _, o := range s.Overlays {
		c.Overlays = append(c.Overlays, Layer{Path: o.Path, Alias: o.Alias, Expose: o.Alias != ""})
	}
	cfg, auto := prestart.ServerCfg(s.StartPlan())
	if cfg != "" {
		c.Config = strings.Split(strings.TrimSuffix(cfg, "\n"), "\n")
	}
	c.Auto = auto
	return c
}

func problemOf(err error, warning bool) Problem {
	p := Problem{Text: err.Error(), Warning: warning}
	var se *spec.Error
	if errors.As(err, &se) {
		p.Line, p.Column = se.Line, se.Column
	}
	return p
}

func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}

// Expose sets or clears the alias of overlays[index] in a spec's text:
// an alias stages the overlay's server.cfg as server_ALIAS.cfg and execs
// it. The alias made is the path's last part as a word (a-z, 0-9, _).
func Expose(data []byte, index int, on bool) ([]byte, error) {
	// A byte-order mark (the parser skips it) is written back, as
	// SetAutostart keeps it: the operator's editor put it there.
	if rest, ok := bytes.CutPrefix(data, []byte(spec.BOM)); ok {
		out, err := Expose(rest, index, on)
		if err != nil {
			return nil, err
		}
		return append([]byte(spec.BOM), out...), nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: fix the spec first: %v", ErrBadInput, err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%w: the spec is not a mapping", ErrBadInput)
	}
	root := doc.Content[0]
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "overlays" {
			list = root.Content[i+1]
		}
	}
	if list == nil || list.Kind != yaml.SequenceNode || index < 0 || index >= len(list.Content) {
		return nil, fmt.Errorf("%w: there is no overlays[%d]", ErrBadInput, index)
	}
	item := list.Content[index]
	var path *yaml.Node
	aliasAt := -1
	switch item.Kind {
	case yaml.ScalarNode:
		path = item
	case yaml.MappingNode:
		for i := 0; i+1 < len(item.Content); i += 2 {
			switch item.Content[i].Value {
			case "path":
				path = item.Content[i+1]
			case "alias":
				aliasAt = i
			}
		}
	}
	if path == nil || path.Kind != yaml.ScalarNode {
		return nil, fmt.Errorf("%w: overlays[%d] has no path", ErrBadInput, index)
	}
	if !on {
		if aliasAt >= 0 {
			item.Content = append(item.Content[:aliasAt], item.Content[aliasAt+2:]...)
		}
	} else if aliasAt < 0 {
		alias := aliasFor(path.Value, index)
		if item.Kind == yaml.ScalarNode {
			p := *item
			*item = yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle, Content: []*yaml.Node{
				{Kind: yaml.ScalarNode, Value: "path"}, &p,
			}}
			item.Content[1].HeadComment, item.Content[1].LineComment = "", ""
			item.LineComment = p.LineComment
		}
		item.Content = append(item.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "alias"},
			&yaml.Node{Kind: yaml.ScalarNode, Value: alias})
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

// aliasFor makes an alias of an overlay path: its last part, in the
// characters an alias may hold.
func aliasFor(path string, index int) string {
	last := path[strings.LastIndex(path, "/")+1:]
	var b strings.Builder
	for _, c := range []byte(strings.ToLower(last)) {
		if layout.IsWordByte(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	a := b.String()
	if layout.ValidateAlias(a) != "" {
		a = "overlay_" + strconv.Itoa(index)
	}
	return a
}

func (s *Server) specPage(w http.ResponseWriter, r *http.Request, sess Session) {
	name := r.PathValue("name")
	path := s.SpecPath(name)
	data, err := readSpec(path)
	if err != nil {
		s.page(w, http.StatusNotFound, "message", pageData{Title: name, Sess: sess, Message: err.Error()})
		return
	}
	s.page(w, http.StatusOK, "spec", pageData{Title: "spec of " + name, Name: name, Sess: sess,
		Data: map[string]any{"Path": path, "Text": string(data)}})
}

// readSpec reads a spec file, not through a link, bounded.
func readSpec(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("spec %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() > spec.MaxSpecSize {
		return nil, fmt.Errorf("spec %s: not a regular file of at most %d bytes", path, spec.MaxSpecSize)
	}
	var b bytes.Buffer
	_, err = b.ReadFrom(f)
	return b.Bytes(), err
}

func specText(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, spec.MaxSpecSize+64<<10)
	t := r.PostFormValue("text")
	if len(t) > spec.MaxSpecSize {
		http.Error(w, "spec too large", http.StatusRequestEntityTooLarge)
		return nil, false
	}
	return []byte(strings.ReplaceAll(t, "\r\n", "\n")), true
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) specCheck(w http.ResponseWriter, r *http.Request, _ Session) {
	data, ok := specText(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, CheckSpec(r.PathValue("name"), s.SpecPath(r.PathValue("name")), s.SpecDir, data, s.JudgeSpec))
}

func (s *Server) specExpose(w http.ResponseWriter, r *http.Request, _ Session) {
	data, ok := specText(w, r)
	if !ok {
		return
	}
	i, err := strconv.Atoi(r.PostFormValue("index"))
	if err != nil {
		http.Error(w, "index: "+err.Error(), http.StatusBadRequest)
		return
	}
	out, err := Expose(data, i, r.PostFormValue("on") == "true")
	if err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"text": string(out)})
}

func (s *Server) specSave(w http.ResponseWriter, r *http.Request, sess Session) {
	name := r.PathValue("name")
	data, ok := specText(w, r)
	if !ok {
		return
	}
	var out bytes.Buffer
	err := s.SaveSpec(r.Context(), name, data, &out)
	if err != nil {
		s.logf(sess, "save of the spec of %s refused: %v", name, err)
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": err.Error(), "output": out.String()})
		return
	}
	s.live.outdated() // its stale mark, its ports
	s.logf(sess, "saved the spec of %s (%d bytes)", name, len(data))
	writeJSON(w, http.StatusOK, map[string]string{"output": out.String()})
}

// specRenderText renders the editor's text, not saved, as the spec would
// be rendered once saved (left4me render NAME --spec -).
func (s *Server) specRenderText(w http.ResponseWriter, r *http.Request, sess Session) {
	name := r.PathValue("name")
	data, ok := specText(w, r)
	if !ok {
		return
	}
	var out bytes.Buffer
	code := http.StatusOK
	if err := s.RenderSpec(r.Context(), name, data, &out); err != nil {
		fmt.Fprintln(&out, err)
		code = http.StatusUnprocessableEntity
	}
	s.logf(sess, "rendered the spec of %s from the editor (%d bytes, not saved): %d", name, len(data), code)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = out.WriteTo(w)
}
