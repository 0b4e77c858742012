package rootfs

import (
	"encoding/binary"
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
	ds.each(func(name string, typ fs.FileMode) { got = append(got, ent{name, typ}) })
	require.Greater(t, len(ds.raw), 2, "several directory reads")
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
	type hit struct {
		path string
		typ  fs.FileMode
	}
	c := NewDirCache()
	c.Now = func() time.Time { return time.Now().Add(time.Hour) }
	for _, pat := range []string{"reports/a/x_*.json", "reports/**/x_*.json", "**/x_*.json", "**", "reports/*/x_?.json", "reports/[ab]/*", "missing/*.json", "reports/y.json", "*"} {
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
			require.Equal(t, want, got, pat)
			require.Equal(t, cache != nil && pat != "missing/*.json", r.Unchanged(l), pat)
		}
	}
	l, err := r.GlobScan("reports/**/x_*.json", c, func(string, string, fs.FileMode) {})
	require.NoError(t, err)
	require.True(t, r.Unchanged(l))
	write(t, dir, "reports/a/b/x_7.json", "{}")
	require.False(t, r.Unchanged(l), "a new file in a listed subdirectory")

	// A literal base is opened through os.Root, which follows a symlink
	// that stays inside; a symlinked directory the walk would descend into
	// is an error (not followed, not skipped).
	require.NoError(t, os.Symlink("a", filepath.Join(dir, "reports/link")))
	n := 0
	_, err = r.GlobScan("reports/link/*", nil, func(string, string, fs.FileMode) { n++ })
	require.NoError(t, err)
	require.Equal(t, 6, n)
	for _, pat := range []string{"reports/*/x_?.json", "reports/**/x_*.json"} {
		_, err = r.GlobScan(pat, c, func(string, string, fs.FileMode) {})
		require.ErrorIs(t, err, ErrSymlinkedDir, pat)
		require.ErrorContains(t, err, "reports/link: ", pat)
	}

	_, err = r.GlobScan("reports/[", nil, func(string, string, fs.FileMode) {})
	require.EqualError(t, err, `glob "reports/[": syntax error in pattern`)
	_, err = r.GlobScan("/etc/*", nil, func(string, string, fs.FileMode) {})
	require.Error(t, err)
}

// record is one getdents64 record for the parser tests.
func record(ino uint64, dt byte, name string) []byte {
	n := (recName + len(name) + 1 + 7) &^ 7
	b := make([]byte, n)
	binary.NativeEndian.PutUint64(b[0:8], ino)
	binary.NativeEndian.PutUint16(b[recReclen:recReclen+2], uint16(n))
	b[recType] = dt
	copy(b[recName:], name)
	return b
}

// The record parser skips ".", ".." and deleted entries (inode 0), cuts
// each name at its NUL, and refuses a buffer with an untyped live entry
// or a record that does not fit (the listing then goes through os).
func TestParseRecords(t *testing.T) {
	var buf []byte
	for _, r := range [][]byte{
		record(2, syscall.DT_DIR, "."), record(1, syscall.DT_DIR, ".."),
		record(11, syscall.DT_REG, "parity_20260226T014022Z.json"),
		record(0, syscall.DT_REG, "deleted.json"),
		record(12, syscall.DT_LNK, "l"),
		record(13, syscall.DT_FIFO, "p.json"),
		record(14, syscall.DT_DIR, "sub"),
		record(0, syscall.DT_UNKNOWN, "deleted-untyped"),
	} {
		buf = append(buf, r...)
	}
	chunk := string(buf)
	require.True(t, typedRecords(chunk))
	type ent struct {
		name string
		typ  fs.FileMode
	}
	var got []ent
	eachRecord(chunk, func(name string, typ fs.FileMode) { got = append(got, ent{name, typ}) })
	require.Equal(t, []ent{{"parity_20260226T014022Z.json", 0}, {"l", fs.ModeSymlink}, {"p.json", fs.ModeNamedPipe}, {"sub", fs.ModeDir}}, got)

	require.False(t, typedRecords(chunk+string(record(15, syscall.DT_UNKNOWN, "x"))), "a live entry without a type")
	require.False(t, typedRecords(chunk[:len(chunk)-3]), "a cut record")
	bad := record(16, syscall.DT_REG, "y")
	binary.NativeEndian.PutUint16(bad[recReclen:recReclen+2], 3)
	require.False(t, typedRecords(string(bad)), "a record length shorter than its header")
}
