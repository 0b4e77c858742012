//go:build !linux

package rootfs

// listDirents lists dir through listDir outside Linux.
func (r *Root) listDirents(dir string) ([]dirent, error) {
	des, err := r.listDir(dir)
	if err != nil {
		return nil, err
	}
	return direntsOf(des), nil
}
