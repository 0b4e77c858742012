package gates

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/strictcycle/strictcycle/redact"
)

// maxReportBytes bounds what one report read may load into memory.
const maxReportBytes = 64 << 20

// errEscape is returned when a path resolves (through a symlink) outside the
// root.
var errEscape = errors.New("resolves outside the root")

// evalEnv is what a check function sees: the root, the clock and windows of
// this run, and the compiled conditions.
type evalEnv struct {
	root     string // absolute, as given (used for evidence paths)
	realRoot string // symlinks resolved (used for the escape test)
	now      time.Time
	window   time.Duration
	skew     time.Duration

	noCommands bool
	secrets    *redact.Redactor
	redis      RedisClient
	programs   map[string]*vm.Program // by condition source
	yamlCache  *sync.Map              // rel path -> yamlEntry
}

// abs is the absolute root-based path of rel, as the original records it.
func (e *evalEnv) abs(rel string) string {
	return filepath.Join(e.root, filepath.FromSlash(rel))
}

// resolve returns the real path of rel, refusing paths that resolve outside
// the root. A missing file yields an error wrapping fs.ErrNotExist.
func (e *evalEnv) resolve(rel string) (string, error) {
	if real, ok := e.resolveFast(rel); ok {
		return real, nil
	}
	real, err := filepath.EvalSymlinks(e.abs(rel))
	if err != nil {
		return "", err
	}
	if real != e.realRoot && !strings.HasPrefix(real, e.realRoot+string(filepath.Separator)) {
		return "", fmt.Errorf("%s: %w (%s)", rel, errEscape, real)
	}
	return real, nil
}

// resolveFast walks rel's components below the already resolved root, one
// Lstat each, instead of re-resolving every component of the root on each
// read as filepath.EvalSymlinks does (half the syscalls of a gate run on a
// deep root). It gives up (ok false) on a symlink, a "..", or any error,
// which the full EvalSymlinks path then judges (escape test, the same error
// text as before).
func (e *evalEnv) resolveFast(rel string) (real string, ok bool) {
	p := strings.TrimSuffix(e.realRoot, string(filepath.Separator))
	for _, seg := range strings.Split(filepath.Clean(filepath.FromSlash(rel)), string(filepath.Separator)) {
		switch seg {
		case "", ".":
			continue
		case "..":
			return "", false
		}
		p += string(filepath.Separator) + seg
		fi, err := os.Lstat(p)
		if err != nil || fi.Mode()&fs.ModeSymlink != 0 {
			return "", false
		}
	}
	if p == "" {
		p = string(filepath.Separator)
	}
	return p, true
}

// readFile reads rel under the root and hashes it in the same read, so the
// recorded sha256 is of the bytes the check judged (W14).
func (e *evalEnv) readFile(rel string) ([]byte, EvidenceFile, error) {
	ef := EvidenceFile{Path: e.abs(rel)}
	real, err := e.resolve(rel)
	if err != nil {
		return nil, ef, err
	}
	f, err := os.Open(real)
	if err != nil {
		return nil, ef, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, ef, err
	}
	if !st.Mode().IsRegular() {
		return nil, ef, fmt.Errorf("%s: not a regular file", rel)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxReportBytes+1))
	if err != nil {
		return nil, ef, err
	}
	if len(data) > maxReportBytes {
		return nil, ef, fmt.Errorf("%s: larger than %d bytes", rel, maxReportBytes)
	}
	sum := sha256.Sum256(data)
	ef.Exists, ef.SHA256, ef.SizeBytes = true, hex.EncodeToString(sum[:]), int64(len(data))
	return data, ef, nil
}

// hashFile records rel as evidence without keeping its bytes. A missing file
// is recorded with exists=false, as the original does.
func (e *evalEnv) hashFile(rel string) (EvidenceFile, error) {
	_, ef, err := e.readFile(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return EvidenceFile{Path: e.abs(rel)}, nil
	}
	return ef, err
}

// mtime of rel (already resolved inside the root).
func (e *evalEnv) mtime(rel string) (time.Time, error) {
	real, err := e.resolve(rel)
	if err != nil {
		return time.Time{}, err
	}
	st, err := os.Stat(real)
	if err != nil {
		return time.Time{}, err
	}
	return st.ModTime().UTC(), nil
}

// exists reports whether rel is a regular file inside the root.
func (e *evalEnv) exists(rel string) (bool, error) {
	real, err := e.resolve(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	st, err := os.Stat(real)
	if err != nil {
		return false, nil
	}
	return st.Mode().IsRegular(), nil
}

// isDir reports whether rel is a directory inside the root.
func (e *evalEnv) isDir(rel string) bool {
	real, err := e.resolve(rel)
	if err != nil {
		return false
	}
	st, err := os.Stat(real)
	return err == nil && st.IsDir()
}

// glob returns the root-relative (slash) paths of regular files matching a
// root-relative pattern, sorted. "**" matches zero or more directories, as
// Python's Path.glob.
func (e *evalEnv) glob(pattern string) ([]string, error) {
	segs := strings.Split(pattern, "/")
	// Walk from the longest literal prefix.
	i := 0
	for i < len(segs)-1 && !hasMeta(segs[i]) {
		i++
	}
	base := strings.Join(segs[:i], "/")
	rest := segs[i:]
	var out []string
	baseAbs := e.root
	if base != "" {
		baseAbs = e.abs(base)
	}
	if !strings.Contains(pattern, "**") {
		matches, err := filepath.Glob(filepath.Join(e.root, filepath.FromSlash(pattern)))
		if err != nil {
			return nil, fmt.Errorf("glob %q: %w", pattern, err)
		}
		for _, m := range matches {
			rel, err := filepath.Rel(e.root, m)
			if err != nil {
				continue
			}
			out = append(out, filepath.ToSlash(rel))
		}
	} else {
		err := filepath.WalkDir(baseAbs, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if p == baseAbs {
					return fs.SkipAll
				}
				return nil
			}
			if d.IsDir() {
				return nil
			}
			relBase, _ := filepath.Rel(baseAbs, p)
			if matchSegs(rest, strings.Split(filepath.ToSlash(relBase), "/")) {
				rel, _ := filepath.Rel(e.root, p)
				out = append(out, filepath.ToSlash(rel))
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("glob %q: %w", pattern, err)
		}
	}
	// Keep regular files only (a symlink is judged when read).
	files := out[:0]
	for _, rel := range out {
		st, err := os.Lstat(e.abs(rel))
		if err == nil && (st.Mode().IsRegular() || st.Mode()&fs.ModeSymlink != 0) {
			files = append(files, rel)
		}
	}
	sort.Strings(files)
	return files, nil
}

func hasMeta(s string) bool { return strings.ContainsAny(s, `*?[\`) }

func matchSegs(pat, name []string) bool {
	if len(pat) == 0 {
		return len(name) == 0
	}
	if pat[0] == "**" {
		for k := 0; k <= len(name); k++ {
			if matchSegs(pat[1:], name[k:]) {
				return true
			}
		}
		return false
	}
	if len(name) == 0 {
		return false
	}
	ok, err := path.Match(pat[0], name[0])
	if err != nil || !ok {
		return false
	}
	return matchSegs(pat[1:], name[1:])
}

// decodeObject parses a report: it must be one JSON object. Numbers decode
// as float64 so that conditions such as `critical_count == 0` compare
// numerically; a null or string where a number is expected simply fails the
// condition.
func decodeObject(rel string, data []byte) (map[string]any, error) {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("%s: invalid JSON: %v", rel, err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: not a JSON object (got %s)", rel, jsonKind(v))
	}
	// encoding/json keeps the last of duplicate keys, so
	// {"status":"critical","status":"ok"} would read as ok: refuse it.
	if k, dup := duplicateKey(data); dup {
		return nil, fmt.Errorf("%s: invalid JSON: duplicate key %q", rel, k)
	}
	return obj, nil
}

// duplicateKey returns the first key that occurs twice in one object of
// data, which must be valid JSON (it is only called after a successful
// Unmarshal, so the scanner needs no error handling).
func duplicateKey(data []byte) (string, bool) {
	type frame struct {
		obj       bool
		expectKey bool
		keys      map[string]struct{}
	}
	var stack []frame
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '{':
			stack = append(stack, frame{obj: true, expectKey: true})
		case '[':
			stack = append(stack, frame{})
		case '}', ']':
			stack = stack[:len(stack)-1]
		case ',':
			if top := len(stack) - 1; top >= 0 && stack[top].obj {
				stack[top].expectKey = true
			}
		case '"':
			j, escaped := i+1, false
			for ; j < len(data) && data[j] != '"'; j++ {
				if data[j] == '\\' {
					escaped = true
					j++
				}
			}
			if top := len(stack) - 1; top >= 0 && stack[top].obj && stack[top].expectKey {
				f := &stack[top]
				f.expectKey = false
				key := string(data[i+1 : j])
				if escaped {
					_ = json.Unmarshal(data[i:j+1], &key)
				}
				if f.keys == nil {
					f.keys = make(map[string]struct{}, 8)
				}
				if _, dup := f.keys[key]; dup {
					return key, true
				}
				f.keys[key] = struct{}{}
			}
			i = j
		}
	}
	return "", false
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64, json.Number:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// compact renders an observed value for a reason, truncated.
func compact(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := string(b)
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

// fmtDur prints a window the way an operator writes it: 15m, 24h, 90s.
func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}
