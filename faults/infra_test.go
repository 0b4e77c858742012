package faults

import (
	"context"
	"encoding/json"
	"github.com/strictcycle/strictcycle/redistest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/activities"
	"github.com/strictcycle/strictcycle/simstack"
	"github.com/strictcycle/strictcycle/workflows"
)

// reportTime is the ts_utc of a service's first report, or zero.
func (s *stack) reportTime(service string) time.Time {
	paths := simstack.ReportPaths(service, time.Now())
	b, err := os.ReadFile(filepath.Join(s.root, paths[0]))
	if err != nil {
		return time.Time{}
	}
	var m struct {
		TsUTC string `json:"ts_utc"`
	}
	if json.Unmarshal(b, &m) != nil {
		return time.Time{}
	}
	ts, _ := time.Parse(time.RFC3339Nano, m.TsUTC)
	return ts
}

// The Temporal server is stopped while the cycle watches the restarted
// service, and started again on the same SQLite file and port once the
// report has become fresh. The worker process stays up and reconnects.
func TestTemporalServerRestartedMidCycle(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{contract: func(doc map[string]any) {
		setExecRestart(doc, "--start-delay", "4s")
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	s.startWorker()
	run := s.startCycle(ctx)
	s.awaitStarted(ctx, run, workflows.PhaseWatch, activities.WatchUntilFreshName)

	stoppedAt := time.Now()
	s.srv.Stop()
	// Down for as long as the producer takes to write a fresh report: the
	// watch sees it while the server is away.
	require.Eventually(t, func() bool { return s.reportTime(staleService).After(stoppedAt) }, time.Minute, tick,
		"the restarted producer writes while the server is down")
	s.startServer()
	s.cl.Close()
	s.dial()

	res := s.result(ctx, run)
	requirePassOneRestart(t, s, res, activities.RestartDone, 1)
	h := s.history(ctx, run)
	for _, a := range h {
		require.Equal(t, "completed", a.Outcome, "%s", a.Type)
	}
	require.Len(t, only(h, activities.WatchUntilFreshName), 2)
	require.Len(t, only(h, activities.PublishDecisionName), 1)
}

// Redis is down from the start: the gate run needs no Redis, but the
// restart cannot take its lock. Redis comes back (empty: no persistence)
// while RestartService is retried, and the cycle completes.
func TestRedisDownDuringRestartThenBack(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t, "")
	s := newStack(t, stackOptions{redisURL: rs.URL()})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	rs.Kill()
	s.startWorker()
	run := s.startCycle(ctx)
	var lastFailure string
	require.Eventually(t, func() bool {
		_, attempt, lf, ok := s.pending(ctx, run, activities.RestartServiceName)
		lastFailure = lf
		return ok && attempt >= 2 && lf != ""
	}, 2*time.Minute, tick, "RestartService fails while Redis is down")
	t.Logf("restart failure while Redis is down: %s", lastFailure)
	require.Contains(t, lastFailure, `restart service "event-store-service": redis claim restart`)
	require.Contains(t, lastFailure, "connection refused")
	require.Zero(t, s.producerStarts(staleService), "no restart without the lock and the mark")
	rs.Restart()

	res := s.result(ctx, run)
	requirePassOneRestart(t, s, res, activities.RestartDone, 1)
	restarts := only(s.history(ctx, run), activities.RestartServiceName)
	require.Len(t, restarts, 1)
	require.GreaterOrEqual(t, restarts[0].Attempt, int32(2))
	require.Contains(t, restarts[0].LastFailure, "connection refused", "the last failed attempt is in history")
}

// Redis stays down for the whole cycle: the restart fails closed after its
// retries with the Redis error as the reason, the publication fails after
// its retries, and the decision is still the workflow's result (and in
// history) with PublishError saying why it is not in Redis.
func TestRedisDownForWholeCycle(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t, "")
	s := newStack(t, stackOptions{redisURL: rs.URL()})
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	rs.Kill()
	s.startWorker()
	run := s.startCycle(ctx)

	res := s.result(ctx, run)
	require.Equal(t, "FAIL", string(res.Status))
	require.True(t, strings.HasPrefix(res.Reason, `recovery round 1 could not complete: restart service "event-store-service": redis claim restart`), res.Reason)
	require.Contains(t, res.Reason, "connection refused")
	require.Equal(t, []string{staleCheck}, res.CriticalFailures)
	require.Equal(t, 1, res.Rounds)
	require.Empty(t, res.Restarts, "no restart was performed")
	require.Zero(t, s.producerStarts(staleService))
	require.NotEmpty(t, res.EvidenceBundleID, "the decision carries the gate run's evidence")
	require.Contains(t, res.PublishError, "publish decision to")
	require.Contains(t, res.PublishError, "connection refused")

	h := s.history(ctx, run)
	restarts := only(h, activities.RestartServiceName)
	require.Len(t, restarts, 1)
	require.Equal(t, "failed", restarts[0].Outcome)
	require.Equal(t, int32(5), restarts[0].Attempt, "every attempt of the retry policy")
	pubs := only(h, activities.PublishDecisionName)
	require.Len(t, pubs, 1)
	require.Equal(t, "failed", pubs[0].Outcome)
	require.Equal(t, int32(8), pubs[0].Attempt)
}
