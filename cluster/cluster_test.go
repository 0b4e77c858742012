//go:build cluster

package cluster

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/activities"
	"github.com/strictcycle/strictcycle/workflows"
)

// fifty is the number of environments cycling at once in each test.
const fifty = 50

// tick is how often the tests poll.
const tick = 100 * time.Millisecond

// TestClusterFiftyEnvironments triggers the schedules of 50 environments
// at once, twice, on three worker processes: every cycle decides PASS (no
// environment needs a restart), every worker ran a share of the activities
// (from the histories' identities), and the figures are logged.
func TestClusterFiftyEnvironments(t *testing.T) {
	envs := newEnvs(t, "load", fifty, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	const rounds = 2
	var all []*cycle
	var wall time.Duration
	for i := range rounds {
		refresh(t, envs)
		r := startRound(t, ctx, envs)
		cycles := r.wait(ctx)
		t.Logf("round %d: %d cycles in %s", i+1, len(cycles), r.elapsed.Round(time.Millisecond))
		requireAllDecided(t, cycles)
		requireRecoveries(t, cycles)
		all = append(all, cycles...)
		wall += r.elapsed
	}

	f := measure(all, wall, rounds)
	f.SeqCycleP50MS, f.SeqCycleP95MS = sequential(t, ctx, envs[0], 10)
	logFigures(t, f)
	require.Zero(t, f.Undecided)
	requireWorkerMetrics(t)

	// The work spread over the three worker processes: each ran at least a
	// quarter of an even share of the activities and of the workflow tasks.
	acts, wfts := spread(all)
	workers := cl.liveWorkers()
	require.Len(t, workers, workerCount)
	total, totalWFT := 0, 0
	for _, n := range acts {
		total += n
	}
	for _, n := range wfts {
		totalWFT += n
	}
	for _, w := range workers {
		t.Logf("%s (pid %d): %d of %d activity tasks, %d of %d workflow tasks", w.name, w.pid(), acts[w.pid()], total, wfts[w.pid()], totalWFT)
		require.GreaterOrEqual(t, acts[w.pid()], total/workerCount/4, "%s ran a share of the activities", w.name)
		require.GreaterOrEqual(t, wfts[w.pid()], totalWFT/workerCount/4, "%s ran a share of the workflow tasks", w.name)
	}
	require.Positive(t, total)
	for pid := range acts {
		require.True(t, pid == workers[0].pid() || pid == workers[1].pid() || pid == workers[2].pid(),
			"activity run by pid %d, not one of the worker processes", pid)
	}
}

// TestClusterWorkerKilled: 50 environments cycling at once, 10 of them with
// the event store down; one worker process is SIGKILLed while it runs a
// restart's driver call. Every cycle decides PASS; each stale environment's
// producer was started exactly once (the intent mark and the restart lock,
// in Redis, hold across worker processes), the killed restart was retried
// on another worker and did not call the driver again.
func TestClusterWorkerKilled(t *testing.T) {
	envs := newEnvs(t, "kill", fifty, func(i int) bool { return i%5 == 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	refresh(t, envs)
	r := startRound(t, ctx, envs)

	// Find a worker in the middle of a restart: the server holds the
	// RestartService attempt as started by that worker's identity, and the
	// driver's `sim restart` has run for at most 1.5s of its 3s delay, so
	// the attempt cannot complete before the kill.
	var victim *proc
	var victimEnv *cycle
	require.Eventually(t, func() bool {
		for _, c := range r.cycles {
			if !c.env.stale {
				continue
			}
			id, ok := pendingRestart(ctx, c)
			if !ok {
				continue
			}
			if age, running := driversRunning()[c.env.root]; !running || age > 1500*time.Millisecond {
				continue
			}
			for _, w := range cl.liveWorkers() {
				if identityPid(id) == w.pid() {
					victim, victimEnv = w, c
					return true
				}
			}
		}
		return false
	}, 3*time.Minute, tick, "a worker runs a restart's driver call")
	t.Logf("SIGKILL %s (pid %d) during the restart of %s in %s", victim.name, victim.pid(), staleService, victimEnv.env.name)
	require.NoError(t, victim.kill())
	require.True(t, driverRunning(victimEnv.env.root), "the driver call outlives the killed worker")
	_, err := cl.startWorker(ctx)
	require.NoError(t, err, "a replacement worker starts")

	cycles := r.wait(ctx)
	t.Logf("%d cycles decided in %s", len(cycles), r.elapsed.Round(time.Millisecond))
	requireAllDecided(t, cycles)
	requireRecoveries(t, cycles)
	logFigures(t, measure(cycles, r.elapsed, 1))

	// The killed attempt ended by its heartbeat timeout and the retry, on
	// another worker, found the intent mark: no second driver call.
	var restarts []*historyActivity
	for _, a := range activitiesOf(victimEnv) {
		if a.typ == activities.RestartServiceName {
			restarts = append(restarts, a)
		}
	}
	require.Len(t, restarts, 1)
	a := restarts[0]
	require.Equal(t, "completed", a.outcome)
	require.GreaterOrEqual(t, a.attempt, int32(2), "the restart was retried")
	require.Contains(t, a.lastFailure, "Heartbeat", "the killed attempt ended by its heartbeat timeout")
	require.NotEqual(t, victim.pid(), identityPid(a.identity), "the retry ran on another worker")
	require.Equal(t, string(activities.RestartAlreadyDone), string(victimEnv.res.Restarts[0].Outcome))
}

// TestClusterServerRestart stops the Temporal server (SIGTERM) while 50
// environments cycle, 10 of them in recovery with a restart's driver call
// under way, keeps it down until those calls end, and starts it again on
// the same databases and ports: the
// worker processes ride out the outage, every cycle resumes and decides,
// and no stale environment's producer was started twice.
func TestClusterServerRestart(t *testing.T) {
	envs := newEnvs(t, "srv", fifty, func(i int) bool { return i%5 == 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 7*time.Minute)
	defer cancel()
	refresh(t, envs)
	before := cl.liveWorkers()
	r := startRound(t, ctx, envs)

	// Stop it once most cycles run and a restart's driver call is under
	// way (the cycles not started yet wait in their schedules).
	var inFlight []*cycle
	require.Eventually(t, func() bool {
		if r.started() < len(envs)/2 {
			return false
		}
		running := driversRunning()
		inFlight = inFlight[:0]
		for _, c := range r.cycles {
			if _, ok := running[c.env.root]; c.env.stale && ok {
				inFlight = append(inFlight, c)
			}
		}
		return len(inFlight) > 0
	}, 3*time.Minute, tick, "most cycles started and a restart's driver call runs")
	down := time.Now()
	require.NoError(t, cl.stopServer())
	stopped := time.Since(down)
	// The server stays down until the restarts under way have finished:
	// their workers must report them to a server that was not there.
	require.Eventually(t, func() bool {
		running := driversRunning()
		for _, c := range inFlight {
			if _, ok := running[c.env.root]; ok {
				return false
			}
		}
		return true
	}, time.Minute, tick, "the driver calls under way finish while the server is down")
	require.NoError(t, cl.startServer())
	t.Logf("server stopped in %s, back after %s; %d restarts finished while it was down", stopped.Round(time.Millisecond), time.Since(down).Round(time.Millisecond), len(inFlight))

	cycles := r.wait(ctx)
	t.Logf("%d cycles decided %s after the trigger", len(cycles), r.elapsed.Round(time.Millisecond))
	requireAllDecided(t, cycles)
	requireRecoveries(t, cycles)
	logFigures(t, measure(cycles, r.elapsed, 1))
	for _, w := range before {
		require.False(t, w.exited(), "%s rode out the server outage", w.name)
	}
	for _, c := range inFlight {
		t.Logf("%s: restart across the outage: %s, %d real start(s)", c.env.name, c.res.Restarts[0].Outcome, producerStarts(t, c.env.root))
	}
}

// sequential triggers one environment's schedule n times, one cycle after
// the other, on the idle cluster: the cost of one cycle (the strict
// cycle's start to close, server clock), p50 and p95 in ms.
func sequential(t *testing.T, ctx context.Context, e *stackEnv, n int) (float64, float64) {
	t.Helper()
	var ds []time.Duration
	for range n {
		refresh(t, []*stackEnv{e})
		cycles := startRound(t, ctx, []*stackEnv{e}).wait(ctx)
		requireAllDecided(t, cycles)
		ds = append(ds, cycles[0].closed.Sub(cycles[0].started))
	}
	return msOf(pct(ds, 0.5)), msOf(pct(ds, 0.95))
}

// requireWorkerMetrics scrapes every worker's /metrics: the series the
// README tells an operator to watch are there.
func requireWorkerMetrics(t *testing.T) {
	t.Helper()
	for _, w := range cl.liveWorkers() {
		addr := w.metricsAddr()
		require.NotEmpty(t, addr, "%s logged its metrics address", w.name)
		resp, err := http.Get("http://" + addr + "/metrics")
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		names := metricNames(string(b))
		for _, name := range watchedMetrics {
			require.Contains(t, names, name, "%s exports %s; its series: %v", w.name, name, names)
		}
	}
}

// metricNames lists the metric names of a Prometheus text exposition.
func metricNames(text string) []string {
	seen := map[string]bool{}
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, _ := strings.Cut(line, " ")
		name, _, _ = strings.Cut(name, "{")
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out
}

// watchedMetrics are the worker series README's "Scaling out" names.
// (No activity schedule-to-start series: the activities are dispatched
// eagerly to the worker that completed the workflow task, so none is
// polled.)
var watchedMetrics = []string{
	"strictcycle_worker_up",
	"temporal_workflow_task_schedule_to_start_latency_bucket",
	"temporal_workflow_task_execution_latency_bucket",
	"temporal_activity_execution_latency_bucket",
	"temporal_workflow_endtoend_latency_bucket",
	"temporal_worker_task_slots_available",
	"temporal_worker_task_slots_used",
	"temporal_num_pollers",
	"temporal_sticky_cache_size",
}

// TestClusterStarterCLI runs the operator CLI against the cluster and its
// SQL visibility store: `run --wait` decides PASS (exit 0) and FAIL (exit
// 2), then `list` filters by environment and status through the search
// attributes, `show` renders the history and `status` queries a worker.
func TestClusterStarterCLI(t *testing.T) {
	envs := newEnvs(t, "cli", 2, nil)
	pass, failing := envs[0], envs[1]
	refresh(t, envs)
	// A required file missing: a critical failure no restart can fix.
	require.NoError(t, removeFile(failing.root, "config/reconciliation_thresholds.json"))
	contract := writeContract(t)

	out, code := starter("run", "--wait", "--env", pass.name, "--root", pass.root, "--contract", contract)
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "[promotion-gates] status=PASS")
	out, code = starter("run", "--wait", "--env", failing.name, "--root", failing.root, "--contract", contract)
	require.Equal(t, 2, code, out)
	require.Contains(t, out, "[promotion-gates] status=FAIL")

	// Visibility is updated asynchronously: each listing is awaited.
	requireList := func(want, notWant []string, args ...string) {
		t.Helper()
		var last string
		require.Eventually(t, func() bool {
			out, code := starter(append([]string{"list"}, args...)...)
			last = out
			if code != 0 {
				return false
			}
			for _, w := range want {
				if !strings.Contains(out, w) {
					return false
				}
			}
			for _, w := range notWant {
				if strings.Contains(out, w) {
					return false
				}
			}
			return true
		}, time.Minute, 250*time.Millisecond, "list %v: want %v, not %v; last output:\n%s", args, want, notWant, &last)
	}
	passID, failID := workflows.CycleID(pass.name), workflows.CycleID(failing.name)
	requireList([]string{passID, failID}, nil, "--all-envs", "--since", "1h")
	requireList([]string{failID, "preflight_checks"}, []string{passID}, "--all-envs", "--status", "FAIL")
	requireList([]string{passID}, []string{failID}, "--all-envs", "--status", "pass")
	requireList([]string{failID}, []string{passID}, "--env", failing.name)

	out, code = starter("show", "--env", failing.name)
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "workflow "+failID)
	require.Contains(t, out, "preflight_checks")

	out, code = starter("status", "--env", pass.name)
	require.Equal(t, 0, code, out)
	var st workflows.CycleStatus
	require.NoError(t, json.Unmarshal([]byte(out), &st), out)
	require.Equal(t, "PASS", string(st.Status))
	require.Empty(t, st.Failures)

	out, code = starter("schedule", "list", "--env", pass.name)
	require.Equal(t, 0, code, out)
	require.Contains(t, out, workflows.ScheduleID(pass.name))
	require.Contains(t, out, workflows.ScheduleID(failing.name))

	// A bad filter is refused by the CLI before any query: exit 1.
	out, code = starter("list", "--all-envs", "--status", "MAYBE")
	require.Equal(t, 1, code, out)
	require.Contains(t, out, `status "MAYBE" is not PASS, FAIL or RUNNING`)
}
