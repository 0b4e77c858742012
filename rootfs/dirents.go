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

// listing is one directory's entries in directory order: the raw records
// of its directory reads (Linux: no allocation per entry, the names are
// substrings of the records), else entries.
type listing struct {
	raw  []string
	ents []dirent
}

// each calls fn for every entry, in directory order.
func (l *listing) each(fn func(name string, typ fs.FileMode)) {
	for _, d := range l.ents {
		fn(d.name, d.typ)
	}
	for _, chunk := range l.raw {
		eachRecord(chunk, fn)
	}
}
