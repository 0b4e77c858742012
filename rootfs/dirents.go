package rootfs

import "io/fs"

// dirent is one directory entry as a listing gave it: its name and type
// (0 for a regular file; fs.ModeSymlink for a symlink, not followed).
type dirent struct {
	name string
	typ  fs.FileMode
}

// direntsOf converts os directory entries.
func direntsOf(des []fs.DirEntry) []dirent {
	out := make([]dirent, len(des))
	for i, d := range des {
		out[i] = dirent{name: d.Name(), typ: d.Type()}
	}
	return out
}
