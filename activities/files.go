package activities

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"time"

	"github.com/strictcycle/strictcycle/rootfs"
)

// stampLayout is the hbot artifact stamp (promotion_gates_20260224T012851Z).
const stampLayout = "20060102T150405Z"

// writeStamped writes <dir>/<prefix><stamp>.json atomically inside root
// (dir is root-relative) and returns its root-relative path. A stamp already
// taken (two writes in one second) gets a -N suffix: stamps never collide
// and nothing is overwritten (the name is claimed with a hard link of the
// complete file, which fails rather than replace one).
func writeStamped(root *rootfs.Root, dir, prefix string, at time.Time, b []byte) (string, error) {
	stamp := at.UTC().Format(stampLayout)
	name := func(i int) string {
		if i == 0 {
			return prefix + stamp + ".json"
		}
		return fmt.Sprintf("%s%s-%d.json", prefix, stamp, i)
	}
	rel, err := root.CreateFirstFree(dir, b, name, 1000)
	if errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("create report in %q: no free stamp for %s", root.Abs(dir), stamp)
	}
	if err != nil {
		return "", fmt.Errorf("create report %q: %w", root.Abs(path.Join(dir, name(0))), escapeHint(err))
	}
	return rel, nil
}

// writeAtomic writes rel inside root through a temp file in the same
// directory, fsync and rename, so a reader never sees a partial report; a
// directory on the way that is a symlink out of the root is refused.
func writeAtomic(root *rootfs.Root, rel string, b []byte) error {
	if err := root.WriteFile(rel, b); err != nil {
		return fmt.Errorf("write report %q: %w", root.Abs(rel), escapeHint(err))
	}
	return nil
}

// escapeHint says in words why os.Root refused a path.
func escapeHint(err error) error {
	if rootfs.IsEscape(err) {
		return fmt.Errorf("%w: a symlink on the way leads outside the stack root", err)
	}
	return err
}

// openRoot opens the stack root for the activity's file I/O.
func openRoot(dir string) (*rootfs.Root, error) {
	r, err := rootfs.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("open stack root: %w", err)
	}
	return r, nil
}
