package gates

import (
	"sync"

	"github.com/strictcycle/strictcycle/rootfs"
)

// Cache is what engines reuse across runs: decoded reports (parseCache),
// directory listings and glob results (rootfs.DirCache) and the candidate
// lists built from them (candMemo). Every entry is checked against the file
// or directory it came from before it is used, so a cache never changes a
// verdict. An engine makes its own unless Options.Cache gives one to share:
// a worker that builds an engine per activity call shares one, so that a
// run still finds what earlier runs read. Entries are keyed by absolute
// path, so engines of different roots can share a Cache.
type Cache struct {
	parsed *parseCache
	cands  sync.Map // string key (root, paths, globs) -> *candMemo

	mu   sync.Mutex
	dirs map[string]*rootfs.DirCache // by absolute root
}

// NewCache returns an empty Cache.
func NewCache() *Cache {
	return &Cache{parsed: newParseCache(), dirs: map[string]*rootfs.DirCache{}}
}

// dirsFor is the directory cache of one root.
func (c *Cache) dirsFor(root string) *rootfs.DirCache {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.dirs[root]
	if !ok {
		if len(c.dirs) >= maxCachedRoots {
			c.dirs = map[string]*rootfs.DirCache{}
		}
		d = rootfs.NewDirCache()
		c.dirs[root] = d
	}
	return d
}

// maxCachedRoots bounds the roots a shared Cache keeps listings for.
const maxCachedRoots = 256
