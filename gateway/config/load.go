package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/minbil/minbil-bff/gateway/scrub"
)

// maxFileBytes bounds the configuration file Load reads; a real one is a
// few kilobytes.
const maxFileBytes = 1 << 20

// Load builds the configuration in three layers, each overriding the one
// before: Default, then the YAML file at path (skipped when path is ""), then
// the environment seen through lookupEnv (nil means an empty environment).
// It does not validate; call Validate on the result, after any flags.
//
// The file is decoded strictly: an unknown or repeated key, a value of the
// wrong type, or a second YAML document is an error naming the key path and
// the line ("gateway.yaml:3: server.adr: unknown key; …"). A key given an
// empty (null) value keeps its default; a list given one is empty. An empty
// list is always nil, so nil never means "the default".
//
// Every key is overridden by the variable EnvName(path), e.g.
// MINBIL_UPSTREAM_TIMEOUT for upstream.timeout; Keys lists them. Values use
// Go syntax: durations as in time.ParseDuration ("5s", "1m30s"), integers in
// base 10, booleans as in strconv.ParseBool, lists comma-separated with
// spaces around items trimmed and empty items dropped (so "" is an empty
// list). A variable set to "" is set: a string key becomes "", a number or
// duration key is an error. upstream.api_key is also read from
// MINBIL_API_KEY (APIKeyEnv) when MINBIL_UPSTREAM_API_KEY is unset. Only
// these names are looked up, so other MINBIL_ variables (the documentation's
// client-side MINBIL_API_BASE_URL, MINBIL_ACCESS_TOKEN) are ignored, and so
// is a misspelt one.
//
// All problems of the file and the environment are reported at once,
// joined, one per line. On error the returned Config is the zero value.
func Load(path string, lookupEnv func(string) (string, bool)) (Config, error) {
	cfg := Default()
	var errs []error
	if path != "" {
		data, err := readFile(path)
		if err != nil {
			return Config{}, err
		}
		errs = append(errs, decodeFile(&cfg, path, data)...)
	}
	errs = append(errs, applyEnv(&cfg, lookupEnv)...)
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return cfg, nil
}

// Flags are the command-line overrides of "serve"; they win over the file
// and the environment. An empty field overrides nothing.
type Flags struct {
	// Addr overrides server.addr (--addr).
	Addr string
	// Upstream overrides upstream.url (--upstream): "mock" or a URL.
	Upstream string
}

// ApplyFlags returns c with the non-empty fields of f applied.
func (c Config) ApplyFlags(f Flags) Config {
	if f.Addr != "" {
		c.Server.Addr = f.Addr
	}
	if f.Upstream != "" {
		c.Upstream.URL = f.Upstream
	}
	return c
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	if len(data) > maxFileBytes {
		return nil, fmt.Errorf("read config %s: larger than %d bytes", path, maxFileBytes)
	}
	return data, nil
}

// decodeFile applies the YAML document in data to cfg, walking the node tree
// against the struct so that every problem names its key path and line.
// (Decoder.KnownFields would also refuse unknown keys, but its message names
// the Go type, "field adr not found in type config.Server", not the key.)
func decodeFile(cfg *Config, name string, data []byte) []error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // empty, or only comments
		}
		return []error{syntaxError(name, err)}
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return []error{syntaxError(name, err)}
	default:
		return []error{fmt.Errorf("%s:%d: a config file holds one YAML document; this is a second", name, next.Line)}
	}
	d := fileDecoder{name: name}
	if len(doc.Content) == 1 {
		d.section(doc.Content[0], reflect.ValueOf(cfg).Elem(), "")
	}
	return d.errs
}

// syntaxError rewrites yaml.v3's "yaml: line 3: msg" as "name:3: invalid
// YAML: msg", with every quoted part of msg left out: yaml.v3 quotes the
// file's own text ("unknown anchor 'x' referenced"), which may be a
// secret.
func syntaxError(name string, err error) error {
	msg := quoted.ReplaceAllString(strings.TrimPrefix(err.Error(), "yaml: "), "(not shown)")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, text, ok := strings.Cut(rest, ": "); ok {
			if _, err := strconv.Atoi(num); err == nil {
				return fmt.Errorf("%s:%s: invalid YAML: %s", name, num, text)
			}
		}
	}
	return fmt.Errorf("%s: invalid YAML: %s", name, msg)
}

// quoted matches a part of a yaml.v3 message quoted with ', ` or ".
var quoted = regexp.MustCompile("'[^']*'|`[^`]*`|\"(?:[^\"\\\\]|\\\\.)*\"")

type fileDecoder struct {
	name string
	errs []error
}

func (d *fileDecoder) fail(n *yaml.Node, key, format string, args ...any) {
	d.errs = append(d.errs, &FieldError{
		Source:  fmt.Sprintf("%s:%d", d.name, n.Line),
		Key:     key,
		Problem: fmt.Sprintf(format, args...),
	})
}

// section applies mapping node n to the struct v whose key path is prefix.
// A problem is reported at the line of use, not at that of an anchor.
func (d *fileDecoder) section(at *yaml.Node, v reflect.Value, prefix string) {
	n := resolve(at)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.fail(at, orTop(prefix), "is %s, want a mapping of keys", describe(n))
		return
	}
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := resolve(n.Content[i]), n.Content[i+1]
		if kn.Kind != yaml.ScalarNode {
			d.fail(n.Content[i], orTop(prefix), "has a key that is %s, want a name", describe(kn))
			continue
		}
		f, ok := fieldByName(v.Type(), kn.Value)
		if !ok {
			d.unknownKey(kn, prefix, fieldNames(v.Type()))
			continue
		}
		path := joinPath(prefix, kn.Value)
		if first, dup := seen[kn.Value]; dup {
			d.fail(kn, path, "is given twice (first on line %d)", first)
			continue
		}
		seen[kn.Value] = kn.Line
		fv := v.FieldByIndex(f.Index)
		if f.Type.Kind() == reflect.Struct {
			d.section(vn, fv, path)
			continue
		}
		d.leaf(vn, fv, path)
	}
}

// leaf applies node at to the non-struct value v of key path.
func (d *fileDecoder) leaf(at *yaml.Node, v reflect.Value, path string) {
	n := resolve(at)
	if isNull(n) {
		if v.Kind() == reflect.Slice {
			v.SetZero()
		}
		return
	}
	if v.Kind() == reflect.Slice {
		if n.Kind != yaml.SequenceNode {
			d.fail(at, path, "is %s, want %s", describe(n), typeDesc(v.Type()))
			return
		}
		var items []string
		for _, itemAt := range n.Content {
			item := resolve(itemAt)
			if item.Kind != yaml.ScalarNode || isNull(item) {
				d.fail(itemAt, path, "has an item that is %s, want a string", describe(item))
				continue
			}
			items = append(items, item.Value)
		}
		v.Set(reflect.ValueOf(items).Convert(v.Type()))
		return
	}
	if n.Kind != yaml.ScalarNode {
		d.fail(at, path, "is %s, want %s", describe(n), typeDesc(v.Type()))
		return
	}
	val, err := parseValue(v.Type(), n.Value)
	if err != nil {
		d.fail(at, path, "%s is not %s", show(isSecret(path), n.Value), typeDesc(v.Type()))
		return
	}
	v.Set(val)
}

// resolve follows an alias (*anchor) to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "empty"
		}
		return "a scalar"
	}
	return "not a value"
}

// maxKeyEdits is how far an unknown key may be from a known one and still
// be shown: two edits (a typo, a letter left out) say nothing of a secret.
const maxKeyEdits = 2

// unknownKey reports the unknown key kn under prefix, whose section has
// the keys names. A key within maxKeyEdits of one of them is a typo and
// is shown with it; any other is named by its line only: it may be a
// secret pasted a line too high ("api_key:\n  <the key>:").
func (d *fileDecoder) unknownKey(kn *yaml.Node, prefix string, names []string) {
	has := fmt.Sprintf("%s has %s", orTop(prefix), strings.Join(names, ", "))
	for _, name := range names {
		if editDistance(kn.Value, name, maxKeyEdits) <= maxKeyEdits {
			d.fail(kn, joinPath(prefix, keyName(kn.Value)), "unknown key; did you mean %s? %s", name, has)
			return
		}
	}
	d.fail(kn, orTop(prefix), "unknown key, not shown (it is more than two edits from every key, and may be a secret); %s", has)
}

// editDistance returns the Levenshtein distance of a and b, or limit+1 when
// it is more than limit.
func editDistance(a, b string, limit int) int {
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(b)-len(a) > limit {
		return limit + 1
	}
	prev := make([]int, len(a)+1)
	cur := make([]int, len(a)+1)
	for i := range prev {
		prev[i] = i
	}
	for j := 1; j <= len(b); j++ {
		cur[0] = j
		best := cur[0]
		for i := 1; i <= len(a); i++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[i] = min(prev[i]+1, cur[i-1]+1, prev[i-1]+cost)
			best = min(best, cur[i])
		}
		if best > limit {
			return limit + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(a)]
}

// keyName returns a key as written in a file, quoted and shortened unless it
// looks like a key, so that an error stays on one readable line.
func keyName(name string) string {
	const maxLen = 64
	plain := name != "" && len(name) <= maxLen
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			plain = false
			break
		}
	}
	if plain {
		return name
	}
	if len(name) > maxLen {
		name = name[:maxLen] + "…"
	}
	return strconv.Quote(name)
}

func orTop(prefix string) string {
	if prefix == "" {
		return "the top level"
	}
	return prefix
}

func joinPath(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func fieldByName(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		if f := t.Field(i); yamlName(f) == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func fieldNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			names = append(names, name)
		}
	}
	return names
}

// applyEnv overrides cfg from the environment; see Load.
func applyEnv(cfg *Config, lookupEnv func(string) (string, bool)) []error {
	if lookupEnv == nil {
		return nil
	}
	var errs []error
	for _, k := range Keys() {
		name, raw, ok := k.lookup(lookupEnv)
		if !ok {
			continue
		}
		val, err := parseValue(k.typ, raw)
		if err != nil {
			errs = append(errs, &FieldError{
				Source:  "env " + name,
				Key:     k.Path,
				Problem: fmt.Sprintf("%s is not %s", show(k.Secret, raw), typeDesc(k.typ)),
			})
			continue
		}
		k.field(cfg).Set(val)
	}
	return errs
}

// lookup returns the first of k's variables that is set: Env, then Aliases.
func (k Key) lookup(lookupEnv func(string) (string, bool)) (name, value string, ok bool) {
	for _, name := range append([]string{k.Env}, k.Aliases...) {
		if value, ok := lookupEnv(name); ok {
			return name, value, true
		}
	}
	return "", "", false
}

// parseValue parses s, from the environment or a YAML scalar, as a value of
// type t. Both sources share it so a value means the same in either.
func parseValue(t reflect.Type, s string) (reflect.Value, error) {
	var (
		v   any
		err error
	)
	trimmed := strings.TrimSpace(s)
	switch {
	case t == durationType:
		v, err = time.ParseDuration(trimmed)
	case t.Kind() == reflect.String:
		v = s
	case t.Kind() == reflect.Bool:
		v, err = strconv.ParseBool(trimmed)
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		v, err = strconv.ParseInt(trimmed, 10, t.Bits())
	case t.Kind() == reflect.Float64:
		var f float64
		f, err = strconv.ParseFloat(trimmed, 64)
		if err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
			err = errors.New("not a finite number")
		}
		v = f
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		v = splitList(s)
	default:
		return reflect.Value{}, fmt.Errorf("unsupported type %s", t)
	}
	if err != nil {
		return reflect.Value{}, err
	}
	return reflect.ValueOf(v).Convert(t), nil
}

// splitList splits a comma-separated list, trimming items and dropping
// empty ones; no items gives nil.
func splitList(s string) []string {
	var items []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

// show quotes a value for an error message: as a URL redacted (user info,
// query and fragment hidden: any value may be a URL that carries a
// credential), then shortened, and not at all for a secret.
func show(secret bool, s string) string {
	if secret {
		return "the value"
	}
	const maxLen = 80
	return strconv.Quote(scrub.Cap(scrub.URL(s), maxLen))
}
