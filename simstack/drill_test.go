package simstack

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/gates"
)

// expand is the exec driver's placeholder substitution.
func expand(argv []string, root, service string) []string {
	r := strings.NewReplacer("{root}", root, "{service}", service)
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = r.Replace(a)
	}
	return out
}

func runArgv(t *testing.T, argv []string) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), producerEnv+"=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%v: %s", argv, out)
}

// TestDrillThroughContractArgv plays the demo: the stack runs without
// event-store-service, the gate fails on exactly the integrity check, the
// contract's own restart argv brings the producer back, and the gate passes.
func TestDrillThroughContractArgv(t *testing.T) {
	// Producers spawned by the CLI (os.Executable) need the env too.
	t.Setenv(producerEnv, "1")
	b, err := Contract([]string{os.Args[0]})
	require.NoError(t, err)
	path := t.TempDir() + "/demo.yaml"
	require.NoError(t, os.WriteFile(path, b, 0o644))
	c, err := config.LoadContract(path)
	require.NoError(t, err)

	root := t.TempDir()
	t.Cleanup(func() { _ = StopAll(root) })
	require.NoError(t, Seed(root))
	ctx := context.Background()
	opts := testOpts()
	opts.Interval = 200 * time.Millisecond
	for _, s := range Services() {
		if s != EventStore {
			require.NoError(t, Start(ctx, root, s, opts))
		}
	}
	runArgv(t, expand(c.Replay.Argv, root, ""))

	e, err := gates.New(c, gates.Options{Root: root, NoCommands: true})
	require.NoError(t, err)
	run := func() *gates.Report {
		r, err := e.Run(ctx, gates.RunOptions{})
		require.NoError(t, err)
		return r
	}
	// Every running producer has written once (Start waits for exec, the
	// first write is immediate but asynchronous).
	require.Eventually(t, func() bool {
		r := run()
		return len(r.CriticalFailures) == 1
	}, 20*time.Second, 50*time.Millisecond)
	require.Equal(t, []string{"event_store_integrity_freshness"}, run().CriticalFailures)

	runArgv(t, expand(c.Recovery.Exec.Restart, root, EventStore))
	require.True(t, Running(root, EventStore))
	require.Eventually(t, func() bool { return run().Status == gates.StatusPass }, 20*time.Second, 50*time.Millisecond)

	runArgv(t, expand(c.Recovery.Exec.Stop, root, EventStore))
	require.False(t, Running(root, EventStore))
}
