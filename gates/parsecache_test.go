package gates

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
)

const (
	cachePass = `{"ts_utc":"2026-02-26T01:59:00Z","status":"ok","critical_count":0}`
	cacheFail = `{"ts_utc":"2026-02-26T01:59:00Z","status":"no","critical_count":9}`
)

func cacheEngine(t *testing.T, root string) *Engine {
	t.Helper()
	require.Len(t, cacheFail, len(cachePass), "rewrites must keep the size")
	c := oneCheckContract(config.Check{Name: "r", Kind: config.KindReport, Report: &config.ReportSpec{
		Path: "reports/x/latest.json", Condition: `status == "ok" and critical_count == 0`}})
	e, err := New(c, Options{Root: root, Now: func() time.Time { return fixedNow }})
	require.NoError(t, err)
	return e
}

func runVerdict(t *testing.T, e *Engine) Verdict {
	t.Helper()
	rep, err := e.Run(context.Background(), RunOptions{RunID: "cache"})
	require.NoError(t, err)
	return rep.Checks[0].Verdict
}

// rewriteInPlace writes body over p (same inode) and sets its mtime back.
func rewriteInPlace(t *testing.T, p, body string) {
	t.Helper()
	fi, err := os.Stat(p)
	require.NoError(t, err)
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte(body), 0)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.NoError(t, os.Chtimes(p, fi.ModTime(), fi.ModTime()))
	after, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, fi.ModTime(), after.ModTime())
	require.Equal(t, fi.Size(), after.Size())
}

// A file rewritten in place, same size, mtime set back (the same mtime
// second and nanosecond) is read again: it was written within racyWindow,
// so it was never cached, whatever the timestamp granularity.
func TestParseCacheNeverServesARewrite(t *testing.T) {
	root := t.TempDir()
	p := writeFile(t, root, "reports/x/latest.json", cachePass)
	e := cacheEngine(t, root)
	require.Equal(t, VerdictPass, runVerdict(t, e))
	rewriteInPlace(t, p, cacheFail)
	assert.Equal(t, VerdictFail, runVerdict(t, e))
	assert.Zero(t, e.cache.parsed.hits.Load())
}

// A file older than racyWindow is decoded once and served from the cache
// on later runs; a change of size, a rename over it (new inode) or a
// rewrite in place (new ctime) is a miss.
func TestParseCacheReusesAnUnchangedFile(t *testing.T) {
	root := t.TempDir()
	p := writeFile(t, root, "reports/x/latest.json", cachePass)
	e := cacheEngine(t, root)
	// The cache's wall clock runs an hour ahead: every file is old enough.
	e.cache.parsed.now = func() time.Time { return time.Now().Add(time.Hour) }
	require.Equal(t, VerdictPass, runVerdict(t, e))
	require.Equal(t, VerdictPass, runVerdict(t, e))
	require.Equal(t, int64(1), e.cache.parsed.hits.Load(), "second run served from the cache")

	// Renamed over, same size and mtime: a new inode.
	fi, err := os.Stat(p)
	require.NoError(t, err)
	tmp := filepath.Join(root, "reports/x/tmp")
	require.NoError(t, os.WriteFile(tmp, []byte(cacheFail), 0o644))
	require.NoError(t, os.Chtimes(tmp, fi.ModTime(), fi.ModTime()))
	require.NoError(t, os.Rename(tmp, p))
	assert.Equal(t, VerdictFail, runVerdict(t, e))
	assert.Equal(t, int64(1), e.cache.parsed.hits.Load())

	// Grown: a new size.
	require.NoError(t, os.WriteFile(p, []byte(cachePass+" "), 0o644))
	assert.Equal(t, VerdictPass, runVerdict(t, e))
	assert.Equal(t, int64(1), e.cache.parsed.hits.Load())

	// Rewritten in place with the same size and mtime: a new ctime.
	rewriteInPlace(t, p, cacheFail+" ")
	assert.Equal(t, VerdictFail, runVerdict(t, e))
}

// A report over maxParseFileBytes is never kept: it is decoded again.
func TestParseCacheSkipsLargeFiles(t *testing.T) {
	root := t.TempDir()
	pad := strings.Repeat(" ", maxParseFileBytes)
	writeFile(t, root, "reports/x/latest.json", cachePass[:len(cachePass)-1]+`,"pad":"`+pad+`"}`)
	e := cacheEngine(t, root)
	e.cache.parsed.now = func() time.Time { return time.Now().Add(time.Hour) }
	require.Equal(t, VerdictPass, runVerdict(t, e))
	require.Equal(t, VerdictPass, runVerdict(t, e))
	assert.Zero(t, e.cache.parsed.hits.Load())
	assert.Empty(t, e.cache.parsed.entries)
}

// A family is ranked from its names: one run over 200 stamped reports
// decodes only the newest, and the older ones (torn here) are never read.
func TestFamilyReadsOnlyTheNewest(t *testing.T) {
	root := t.TempDir()
	for i := range 200 {
		writeFile(t, root, fmt.Sprintf("reports/x/x_20260226T01%02d%02dZ.json", i/60, i%60), `{"ts_utc":`)
	}
	writeFile(t, root, "reports/x/x_20260226T015900Z.json", cachePass)
	c := oneCheckContract(config.Check{Name: "r", Kind: config.KindReport, Report: &config.ReportSpec{
		Globs: []string{"reports/x/x_*.json"}, Condition: `status == "ok"`}})
	e, err := New(c, Options{Root: root, Now: func() time.Time { return fixedNow }})
	require.NoError(t, err)
	rep, err := e.Run(context.Background(), RunOptions{RunID: "family"})
	require.NoError(t, err)
	assert.Equal(t, VerdictPass, rep.Checks[0].Verdict, rep.Checks[0].Text())
	assert.Equal(t, "reports/x/x_20260226T015900Z.json (newest by name stamp of 201 candidates)", rep.Checks[0].Chosen)
	assert.Equal(t, int64(1), e.cache.parsed.decodes.Load())
}

// Engines given one Cache share it: a new engine per run (as the worker
// builds per activity call) still finds what an earlier one decoded, and
// two roots with the same relative paths never see each other's entries.
func TestSharedCache(t *testing.T) {
	rootA, rootB := t.TempDir(), t.TempDir()
	writeFile(t, rootA, "reports/x/latest.json", cachePass)
	writeFile(t, rootB, "reports/x/latest.json", cacheFail)
	cache := NewCache()
	cache.parsed.now = func() time.Time { return time.Now().Add(time.Hour) }
	c := oneCheckContract(config.Check{Name: "r", Kind: config.KindReport, Report: &config.ReportSpec{
		Path: "reports/x/latest.json", Condition: `status == "ok" and critical_count == 0`}})
	run := func(root string) Verdict {
		e, err := New(c, Options{Root: root, Now: func() time.Time { return fixedNow }, Cache: cache})
		require.NoError(t, err)
		return runVerdict(t, e)
	}
	for range 2 {
		assert.Equal(t, VerdictPass, run(rootA))
		assert.Equal(t, VerdictFail, run(rootB))
	}
	assert.Equal(t, int64(2), cache.parsed.hits.Load(), "the second round is served from the shared cache")
}
