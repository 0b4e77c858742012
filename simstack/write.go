package simstack

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// tsLayout is Python's datetime.isoformat() for an aware UTC datetime with
// microseconds, the form every hbot report uses ("…T01:50:28.284514+00:00").
const tsLayout = "2006-01-02T15:04:05.000000-07:00"

func formatTS(t time.Time) string { return t.UTC().Format(tsLayout) }

// stampLayout is the file-name stamp of the hbot services (20260226T014648Z).
const stampLayout = "20060102T150405Z"

func marshalReport(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode report: %w", err)
	}
	return append(b, '\n'), nil
}

// writeFileAtomic writes b to a temp file in the target directory and
// renames it into place, so a reader sees the old file or the new one,
// never a part.
func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create dir %q: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temp for %q: %w", path, err)
	}
	tmp := f.Name()
	_, werr := f.Write(b)
	cerr := f.Close()
	if werr != nil || cerr != nil {
		_ = os.Remove(tmp)
		if werr == nil {
			werr = cerr
		}
		return fmt.Errorf("write temp for %q: %w", path, werr)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("chmod temp for %q: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("rename into %q: %w", path, err)
	}
	return nil
}

// writeFileTorn writes b in place in two halves with a pause between them,
// the way a naive writer does (open with truncate, write, write): a reader
// in the gap sees a truncated, invalid JSON document. pause is called
// between the halves.
func writeFileTorn(path string, b []byte, pause func()) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create dir %q: %w", dir, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("open %q: %w", path, err)
	}
	half := len(b) / 2
	if _, err := f.Write(b[:half]); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %q: %w", path, err)
	}
	pause()
	if _, err := f.Write(b[half:]); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %q: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %q: %w", path, err)
	}
	return nil
}
