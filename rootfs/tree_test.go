package rootfs

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadDirTypesAndSub(t *testing.T) {
	dir, r := newRoot(t)
	write(t, dir, "d/b.txt", "b")
	write(t, dir, "d/a.txt", "a")
	write(t, dir, "e/x.txt", "x")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "d/sub"), 0o755))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "d/p"), 0o644))
	require.NoError(t, os.Symlink("../e/x.txt", filepath.Join(dir, "d/link.txt")))

	des, err := r.ReadDirTypes("d")
	require.NoError(t, err)
	var names []string
	for _, d := range des {
		names = append(names, d.Name()+":"+d.Type().String())
	}
	assert.Equal(t, []string{"a.txt:----------", "b.txt:----------", "link.txt:L---------", "p:p---------", "sub:d---------"}, names)
	_, err = r.ReadDirTypes("missing")
	require.ErrorContains(t, err, "missing")

	sub, err := r.Sub("d")
	require.NoError(t, err)
	defer sub.Close()
	assert.Equal(t, filepath.Join(dir, "d"), sub.Dir())
	data, _, err := sub.ReadFile("a.txt", 10)
	require.NoError(t, err)
	assert.Equal(t, "a", string(data))
	_, err = sub.Open("link.txt", 10)
	assert.True(t, IsEscape(err), "a link to a sibling directory leaves the sub root: %v", err)
	data, _, err = r.ReadFile("d/link.txt", 10)
	require.NoError(t, err, "the parent follows it")
	assert.Equal(t, "x", string(data))
	_, err = r.Sub("../x")
	require.Error(t, err)
}
