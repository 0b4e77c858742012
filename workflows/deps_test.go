package workflows

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWorkflowsLinkNoSideEffectPackages: the deterministic workflow code
// depends on the wire types (cycletypes), never on the packages that hold
// the Docker client, the Redis store and its Lua scripts, the file watcher
// or the gate engine's I/O, so a workflow cannot reach them by mistake and
// a client that only starts workflows stays small.
func TestWorkflowsLinkNoSideEffectPackages(t *testing.T) {
	goBin, err := exec.LookPath("go")
	require.NoError(t, err, "the go command runs this test")
	out, err := exec.Command(goBin, "list", "-deps", ".").CombinedOutput()
	require.NoError(t, err, "go list -deps: %s", out)
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/strictcycle/strictcycle/cycletypes")
	forbidden := []string{
		"github.com/strictcycle/strictcycle/activities", // Docker client, Redis store and its Lua scripts
		"github.com/strictcycle/strictcycle/gates",      // the engine: files, commands, go-redis
		"github.com/fsnotify/fsnotify",
		"github.com/redis/go-redis/v9",
		"github.com/alicebob/miniredis/v2",
		"go.temporal.io/server",
	}
	for _, d := range deps {
		for _, f := range forbidden {
			if d == f || strings.HasPrefix(d, f+"/") {
				t.Errorf("workflows depends on %s", d)
			}
		}
		if strings.Contains(d, "docker") {
			t.Errorf("workflows depends on %s", d)
		}
	}
}
