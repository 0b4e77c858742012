package main

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The bench command at tiny sizes prints every figure (a smoke test; the
// figures themselves are not judged). The load runs on an in-process
// worker here to skip the go build of ./worker.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("bench smoke test: starts a Temporal server, skipped with -short")
	}
	repo := repoRoot()
	o := benchOptions{
		GateTime: 20 * time.Millisecond,
		Cycles:   1, Watches: 1, Envs: 2, Rounds: 1,
		Scaling:  []int{10},
		Self:     []string{os.Args[0]},
		Dir:      t.TempDir(),
		RepoRoot: repo,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	require.NoError(t, runBench(ctx, o, &out), out.String())
	for _, want := range []string{
		"machine: ", "1. gate evaluation of hbot-day28 on a generated tree", "allocs/op",
		"6. gate time by number of report checks", "3. report written -> WatchUntilFresh returns",
		"2. PASS cycle end to end", "4. 2 environments cycling at once", "cycles/s", "schedule-to-start",
		"5. worker resident memory",
	} {
		require.Contains(t, out.String(), want)
	}
}

func TestBenchBadFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, exitError, benchCmd(context.Background(), []string{"--scaling", "ten"}, &out, &errOut))
	require.Contains(t, errOut.String(), `--scaling "ten": not a positive count`)
}
