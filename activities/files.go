package activities

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// stampLayout is the hbot artifact stamp (promotion_gates_20260224T012851Z).
const stampLayout = "20060102T150405Z"

// writeStamped writes <dir>/<prefix><stamp>.json atomically. A stamp already
// taken (two writes in one second) gets a -N suffix: stamps never collide
// and nothing is overwritten.
func writeStamped(dir, prefix string, at time.Time, b []byte) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create report dir %q: %w", dir, err)
	}
	stamp := at.UTC().Format(stampLayout)
	for i := 0; i < 1000; i++ {
		name := prefix + stamp + ".json"
		if i > 0 {
			name = fmt.Sprintf("%s%s-%d.json", prefix, stamp, i)
		}
		path := filepath.Join(dir, name)
		// Reserve the name with O_EXCL, then replace it atomically.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("create report %q: %w", path, err)
		}
		f.Close()
		if err := writeAtomic(path, b); err != nil {
			os.Remove(path)
			return "", err
		}
		return path, nil
	}
	return "", fmt.Errorf("create report in %q: no free stamp for %s", dir, stamp)
}

// writeAtomic writes path through a temp file in the same directory, fsync
// and rename, so a reader never sees a partial report.
func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create report dir %q: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write report %q: %w", path, err)
	}
	tmp := f.Name()
	_, werr := f.Write(b)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp, 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("write report %q: %w", path, werr)
	}
	return nil
}
