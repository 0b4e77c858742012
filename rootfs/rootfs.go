// Package rootfs is the one file layer of strictcycle: every read and write
// the product makes under a stack root (reports, globs, evidence, the
// manifest, the replay artifact, gate artifacts, decision and drill files)
// goes through a Root.
//
// A Root is an os.Root, so no path, "..", or symlink can reach outside the
// directory it was opened on. On top of that it holds three rules:
//
//   - Only regular files are read. A FIFO, device, socket or directory is an
//     error found before anything can block: files are opened with
//     O_NONBLOCK (an open of a FIFO with no writer returns at once) and
//     judged by fstat of the opened descriptor, so a file swapped between a
//     stat and the open is still judged by what was opened.
//   - Every read has a size cap, checked against the file's size before
//     reading and again while reading (a file that grows is cut off).
//   - Every write is atomic inside the root: a temp file in the target's
//     directory, fsync, rename, fsync of the directory.
package rootfs

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// ErrNotRegular is wrapped by reads of anything but a regular file.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is wrapped by reads of a file larger than the cap.
var ErrTooLarge = errors.New("larger than the size cap")

// Root is a directory that paths may not leave. Paths given to its methods
// are root-relative, slash-separated or OS-separated; absolute paths are
// refused.
type Root struct {
	dir string // absolute, as given (for recorded paths)
	r   *os.Root
}

// Open opens dir as a Root. dir itself may be a symlink (an operator's
// choice of root); nothing below it may lead out.
func Open(dir string) (*Root, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open root %q: %w", dir, err)
	}
	r, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("open root %q: %w", dir, err)
	}
	return &Root{dir: abs, r: r}, nil
}

// Close releases the root's descriptor.
func (r *Root) Close() error { return r.r.Close() }

// Dir is the absolute path the root was opened on.
func (r *Root) Dir() string { return r.dir }

// Abs is the absolute path of rel under the root, as artifacts record it.
func (r *Root) Abs(rel string) string { return filepath.Join(r.dir, filepath.FromSlash(rel)) }

// clean turns rel into the form os.Root wants, refusing absolute paths with
// a message that names the path.
func clean(rel string) (string, error) {
	if rel == "" {
		return ".", nil
	}
	if filepath.IsAbs(rel) || path.IsAbs(filepath.ToSlash(rel)) {
		return "", fmt.Errorf("%s: an absolute path, want one relative to the root", rel)
	}
	return filepath.Clean(filepath.FromSlash(rel)), nil
}

// kind names a non-regular file mode for an error message.
func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	}
	return "not a regular file (" + m.String() + ")"
}

// File is an open regular file under the root whose reads are capped and
// hashed: after reading to EOF, SHA256 is the digest of exactly the bytes
// read.
type File struct {
	f    *os.File
	rd   io.Reader
	h    hash.Hash
	n    int64
	max  int64
	name string
	Info fs.FileInfo
}

// Open opens rel for reading: a regular file no larger than max bytes
// (max <= 0: no cap). The error wraps fs.ErrNotExist, ErrNotRegular or
// ErrTooLarge and names rel.
func (r *Root) Open(rel string, max int64) (*File, error) {
	name, err := clean(rel)
	if err != nil {
		return nil, err
	}
	// O_NONBLOCK: opening a FIFO without a writer would otherwise block
	// forever; on a regular file the flag has no effect.
	f, err := r.r.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", rel, unwrapPath(err))
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s: %w", rel, unwrapPath(err))
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: %s: %w", rel, kind(st.Mode()), ErrNotRegular)
	}
	if max > 0 && st.Size() > max {
		f.Close()
		return nil, fmt.Errorf("%s: %d bytes: %w of %d bytes", rel, st.Size(), ErrTooLarge, max)
	}
	h := sha256.New()
	var rd io.Reader = f
	if max > 0 {
		rd = io.LimitReader(f, max+1)
	}
	return &File{f: f, rd: io.TeeReader(rd, h), h: h, max: max, name: rel, Info: st}, nil
}

// Read reads from the file; a file that grew past the cap while being read
// is an error wrapping ErrTooLarge.
func (f *File) Read(p []byte) (int, error) {
	n, err := f.rd.Read(p)
	f.n += int64(n)
	if f.max > 0 && f.n > f.max {
		return n, fmt.Errorf("%s: grew while read: %w of %d bytes", f.name, ErrTooLarge, f.max)
	}
	return n, err
}

// SHA256 is the hex digest of the bytes read so far.
func (f *File) SHA256() string { return hex.EncodeToString(f.h.Sum(nil)) }

// Size is the number of bytes read so far.
func (f *File) Size() int64 { return f.n }

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }

// ReadFile reads rel whole (a regular file of at most max bytes) and returns
// its bytes and their sha256, taken in the same read.
func (r *Root) ReadFile(rel string, max int64) ([]byte, string, error) {
	f, err := r.Open(rel, max)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	size := f.Info.Size()
	if max > 0 && size > max {
		size = max
	}
	buf := make([]byte, 0, size+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, "", fmt.Errorf("read %s: %w", rel, err)
		}
	}
	return buf, f.SHA256(), nil
}

// Stat follows symlinks that stay inside the root.
func (r *Root) Stat(rel string) (fs.FileInfo, error) {
	name, err := clean(rel)
	if err != nil {
		return nil, err
	}
	st, err := r.r.Stat(name)
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", rel, unwrapPath(err))
	}
	return st, nil
}

// Lstat does not follow a final symlink.
func (r *Root) Lstat(rel string) (fs.FileInfo, error) {
	name, err := clean(rel)
	if err != nil {
		return nil, err
	}
	st, err := r.r.Lstat(name)
	if err != nil {
		return nil, fmt.Errorf("lstat %s: %w", rel, unwrapPath(err))
	}
	return st, nil
}

// FS is the root as an fs.FS (for fs.WalkDir and fs.Glob); it cannot leave
// the root either.
func (r *Root) FS() fs.FS { return r.r.FS() }

// Glob returns the root-relative slash paths matching pattern, sorted. "**"
// as a whole segment matches zero or more directories (Python's
// Path.glob); other segments follow path.Match. Directories are not
// followed through symlinks. Every match is returned whatever its type: the
// reader judges it (a FIFO matched by a glob is an error when read, not
// silently dropped).
func (r *Root) Glob(pattern string) ([]string, error) {
	ms, err := r.GlobMatches(pattern, nil)
	if err != nil || len(ms) == 0 {
		return nil, err
	}
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Path
	}
	return out, nil
}

func hasMeta(s string) bool { return strings.ContainsAny(s, `*?[\`) }

// matchSegs matches path segments against pattern segments.
func matchSegs(pat, name []string) bool {
	if len(pat) == 0 {
		return len(name) == 0
	}
	if pat[0] == "**" {
		for k := 0; k <= len(name); k++ {
			if matchSegs(pat[1:], name[k:]) {
				return true
			}
		}
		return false
	}
	if len(name) == 0 {
		return false
	}
	ok, err := path.Match(pat[0], name[0])
	if err != nil || !ok {
		return false
	}
	return matchSegs(pat[1:], name[1:])
}

// canMatchBelow reports whether some file below the directory dir (its
// segments relative to the walk's base) could match pat, so the walk can
// skip subtrees a pattern without "**" never reaches.
func canMatchBelow(pat, dir []string) bool {
	for i, d := range dir {
		if i >= len(pat) {
			return false
		}
		if pat[i] == "**" {
			return true
		}
		if ok, _ := path.Match(pat[i], d); !ok {
			return false
		}
	}
	return len(pat) > len(dir)
}

// MkdirAll creates rel and its parents inside the root.
func (r *Root) MkdirAll(rel string) error {
	name, err := clean(rel)
	if err != nil {
		return err
	}
	if err := r.r.MkdirAll(name, 0o755); err != nil {
		return fmt.Errorf("create directory %s: %w", rel, unwrapPath(err))
	}
	return nil
}

// WriteFile writes rel atomically: a temp file beside it, fsync, rename,
// fsync of the directory. The parent directory is created when missing. A
// reader sees the old content or the new, never a part.
func (r *Root) WriteFile(rel string, data []byte) error {
	tmp, err := r.writeTemp(rel, data)
	if err != nil {
		return err
	}
	name, _ := clean(rel)
	if err := r.r.Rename(tmp, name); err != nil {
		_ = r.r.Remove(tmp)
		return fmt.Errorf("write %s: %w", rel, unwrapPath(err))
	}
	r.syncDir(filepath.Dir(name))
	return nil
}

// CreateExclusive writes rel atomically only if no file of that name
// exists: the complete temp file is hard-linked to rel, which fails rather
// than overwrite. The error wraps fs.ErrExist when the name is taken.
func (r *Root) CreateExclusive(rel string, data []byte) error {
	dir, base := path.Split(filepath.ToSlash(rel))
	_, err := r.CreateFirstFree(dir, data, func(int) string { return base }, 1)
	return err
}

// CreateFirstFree writes data atomically under the first name of name(0),
// name(1), … name(max-1) that is not taken, in directory dir, and returns
// the root-relative path it used. As CreateExclusive, a name is claimed by
// hard-linking the complete, synced temp file to it, which fails rather
// than overwrite; only a taken name (fs.ErrExist) moves on to the next.
// The data is written and synced once however many names are taken (a
// stamped report written several times in one second costs one fsync, not
// one per taken stamp). name must return base names. With every name taken
// the error wraps fs.ErrExist.
func (r *Root) CreateFirstFree(dir string, data []byte, name func(i int) string, max int) (string, error) {
	if max < 1 {
		return "", fmt.Errorf("create in %s: no name to try", dir)
	}
	rel := path.Join(filepath.ToSlash(dir), name(0))
	tmp, err := r.writeTemp(rel, data)
	if err != nil {
		return "", err
	}
	defer r.r.Remove(tmp)
	for i := range max {
		base := name(i)
		if base == "" || strings.ContainsAny(base, `/\`) || base == "." || base == ".." {
			return "", fmt.Errorf("create in %s: %q is not a file name", dir, base)
		}
		rel = path.Join(filepath.ToSlash(dir), base)
		target, err := clean(rel)
		if err != nil {
			return "", err
		}
		err = r.r.Link(tmp, target)
		if err == nil {
			r.syncDir(filepath.Dir(target))
			return rel, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("create %s: %w", rel, unwrapPath(err))
		}
	}
	return "", fmt.Errorf("create %s: %w", rel, fs.ErrExist)
}

// Remove removes rel (a file or an empty directory).
func (r *Root) Remove(rel string) error {
	name, err := clean(rel)
	if err != nil {
		return err
	}
	if err := r.r.Remove(name); err != nil {
		return fmt.Errorf("remove %s: %w", rel, unwrapPath(err))
	}
	return nil
}

func (r *Root) writeTemp(rel string, data []byte) (string, error) {
	name, err := clean(rel)
	if err != nil {
		return "", err
	}
	if name == "." {
		return "", fmt.Errorf("write %s: not a file name", rel)
	}
	dir := filepath.Dir(name)
	if err := r.r.MkdirAll(dir, 0o755); err != nil {
		err = unwrapPath(err)
		// A parent that exists as a file must not read as "the name is
		// taken" (fs.ErrExist) to CreateExclusive's callers.
		if errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("write %s: create directory %s: %w: it exists and is not a directory", rel, filepath.ToSlash(dir), syscall.ENOTDIR)
		}
		return "", fmt.Errorf("write %s: create directory %s: %w", rel, filepath.ToSlash(dir), err)
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(dir, "."+filepath.Base(name)+".tmp-"+hex.EncodeToString(rnd[:]))
	f, err := r.r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", fmt.Errorf("write %s: %w", rel, unwrapPath(err))
	}
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = r.r.Remove(tmp)
		return "", fmt.Errorf("write %s: %w", rel, err)
	}
	return tmp, nil
}

func (r *Root) syncDir(dir string) {
	if d, err := r.r.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// unwrapPath drops the *PathError wrapper, whose path is the cleaned
// internal name; callers name rel themselves. The underlying error (and
// fs.ErrNotExist and the like) stays wrapped.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
