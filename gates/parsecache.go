package gates

import (
	"io/fs"
	"sync"
	"sync/atomic"
	"time"
)

// parseCache keeps decoded reports across runs of one engine (the worker
// keeps its engines), keyed by path and the file's identity: size, mtime,
// ctime (nanoseconds), inode and device. A file rewritten in place changes
// its ctime, which no user can set back, so a rewrite of the same size with
// its mtime restored is still a miss.
//
// Timestamps have a granularity (a kernel tick, a second on some file
// systems), so a file changed twice within one tick could keep its ctime.
// An entry is therefore stored only when the file's ctime is at least
// racyWindow older than the moment the file was opened: any later change
// then gets a ctime after the stored one. (This is git's "racily clean"
// rule.) A file written in the last racyWindow is always read.
type parseCache struct {
	mu      sync.Mutex
	entries map[string]parseEntry
	bytes   int64            // sum of the cached files' sizes
	now     func() time.Time // wall clock, compared with file ctimes
	hits    atomic.Int64
	decodes atomic.Int64 // reports decoded whole (cache misses)
}

// racyWindow bounds the timestamp granularity of the file systems the
// engine reads (one second on the coarsest common ones), with a margin.
const racyWindow = 2 * time.Second

// The cache is bounded: files larger than maxParseFileBytes are not kept
// (a decoded object takes several times its file's size), and when the
// entries or their files' total size pass a bound it starts over.
const (
	maxParseEntries   = 4096
	maxParseFileBytes = 1 << 20
	maxParseBytes     = 32 << 20
)

type parseEntry struct {
	id  fileID
	obj map[string]any // shared read-only by every run that hits it
	ef  EvidenceFile
}

// fileID is a file's identity for the cache.
type fileID struct {
	size         int64
	mtime, ctime int64 // unix nanoseconds
	ino, dev     uint64
}

func newParseCache() *parseCache {
	return &parseCache{entries: map[string]parseEntry{}, now: time.Now}
}

// get returns the decoded report stored for rel if the file opened as fi is
// the one it was decoded from.
func (c *parseCache) get(rel string, fi fs.FileInfo) (map[string]any, EvidenceFile, bool) {
	if c == nil {
		return nil, EvidenceFile{}, false
	}
	id, ok := identify(fi)
	if !ok {
		return nil, EvidenceFile{}, false
	}
	c.mu.Lock()
	ent, found := c.entries[rel]
	c.mu.Unlock()
	if !found || ent.id != id {
		return nil, EvidenceFile{}, false
	}
	c.hits.Add(1)
	return ent.obj, ent.ef, true
}

// put stores a report decoded from the file opened as fi at openedAt,
// unless its ctime is too recent to tell a later change apart.
func (c *parseCache) put(rel string, fi fs.FileInfo, openedAt time.Time, obj map[string]any, ef EvidenceFile) {
	if c == nil {
		return
	}
	id, ok := identify(fi)
	if !ok || openedAt.Sub(time.Unix(0, id.ctime)) < racyWindow || id.size > maxParseFileBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.entries[rel]; ok {
		c.bytes -= old.id.size
	}
	if len(c.entries) >= maxParseEntries || c.bytes+id.size > maxParseBytes {
		c.entries, c.bytes = map[string]parseEntry{}, 0
	}
	c.entries[rel] = parseEntry{id: id, obj: obj, ef: ef}
	c.bytes += id.size
}
