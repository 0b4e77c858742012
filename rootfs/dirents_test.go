package rootfs

import (
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// listDirents gives the names and types os.ReadDir gives, on a directory
// of every file type and of more entries than one getdents buffer holds.
func TestListDirentsAgreesWithReadDir(t *testing.T) {
	dir, r := newRoot(t)
	big := filepath.Join(dir, "reports/big")
	require.NoError(t, os.MkdirAll(big, 0o755))
	for i := range 3000 {
		// Long names: 3 000 of them fill several 32 KiB buffers.
		write(t, dir, fmt.Sprintf("reports/big/portfolio_risk_20260226T%06dZ_%d.json", i, i), "{}")
	}
	require.NoError(t, syscall.Mkfifo(filepath.Join(big, "fifo_1.json"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(big, "sub"), 0o755))
	require.NoError(t, os.Symlink("/etc/passwd", filepath.Join(big, "link.json")))
	// A socket, when the path is short enough for one.
	if l, err := net.Listen("unix", filepath.Join(big, "s")); err == nil {
		t.Cleanup(func() { l.Close() })
	}
	require.NoError(t, os.Remove(filepath.Join(big, "portfolio_risk_20260226T000007Z_7.json"))) // a hole in the directory
	type ent struct {
		name string
		typ  fs.FileMode
	}
	want := []ent{}
	des, err := os.ReadDir(big)
	require.NoError(t, err)
	for _, d := range des {
		want = append(want, ent{d.Name(), d.Type()})
	}
	got := []ent{}
	ds, err := r.listDirents("reports/big")
	require.NoError(t, err)
	for _, d := range ds {
		got = append(got, ent{d.name, d.typ})
	}
	cmp := func(a, b ent) int { return strings.Compare(a.name, b.name) }
	slices.SortFunc(got, cmp)
	slices.SortFunc(want, cmp)
	require.Greater(t, len(want), 3000)
	require.Equal(t, want, got)

	// Not a directory: an error at once, never a hang on the FIFO.
	for _, p := range []string{"reports/big/fifo_1.json", "reports/big/link.json", "missing", "reports/big/portfolio_risk_20260226T000001Z_1.json"} {
		_, err := r.listDirents(p)
		require.Error(t, err, p)
	}
}

// GlobScan calls back exactly the matches GlobMatches returns, and both
// agree with a walk of the tree filtered by MatchPath (the reference
// matcher, path.Match per segment); Unchanged holds until a directory
// changes.
func TestGlobScanAgreesWithWalk(t *testing.T) {
	dir, r := newRoot(t)
	for _, p := range []string{"reports/a/x_1.json", "reports/a/x_2.json", "reports/a/b/x_3.json", "reports/y.json", "other/x_4.json", "reports/a/b/c/x_5.json", "x_6.json"} {
		write(t, dir, p, "{}")
	}
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "reports/a/x_9.json"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "reports/a/x_d.json"), 0o755))
	require.NoError(t, os.Symlink("/etc/passwd", filepath.Join(dir, "reports/a/x_s.json")))
	require.NoError(t, os.Symlink("a", filepath.Join(dir, "reports/link")))
	type hit struct {
		path string
		typ  fs.FileMode
	}
	c := NewDirCache()
	c.Now = func() time.Time { return time.Now().Add(time.Hour) }
	for _, pat := range []string{"reports/a/x_*.json", "reports/**/x_*.json", "**/x_*.json", "**", "reports/*/x_?.json", "reports/[ab]/*", "missing/*.json", "reports/y.json", "*", "reports/link/*"} {
		var want []hit
		require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			require.NoError(t, err)
			rel, _ := filepath.Rel(dir, p)
			if rel != "." && MatchPath(pat, filepath.ToSlash(rel)) {
				want = append(want, hit{filepath.ToSlash(rel), d.Type()})
			}
			return nil
		}))
		for _, cache := range []*DirCache{nil, c, c} {
			var got []hit
			l, err := r.GlobScan(pat, cache, func(d, name string, typ fs.FileMode) {
				p := name
				if d != "." {
					p = d + "/" + name
				}
				got = append(got, hit{p, typ})
			})
			require.NoError(t, err)
			slices.SortFunc(got, func(a, b hit) int { return strings.Compare(a.path, b.path) })
			ms, err := r.GlobMatches(pat, cache)
			require.NoError(t, err)
			var gm []hit
			for _, m := range ms {
				gm = append(gm, hit{m.Path, m.Type})
			}
			require.Equal(t, gm, got, pat)
			if pat == "reports/link/*" {
				// A literal base is opened through os.Root, which follows
				// a symlink that stays inside: the walk above does not.
				require.Len(t, got, 6)
				continue
			}
			require.Equal(t, want, got, pat)
			require.Equal(t, cache != nil && pat != "missing/*.json", r.Unchanged(l), pat)
		}
	}
	l, err := r.GlobScan("reports/**/x_*.json", c, func(string, string, fs.FileMode) {})
	require.NoError(t, err)
	require.True(t, r.Unchanged(l))
	write(t, dir, "reports/a/b/x_7.json", "{}")
	require.False(t, r.Unchanged(l), "a new file in a listed subdirectory")

	_, err = r.GlobScan("reports/[", nil, func(string, string, fs.FileMode) {})
	require.EqualError(t, err, `glob "reports/[": syntax error in pattern`)
	_, err = r.GlobScan("/etc/*", nil, func(string, string, fs.FileMode) {})
	require.Error(t, err)
}
