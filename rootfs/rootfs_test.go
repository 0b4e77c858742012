package rootfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func newRoot(t *testing.T) (string, *Root) {
	t.Helper()
	dir := t.TempDir()
	r, err := Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return dir, r
}

func write(t *testing.T, dir, rel, body string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
}

func TestReadFileHashesWhatItReads(t *testing.T) {
	dir, r := newRoot(t)
	write(t, dir, "reports/a.json", "abc")
	b, sum, err := r.ReadFile("reports/a.json", 10)
	require.NoError(t, err)
	require.Equal(t, "abc", string(b))
	require.Equal(t, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", sum)
}

// Everything that is not a regular file is refused before any read can
// block, and the error names the path and what it is.
func TestReadRefusesNonRegularWithoutBlocking(t *testing.T) {
	dir, r := newRoot(t)
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "fifo.json"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "d.json"), 0o755))
	require.NoError(t, os.Symlink("fifo.json", filepath.Join(dir, "link-to-fifo.json")))
	for name, want := range map[string]string{
		"fifo.json":         "fifo.json: a FIFO",
		"d.json":            "d.json: a directory",
		"link-to-fifo.json": "link-to-fifo.json: a FIFO",
	} {
		_, _, err := r.ReadFile(name, 100)
		require.ErrorIs(t, err, ErrNotRegular, name)
		require.ErrorContains(t, err, want)
	}
}

func TestReadRefusesEscapes(t *testing.T) {
	dir, r := newRoot(t)
	outside := t.TempDir()
	write(t, outside, "secret.json", `{"status":"ok"}`)
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret.json"), filepath.Join(dir, "abs-link.json")))
	require.NoError(t, os.Symlink("../"+filepath.Base(outside)+"/secret.json", filepath.Join(dir, "rel-link.json")))
	require.NoError(t, os.Symlink("/dev/zero", filepath.Join(dir, "zero.json")))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "reports")))
	for _, rel := range []string{"abs-link.json", "rel-link.json", "zero.json", "reports/secret.json", "../x.json"} {
		_, _, err := r.ReadFile(rel, 100)
		require.Error(t, err, rel)
		require.ErrorContains(t, err, rel)
	}
	_, _, err := r.ReadFile("/etc/passwd", 100)
	require.ErrorContains(t, err, "absolute path")
	// A write through the symlinked directory is refused too.
	require.Error(t, r.WriteFile("reports/latest.json", []byte("x")))
	_, err = os.Stat(filepath.Join(outside, "latest.json"))
	require.ErrorIs(t, err, fs.ErrNotExist)
}

func TestSymlinkInsideRootIsFollowed(t *testing.T) {
	dir, r := newRoot(t)
	write(t, dir, "reports/real.json", "x")
	require.NoError(t, os.Symlink("real.json", filepath.Join(dir, "reports/latest.json")))
	b, _, err := r.ReadFile("reports/latest.json", 10)
	require.NoError(t, err)
	require.Equal(t, "x", string(b))
}

func TestSizeCap(t *testing.T) {
	dir, r := newRoot(t)
	write(t, dir, "big.json", strings.Repeat("x", 11))
	_, _, err := r.ReadFile("big.json", 10)
	require.ErrorIs(t, err, ErrTooLarge)
	require.ErrorContains(t, err, "big.json: 11 bytes")
	b, _, err := r.ReadFile("big.json", 11)
	require.NoError(t, err)
	require.Len(t, b, 11)
}

// A file that grows after the size check is cut off at the cap.
func TestSizeCapWhileReading(t *testing.T) {
	dir, r := newRoot(t)
	write(t, dir, "grow.json", "0123456789")
	f, err := r.Open("grow.json", 10)
	require.NoError(t, err)
	defer f.Close()
	fh, err := os.OpenFile(filepath.Join(dir, "grow.json"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = fh.WriteString("more")
	require.NoError(t, err)
	fh.Close()
	_, err = io.ReadAll(f)
	require.ErrorIs(t, err, ErrTooLarge)
}

func TestGlob(t *testing.T) {
	dir, r := newRoot(t)
	for _, p := range []string{"reports/a/x_1.json", "reports/a/x_2.json", "reports/a/b/x_3.json", "reports/y.json", "other/x_4.json"} {
		write(t, dir, p, "{}")
	}
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "reports/a/x_9.json"), 0o644))
	got, err := r.Glob("reports/a/x_*.json")
	require.NoError(t, err)
	require.Equal(t, []string{"reports/a/x_1.json", "reports/a/x_2.json", "reports/a/x_9.json"}, got)
	got, err = r.Glob("reports/**/x_*.json")
	require.NoError(t, err)
	require.Equal(t, []string{"reports/a/b/x_3.json", "reports/a/x_1.json", "reports/a/x_2.json", "reports/a/x_9.json"}, got)
	got, err = r.Glob("missing/*.json")
	require.NoError(t, err)
	require.Empty(t, got)
	_, err = r.Glob("reports/[.json")
	require.Error(t, err)
}

// A glob never walks through a symlinked directory out of the root.
func TestGlobStaysInside(t *testing.T) {
	dir, r := newRoot(t)
	outside := t.TempDir()
	write(t, outside, "x_1.json", "{}")
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "reports")))
	_, err := r.Glob("reports/**/x_*.json")
	require.ErrorIs(t, err, ErrOutside)
	require.EqualError(t, err, "reports: resolves outside the root")
	// In the middle of the path, and as a wildcard's match, the same.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "data/2026"), 0o755))
	write(t, dir, "data/2026/x_1.json", "{}")
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "data/2027")))
	_, err = r.Glob("data/*/x_*.json")
	require.EqualError(t, err, "data/2027: resolves outside the root")
	// A symlink to a directory inside the root is not followed, and not
	// skipped: it is an error too. A dangling one holds nothing.
	require.NoError(t, os.Remove(filepath.Join(dir, "data/2027")))
	require.NoError(t, os.Symlink("2026", filepath.Join(dir, "data/2027")))
	_, err = r.Glob("data/*/x_*.json")
	require.ErrorIs(t, err, ErrSymlinkedDir)
	require.NoError(t, os.Remove(filepath.Join(dir, "data/2027")))
	require.NoError(t, os.Symlink("nowhere", filepath.Join(dir, "data/2027")))
	got, err := r.Glob("data/*/x_*.json")
	require.NoError(t, err)
	require.Equal(t, []string{"data/2026/x_1.json"}, got)
}

func TestWriteFileAtomicAndExclusive(t *testing.T) {
	dir, r := newRoot(t)
	require.NoError(t, r.WriteFile("reports/recovery/latest.json", []byte("one")))
	require.NoError(t, r.WriteFile("reports/recovery/latest.json", []byte("two")))
	b, err := os.ReadFile(filepath.Join(dir, "reports/recovery/latest.json"))
	require.NoError(t, err)
	require.Equal(t, "two", string(b))
	require.NoError(t, r.CreateExclusive("reports/recovery/a.json", []byte("a")))
	err = r.CreateExclusive("reports/recovery/a.json", []byte("b"))
	require.ErrorIs(t, err, fs.ErrExist)
	b, err = os.ReadFile(filepath.Join(dir, "reports/recovery/a.json"))
	require.NoError(t, err)
	require.Equal(t, "a", string(b))
	// No temp files are left behind.
	ents, err := os.ReadDir(filepath.Join(dir, "reports/recovery"))
	require.NoError(t, err)
	require.Len(t, ents, 2)
}

func TestOpenMissing(t *testing.T) {
	_, r := newRoot(t)
	_, _, err := r.ReadFile("nope.json", 10)
	require.True(t, errors.Is(err, fs.ErrNotExist), err)
	require.ErrorContains(t, err, "nope.json")
}

// A parent directory that exists as a file is an error of its own, not a
// taken name: a caller retrying on fs.ErrExist would loop for nothing.
func TestCreateExclusiveParentIsAFile(t *testing.T) {
	dir, r := newRoot(t)
	write(t, dir, "reports/recovery", "not a directory")
	err := r.CreateExclusive("reports/recovery/a.json", []byte("a"))
	require.Error(t, err)
	require.NotErrorIs(t, err, fs.ErrExist)
	require.ErrorContains(t, err, "create directory reports/recovery")
}

// CreateFirstFree claims the first name not taken, leaves taken files as
// they were, says fs.ErrExist when every name is taken, and leaves no temp
// file behind.
func TestCreateFirstFree(t *testing.T) {
	dir, r := newRoot(t)
	name := func(i int) string { return fmt.Sprintf("s_%d.json", i) }
	rel, err := r.CreateFirstFree("reports/x", []byte("zero"), name, 3)
	require.NoError(t, err)
	require.Equal(t, "reports/x/s_0.json", rel)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "reports/x/s_1.json"), []byte("taken"), 0o644))

	rel, err = r.CreateFirstFree("reports/x", []byte("two"), name, 3)
	require.NoError(t, err)
	require.Equal(t, "reports/x/s_2.json", rel)
	for f, want := range map[string]string{"s_0.json": "zero", "s_1.json": "taken", "s_2.json": "two"} {
		b, err := os.ReadFile(filepath.Join(dir, "reports/x", f))
		require.NoError(t, err)
		require.Equal(t, want, string(b), f)
	}

	_, err = r.CreateFirstFree("reports/x", []byte("none"), name, 3)
	require.ErrorIs(t, err, fs.ErrExist)
	_, err = r.CreateFirstFree("reports/x", []byte("bad"), func(int) string { return "../s.json" }, 1)
	require.ErrorContains(t, err, "not a file name")
	ents, err := os.ReadDir(filepath.Join(dir, "reports/x"))
	require.NoError(t, err)
	require.Len(t, ents, 3, "no temp file left")

	// The root's own directory.
	rel, err = r.CreateFirstFree(".", []byte("top"), name, 1)
	require.NoError(t, err)
	require.Equal(t, "s_0.json", rel)
}
