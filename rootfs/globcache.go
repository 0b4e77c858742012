package rootfs

import (
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
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
	entries []fs.DirEntry
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
	if _, err := clean(pattern); err != nil {
		return nil, err
	}
	pattern = strings.TrimPrefix(path.Clean(filepath.ToSlash(pattern)), "./")
	segs := strings.Split(pattern, "/")
	for _, s := range segs {
		if _, err := path.Match(s, ""); err != nil {
			return nil, fmt.Errorf("glob %q: %w", pattern, err)
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
	rest := segs[i:]
	var out []Match
	var visited []visitedDir
	cacheable := true
	var walk func(dir string, parts []string)
	walk = func(dir string, parts []string) {
		// A directory that cannot be listed has no matches below it (as
		// Glob: a missing base means no matches); such a result is not
		// cached, since the directory may appear.
		des, id, stored, err := r.readDir(dir, c)
		if err != nil || !stored {
			cacheable = false
		}
		if err != nil {
			return
		}
		visited = append(visited, visitedDir{dir, id})
		for _, d := range des {
			p := d.Name()
			if dir != "." {
				p = dir + "/" + p
			}
			sub := append(parts[:len(parts):len(parts)], d.Name())
			if matchSegs(rest, sub) {
				out = append(out, Match{Path: p, Type: d.Type()})
			}
			if d.IsDir() && canMatchBelow(rest, sub) {
				walk(p, sub)
			}
		}
	}
	walk(base, nil)
	sort.Slice(out, func(a, b int) bool { return out[a].Path < out[b].Path })
	if c != nil && cacheable {
		c.mu.Lock()
		if len(c.globs) >= maxCachedDirs {
			c.globs = map[string]cachedGlob{}
		}
		c.globs[pattern] = cachedGlob{matches: out, visited: visited}
		c.mu.Unlock()
	}
	return out, nil
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

// readDir lists dir (sorted by name), from c when the directory is the one
// listed before. stored is true when the listing is (now) in c under id.
func (r *Root) readDir(dir string, c *DirCache) (des []fs.DirEntry, id dirID, stored bool, err error) {
	if c == nil {
		des, err = fs.ReadDir(r.r.FS(), dir)
		return des, id, false, err
	}
	start := c.Now()
	st, err := r.r.Stat(dir)
	if err != nil {
		return nil, id, false, err
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
	des, err = fs.ReadDir(r.r.FS(), dir)
	if err != nil {
		return nil, id, false, err
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
