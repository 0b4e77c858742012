package gates

import (
	"io/fs"
	"syscall"
)

// identify reads a file's identity from its stat data.
func identify(fi fs.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{
		size: st.Size, mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano(),
		ino: st.Ino, dev: uint64(st.Dev), //nolint:unconvert // Dev is uint64 on amd64, not everywhere
	}, true
}
