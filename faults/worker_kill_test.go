package faults

import (
	"context"
	"github.com/strictcycle/strictcycle/redistest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/activities"
	"github.com/strictcycle/strictcycle/cycletypes"
	"github.com/strictcycle/strictcycle/workflows"
)

// Every test below runs the same story: the event store is down (its
// integrity report two hours old), so the cycle replays, runs the gates,
// waits briefly, restarts event-store-service through the exec driver,
// watches its report become fresh, rechecks, re-runs the gates and
// publishes PASS. One phase is made slow with a sim flag, the worker
// process is killed with SIGKILL while an attempt of that phase's activity
// is started, and a new worker process is started.

// requireRetriedAfterKill checks that the killed activity's attempt ended
// by a timeout (the server noticed the dead worker) and that a later attempt
// finished it.
func requireRetriedAfterKill(t *testing.T, a *activityRun) {
	t.Helper()
	require.Equal(t, "completed", a.Outcome, "%s completed after the kill", a.Type)
	require.GreaterOrEqual(t, a.Attempt, int32(2), "%s was retried", a.Type)
	require.Contains(t, a.LastFailure, "activity Heartbeat timeout", "%s: the killed attempt ended by its heartbeat timeout", a.Type)
}

// requirePassOneRestart checks a PASS after one restart in round 1, and
// that the stale service's process was started starts times in all.
func requirePassOneRestart(t *testing.T, s *stack, res *workflows.StrictCycleResult, outcome cycletypes.RestartOutcome, starts int) {
	t.Helper()
	require.Equal(t, "PASS", string(res.Status), res.Reason)
	require.Equal(t, []string{}, res.CriticalFailures)
	require.Len(t, res.Restarts, 1, "one restart in one round")
	require.Equal(t, 1, res.Restarts[0].Round)
	require.Equal(t, staleService, res.Restarts[0].Service)
	require.Equal(t, outcome, res.Restarts[0].Outcome)
	require.Empty(t, res.PublishError)
	s.requireOneRestartPerRound(res, starts)
}

func TestWorkerKilledDuringReplay(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{contract: func(doc map[string]any) {
		doc["replay"].(map[string]any)["argv"] = []any{binaries.sim, "sim", "replay", "--delay", "3s", "--root", "{root}"}
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	w := s.startWorker()
	run := s.startCycle(ctx)
	s.awaitStarted(ctx, run, workflows.PhaseReplay, activities.RunReplayName)
	w.kill(t)
	s.startWorker()

	res := s.result(ctx, run)
	requirePassOneRestart(t, s, res, activities.RestartDone, 1)
	h := s.history(ctx, run)
	replays := only(h, activities.RunReplayName)
	require.Len(t, replays, 1)
	requireRetriedAfterKill(t, replays[0])
	var rr activities.RunReplayResult
	replays[0].decode(t, &rr)
	require.True(t, rr.Ran)
	require.Equal(t, 0, rr.ExitCode)
}

func TestWorkerKilledDuringGateRun(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{contract: func(doc map[string]any) {
		// A slow command check (warning: it never decides) keeps the gate
		// run busy for 3s.
		doc["checks"] = append(doc["checks"].([]any), map[string]any{
			"name": "slow_command", "severity": "warning", "kind": "command",
			"pass_reason": "slow command ran", "fail_reason": "slow command failed",
			"command": map[string]any{"argv": []any{binaries.sim, "sim", "sleep", "3s"}, "timeout": "1m"},
		})
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	w := s.startWorker()
	run := s.startCycle(ctx)
	s.awaitStarted(ctx, run, workflows.PhaseGates, activities.EvaluateGatesName)
	w.kill(t)
	s.startWorker()

	res := s.result(ctx, run)
	requirePassOneRestart(t, s, res, activities.RestartDone, 1)
	evals := only(s.history(ctx, run), activities.EvaluateGatesName)
	require.Len(t, evals, 3, "gate run, recheck, final gate run")
	requireRetriedAfterKill(t, evals[0])
	var first activities.GateSummary
	evals[0].decode(t, &first)
	require.Equal(t, "FAIL", string(first.Status))
	require.Equal(t, []string{staleCheck}, first.CriticalFailures)
}

func TestWorkerKilledDuringRestart(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{contract: func(doc map[string]any) {
		// The driver's `sim restart` waits 3s before it restarts.
		setExecRestart(doc, "--delay", "3s")
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	w := s.startWorker()
	run := s.startCycle(ctx)
	s.awaitStarted(ctx, run, workflows.PhaseRestart, activities.RestartServiceName)
	// Kill only once the driver command runs: the intent mark is written
	// and the restart is under way.
	require.Eventually(t, func() bool {
		return procWith(binaries.sim, "restart", "--delay", s.root, staleService)
	}, time.Minute, tick, "the exec driver runs sim restart")
	w.kill(t)
	s.startWorker()

	res := s.result(ctx, run)
	// The driver command outlived the worker and restarted the service; the
	// retry found the intent mark and did not call the driver again.
	requirePassOneRestart(t, s, res, activities.RestartAlreadyDone, 1)
	restarts := only(s.history(ctx, run), activities.RestartServiceName)
	require.Len(t, restarts, 1)
	requireRetriedAfterKill(t, restarts[0])
	var rr activities.RestartServiceResult
	restarts[0].decode(t, &rr)
	require.Equal(t, activities.RestartAlreadyDone, rr.Outcome)
	require.Contains(t, rr.Detail, "(state intent): an earlier attempt stopped during the driver call; not restarting twice")
}

func TestWorkerKilledDuringWatch(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{contract: func(doc map[string]any) {
		// The restarted producer boots for 6s before its first report.
		setExecRestart(doc, "--start-delay", "6s")
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	w := s.startWorker()
	run := s.startCycle(ctx)
	s.awaitStarted(ctx, run, workflows.PhaseWatch, activities.WatchUntilFreshName)
	w.kill(t)
	s.startWorker()

	res := s.result(ctx, run)
	requirePassOneRestart(t, s, res, activities.RestartDone, 1)
	require.Positive(t, res.Restarts[0].FreshAfterMS)
	watches := only(s.history(ctx, run), activities.WatchUntilFreshName)
	require.Len(t, watches, 2, "wait_first, then the watch after the restart")
	require.Equal(t, int32(1), watches[0].Attempt)
	requireRetriedAfterKill(t, watches[1])
	var wr activities.WatchUntilFreshResult
	watches[1].decode(t, &wr)
	require.True(t, wr.Fresh)
}

func TestWorkerKilledDuringPublish(t *testing.T) {
	t.Parallel()
	// Its own Redis: CLIENT PAUSE would stall every other user of a shared
	// one.
	rs := redistest.Start(t, "")
	s := newStack(t, stackOptions{redisURL: rs.URL(), contract: func(doc map[string]any) {
		setExecRestart(doc, "--start-delay", "3s")
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	rc := s.redis()
	w := s.startWorker()
	run := s.startCycle(ctx)
	// While the restarted producer boots, pause Redis writes: the publish
	// script blocks until the pause ends.
	require.Eventually(t, func() bool { return s.phase(ctx, run) == workflows.PhaseWatch }, 2*time.Minute, tick)
	require.NoError(t, rc.Do(ctx, "CLIENT", "PAUSE", "120000", "WRITE").Err())
	s.awaitStarted(ctx, run, workflows.PhasePublish, activities.PublishDecisionName)
	w.kill(t)
	require.NoError(t, rc.Do(ctx, "CLIENT", "UNPAUSE").Err())
	s.startWorker()

	res := s.result(ctx, run)
	requirePassOneRestart(t, s, res, activities.RestartDone, 1)
	pubs := only(s.history(ctx, run), activities.PublishDecisionName)
	require.Len(t, pubs, 1)
	requireRetriedAfterKill(t, pubs[0])
	// Published once: the script is keyed by the run id.
	require.Len(t, s.decisionsOf(ctx, run.GetRunID()), 1, "exactly one decision entry for the run")
	latest, err := rc.Get(ctx, s.prefix+":"+s.env+":promotion_gate:latest").Result()
	require.NoError(t, err)
	require.Contains(t, latest, run.GetRunID())
	require.Contains(t, latest, `"status":"PASS"`)
}
