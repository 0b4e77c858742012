package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The drill's exit codes through the real CLI, server and worker: a drill
// on a service the contract does not have is an error (exit 1) that writes
// no drill report; a drill that fails exits 2 after the status=FAIL line.
func TestE2EDrillExitCodes(t *testing.T) {
	s := newE2EStack(t, nil)
	s.startWorker()
	latest := filepath.Join(s.root, "reports", "recovery", "latest.json")

	code, out := s.cli("drill", "--service", "nope", "--check", DemoCheck)
	require.Equal(t, exitError, code, out)
	require.Contains(t, out, `drill: service "nope" is not in the services of contract simstack-demo`)
	require.NotContains(t, out, "[promotion-gates] status=")
	require.NoFileExists(t, latest, "an unknown service writes no drill report")

	// The demo service is not running and its report is stale: the
	// baseline fails, the drill fails.
	code, out = s.cli("drill", "--service", DemoService, "--check", DemoCheck)
	require.Equal(t, exitFail, code, out)
	i := strings.Index(out, "drill: fail\n")
	require.GreaterOrEqual(t, i, 0, out)
	require.Contains(t, out[i:], "\n"+statusFailLine+"\n")
	_, err := os.Stat(latest)
	require.NoError(t, err, "a drill that ran writes its report")
}
