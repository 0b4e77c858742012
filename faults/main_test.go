package faults

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// binaries are the worker and the simulated stack's executables, built once
// by TestMain. The simulator (dev/hbotsim) carries the `sim` CLI that the
// producers, the replay and the exec restart driver run.
var binaries struct {
	worker string
	sim    string
}

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		// Every test here skips itself with -short: build nothing.
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "strictcycle-faults-bin-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "faults: make bin dir: %v\n", err)
		os.Exit(1)
	}
	code := 1
	if err := build(dir); err != nil {
		fmt.Fprintf(os.Stderr, "faults: %v\n", err)
	} else {
		binaries.worker = filepath.Join(dir, "worker")
		binaries.sim = filepath.Join(dir, "hbotsim")
		code = m.Run()
	}
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// build compiles ./worker and ./dev/hbotsim from the module root into dir (the
// build cache makes later runs fast; a first link can take a minute).
func build(dir string) error {
	root, err := filepath.Abs("..")
	if err != nil {
		return fmt.Errorf("resolve module root: %w", err)
	}
	cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "-ldflags=-s -w", "./worker", "./dev/hbotsim")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("build worker and simulator: %w\n%s", err, out)
	}
	return nil
}
