package faults

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/activities"
	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/gates"
	"github.com/strictcycle/strictcycle/simstack"
)

const (
	tornService = simstack.AlertWebhookSink
	tornCheck   = "alerting_health"
	tornReport  = "reports/reconciliation/last_webhook_sent.json"
)

func checkOf(t *testing.T, sum *activities.GateSummary, name string) activities.CheckSummary {
	t.Helper()
	for _, c := range sum.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("check %s not in the gate summary", name)
	return activities.CheckSummary{}
}

// The gate reads a report at the very moment its non-atomic writer has
// written half of it: the check is an error, never a pass; once the write
// completes it passes again. The producer's hook runs the real engine in
// the gap of every torn write.
func TestTornReportIsErrorAtThatMoment(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test: skipped with -short")
	}
	t.Parallel()
	root := t.TempDir()
	require.NoError(t, simstack.Seed(root))
	raw, err := simstack.Contract([]string{binaries.sim})
	require.NoError(t, err)
	c, err := config.ParseContract(raw)
	require.NoError(t, err)
	e, err := gates.New(c, gates.Options{Root: root, CI: true, NoCommands: true})
	require.NoError(t, err)
	ctx := context.Background()
	judge := func() gates.Result {
		rep, err := e.Run(ctx, gates.RunOptions{Only: []string{tornCheck}})
		require.NoError(t, err)
		require.Len(t, rep.Checks, 1)
		return rep.Checks[0]
	}

	torn := 0
	p, err := simstack.NewProducer(root, tornService, simstack.ProducerOptions{
		NonAtomic: true,
		AfterPartialWrite: func(path string) {
			half, err := os.ReadFile(path)
			require.NoError(t, err)
			require.False(t, json.Valid(half), "the reader sees half a file")
			r := judge()
			require.Equal(t, gates.VerdictError, r.Verdict, r.Reason)
			require.False(t, r.Pass)
			require.Contains(t, r.Text(), tornReport)
			if torn == 0 {
				t.Logf("half file: %s", r.Text())
			}
			torn++
		},
	})
	require.NoError(t, err)
	defer p.Close()
	for range 20 {
		require.NoError(t, p.WriteOnce(ctx))
		r := judge()
		require.Equal(t, gates.VerdictPass, r.Verdict, r.Reason)
	}
	require.Equal(t, 20, torn, "every write was torn and judged in its gap")
}

// A writer stuck between the two halves of a non-atomic write (a reader
// that lands in the gap, held open): the cycle fails closed at once with
// the torn check as the reason and restarts nothing, since a restart cannot
// repair a parse error. Once the writer writes atomically again, the next
// cycle recovers the stale service and passes.
func TestTornReportFailsClosed(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{producers: map[string]simstack.Options{
		tornService: simOptions(simstack.Options{NonAtomic: true, TornPause: time.Hour}),
	}})
	report := filepath.Join(s.root, tornReport)
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(report)
		return err == nil && len(b) > 0 && !json.Valid(b)
	}, 30*time.Second, tick, "the torn writer holds half a file")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	s.startWorker()
	run := s.startCycle(ctx)

	res := s.result(ctx, run)
	require.Equal(t, "FAIL", string(res.Status))
	require.Equal(t, "non-recoverable critical failure: "+tornCheck+" (error)", res.Reason)
	require.ElementsMatch(t, []string{tornCheck, staleCheck}, res.CriticalFailures)
	require.Empty(t, res.Restarts, "no restart storm")
	require.Zero(t, res.Rounds)
	require.Zero(t, s.producerStarts(staleService))
	evals := only(s.history(ctx, run), activities.EvaluateGatesName)
	require.Len(t, evals, 1)
	var sum activities.GateSummary
	evals[0].decode(t, &sum)
	ck := checkOf(t, &sum, tornCheck)
	require.Equal(t, gates.VerdictError, ck.Verdict)
	require.False(t, ck.Pass)
	require.Contains(t, ck.Detail, tornReport, "what was observed is in the detail; the reason is the original's")

	// The writer is fixed: the next cycle passes after one restart.
	require.NoError(t, simstack.StopWithTimeout(s.root, tornService, 100*time.Millisecond))
	require.NoError(t, simstack.Start(ctx, s.root, tornService, simOptions(simstack.Options{Self: []string{binaries.sim, "sim", "run"}})))
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(report)
		return err == nil && json.Valid(b)
	}, 30*time.Second, tick)
	res2 := s.result(ctx, s.startCycle(ctx))
	requirePassOneRestart(t, s, res2, activities.RestartDone, 1)
}

// A producer whose clock is 10 minutes ahead: its report is "in the
// future", so the check is stale, never a pass. The exec driver's restart
// starts it without the skew (a restart fixes a wrong clock setting), and
// the cycle passes after one restart.
func TestSkewedClockRecoversAfterRestart(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{freshIntegrity: true, producers: map[string]simstack.Options{
		staleService: simOptions(simstack.Options{Skew: 10 * time.Minute}),
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	s.startWorker()
	run := s.startCycle(ctx)

	res := s.result(ctx, run)
	// Two process starts: the skewed one, then the restart.
	requirePassOneRestart(t, s, res, activities.RestartDone, 2)
	evals := only(s.history(ctx, run), activities.EvaluateGatesName)
	var first activities.GateSummary
	evals[0].decode(t, &first)
	require.Equal(t, "FAIL", string(first.Status))
	ck := checkOf(t, &first, staleCheck)
	require.Equal(t, gates.VerdictStale, ck.Verdict)
	require.False(t, ck.Pass)
	require.Contains(t, ck.Detail, "is in the future by")
}

// The skew survives restarts (the restart argv itself carries --skew): every
// round restarts once, every watch times out on a report "in the future",
// and the cycle fails closed after its rounds.
func TestSkewedClockFailsClosed(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{freshIntegrity: true,
		producers: map[string]simstack.Options{staleService: simOptions(simstack.Options{Skew: 10 * time.Minute})},
		contract: func(doc map[string]any) {
			setExecRestart(doc, "--skew", "10m")
			recovery(doc)["wait_first"] = "1s"
			recovery(doc)["watch_timeout"] = "3s"
			recovery(doc)["max_rounds"] = 2
		}})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	s.startWorker()
	run := s.startCycle(ctx)

	res := s.result(ctx, run)
	require.Equal(t, "FAIL", string(res.Status))
	require.Equal(t, "still failing after 2 recovery rounds: "+staleCheck, res.Reason)
	require.Equal(t, []string{staleCheck}, res.CriticalFailures)
	require.Equal(t, 2, res.Rounds)
	require.Len(t, res.Restarts, 2)
	for i, r := range res.Restarts {
		require.Equal(t, i+1, r.Round)
		require.Equal(t, activities.RestartDone, r.Outcome)
		require.Zero(t, r.FreshAfterMS, "never fresh")
	}
	s.requireOneRestartPerRound(res, 3)
	h := s.history(ctx, run)
	watches := only(h, activities.WatchUntilFreshName)
	require.Len(t, watches, 3, "wait_first and one watch per round")
	for _, w := range watches {
		var wr activities.WatchUntilFreshResult
		w.decode(t, &wr)
		require.False(t, wr.Fresh)
	}
	evals := only(h, activities.EvaluateGatesName)
	var final activities.GateSummary
	evals[len(evals)-1].decode(t, &final)
	ck := checkOf(t, &final, staleCheck)
	require.Equal(t, gates.VerdictStale, ck.Verdict)
	require.Contains(t, ck.Detail, "is in the future by")
}
