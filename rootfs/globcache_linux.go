package rootfs

import (
	"io/fs"
	"syscall"
)

func identify(fi fs.FileInfo) (dirID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return dirID{}, false
	}
	return dirID{ino: st.Ino, dev: uint64(st.Dev), mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano()}, true //nolint:unconvert
}
