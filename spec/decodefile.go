package spec

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Fields are where each key of a file DecodeFile read was, so that checks
// of the values after decoding name FILE:LINE:COL too.
type Fields struct {
	file string
	at   map[string]*yaml.Node
}

// At is a problem with key's value, located at it (at the file when the
// key was not given).
func (f Fields) At(key, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if n := f.at[key]; n != nil {
		return &Error{File: f.file, Line: n.Line, Column: n.Column, Field: key, Msg: msg}
	}
	return &Error{File: f.file, Field: key, Msg: msg}
}

// DecodeFile reads the YAML mapping in data into the struct out points to,
// as strictly as a spec and with errors in a spec's form (FILE:LINE:COL:
// KEY: what is wrong), all of them at once: a syntax error in plain words,
// an unknown key with the nearest known one, a key given twice, a value of
// the wrong type. The keys are out's yaml tags; an empty file sets
// nothing. For the host's small config files (limits.yaml, overlay
// definitions), whose keys are flat.
func DecodeFile(file string, data []byte, out any) (Fields, error) {
	f := Fields{file: file, at: map[string]*yaml.Node{}}
	p := &parser{file: file}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err.Error() == "EOF" {
			return f, nil
		}
		return f, p.yamlErr(err, data)
	}
	var extra yaml.Node
	if dec.Decode(&extra) == nil {
		return f, p.at(&extra, "", "more than one YAML document")
	}
	rv := reflect.ValueOf(out).Elem()
	index, known := map[string]int{}, []string{}
	for i := range rv.NumField() {
		name, _, _ := strings.Cut(rv.Type().Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			index[name] = i
			known = append(known, name)
		}
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return f, p.at(m, "", "want a mapping of keys (allowed: "+strings.Join(known, ", ")+")")
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		field, ok := index[k.Value]
		switch {
		case !ok:
			p.unknownKey(k, k.Value, known)
		case f.at[k.Value] != nil:
			p.add(k, k.Value, "given twice (first on line %d)", f.at[k.Value].Line)
		default:
			f.at[k.Value] = v
			target := rv.Field(field)
			if err := v.Decode(target.Addr().Interface()); err != nil {
				p.add(v, k.Value, "want %s, not %s", want(target.Type()), describe(v))
			}
		}
	}
	if p.dropped > 0 {
		p.errs = append(p.errs, p.fileErr(fmt.Sprintf("%d more problems not shown", p.dropped)))
	}
	return f, errors.Join(p.errs...)
}

// want says what a value of type t is written as.
func want(t reflect.Type) string {
	switch {
	case t == reflect.TypeFor[time.Duration]():
		return "a duration such as 90s, 30m or 2h"
	case t.Kind() == reflect.Int:
		return "a whole number"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.Slice:
		return "a list of " + strings.TrimPrefix(want(t.Elem()), "a ") + "s"
	}
	return "a string"
}

// JoinByLine joins the problems of one file in the order of its lines,
// flattening joined errors: a problem found while decoding and one found
// in the values after read as one list, top to bottom.
func JoinByLine(errs ...error) error {
	var flat []error
	var add func(error)
	add = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				add(e)
			}
		} else if err != nil {
			flat = append(flat, err)
		}
	}
	for _, err := range errs {
		add(err)
	}
	line := func(err error) [2]int {
		var e *Error
		if errors.As(err, &e) {
			return [2]int{e.Line, e.Column}
		}
		return [2]int{}
	}
	slices.SortStableFunc(flat, func(a, b error) int {
		la, lb := line(a), line(b)
		return cmp.Or(cmp.Compare(la[0], lb[0]), cmp.Compare(la[1], lb[1]))
	})
	if len(flat) == 1 {
		return flat[0] // itself: its type and text unwrapped
	}
	return errors.Join(flat...)
}
