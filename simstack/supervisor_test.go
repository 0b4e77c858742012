package simstack

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testOpts runs producers as this test binary (see TestMain), fast.
func testOpts() Options {
	return Options{
		Self:        []string{os.Args[0], "sim", "run"},
		Env:         []string{producerEnv + "=1"},
		Interval:    50 * time.Millisecond,
		StopTimeout: 5 * time.Second,
	}
}

func reportTS(t *testing.T, path string) (time.Time, bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return time.Time{}, false
	}
	m := map[string]any{}
	if jsonErr := json.Unmarshal(b, &m); jsonErr != nil {
		return time.Time{}, false
	}
	s, _ := m["ts_utc"].(string)
	ts, err := time.Parse(time.RFC3339Nano, s)
	return ts, err == nil
}

func TestSupervisorLifecycle(t *testing.T) {
	root := t.TempDir()
	t.Cleanup(func() { _ = StopAll(root) })
	ctx := context.Background()
	report := filepath.Join(root, "reports/reconciliation/latest.json")

	require.False(t, Running(root, Reconciliation))
	require.NoError(t, Stop(root, Reconciliation), "stopping a stopped service is fine")

	require.NoError(t, Start(ctx, root, Reconciliation, testOpts()))
	require.FileExists(t, PidFile(root, Reconciliation))
	pid1, ok := Pid(root, Reconciliation)
	require.True(t, ok)
	require.Eventually(t, func() bool { _, ok := reportTS(t, report); return ok }, 10*time.Second, 20*time.Millisecond,
		"the producer writes its report")

	// The report advances while the producer runs.
	first, _ := reportTS(t, report)
	require.Eventually(t, func() bool { ts, ok := reportTS(t, report); return ok && ts.After(first) }, 10*time.Second, 20*time.Millisecond)

	// Start is idempotent: same process.
	require.NoError(t, Start(ctx, root, Reconciliation, testOpts()))
	pid, _ := Pid(root, Reconciliation)
	require.Equal(t, pid1, pid)

	// Restart replaces the process.
	require.NoError(t, Restart(ctx, root, Reconciliation, testOpts()))
	pid2, ok := Pid(root, Reconciliation)
	require.True(t, ok)
	require.NotEqual(t, pid1, pid2)
	require.Eventually(t, func() bool { return syscall.Kill(pid1, 0) != nil }, 10*time.Second, 20*time.Millisecond,
		"the old process is gone")

	// Stop: process gone, pidfile removed, report frozen.
	require.NoError(t, Stop(root, Reconciliation))
	require.False(t, Running(root, Reconciliation))
	require.NoFileExists(t, PidFile(root, Reconciliation))
	require.Eventually(t, func() bool { return syscall.Kill(pid2, 0) != nil }, 10*time.Second, 20*time.Millisecond)
	frozen, ok := reportTS(t, report)
	require.True(t, ok)
	require.Never(t, func() bool { ts, _ := reportTS(t, report); return !ts.Equal(frozen) }, 300*time.Millisecond, 25*time.Millisecond,
		"a stopped producer's report stops advancing")

	out, err := os.ReadFile(LogFile(root, Reconciliation))
	require.NoError(t, err)
	require.Contains(t, string(out), "simstack producer started service=reconciliation-service")
}

func TestSupervisorKilledProducerIsNotRunning(t *testing.T) {
	root := t.TempDir()
	t.Cleanup(func() { _ = StopAll(root) })
	require.NoError(t, Start(context.Background(), root, PortfolioRisk, testOpts()))
	pid, ok := Pid(root, PortfolioRisk)
	require.True(t, ok)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	require.Eventually(t, func() bool { return !Running(root, PortfolioRisk) }, 10*time.Second, 20*time.Millisecond,
		"a kill -9'd producer reads as stopped (stale pidfile, reaped)")
	require.NoError(t, Start(context.Background(), root, PortfolioRisk, testOpts()), "start over a stale pidfile")
	pid2, ok := Pid(root, PortfolioRisk)
	require.True(t, ok)
	require.NotEqual(t, pid, pid2)
}

func TestSupervisorStalePidfileOfOtherProcess(t *testing.T) {
	root := t.TempDir()
	// pid 1 is alive but is not a producer of this service (pid reuse).
	require.NoError(t, os.MkdirAll(filepath.Join(root, StateDir), 0o755))
	require.NoError(t, os.WriteFile(PidFile(root, EventStore), []byte("1\n"), 0o644))
	require.False(t, Running(root, EventStore))
	require.NoError(t, Stop(root, EventStore))
	require.NoFileExists(t, PidFile(root, EventStore))
}

func TestSupervisorUnknownService(t *testing.T) {
	root := t.TempDir()
	require.ErrorContains(t, Start(context.Background(), root, "nope", testOpts()), `start producer: unknown service "nope"`)
	require.ErrorContains(t, Stop(root, "nope"), `stop producer: unknown service "nope"`)
}
