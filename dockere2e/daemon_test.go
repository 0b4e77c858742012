//go:build dockere2e

package dockere2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/activities"
	"github.com/strictcycle/strictcycle/cycletypes"
)

// The engine stopped in the middle of a restart (the container ignores
// SIGTERM, so the engine is inside its stop grace period) and started again
// a while later: the restart activity fails, retries while the engine is
// down, restarts the container once the engine is back, and the cycle
// passes. It needs the supervised dockerd of make test-docker
// (STRICTCYCLE_DOCKERD_PIDFILE, STRICTCYCLE_DOCKERD_HOLD): the daemon runs
// with --live-restore, so the containers outlive it.
func TestDockerDaemonStoppedMidRestartRetries(t *testing.T) {
	pidfile, hold := os.Getenv("STRICTCYCLE_DOCKERD_PIDFILE"), os.Getenv("STRICTCYCLE_DOCKERD_HOLD")
	if pidfile == "" || hold == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("STRICTCYCLE_DOCKERD_PIDFILE and STRICTCYCLE_DOCKERD_HOLD are not set: run make test-docker, which supervises its own dockerd")
		}
		t.Skip("needs the dockerd make test-docker supervises")
	}
	env := map[string]string{"RECON_STOP_SIGNAL": "SIGWINCH"}
	for k, v := range hungProducer {
		env[k] = v
	}
	s := newStack(t, stackOptions{env: env, contract: func(s *stack, doc map[string]any) {
		// A 6s grace period: the window in which the engine is stopped.
		doc["recovery"].(map[string]any)["docker"].(map[string]any)["timeout"] = "6s"
	}})
	name := s.container(target)
	startsBefore := s.producerStarts(name)
	s.backdate(targetReport)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	// The engine's kill event with the stop signal: the restart is in the
	// engine, waiting for the grace period.
	ev := exec.CommandContext(ctx, "docker", "events", "--filter", "type=container", "--filter", "container="+name,
		"--filter", "event=kill", "--format", "{{.Action}} {{index .Actor.Attributes \"signal\"}}")
	out, err := ev.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, ev.Start())
	killed := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			killed <- sc.Text()
		}
	}()
	run := s.startCycle(ctx)
	select {
	case line := <-killed:
		require.Contains(t, line, "kill")
	case <-time.After(90 * time.Second):
		t.Fatal("the cycle never asked the engine to restart the container")
	}
	_ = ev.Process.Kill()
	_ = ev.Wait()

	// Stop the engine and hold it down until the activity has failed and
	// retried at least once.
	require.NoError(t, os.WriteFile(hold, nil, 0o644))
	t.Cleanup(func() { os.Remove(hold) })
	b, err := os.ReadFile(pidfile)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(pid, syscall.SIGTERM))
	require.Eventually(t, func() bool { return exec.Command("docker", "version").Run() != nil }, 60*time.Second, 100*time.Millisecond, "dockerd did not stop")
	require.Eventually(t, func() bool {
		desc, err := s.cl.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
		if err != nil {
			return false
		}
		for _, pa := range desc.GetPendingActivities() {
			if pa.GetActivityType().GetName() == activities.RestartServiceName && pa.GetAttempt() >= 2 && pa.GetLastFailure() != nil {
				t.Logf("restart attempt %d after: %s", pa.GetAttempt(), pa.GetLastFailure().GetMessage())
				return true
			}
		}
		return false
	}, 90*time.Second, 200*time.Millisecond, "the restart activity never retried")
	require.NoError(t, os.Remove(hold))
	require.Eventually(t, func() bool { return exec.Command("docker", "version").Run() == nil }, 60*time.Second, 200*time.Millisecond, "dockerd did not come back")

	var res struct {
		Status   string
		Reason   string
		Restarts []struct {
			Service string
			Outcome cycletypes.RestartOutcome
		}
	}
	require.NoError(t, run.Get(ctx, &res))
	require.Equal(t, "PASS", res.Status, res.Reason)
	require.Len(t, res.Restarts, 1)
	require.Equal(t, activities.RestartDone, res.Restarts[0].Outcome)
	// The engine's event log starts again with the daemon: the container's
	// own log counts its process starts — one more than before the cycle.
	require.Equal(t, startsBefore+1, s.producerStarts(name), "exactly one real start")
	tl := s.timeline(run)
	require.Regexp(t, `RestartService .*restarted via docker.*\(attempt [2-9]\)`, tl)
	require.Contains(t, tl, "decision PASS")
}
