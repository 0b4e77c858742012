//go:build !linux

package rootfs

import "io/fs"

// listDirents lists dir through listDir outside Linux.
func (r *Root) listDirents(dir string) (listing, error) {
	des, err := r.listDir(dir)
	if err != nil {
		return listing{}, err
	}
	return listing{ents: direntsOf(des)}, nil
}

// eachRecord: there are no raw records outside Linux.
func eachRecord(string, func(name string, typ fs.FileMode)) {}
