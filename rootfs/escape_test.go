package rootfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestIsEscape: a path or symlink that leads out of the root is recognised
// as an escape by every operation; absence, a FIFO and a size cap are not.
func TestIsEscape(t *testing.T) {
	dir, r := newRoot(t)
	outside := t.TempDir()
	write(t, outside, "secret", "x")
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "link")))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "dirlink")))
	_, err := r.Open("link", 0)
	require.True(t, IsEscape(err), "%v", err)
	_, err = r.Stat("dirlink/secret")
	require.True(t, IsEscape(err), "%v", err)
	require.True(t, IsEscape(r.WriteFile("dirlink/new", []byte("x"))))
	require.True(t, IsEscape(r.MkdirAll("dirlink/sub")))
	_, err = r.Open("absent", 0)
	require.True(t, errors.Is(err, fs.ErrNotExist))
	require.False(t, IsEscape(err))
	require.False(t, IsEscape(nil))
	_, err = os.Stat(filepath.Join(outside, "new"))
	require.ErrorIs(t, err, fs.ErrNotExist, "nothing written outside")
}

// TestGlobReturnsMatchingDirectories: a directory whose name matches the
// whole pattern is a match (the reader refuses it), and the walk still goes
// below directories the pattern can reach.
func TestGlobReturnsMatchingDirectories(t *testing.T) {
	dir, r := newRoot(t)
	write(t, dir, "reports/x/x_1.json", "{}")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "reports/x/x_2.json"), 0o755))
	write(t, dir, "reports/x/sub/x_3.json", "{}")
	got, err := r.Glob("reports/x/x_*.json")
	require.NoError(t, err)
	require.Equal(t, []string{"reports/x/x_1.json", "reports/x/x_2.json"}, got)
	got, err = r.Glob("reports/**/x_*.json")
	require.NoError(t, err)
	require.Equal(t, []string{"reports/x/sub/x_3.json", "reports/x/x_1.json", "reports/x/x_2.json"}, got)
}
