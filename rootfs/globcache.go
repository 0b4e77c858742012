package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Match is one glob match with its type as its directory listing gave it
// (0 for a regular file; fs.ModeSymlink for a symlink, not followed).
type Match struct {
	Path string
	Type fs.FileMode
}

// DirCache keeps directory listings across globs of one root, so that a
// long-lived reader lists a directory of thousands of reports again only
// when it changed. A listing is keyed by the directory's path and identity
// (inode, device, mtime and ctime in nanoseconds): adding, removing or
// renaming an entry changes the directory's mtime and ctime, and no user
// can set a ctime back. Timestamps have a granularity, so a listing is
// stored only when the directory's ctime is at least racyWindow older than
// the moment it was listed (git's "racily clean" rule): any later change
// then gets a later ctime. Outside Linux nothing is cached.
type DirCache struct {
	mu    sync.Mutex
	dirs  map[string]cachedDir
	globs map[string]cachedGlob
	// Now is the wall clock compared with directory ctimes.
	Now  func() time.Time
	hits atomic.Int64
}

type cachedDir struct {
	id      dirID
	entries listing
}

// cachedGlob is a glob's result and the directories it listed: it stands
// while every one of them is unchanged.
type cachedGlob struct {
	matches []Match
	visited []visitedDir
}

type visitedDir struct {
	dir string
	id  dirID
}

type dirID struct {
	ino, dev     uint64
	mtime, ctime int64
}

// racyWindow bounds the timestamp granularity of the file systems read
// (one second on the coarsest common ones), with a margin.
const racyWindow = 2 * time.Second

// maxCachedDirs bounds a DirCache; when full it starts over.
const maxCachedDirs = 1024

// NewDirCache returns an empty cache on the wall clock.
func NewDirCache() *DirCache {
	return &DirCache{dirs: map[string]cachedDir{}, globs: map[string]cachedGlob{}, Now: time.Now}
}

// Hits is how many listings were served from the cache.
func (c *DirCache) Hits() int64 { return c.hits.Load() }

// GlobMatches is Glob (same pattern rules, same matches, sorted) returning
// each match's type, listing directories through c (nil: no cache). When
// every directory the pattern's last walk listed is unchanged, that walk's
// result is returned without listing anything: one stat per directory.
// The slice returned is shared and must not be modified.
func (r *Root) GlobMatches(pattern string, c *DirCache) ([]Match, error) {
	if ms, ok := c.lookupGlob(r, pattern); ok {
		return ms, nil
	}
	var out []Match
	pattern, l, err := r.walkGlob(pattern, c, func(dir, name string, typ fs.FileMode) {
		p := name
		if dir != "." {
			p = dir + "/" + name
		}
		out = append(out, Match{Path: p, Type: typ})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Match) int { return strings.Compare(a.Path, b.Path) })
	if c != nil && l.ok {
		c.mu.Lock()
		if len(c.globs) >= maxCachedDirs {
			c.globs = map[string]cachedGlob{}
		}
		c.globs[pattern] = cachedGlob{matches: out, visited: l.visited}
		c.mu.Unlock()
	}
	return out, nil
}

// Listed is what one glob walk listed: every directory and its identity.
// While all of them are unchanged (Unchanged), the walk would find the
// same matches. It is complete only when every directory was listed and
// is older than the cache's racy window (see DirCache); an incomplete
// Listed is never unchanged.
type Listed struct {
	visited []visitedDir
	ok      bool
}

// Complete reports whether l can stand for its walk later: every directory
// was listed, through a cache, and is older than the racy window.
func (l Listed) Complete() bool { return l.ok }

// GlobScan walks what GlobMatches walks and calls fn for each match, in
// directory order (not sorted, nothing collected): the match's directory
// (root-relative, slash-separated, "." for the root), its name and the
// type its listing gave. Directories are listed through c (nil: no cache);
// the Listed returned can tell later whether they changed. Errors are
// GlobMatches' errors; a directory that does not exist has no matches.
func (r *Root) GlobScan(pattern string, c *DirCache, fn func(dir, name string, typ fs.FileMode)) (Listed, error) {
	_, l, err := r.walkGlob(pattern, c, fn)
	return l, err
}

// Unchanged reports whether every directory of l has the identity it had
// when it was listed (one stat each), so a walk would list the same
// entries. An incomplete Listed is never unchanged.
func (r *Root) Unchanged(l Listed) bool {
	if !l.ok {
		return false
	}
	for _, v := range l.visited {
		st, err := r.r.Stat(v.dir)
		if err != nil {
			return false
		}
		if id, ok := identify(st); !ok || id != v.id {
			return false
		}
	}
	return true
}

// walkGlob lists the directories pattern can match in and calls fn for
// every match. It returns the cleaned pattern and what it listed.
func (r *Root) walkGlob(pattern string, c *DirCache, fn func(dir, name string, typ fs.FileMode)) (string, Listed, error) {
	if _, err := clean(pattern); err != nil {
		return "", Listed{}, err
	}
	pattern = strings.TrimPrefix(path.Clean(filepath.ToSlash(pattern)), "./")
	segs := strings.Split(pattern, "/")
	for _, s := range segs {
		if _, err := path.Match(s, ""); err != nil {
			return "", Listed{}, fmt.Errorf("glob %q: %w", pattern, err)
		}
	}
	i := 0
	for i < len(segs)-1 && !hasMeta(segs[i]) {
		i++
	}
	base := strings.Join(segs[:i], "/")
	if base == "" {
		base = "."
	}
	rest := compileSegs(segs[i:])
	l := Listed{ok: c != nil}
	var werr error
	var walk func(dir string, parts []string)
	walk = func(dir string, parts []string) {
		if werr != nil {
			return
		}
		// A directory that does not exist (or is a file) has no matches
		// below it (as Glob: a missing base means no matches); such a walk
		// is not complete, since the directory may appear. One that exists
		// but cannot be listed (out of the root, unreadable) is an error:
		// skipping it could hide the newest candidate.
		des, id, stored, err := r.readDir(dir, c)
		if err != nil || !stored {
			l.ok = false
		}
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
				werr = globDirError(dir, err)
			}
			return
		}
		l.visited = append(l.visited, visitedDir{dir, id})
		// One segment buffer per directory: a subdirectory's walk copies
		// it before appending, and it is rewritten only after that walk.
		sub := make([]string, len(parts)+1)
		copy(sub, parts)
		last := len(parts)
		des.each(func(name string, typ fs.FileMode) {
			sub[last] = name
			matched := matchCompiled(rest, sub)
			if matched {
				fn(dir, name, typ)
			}
			// A symlink that is itself a match is a candidate the reader
			// judges; one the walk would descend into is judged here.
			if (typ.IsDir() || (typ&fs.ModeSymlink != 0 && !matched)) && canMatchBelowCompiled(rest, sub) {
				p := name
				if dir != "." {
					p = dir + "/" + name
				}
				if typ.IsDir() {
					walk(p, sub)
				} else if err := r.symlinkOnPath(p); err != nil && werr == nil {
					werr = err
				}
			}
		})
	}
	walk(base, nil)
	if werr != nil {
		return "", Listed{}, werr
	}
	return pattern, l, nil
}

// ErrOutside is wrapped by a glob's error for a directory on its path that
// resolves outside the root (gates wraps its refused reads in it too).
var ErrOutside = errors.New("resolves outside the root")

// ErrSymlinkedDir is wrapped by a glob's error for a directory on its path
// that is a symlink: it is not followed, and not skipped either, since what
// it holds could be the newest candidate.
var ErrSymlinkedDir = errors.New("is a symlinked directory on a glob's path (not followed)")

// symlinkOnPath judges a symlink the walk would descend into: dangling (or
// to a file) it holds nothing, to a directory it is ErrSymlinkedDir, out of
// the root ErrOutside.
func (r *Root) symlinkOnPath(p string) error {
	st, err := r.r.Stat(p)
	switch {
	case err == nil && st.IsDir():
		return fmt.Errorf("%s: %w", p, ErrSymlinkedDir)
	case err == nil, errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return nil
	}
	return globDirError(p, err)
}

func globDirError(dir string, err error) error {
	if IsEscape(err) {
		return fmt.Errorf("%s: %w", dir, ErrOutside)
	}
	return fmt.Errorf("%s: %w", dir, err)
}

// lookupGlob returns the cached result of pattern if every directory its
// walk listed is unchanged.
func (c *DirCache) lookupGlob(r *Root, pattern string) ([]Match, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	g, ok := c.globs[pattern]
	c.mu.Unlock()
	if !ok {
		return nil, false
	}
	for _, v := range g.visited {
		st, err := r.r.Stat(v.dir)
		if err != nil {
			return nil, false
		}
		if id, ok := identify(st); !ok || id != v.id {
			return nil, false
		}
	}
	c.hits.Add(1)
	return g.matches, true
}

// readDir lists dir (in directory order), from c when the directory is the one
// listed before. stored is true when the listing is (now) in c under id.
func (r *Root) readDir(dir string, c *DirCache) (des listing, id dirID, stored bool, err error) {
	if c == nil {
		des, err = r.listDirents(dir)
		return des, id, false, err
	}
	start := c.Now()
	st, err := r.r.Stat(dir)
	if err != nil {
		return des, id, false, err
	}
	id, ok := identify(st)
	if ok {
		c.mu.Lock()
		ent, found := c.dirs[dir]
		c.mu.Unlock()
		if found && ent.id == id {
			c.hits.Add(1)
			return ent.entries, id, true, nil
		}
	}
	des, err = r.listDirents(dir)
	if err != nil {
		return des, id, false, err
	}
	if ok && start.Sub(time.Unix(0, id.ctime)) >= racyWindow {
		c.mu.Lock()
		if len(c.dirs) >= maxCachedDirs {
			c.dirs = map[string]cachedDir{}
		}
		c.dirs[dir] = cachedDir{id: id, entries: des}
		c.mu.Unlock()
		stored = true
	}
	return des, id, stored, nil
}

// listDir reads the entries of the directory dir, in directory order. It is
// opened with O_DIRECTORY and O_NONBLOCK, so a FIFO or any other
// non-directory is an error at once, never a hang. A *File opened in an
// os.Root stats every entry it lists (os cannot load entry information
// lazily there): 3 000 reports cost 3 000 lstat calls. The entries are
// read instead from a plain *File on a duplicate of the same descriptor,
// which takes each entry's type from the directory read itself (and falls
// back to fstatat on that descriptor, never a path, when the file system
// gives none). Only Name, Type and IsDir of the entries are meant to be
// used: Info would resolve a path outside the root's descriptor.
func (r *Root) listDir(dir string) ([]fs.DirEntry, error) {
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
	fd := -1
	var dupErr error
	if err := sc.Control(func(raw uintptr) { fd, dupErr = syscall.Dup(int(raw)) }); err != nil {
		return nil, fmt.Errorf("read directory %s: %w", dir, err)
	}
	if dupErr != nil {
		return nil, fmt.Errorf("read directory %s: %w", dir, dupErr)
	}
	plain := os.NewFile(uintptr(fd), dir)
	defer plain.Close()
	// In directory order: GlobMatches sorts what it returns.
	des, err := plain.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("read directory %s: %w", dir, err)
	}
	return des, nil
}
