package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// modulePath is this repository's module; binaries are built from its
// source, found by walking up from the working directory.
const modulePath = "github.com/strictcycle/strictcycle"

// The packages of the small binaries the dev tools start as processes.
const (
	simPkg     = "./dev/hbotsim" // the simulated stack: producers, replay, restarts
	workerPkg  = "./worker"      // the production worker
	starterPkg = "./starter"     // the operator CLI
)

// binaries locates (and builds on demand) the module's small binaries in
// one folder. `go build` relinks only what changed, so a second run costs
// the check of the build cache, not a link.
type binaries struct {
	dir    string // where the binaries go
	module string // the module's source folder ("" when not found)
}

// newBinaries uses dir, or the user's cache folder when dir is "".
func newBinaries(dir string) (*binaries, error) {
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		dir = filepath.Join(cache, "strictcycle", "bin")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("make binaries folder %q: %w", dir, err)
	}
	return &binaries{dir: dir, module: moduleDir()}, nil
}

// build runs one `go build` of pkgs into b.dir and returns each binary's
// path, by package, in the order given.
func (b *binaries) build(ctx context.Context, pkgs ...string) ([]string, error) {
	if b.module == "" {
		return nil, fmt.Errorf("build %s: the source of %s is not above the working directory (run from the repository)", strings.Join(pkgs, " "), modulePath)
	}
	if _, err := exec.LookPath("go"); err != nil {
		return nil, fmt.Errorf("build %s: %w", strings.Join(pkgs, " "), err)
	}
	args := append([]string{"build", "-o", b.dir + string(filepath.Separator)}, pkgs...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = b.module
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go build %s in %s: %w\n%s", strings.Join(pkgs, " "), b.module, err, out.Bytes())
	}
	paths := make([]string, len(pkgs))
	for i, p := range pkgs {
		paths[i] = filepath.Join(b.dir, filepath.Base(p))
	}
	return paths, nil
}

// simSelf is the argv prefix that runs the simulated stack (`<argv> sim
// run …`): the small hbotsim binary, built once, or this binary itself
// when it cannot be built (no go toolchain or no source beside it) — a
// larger process per producer, but the same behaviour.
func (b *binaries) simSelf(ctx context.Context) ([]string, string, error) {
	paths, err := b.build(ctx, simPkg)
	if err == nil {
		return paths[:1], "", nil
	}
	self, serr := os.Executable()
	if serr != nil {
		return nil, "", errors.Join(err, fmt.Errorf("find own executable: %w", serr))
	}
	return []string{self}, fmt.Sprintf("simulated stack runs this binary (%v)", firstLine(err)), nil
}

// moduleDir is the nearest folder at or above the working directory whose
// go.mod declares modulePath, or "".
func moduleDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if strings.TrimSpace(line) == "module "+modulePath {
					return d
				}
			}
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
