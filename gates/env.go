package gates

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/strictcycle/strictcycle/redact"
	"github.com/strictcycle/strictcycle/rootfs"
)

// errEscape is wrapped by a read of a path that leads (through a symlink)
// outside the root; the same sentinel as a glob's directory out of the root.
var errEscape = rootfs.ErrOutside

// readError is a file the engine could not read (not regular, too large,
// outside the root, a permission or I/O error). It is distinct from a file
// that was read and is bad (badContent): a built-in check reports the first as
// an error, the second as the original's exception (fail).
type readError struct{ err error }

func (r *readError) Error() string { return r.err.Error() }
func (r *readError) Unwrap() error { return r.err }

// evalEnv is what a check function sees: the root, the clock and windows of
// this run, and the compiled conditions.
type evalEnv struct {
	root   string       // absolute, as given (evidence paths, command cwd)
	fs     *rootfs.Root // every read goes through it
	now    time.Time
	window time.Duration
	skew   time.Duration

	noCommands bool
	// interpreter replaces a leading "python" of an argv; interpErr says
	// why there is none (a command that needs it is then an error).
	interpreter string
	interpErr   error
	// preFailed holds, per check name, the failed pre-steps that fail it.
	preFailed map[string][]string
	// preExit holds, per check name, the exit code of the pre-step whose
	// fails_checks name it (the original's probe rc in its reason).
	preExit map[string]*int
	// live is the contract's live scope, read before the checks.
	live liveScope
	// ci selects the CI argv and conditions (ci_argv, ci_condition).
	ci        bool
	secrets   *redact.Redactor
	redis     RedisClient
	programs  map[string]*vm.Program // by condition source
	yamlCache *sync.Map              // rel path -> yamlEntry
	parsed    *parseCache            // decoded reports, across runs
	dirs      *rootfs.DirCache       // directory listings, across runs
	cands     *sync.Map              // candidate lists, across runs (Cache.cands)
}

// abs is the absolute root-based path of rel, as the original records it.
func (e *evalEnv) abs(rel string) string {
	return filepath.Join(e.root, filepath.FromSlash(rel))
}

// wrapRead names rel in a read error, turns an escape into errEscape (the
// os.Root message "path escapes from parent" says nothing to an operator)
// and marks anything but absence as a readError.
func wrapRead(rel string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if rootfs.IsEscape(err) {
		return &readError{fmt.Errorf("%s: %w", rel, errEscape)}
	}
	msg := err.Error()
	if !strings.Contains(msg, rel) {
		return &readError{fmt.Errorf("%s: %w", rel, err)}
	}
	return &readError{err}
}

// open opens rel for reading through the root: a regular file no larger
// than max, found without blocking (a FIFO is an error, not a hang).
func (e *evalEnv) open(rel string, max int64) (*rootfs.File, error) {
	f, err := e.fs.Open(rel, max)
	return f, wrapRead(rel, err)
}

// evidence is the record of a file read to its end.
func (e *evalEnv) evidence(rel string, f *rootfs.File) EvidenceFile {
	return EvidenceFile{Path: e.abs(rel), Exists: true, SHA256: f.SHA256(), SizeBytes: f.Size()}
}

// drain reads f to its end so its hash covers the whole file.
func drain(rel string, f *rootfs.File) error {
	if _, err := io.Copy(io.Discard, f); err != nil {
		return wrapRead(rel, err)
	}
	return nil
}

// readFile reads rel whole (a file the engine parses: at most
// maxReportBytes) and hashes it in the same read, so the recorded sha256 is
// of the bytes the check judged (W14).
func (e *evalEnv) readFile(rel string) ([]byte, EvidenceFile, error) {
	data, sum, err := e.fs.ReadFile(rel, maxReportBytes)
	if err != nil {
		return nil, EvidenceFile{Path: e.abs(rel)}, wrapRead(rel, err)
	}
	return data, EvidenceFile{Path: e.abs(rel), Exists: true, SHA256: sum, SizeBytes: int64(len(data))}, nil
}

// readReport decodes rel as one JSON object, streaming (numbers exact,
// duplicate keys refused, values bounded; see decodeJSONObject). A file that
// was read but is bad returns its evidence with a badContent error;
// an unreadable one returns a readError and no evidence.
func (e *evalEnv) readReport(rel string, keep func(string) bool) (map[string]any, EvidenceFile, error) {
	ef := EvidenceFile{Path: e.abs(rel)}
	var openedAt time.Time
	if keep == nil && e.parsed != nil {
		openedAt = e.parsed.now()
	}
	f, err := e.open(rel, maxReportBytes)
	if err != nil {
		return nil, ef, err
	}
	defer f.Close()
	if keep == nil {
		// The identity is of the open file (fstat), so a file renamed
		// over the path after the open is not the one looked up.
		if obj, cef, ok := e.parsed.get(e.abs(rel), f.Info); ok {
			return obj, cef, nil
		}
	}
	if keep == nil && e.parsed != nil {
		e.parsed.decodes.Add(1)
	}
	obj, err := decodeJSONObject(f, keep)
	if err != nil && !isBadContent(err) {
		return nil, ef, wrapRead(rel, err)
	}
	if derr := drain(rel, f); derr != nil {
		return nil, ef, derr
	}
	ef = e.evidence(rel, f)
	if err != nil {
		return nil, ef, fmt.Errorf("%s: %w", rel, err)
	}
	if keep == nil {
		e.parsed.put(e.abs(rel), f.Info, openedAt, obj, ef)
	}
	return obj, ef, nil
}

// hashFile records rel as evidence without keeping its bytes (streamed
// through sha256). A missing file is recorded with exists=false, as the
// original does; an unreadable one is an error.
func (e *evalEnv) hashFile(rel string) (EvidenceFile, error) {
	ef, err := e.hashPresent(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return EvidenceFile{Path: e.abs(rel)}, nil
	}
	return ef, err
}

// hashPresent hashes rel (streamed) and records it as evidence; a missing
// file is an error wrapping fs.ErrNotExist.
func (e *evalEnv) hashPresent(rel string) (EvidenceFile, error) {
	f, err := e.open(rel, maxEvidenceBytes)
	if err != nil {
		return EvidenceFile{Path: e.abs(rel)}, err
	}
	defer f.Close()
	if err := drain(rel, f); err != nil {
		return EvidenceFile{Path: e.abs(rel)}, err
	}
	return e.evidence(rel, f), nil
}

// mtime of rel, through the root.
func (e *evalEnv) mtime(rel string) (time.Time, error) {
	st, err := e.fs.Stat(rel)
	if err != nil {
		return time.Time{}, wrapRead(rel, err)
	}
	return st.ModTime().UTC(), nil
}

// exists reports whether rel is a regular file inside the root.
func (e *evalEnv) exists(rel string) (bool, error) {
	st, err := e.fs.Stat(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, wrapRead(rel, err)
	}
	return st.Mode().IsRegular(), nil
}

// isDir reports whether rel is a directory inside the root.
func (e *evalEnv) isDir(rel string) bool {
	st, err := e.fs.Stat(rel)
	return err == nil && st.IsDir()
}

// glob returns the root-relative (slash) paths matching a root-relative
// pattern, sorted, whatever their type: a FIFO or a directory named like a
// report is a candidate the reader refuses, not one silently dropped. "**"
// matches zero or more directories, as Python's Path.glob; directory
// symlinks are not followed.
func (e *evalEnv) glob(pattern string) ([]string, error) {
	ms, err := e.globMatches(pattern)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range ms {
		out = append(out, m.Path)
	}
	return out, nil
}

// globMatches is glob with each match's type from its directory listing;
// listings of unchanged directories come from the engine's cache.
func (e *evalEnv) globMatches(pattern string) ([]rootfs.Match, error) {
	return e.fs.GlobMatches(pattern, e.dirs)
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case int64, float64, json.Number:
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
