package rootfs

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"syscall"
)

// listDirents reads the entries of the directory dir, in directory order,
// with the types getdents gives (DT_*), without a stat and without an
// allocation per entry: the listing keeps the raw records of each read
// (one string per getdents buffer) and names are substrings of them. The
// directory is opened as listDir opens it (O_DIRECTORY and O_NONBLOCK
// inside the root: a FIFO or any other non-directory is an error at once)
// and read through that descriptor only. A file system that gives no type
// for an entry (DT_UNKNOWN) is listed by listDir instead.
func (r *Root) listDirents(dir string) (listing, error) {
	name, err := clean(dir)
	if err != nil {
		return listing{}, err
	}
	f, err := r.r.OpenFile(name, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return listing{}, fmt.Errorf("open directory %s: %w", dir, unwrapPath(err))
	}
	defer f.Close()
	sc, err := f.SyscallConn()
	if err != nil {
		return listing{}, fmt.Errorf("read directory %s: %w", dir, err)
	}
	var raw []string
	var readErr error
	typed := true
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
			chunk := string(buf[:n])
			if !typedRecords(chunk) {
				typed = false
				return
			}
			raw = append(raw, chunk)
		}
	}); err != nil {
		return listing{}, fmt.Errorf("read directory %s: %w", dir, err)
	}
	if readErr != nil {
		return listing{}, fmt.Errorf("read directory %s: %w", dir, readErr)
	}
	if !typed {
		des, err := r.listDir(dir)
		if err != nil {
			return listing{}, err
		}
		return listing{ents: direntsOf(des)}, nil
	}
	return listing{raw: raw}, nil
}

var direntBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// The layout of a getdents64 record (linux_dirent64): inode u64, offset
// s64, record length u16, type u8, then the name, NUL-terminated.
const (
	recReclen = 16
	recType   = 18
	recName   = 19
)

func recLen(chunk string, off int) int {
	b := [2]byte{chunk[off+recReclen], chunk[off+recReclen+1]}
	return int(binary.NativeEndian.Uint16(b[:]))
}

// live is false for a record whose inode is 0 (a deleted entry).
func live(chunk string, off int) bool {
	return chunk[off:off+8] != "\x00\x00\x00\x00\x00\x00\x00\x00"
}

// typedRecords reports whether chunk is well formed and gives a known type
// for every live entry.
func typedRecords(chunk string) bool {
	for off := 0; off < len(chunk); {
		if len(chunk)-off < recName {
			return false
		}
		n := recLen(chunk, off)
		if n < recName || off+n > len(chunk) {
			return false
		}
		if _, ok := dtType(chunk[off+recType]); !ok && live(chunk, off) {
			return false
		}
		off += n
	}
	return true
}

// eachRecord calls fn for every entry of a chunk typedRecords accepted,
// skipping ".", ".." and deleted entries.
func eachRecord(chunk string, fn func(name string, typ fs.FileMode)) {
	for off := 0; off < len(chunk); {
		n := recLen(chunk, off)
		name := chunk[off+recName : off+n]
		if i := strings.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		ok := live(chunk, off) && name != "." && name != ".."
		typ, _ := dtType(chunk[off+recType])
		off += n
		if ok {
			fn(name, typ)
		}
	}
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
