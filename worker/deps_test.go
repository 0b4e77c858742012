package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The production binaries hold only their job: neither the worker, nor the
// operator CLI, nor the simulated stack's producer binary links the
// Temporal server, its Web UI, the in-process Redis stand-in or the SDK's
// test suite. Those belong to the dev binary (./dev) and to tests.
func TestBinariesLinkNoServer(t *testing.T) {
	forbidden := []string{
		"go.temporal.io/server",
		"github.com/temporalio/ui-server",
		"github.com/alicebob/miniredis",
		"go.temporal.io/sdk/testsuite",
		"go.temporal.io/sdk/internal/testsuite",
		"github.com/strictcycle/strictcycle/devserver",
	}
	// Each binary with one package it must list, so that an empty or
	// wrong listing cannot pass.
	binaries := map[string]string{
		"./worker":      "go.temporal.io/sdk/worker",
		"./starter":     "go.temporal.io/sdk/client",
		"./dev/hbotsim": "github.com/strictcycle/strictcycle/simstack",
	}
	for pkg, must := range binaries {
		cmd := exec.Command("go", "list", "-deps", pkg)
		cmd.Dir = ".."
		out, err := cmd.Output()
		require.NoError(t, err, "go list -deps %s", pkg)
		deps := strings.Fields(string(out))
		require.Contains(t, deps, must, "go list -deps %s", pkg)
		for _, d := range deps {
			for _, f := range forbidden {
				if d == f || strings.HasPrefix(d, f+"/") {
					t.Errorf("%s links %s", pkg, d)
				}
			}
		}
	}
}
