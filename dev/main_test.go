package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/strictcycle/strictcycle/simstack"
)

// testBins are the small binaries (operator CLI, simulated stack, worker),
// built once by TestMain into a temporary folder with the code the
// commands use (binaries.build).
var testBins struct {
	bins                 *binaries
	starter, sim, worker string
}

// TestMain builds the binaries once; it also lets the test binary stand in
// for the simulated stack (`<test binary> sim …`).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "sim" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := simstack.Command(ctx, os.Args[2:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "strictcycle-dev-bin-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "dev: make bin dir: %v\n", err)
		os.Exit(1)
	}
	code := 1
	if err := buildTestBins(dir); err != nil {
		fmt.Fprintf(os.Stderr, "dev: %v\n", err)
	} else {
		code = m.Run()
	}
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func buildTestBins(dir string) error {
	b, err := newBinaries(dir)
	if err != nil {
		return err
	}
	paths, err := b.build(context.Background(), starterPkg, simPkg, workerPkg)
	if err != nil {
		return err
	}
	testBins.bins = b
	testBins.starter, testBins.sim, testBins.worker = paths[0], paths[1], paths[2]
	return nil
}
