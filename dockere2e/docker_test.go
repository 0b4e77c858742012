//go:build dockere2e

package dockere2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/activities"
)

// hungProducer is the target producer writing once at start and never
// again (a hung service), its health limit 20s: a backdated report turns
// it unhealthy, a restart makes it write and turn healthy.
var hungProducer = map[string]string{"RECON_INTERVAL": "1h", "RECON_HEALTH_MAX_SEC": "20"}

// A stale report: the cycle restarts the container it finds by the compose
// labels, waits until the engine says healthy, watches the report turn
// fresh, and passes — one restart, one real start.
func TestDockerStaleReportRestartsHealthyFreshPass(t *testing.T) {
	s := newStack(t, stackOptions{env: hungProducer})
	name := s.container(target)
	s.backdate(targetReport)
	// The Day-28 probe sees it too: the container turns unhealthy.
	s.waitHealth(name, "unhealthy", 30*time.Second)
	before := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run, res, took := s.cycle(ctx)

	require.Equal(t, "PASS", string(res.Status), res.Reason)
	require.Len(t, res.Restarts, 1)
	require.Equal(t, target, res.Restarts[0].Service)
	require.Equal(t, activities.RestartDone, res.Restarts[0].Outcome)
	require.Positive(t, res.Restarts[0].FreshAfterMS)
	require.Equal(t, 1, s.events(name, "restart", before), "exactly one restart")
	require.Equal(t, 1, s.events(name, "start", before), "exactly one real start")
	require.Equal(t, "healthy", s.state(name).Health)

	rr := s.restartResults(ctx, run)
	require.Len(t, rr, 1)
	require.Equal(t, activities.HealthHealthy, rr[0].Health)
	require.Positive(t, rr[0].HealthWaitMS)
	tl := s.timeline(run)
	require.Contains(t, tl, target+" restarted via docker")
	require.Contains(t, tl, "healthy after a ")
	require.Contains(t, tl, "restarted "+name+" (was running)")
	require.Contains(t, tl, "decision PASS")
	t.Logf("FIGURE restart->healthy %.0f ms, restart->fresh %.0f ms, whole healing cycle %s",
		rr[0].HealthWaitMS, res.Restarts[0].FreshAfterMS, took.Round(time.Millisecond))
}

// An exited container is started, not restarted.
func TestDockerExitedContainerIsStarted(t *testing.T) {
	s := newStack(t, stackOptions{env: hungProducer})
	name := s.container(target)
	docker(t, "stop", "--time", "1", name)
	s.backdate(targetReport)
	before := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run, res, _ := s.cycle(ctx)

	require.Equal(t, "PASS", string(res.Status), res.Reason)
	require.Len(t, res.Restarts, 1)
	require.Equal(t, activities.RestartDone, res.Restarts[0].Outcome)
	require.Equal(t, 0, s.events(name, "restart", before), "not restarted")
	require.Equal(t, 1, s.events(name, "start", before), "started once")
	st := s.state(name)
	require.True(t, st.Running)
	require.Equal(t, "healthy", st.Health)
	tl := s.timeline(run)
	require.Contains(t, tl, "started "+name+" (was exited)")
	require.Contains(t, tl, "decision PASS")
}

// A container that turns unhealthy after its restart fails the round
// closed with the engine's last health log line; no second restart.
func TestDockerUnhealthyAfterRestartFailsClosed(t *testing.T) {
	// The producer never writes (it waits an hour before its first write):
	// its report stays stale and its probe fails, before and after the
	// restart.
	s := newStack(t, stackOptions{noWait: true, env: map[string]string{"RECON_START_DELAY": "1h", "RECON_HEALTH_MAX_SEC": "20"}})
	name := s.container(target)
	writeReport(t, s.root, target)
	s.backdate(targetReport)
	s.waitHealth(name, "unhealthy", 30*time.Second)
	for _, other := range []string{"event-store-service", "ops-scheduler", "shadow-parity-service", "portfolio-risk-service", "alert-webhook-sink", "control-plane-checks"} {
		s.waitHealth(s.container(other), "healthy", 60*time.Second)
	}
	before := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run, res, _ := s.cycle(ctx)

	require.Equal(t, "FAIL", string(res.Status))
	require.Contains(t, res.CriticalFailures, targetCheck)
	require.Contains(t, res.Reason, "restarted "+target+" but it is not healthy")
	require.Contains(t, res.Reason, "report reports/reconciliation/latest.json is", "the engine's last health log line")
	require.Len(t, res.Restarts, 1)
	require.Equal(t, activities.RestartUnhealthy, res.Restarts[0].Outcome)
	require.Equal(t, 1, s.events(name, "restart", before), "one restart, no second in the round")
	require.Equal(t, 1, s.events(name, "start", before))
	rr := s.restartResults(ctx, run)
	require.Len(t, rr, 1)
	require.Equal(t, activities.HealthUnhealthy, rr[0].Health)
	require.Contains(t, rr[0].Detail, "RECON_HEALTH_MAX_SEC=20", "the engine's last health log line")
	tl := s.timeline(run)
	require.Contains(t, tl, target+" unhealthy via docker")
	require.Contains(t, tl, "decision FAIL")
}

// No container for the service (the project has none by that label): a
// clear error naming the labels, and no container starts anywhere.
func TestDockerNoContainerForServiceFailsClosed(t *testing.T) {
	s := newStack(t, stackOptions{env: hungProducer})
	s.compose("rm", "--stop", "--force", target)
	s.backdate(targetReport)
	before := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run := s.startCycle(ctx)
	var res struct {
		Status string
		Reason string
	}
	require.NoError(t, run.Get(ctx, &res))
	require.Equal(t, "FAIL", res.Status)
	require.Contains(t, res.Reason, "recovery round 1 could not complete")
	require.Contains(t, res.Reason, `no container with labels com.docker.compose.project=`+s.project+`, com.docker.compose.service=`+target)
	out := docker(t, "events", "--since", unixArg(before), "--until", unixArg(time.Now()),
		"--filter", "type=container", "--filter", "label=com.docker.compose.project="+s.project, "--filter", "event=start", "--format", "{{.Actor.Attributes.name}}")
	require.Empty(t, out, "no container of the project started")
	tl := s.timeline(run)
	require.Contains(t, tl, "no container with labels")
}
