package rootfs

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
)

// ReadDirTypes lists dir's entries sorted by name, each with the type the
// directory read gave (no stat per entry, unlike os.Root's ReadDir; see
// listDir). Only Name, Type and IsDir of an entry are meant to be used.
// A directory that cannot be listed is an error naming it.
func (r *Root) ReadDirTypes(dir string) ([]fs.DirEntry, error) {
	des, err := r.listDir(dir)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(des, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return des, nil
}

// Sub opens dir as a Root of its own, for reading many files of one
// directory: opening a name in it is one openat, where the parent's Open
// resolves the path one component at a time. Nothing may leave the sub
// root either (a symlink to a sibling directory is refused there: read
// such a file through the parent).
func (r *Root) Sub(dir string) (*Root, error) {
	name, err := clean(dir)
	if err != nil {
		return nil, err
	}
	sub, err := r.r.OpenRoot(name)
	if err != nil {
		return nil, fmt.Errorf("open directory %s: %w", dir, unwrapPath(err))
	}
	return &Root{dir: filepath.Join(r.dir, name), r: sub}, nil
}
