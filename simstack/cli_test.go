package simstack

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The fault-injection knobs of the CLI: slow commands, slow restarts,
// slow-booting producers and held torn writes.
func TestCommandFaultFlags(t *testing.T) {
	ctx := context.Background()
	var out, errb bytes.Buffer

	require.Equal(t, 0, Command(ctx, []string{"sleep", "1ms"}, &out, &errb))
	require.Equal(t, 1, Command(ctx, []string{"sleep"}, &out, &errb))
	require.Contains(t, errb.String(), "sim sleep: parse arguments: want one duration, got 0 arguments")
	require.Equal(t, 1, Command(ctx, []string{"sleep", "soon"}, &out, &errb))
	require.Contains(t, errb.String(), `sim sleep: parse duration "soon"`)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	root := t.TempDir()
	errb.Reset()
	require.Equal(t, 1, Command(cancelled, []string{"sleep", "1h"}, &out, &errb), "a cancelled sleep fails")
	require.Equal(t, 1, Command(cancelled, []string{"replay", "--root", root, "--delay", "1h"}, &out, &errb))
	require.Contains(t, errb.String(), "sim replay: wait before replay: context canceled")
	require.NoFileExists(t, filepath.Join(root, ReplayArtifact), "an interrupted delay writes nothing")
	require.Equal(t, 0, Command(ctx, []string{"replay", "--root", root, "--delay", "1ms"}, &out, &errb))
	require.FileExists(t, filepath.Join(root, ReplayArtifact))

	errb.Reset()
	require.Equal(t, 1, Command(cancelled, []string{"restart", "--root", root, "--delay", "1h", Reconciliation}, &out, &errb))
	require.Contains(t, errb.String(), "sim restart: wait before acting: context canceled")
	require.False(t, Running(root, Reconciliation))

	// --start-delay: a producer stopped while it boots wrote nothing.
	require.NoError(t, RunCommand(cancelled, []string{"--root", root, "--service", Reconciliation, "--start-delay", "1h"}, &errb))
	require.NoFileExists(t, filepath.Join(root, "reports/reconciliation/latest.json"))
}

func TestRunArgsFaultFlags(t *testing.T) {
	got := RunArgs("/r", EventStore, Options{NonAtomic: true, TornPause: time.Hour, Skew: 10 * time.Minute, StartDelay: 3 * time.Second})
	require.Equal(t, []string{"--root", "/r", "--service", EventStore, "--non-atomic", "--torn-pause", "1h0m0s",
		"--skew", "10m0s", "--start-delay", "3s"}, got)
	require.Equal(t, []string{"--root", "/r", "--service", EventStore}, RunArgs("/r", EventStore, Options{}))
}
