package rootfs

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"syscall"
)

// listDirents reads the entries of the directory dir, in directory order,
// with the types getdents gives (DT_*), without a stat and without an
// allocation per entry: the names are substrings of one string per
// getdents buffer. The directory is opened as listDir opens it (O_DIRECTORY
// and O_NONBLOCK inside the root: a FIFO or any other non-directory is an
// error at once) and read through that descriptor only. A file system that
// gives no type for an entry (DT_UNKNOWN) is listed by listDir instead.
func (r *Root) listDirents(dir string) ([]dirent, error) {
	name, err := clean(dir)
	if err != nil {
		return nil, err
	}
	f, err := r.r.OpenFile(name, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open directory %s: %w", dir, unwrapPath(err))
	}
	defer f.Close()
	sc, err := f.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("read directory %s: %w", dir, err)
	}
	var out []dirent
	var readErr error
	unknown := false
	bp := direntBufs.Get().(*[]byte)
	defer direntBufs.Put(bp)
	buf := *bp
	if err := sc.Control(func(fd uintptr) {
		for {
			n, err := syscall.Getdents(int(fd), buf)
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				readErr = err
				return
			}
			if n <= 0 {
				return
			}
			if out == nil {
				out = make([]dirent, 0, n/40+8)
			}
			var ok bool
			out, ok = parseDirents(buf[:n], string(buf[:n]), out)
			if !ok {
				unknown = true
				return
			}
		}
	}); err != nil {
		return nil, fmt.Errorf("read directory %s: %w", dir, err)
	}
	if readErr != nil {
		return nil, fmt.Errorf("read directory %s: %w", dir, readErr)
	}
	if unknown {
		des, err := r.listDir(dir)
		if err != nil {
			return nil, err
		}
		return direntsOf(des), nil
	}
	return out, nil
}

var direntBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// parseDirents appends the entries of one getdents buffer (linux_dirent64:
// ino u64, off s64, reclen u16, type u8, name NUL-terminated) to out,
// skipping ".", ".." and deleted entries (inode 0); names are substrings
// of str, the buffer as a string. ok is false when an entry has no known
// type, or the buffer is malformed.
func parseDirents(buf []byte, str string, out []dirent) ([]dirent, bool) {
	const hdr = 19 // offset of the name
	for off := 0; off < len(buf); {
		if len(buf)-off < hdr {
			return out, false
		}
		ino := binary.NativeEndian.Uint64(buf[off : off+8])
		reclen := int(binary.NativeEndian.Uint16(buf[off+16 : off+18]))
		if reclen < hdr || off+reclen > len(buf) {
			return out, false
		}
		dt := buf[off+18]
		name := str[off+hdr : off+reclen]
		for i := 0; i < len(name); i++ {
			if name[i] == 0 {
				name = name[:i]
				break
			}
		}
		off += reclen
		if ino == 0 || name == "." || name == ".." {
			continue
		}
		typ, known := dtType(dt)
		if !known {
			return out, false
		}
		out = append(out, dirent{name: name, typ: typ})
	}
	return out, true
}

// dtType is the file type of a DT_* value, as os.ReadDir maps it.
func dtType(dt byte) (fs.FileMode, bool) {
	switch dt {
	case syscall.DT_REG:
		return 0, true
	case syscall.DT_DIR:
		return fs.ModeDir, true
	case syscall.DT_LNK:
		return fs.ModeSymlink, true
	case syscall.DT_FIFO:
		return fs.ModeNamedPipe, true
	case syscall.DT_SOCK:
		return fs.ModeSocket, true
	case syscall.DT_CHR:
		return fs.ModeDevice | fs.ModeCharDevice, true
	case syscall.DT_BLK:
		return fs.ModeDevice, true
	}
	return 0, false
}
