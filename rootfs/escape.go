package rootfs

import (
	"errors"
	"os"
)

// errEscapes is os.Root's (unexported) error for a path that leads out of
// the root, captured once: os.Root refuses ".." lexically, so opening it
// touches no file.
var errEscapes = func() error {
	r, err := os.OpenRoot(os.TempDir())
	if err != nil {
		return nil
	}
	defer r.Close()
	_, err = r.Open("..")
	return unwrapPath(err)
}()

// IsEscape reports whether err is a refusal of a path (or a symlink on it)
// that leads outside the root.
func IsEscape(err error) bool {
	return err != nil && errEscapes != nil && errors.Is(err, errEscapes)
}
