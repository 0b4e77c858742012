package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/devserver"
)

// The demo command end to end, as `go run ./dev demo` runs it (binaries
// built into --bin), with short intervals.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: skipped with -short")
	}
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	uiPort, err := devserver.FreePort("127.0.0.1")
	require.NoError(t, err)
	code := demoCmd(ctx, []string{"--bin", testBins.bins.dir, "--root", t.TempDir(), "--ui-port", fmt.Sprint(uiPort), "--port", "0", "--interval", "500ms"}, &out, &errOut)
	text := out.String()
	require.Equal(t, exitPass, code, "%s\n%s", text, errOut.String())
	for _, want := range []string{
		"$ strictcycle run --env demo", "restart: round 1 event-store-service", "decision: PASS",
		"[promotion-gates] status=PASS", "timeline (from workflow history):", "RestartService",
		fmt.Sprintf("history in the web UI: http://127.0.0.1:%d/namespaces/default/workflows/strictcycle-demo-cycle/", uiPort),
	} {
		require.Contains(t, text, want)
	}
	m := startedLine.FindStringSubmatch(text)
	require.NotNil(t, m, text)
	require.Contains(t, text, "/workflows/"+m[1]+"/"+m[2]+"/history\n", "the link names the run")
}

// Demos in a row against the same Redis each get their own restart budget
// (three demos used to exhaust a budget of three per hour).
func TestDemosInARowKeepTheirOwnBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: skipped with -short")
	}
	// The last demo makes its own root, as `go run ./dev demo` does: a
	// PASS leaves no strictcycle-demo-* folder behind.
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	for i := range 4 {
		var out bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		root := filepath.Join(t.TempDir(), "001")
		if i == 3 {
			root = ""
		}
		pass, err := runDemo(ctx, demoOptions{Root: root, Sim: []string{testBins.sim}, Starter: testBins.starter, Interval: 500 * time.Millisecond}, &out)
		cancel()
		require.NoError(t, err, out.String())
		require.True(t, pass, "demo %d: %s", i+1, out.String())
	}
	left, err := filepath.Glob(filepath.Join(tmp, "strictcycle-demo-*"))
	require.NoError(t, err)
	require.Empty(t, left, "the demo's own root is removed after a PASS")
}
