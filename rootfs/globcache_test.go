package rootfs

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func matchPaths(ms []Match) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Path)
	}
	return out
}

// GlobMatches gives Glob's matches, with their types, cached or not.
func TestGlobMatchesAgreesWithGlob(t *testing.T) {
	dir, r := newRoot(t)
	for _, p := range []string{"reports/a/x_1.json", "reports/a/x_2.json", "reports/a/b/x_3.json", "reports/y.json", "other/x_4.json"} {
		write(t, dir, p, "{}")
	}
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "reports/a/x_9.json"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "reports/a/x_d.json"), 0o755))
	require.NoError(t, os.Symlink("/etc/passwd", filepath.Join(dir, "reports/a/x_s.json")))
	outside := t.TempDir()
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "out")))
	write(t, outside, "x_5.json", "{}")
	c := NewDirCache()
	c.Now = func() time.Time { return time.Now().Add(time.Hour) }
	// A directory on the path that leads out of the root is an error, the
	// same for both, cached or not: its files could be the newest.
	for _, pat := range []string{"**/x_*.json", "out/*.json", "*/x_*.json"} {
		_, err := r.Glob(pat)
		require.ErrorIs(t, err, ErrOutside, pat)
		require.ErrorContains(t, err, "out: resolves outside the root", pat)
		for _, cache := range []*DirCache{nil, c} {
			_, err := r.GlobMatches(pat, cache)
			require.ErrorIs(t, err, ErrOutside, pat)
		}
	}
	for _, pat := range []string{"reports/a/x_*.json", "reports/**/x_*.json", "missing/*.json", "reports/y.json", "*"} {
		want, err := r.Glob(pat)
		require.NoError(t, err)
		for _, cache := range []*DirCache{nil, c, c} {
			got, err := r.GlobMatches(pat, cache)
			require.NoError(t, err)
			require.Equal(t, want, matchPaths(got), pat)
		}
	}
	require.Positive(t, c.Hits())
	got, err := r.GlobMatches("reports/a/x_*.json", c)
	require.NoError(t, err)
	types := map[string]fs.FileMode{}
	for _, m := range got {
		types[m.Path] = m.Type
	}
	require.Equal(t, fs.FileMode(0), types["reports/a/x_1.json"])
	require.Equal(t, fs.ModeNamedPipe, types["reports/a/x_9.json"])
	require.Equal(t, fs.ModeDir, types["reports/a/x_d.json"])
	require.Equal(t, fs.ModeSymlink, types["reports/a/x_s.json"])
	_, err = r.GlobMatches("reports/[.json", c)
	require.Error(t, err)
}

// A cached listing is served only while the directory is unchanged: an
// entry added, removed or renamed is seen at once.
func TestDirCacheSeesEveryChange(t *testing.T) {
	dir, r := newRoot(t)
	write(t, dir, "reports/x_1.json", "{}")
	c := NewDirCache()
	// Every directory counts as old enough to cache.
	c.Now = func() time.Time { return time.Now().Add(time.Hour) }
	glob := func() []string {
		t.Helper()
		got, err := r.GlobMatches("reports/x_*.json", c)
		require.NoError(t, err)
		return matchPaths(got)
	}
	require.Equal(t, []string{"reports/x_1.json"}, glob())
	require.Equal(t, []string{"reports/x_1.json"}, glob())
	require.Equal(t, int64(1), c.Hits())
	write(t, dir, "reports/x_2.json", "{}")
	require.Equal(t, []string{"reports/x_1.json", "reports/x_2.json"}, glob())
	require.NoError(t, os.Rename(filepath.Join(dir, "reports/x_1.json"), filepath.Join(dir, "reports/x_3.json")))
	require.Equal(t, []string{"reports/x_2.json", "reports/x_3.json"}, glob())
	require.NoError(t, os.Remove(filepath.Join(dir, "reports/x_2.json")))
	require.Equal(t, []string{"reports/x_3.json"}, glob())
	require.Equal(t, int64(1), c.Hits())
}

// A directory changed within the racy window is never cached, so a second
// change in the same timestamp tick cannot be missed.
func TestDirCacheSkipsRecentDirectories(t *testing.T) {
	dir, r := newRoot(t)
	write(t, dir, "reports/x_1.json", "{}")
	c := NewDirCache()
	for range 2 {
		_, err := r.GlobMatches("reports/x_*.json", c)
		require.NoError(t, err)
	}
	require.Zero(t, c.Hits())
}

// A glob whose literal base is a FIFO has no matches and does not block,
// with the cache or without.
func TestGlobMatchesFIFOBase(t *testing.T) {
	dir, r := newRoot(t)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "reports"), 0o755))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "reports/pipe"), 0o644))
	for _, c := range []*DirCache{nil, NewDirCache()} {
		got, err := r.GlobMatches("reports/pipe/*.json", c)
		require.NoError(t, err)
		require.Empty(t, got)
	}
}

// The compiled segment matcher agrees with filepath.Match on a fixed set.
func TestMatchSeg(t *testing.T) {
	pats := []string{"parity_*.json", "*", "*.json", "x_*", "a*b*c", "x_?.json", "[ab]_*.json", `\*_*.json`, "exact.json", "**", "ab*ba", "a*a", `x\_1.json`, `a\b`}
	names := []string{"parity_1.json", "parity_.json", "parity.json", "x_1", "abc", "a_b_c", "x_1.json", "a_1.json", "*_1.json", "exact.json", "", ".json", "parity_1.jsonx", "aba", "abba", "a", "aa", "ab", `a\b`}
	for _, p := range pats {
		for _, n := range names {
			want, err := filepath.Match(p, n)
			require.NoError(t, err)
			m := compileSeg(p)
			require.Equal(t, want, m.match(n), "%q %q", p, n)
		}
	}
}
