package simstack

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/gates"
)

const testSelf = "/opt/strictcycle/bin/strictcycle"

func loadDemoContract(t *testing.T) *config.Contract {
	t.Helper()
	b, err := Contract([]string{testSelf})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "simstack-demo.yaml")
	require.NoError(t, os.WriteFile(path, b, 0o644))
	c, err := config.LoadContract(path)
	require.NoError(t, err)
	return c
}

func TestContractMirrorsDay28(t *testing.T) {
	c := loadDemoContract(t)
	day28, err := config.LoadContract("hbot-day28")
	require.NoError(t, err)

	require.Len(t, c.Checks, 16)
	require.Len(t, c.Checks, len(day28.Checks))
	for i, ck := range c.Checks {
		require.Equal(t, day28.Checks[i].Name, ck.Name, "check %d", i)
		require.Equal(t, day28.Checks[i].Severity, ck.Severity, ck.Name)
		require.Equal(t, config.SeverityCritical, ck.Severity, ck.Name)
		require.NotEqual(t, config.KindCommand, ck.Kind, "%s: the sim has no commands", ck.Name)
		if ck.Producer != "" {
			require.Contains(t, c.Services, ck.Producer, ck.Name)
		}
	}
	for _, s := range Services() {
		require.Contains(t, c.Services, s)
	}

	require.NotNil(t, c.Replay)
	require.Equal(t, "replay_regression_cycle", c.Replay.Check)
	require.Equal(t, []string{testSelf, "sim", "replay", "--root", "{root}"}, c.Replay.Argv)
	require.Equal(t, ReplayArtifact, c.Replay.Artifact)

	require.Equal(t, config.DriverExec, c.Recovery.Driver)
	require.Equal(t, []string{testSelf, "sim", "restart", "--root", "{root}", "{service}"}, c.Recovery.Exec.Restart)
	require.Equal(t, []string{testSelf, "sim", "stop", "--root", "{root}", "{service}"}, c.Recovery.Exec.Stop)
	require.Equal(t, []string{testSelf, "sim", "start", "--root", "{root}", "{service}"}, c.Recovery.Exec.Start)
	require.Equal(t, 3, c.Recovery.MaxRestarts)
	require.Equal(t, time.Hour, c.Recovery.BudgetWindow)
	require.Equal(t, 2, c.Recovery.MaxRounds)
	// Seconds, so that a drill finishes in seconds: a producer writes every
	// 2s and at once on start.
	require.Equal(t, 30*time.Second, c.Freshness.Window)
	require.Less(t, c.Recovery.WaitFirst, c.Freshness.Window)
}

func TestContractSelfSplice(t *testing.T) {
	b, err := Contract([]string{"go", "run", "./dev/hbotsim"})
	require.NoError(t, err)
	require.NotContains(t, string(b), `"{self}", sim`)
	require.Contains(t, string(b), `restart: ["go", "run", "./dev/hbotsim", sim, restart, --root, "{root}", "{service}"]`)
	_, err = Contract(nil)
	require.EqualError(t, err, "build demo contract: empty self argv")
}

// writeAll runs every producer's first tick (at now) except skip, plus the
// replay command, as a started stack would.
func writeAll(t *testing.T, root string, now time.Time, skip ...string) {
	t.Helper()
	for _, s := range Services() {
		if slices.Contains(skip, s) {
			continue
		}
		p, err := NewProducer(root, s, ProducerOptions{Now: func() time.Time { return now }})
		require.NoError(t, err)
		require.NoError(t, p.WriteOnce(context.Background()), s)
	}
	require.NoError(t, RunReplayAt(root, now))
}

func TestDemoContractOnSimStack(t *testing.T) {
	c := loadDemoContract(t)
	tests := []struct {
		name     string
		skip     []string
		status   string
		failures []string
	}{
		{name: "all producers ran", status: gates.StatusPass},
		{name: "event store never started", skip: []string{EventStore}, status: gates.StatusFail,
			failures: []string{"event_store_integrity_freshness"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			require.NoError(t, SeedAt(root, fixedNow))
			writeAll(t, root, fixedNow, tt.skip...)
			e, err := gates.New(c, gates.Options{Root: root, Now: func() time.Time { return fixedNow }, NoCommands: true})
			require.NoError(t, err)
			r, err := e.Run(context.Background(), gates.RunOptions{RunID: "simstack-test"})
			require.NoError(t, err)
			var why []string
			for _, ck := range r.Checks {
				if !ck.Pass {
					why = append(why, ck.Name+": "+ck.Reason)
				}
			}
			require.Equal(t, tt.status, r.Status, "failing checks: %v", why)
			if tt.failures == nil {
				require.Empty(t, r.CriticalFailures)
			} else {
				require.Equal(t, tt.failures, r.CriticalFailures)
			}
		})
	}
}
