//go:build cluster

package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/sync/errgroup"
	"gopkg.in/yaml.v3"

	"github.com/strictcycle/strictcycle/activities"
	"github.com/strictcycle/strictcycle/simstack"
	"github.com/strictcycle/strictcycle/temporalclient"
	"github.com/strictcycle/strictcycle/workflows"
)

// staleService is the producer a "stale" environment has down, with its
// integrity report two hours old: its cycle needs exactly one restart.
const staleService = simstack.EventStore

// stackEnv is one environment of a test: its stack root and schedule.
type stackEnv struct {
	name      string
	root      string
	stale     bool
	triggered time.Time // the last trigger of its schedule
}

// writeContract writes the demo contract of the simulated stack for the
// cluster tests: freshness windows of 10 minutes, so the reports written
// once before a round stay fresh however long 50 cycles take on a loaded
// machine (only the stale integrity report, two hours old, needs a
// restart), and a restart driver that waits 3s before it restarts, so a
// worker can be killed during the driver call.
func writeContract(t *testing.T) string {
	t.Helper()
	raw, err := simstack.Contract([]string{filepath.Join(cl.bin, "hbotsim")})
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(raw, &doc))
	fresh := doc["freshness"].(map[string]any)
	fresh["window"], fresh["ci_window"] = "10m", "10m"
	rec := doc["recovery"].(map[string]any)
	rec["exec"].(map[string]any)["restart"] = []any{filepath.Join(cl.bin, "hbotsim"), "sim", "restart", "--delay", "3s", "--root", "{root}", "{service}"}
	raw, err = yaml.Marshal(doc)
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "contract.yaml")
	require.NoError(t, os.WriteFile(p, raw, 0o644))
	return p
}

// newEnvs lays out n stack roots named <kind>_<i> and creates each one's
// schedule with `strictcycle schedule create` (every hour: it never fires
// by itself during the test; the test triggers it). stale(i) marks the
// environments whose event store is down.
func newEnvs(t *testing.T, kind string, n int, stale func(int) bool) []*stackEnv {
	t.Helper()
	contract := writeContract(t)
	base := t.TempDir()
	envs := make([]*stackEnv, n)
	for i := range n {
		e := &stackEnv{name: fmt.Sprintf("cl_%s_%02d", kind, i), stale: stale != nil && stale(i)}
		e.root = filepath.Join(base, e.name)
		require.NoError(t, simstack.Seed(e.root))
		envs[i] = e
	}
	// Stop what a restart started before the roots are removed.
	t.Cleanup(func() {
		for _, e := range envs {
			_ = simstack.StopAll(e.root)
		}
	})
	var g errgroup.Group
	g.SetLimit(4)
	for _, e := range envs {
		g.Go(func() error {
			out, code := starter("schedule", "create", "--env", e.name, "--root", e.root, "--contract", contract, "--every", "1h")
			if code != 0 {
				return fmt.Errorf("schedule create %s: exit %d\n%s", e.name, code, out)
			}
			return nil
		})
	}
	require.NoError(t, g.Wait())
	t.Cleanup(func() {
		for _, e := range envs {
			if out, code := starter("schedule", "delete", "--env", e.name); code != 0 {
				t.Errorf("schedule delete %s: exit %d\n%s", e.name, code, out)
			}
		}
	})
	return envs
}

// starter runs the operator CLI against the cluster and returns its
// combined output and exit code.
func starter(args ...string) (string, int) {
	cmd := exec.Command(filepath.Join(cl.bin, "starter"), args...)
	cmd.Env = cl.workerEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ee):
		return out.String(), ee.ExitCode()
	default:
		return out.String() + err.Error(), -1
	}
}

// refresh has every simulated producer of every environment write its
// reports once (in-process: the real files and formats), except the event
// store of a stale environment, whose integrity report is set two hours
// back. Untimed, before a round.
func refresh(t *testing.T, envs []*stackEnv) {
	t.Helper()
	ctx := context.Background()
	for _, e := range envs {
		for _, svc := range simstack.Services() {
			if e.stale && svc == staleService {
				continue
			}
			p, err := simstack.NewProducer(e.root, svc, simstack.ProducerOptions{})
			require.NoError(t, err)
			err = p.WriteOnce(ctx)
			_ = p.Close()
			require.NoError(t, err, "%s: %s writes its reports", e.name, svc)
		}
		if e.stale {
			require.NoError(t, simstack.WriteStaleIntegrity(e.root, time.Now().Add(-2*time.Hour)))
		}
	}
}

// cycle is one strict cycle a schedule started, as the test saw it end.
type cycle struct {
	env       *stackEnv
	runID     string
	parent    string // the workflow id of the ScheduledCycle that started it
	res       workflows.StrictCycleResult
	err       error // not decided: why
	events    []*historypb.HistoryEvent
	started   time.Time
	closed    time.Time
	startedCh chan struct{}
}

func (c *cycle) decided() bool {
	return c.err == nil && (c.res.Status == "PASS" || c.res.Status == "FAIL")
}

// round triggers every environment's schedule at once and follows each
// scheduled cycle to its decision. The cycles are returned as soon as they
// are triggered; wait collects them.
type round struct {
	t       *testing.T
	cycles  []*cycle
	start   time.Time
	wg      sync.WaitGroup
	elapsed time.Duration
}

func startRound(t *testing.T, ctx context.Context, envs []*stackEnv) *round {
	t.Helper()
	nextSecond(envs)
	r := &round{t: t, start: time.Now()}
	sc := cl.client.ScheduleClient()
	var g errgroup.Group
	for _, e := range envs {
		c := &cycle{env: e, startedCh: make(chan struct{})}
		r.cycles = append(r.cycles, c)
		g.Go(func() error {
			h := sc.GetHandle(ctx, workflows.ScheduleID(e.name))
			// ALLOW_ALL: the schedule may not have seen the last round's
			// ScheduledCycle close yet, and SKIP would drop the trigger.
			// The cycles still exclude each other: they run under one id.
			if err := h.Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL}); err != nil {
				return fmt.Errorf("trigger schedule of %s: %w", e.name, err)
			}
			return nil
		})
	}
	require.NoError(t, g.Wait())
	for _, c := range r.cycles {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			c.follow(ctx, r.start)
		}()
	}
	return r
}

// nextSecond waits, when an environment's schedule was triggered less than
// a second ago, until the clock has moved past that second: the schedule
// names its ScheduledCycle runs by the trigger time in whole seconds, so a
// second trigger within the same second would reuse the id. No event
// marks that moment; it is at most one second, and only for back-to-back
// rounds.
func nextSecond(envs []*stackEnv) {
	var last time.Time
	for _, e := range envs {
		if e.triggered.After(last) {
			last = e.triggered
		}
	}
	if d := time.Until(last.Truncate(time.Second).Add(time.Second)); d > 0 {
		time.Sleep(d)
	}
	now := time.Now()
	for _, e := range envs {
		e.triggered = now
	}
}

// wait waits for every cycle's decision (or the context's end) and reads
// the histories.
func (r *round) wait(ctx context.Context) []*cycle {
	r.wg.Wait()
	r.elapsed = time.Since(r.start)
	for _, c := range r.cycles {
		if c.runID == "" {
			continue
		}
		events, err := temporalclient.History(ctx, cl.client, workflows.CycleID(c.env.name), c.runID)
		if err != nil {
			r.t.Errorf("history of %s: %v", c.env.name, err)
			continue
		}
		c.events = events
		if len(events) == 0 {
			continue
		}
		c.started = events[0].GetEventTime().AsTime()
		c.closed = events[len(events)-1].GetEventTime().AsTime()
		parent := events[0].GetWorkflowExecutionStartedEventAttributes().GetParentWorkflowExecution()
		c.parent = parent.GetWorkflowId()
		if c.parent == "" {
			continue
		}
		// The ScheduledCycle that started the cycle closes after it, with
		// the cycle's run and decision as its result.
		var sres workflows.ScheduledCycleResult
		if err := cl.client.GetWorkflow(ctx, c.parent, parent.GetRunId()).Get(ctx, &sres); err != nil {
			r.t.Errorf("ScheduledCycle %s of %s: %v", c.parent, c.env.name, err)
			continue
		}
		if sres.Skipped || sres.CycleRunID != c.runID || sres.Status != c.res.Status {
			r.t.Errorf("ScheduledCycle %s of %s: result %+v, want cycle run %s with status %s", c.parent, c.env.name, sres, c.runID, c.res.Status)
		}
	}
	return r.cycles
}

// started reports how many cycles of the round have started.
func (r *round) started() int {
	n := 0
	for _, c := range r.cycles {
		select {
		case <-c.startedCh:
			n++
		default:
		}
	}
	return n
}

// follow finds the environment's strict cycle started after since (the
// schedule's ScheduledCycle starts it as a child under the environment's
// one cycle id) and waits for its result, riding out a server outage: an
// RPC error is retried until ctx ends.
func (c *cycle) follow(ctx context.Context, since time.Time) {
	id := workflows.CycleID(c.env.name)
	for c.runID == "" {
		d, err := cl.client.DescribeWorkflowExecution(ctx, id, "")
		if err == nil && !d.GetWorkflowExecutionInfo().GetStartTime().AsTime().Before(since) {
			c.runID = d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
			close(c.startedCh)
			break
		}
		select {
		case <-ctx.Done():
			c.err = fmt.Errorf("no cycle of %s started after the trigger: %w (last describe error: %v)", c.env.name, ctx.Err(), err)
			return
		case <-time.After(250 * time.Millisecond):
		}
	}
	for {
		err := cl.client.GetWorkflow(ctx, id, c.runID).Get(ctx, &c.res)
		var wee *temporal.WorkflowExecutionError
		switch {
		case err == nil:
			return
		case errors.As(err, &wee):
			c.err = fmt.Errorf("cycle %s run %s ended without a decision: %w", id, c.runID, err)
			return
		}
		select {
		case <-ctx.Done():
			c.err = fmt.Errorf("cycle %s run %s: no result: %w (last error: %v)", id, c.runID, ctx.Err(), err)
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// requireAllDecided fails on any cycle without a decision and on any cycle
// not started by its environment's ScheduledCycle.
func requireAllDecided(t *testing.T, cycles []*cycle) {
	t.Helper()
	var undecided []string
	for _, c := range cycles {
		if !c.decided() {
			undecided = append(undecided, fmt.Sprintf("%s: %v (status %q)", c.env.name, c.err, c.res.Status))
			continue
		}
		require.True(t, strings.HasPrefix(c.parent, workflows.ScheduledID(c.env.name)+"-"),
			"%s: the cycle was started by its schedule's ScheduledCycle, not %q", c.env.name, c.parent)
	}
	require.Empty(t, undecided, "every cycle decides")
}

// requireRecoveries checks every cycle against what its environment
// needed: a fresh environment passes with no restart and no producer start;
// a stale one passes after exactly one restart of the stale service in
// round 1, and its producer process was started exactly once (no double
// restart, whichever worker ran or retried the restart).
func requireRecoveries(t *testing.T, cycles []*cycle) {
	t.Helper()
	for _, c := range cycles {
		require.Equal(t, "PASS", string(c.res.Status), "%s: %s", c.env.name, c.res.Reason)
		require.Empty(t, c.res.PublishError, c.env.name)
		if !c.env.stale {
			require.Empty(t, c.res.Restarts, "%s needed no restart", c.env.name)
			require.Zero(t, producerStarts(t, c.env.root), "%s: no producer started", c.env.name)
			continue
		}
		require.Len(t, c.res.Restarts, 1, "%s: one restart: %+v", c.env.name, c.res.Restarts)
		r := c.res.Restarts[0]
		require.Equal(t, 1, r.Round, c.env.name)
		require.Equal(t, staleService, r.Service, c.env.name)
		require.Contains(t, []string{string(activities.RestartDone), string(activities.RestartAlreadyDone)}, string(r.Outcome), c.env.name)
		require.Equal(t, 1, producerStarts(t, c.env.root), "%s: real starts of the %s process", c.env.name, staleService)
	}
}

// producerStarts counts the real starts of the stale service's producer
// in a root: each one logs a "simstack producer started" line.
func producerStarts(t *testing.T, root string) int {
	t.Helper()
	b, err := os.ReadFile(simstack.LogFile(root, staleService))
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	require.NoError(t, err)
	return bytes.Count(b, []byte("simstack producer started service="+staleService+" "))
}

// identityPid is the pid in an SDK worker identity ("pid@host@...").
func identityPid(identity string) int {
	pid, err := strconv.Atoi(strings.SplitN(identity, "@", 2)[0])
	if err != nil {
		return 0
	}
	return pid
}

// spread counts, per worker process (by pid), the activity tasks and the
// workflow tasks its identity started in the histories.
func spread(cycles []*cycle) (acts, wfts map[int]int) {
	acts, wfts = map[int]int{}, map[int]int{}
	for _, c := range cycles {
		for _, ev := range c.events {
			switch ev.GetEventType() {
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
				acts[identityPid(ev.GetActivityTaskStartedEventAttributes().GetIdentity())]++
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
				wfts[identityPid(ev.GetWorkflowTaskStartedEventAttributes().GetIdentity())]++
			}
		}
	}
	return acts, wfts
}

// figures are the cluster's measured figures (docs/PERFORMANCE.md).
type figures struct {
	Envs       int     `json:"envs"`
	Workers    int     `json:"workers"`
	Rounds     int     `json:"rounds"`
	Cycles     int     `json:"cycles"`
	CyclesPerS float64 `json:"cycles_per_s"`
	S2SP50MS   float64 `json:"s2s_p50_ms"`
	S2SP95MS   float64 `json:"s2s_p95_ms"`
	CycleP50MS float64 `json:"cycle_p50_ms"`
	CycleP95MS float64 `json:"cycle_p95_ms"`
	// SeqCycle*: one environment, one cycle at a time (the cost of a
	// cycle without the queueing of 50).
	SeqCycleP50MS float64        `json:"seq_cycle_p50_ms,omitempty"`
	SeqCycleP95MS float64        `json:"seq_cycle_p95_ms,omitempty"`
	Undecided     int            `json:"undecided"`
	ActivityPids  map[string]int `json:"activities_per_worker"`
	LoadAverage   string         `json:"load_average_end"`
}

// measure computes the figures of a set of cycles run in rounds taking
// wall in all: cycles/s over the rounds' wall time, workflow-task
// schedule-to-start (WorkflowTaskScheduled -> WorkflowTaskStarted in the
// strict cycles' histories) and cycle time (the strict cycle's start to
// its close, server clock).
func measure(cycles []*cycle, wall time.Duration, rounds int) figures {
	var s2s, dur []time.Duration
	f := figures{Cycles: len(cycles), Rounds: rounds, Workers: len(cl.liveWorkers())}
	if rounds > 0 {
		f.Envs = len(cycles) / rounds
	}
	for _, c := range cycles {
		if !c.decided() {
			f.Undecided++
			continue
		}
		dur = append(dur, c.closed.Sub(c.started))
		sched := map[int64]time.Time{}
		for _, ev := range c.events {
			switch ev.GetEventType() {
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
				sched[ev.GetEventId()] = ev.GetEventTime().AsTime()
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
				if s, ok := sched[ev.GetWorkflowTaskStartedEventAttributes().GetScheduledEventId()]; ok {
					s2s = append(s2s, ev.GetEventTime().AsTime().Sub(s))
				}
			}
		}
	}
	f.CyclesPerS = round2(float64(len(cycles)-f.Undecided) / wall.Seconds())
	f.S2SP50MS, f.S2SP95MS = msOf(pct(s2s, 0.5)), msOf(pct(s2s, 0.95))
	f.CycleP50MS, f.CycleP95MS = msOf(pct(dur, 0.5)), msOf(pct(dur, 0.95))
	acts, _ := spread(cycles)
	f.ActivityPids = map[string]int{}
	for pid, n := range acts {
		f.ActivityPids[strconv.Itoa(pid)] = n
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f.LoadAverage = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return f
}

func pct(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s)-1) * q)
	return s[i]
}

func msOf(d time.Duration) float64 { return round2(float64(d) / 1e6) }

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }

func logFigures(t *testing.T, f figures) {
	b, err := json.Marshal(f)
	require.NoError(t, err)
	t.Logf("cluster-figures %s", b)
}

// pendingRestart returns the identity of the worker running a started
// RestartService attempt of the environment's cycle, if any.
func pendingRestart(ctx context.Context, c *cycle) (string, bool) {
	if c.runID == "" {
		return "", false
	}
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	d, err := cl.client.DescribeWorkflowExecution(dctx, workflows.CycleID(c.env.name), c.runID)
	if err != nil {
		return "", false
	}
	for _, p := range d.GetPendingActivities() {
		if p.GetActivityType().GetName() == activities.RestartServiceName &&
			p.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED && p.GetLastWorkerIdentity() != "" {
			return p.GetLastWorkerIdentity(), true
		}
	}
	return "", false
}

// driverRunning reports whether the exec driver's `sim restart` of the
// stale service runs for a root (Linux /proc).
func driverRunning(root string) bool {
	_, ok := driversRunning()[root]
	return ok
}

// driversRunning returns, per root, how long the exec driver's `sim
// restart` of the stale service has been running, from one pass over
// /proc.
func driversRunning() map[string]time.Duration {
	out := map[string]time.Duration{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		argv := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		i := slices.Index(argv, "--root")
		if slices.Contains(argv, "restart") && slices.Contains(argv, staleService) && i >= 0 && i+1 < len(argv) {
			out[argv[i+1]] = procAge(e.Name())
		}
	}
	return out
}

// procAge is how long a process has run: its start time in clock ticks
// after boot (/proc/<pid>/stat field 22; 100 ticks a second on Linux)
// against /proc/uptime. An unreadable process counts as old.
func procAge(pid string) time.Duration {
	stat, err1 := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	up, err2 := os.ReadFile("/proc/uptime")
	if err1 != nil || err2 != nil {
		return time.Hour
	}
	// Fields after the command name, which is in parentheses and may
	// hold spaces: state is field 3, starttime field 22.
	rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
	f := strings.Fields(rest)
	upF := strings.Fields(string(up))
	if len(f) < 20 || len(upF) == 0 {
		return time.Hour
	}
	ticks, err1 := strconv.ParseFloat(f[19], 64)
	uptime, err2 := strconv.ParseFloat(upF[0], 64)
	if err1 != nil || err2 != nil {
		return time.Hour
	}
	return time.Duration((uptime - ticks/100) * float64(time.Second))
}

// historyActivity is one activity of a cycle's history: its type, the
// attempt that ended it and the identity that ran that attempt, the
// failure of the attempt before (when retried) and how it ended.
type historyActivity struct {
	typ         string
	attempt     int32
	identity    string
	lastFailure string
	outcome     string // completed | failed | timed_out
}

// activitiesOf returns the activities of a cycle in schedule order.
func activitiesOf(c *cycle) []*historyActivity {
	byID := map[int64]*historyActivity{}
	var out []*historyActivity
	for _, ev := range c.events {
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			a := &historyActivity{typ: ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()}
			byID[ev.GetEventId()] = a
			out = append(out, a)
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			at := ev.GetActivityTaskStartedEventAttributes()
			if a := byID[at.GetScheduledEventId()]; a != nil {
				a.attempt, a.identity = at.GetAttempt(), at.GetIdentity()
				a.lastFailure = at.GetLastFailure().GetMessage()
				if tt := at.GetLastFailure().GetTimeoutFailureInfo().GetTimeoutType(); tt != enumspb.TIMEOUT_TYPE_UNSPECIFIED {
					a.lastFailure += " (" + tt.String() + ")"
				}
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			if a := byID[ev.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()]; a != nil {
				a.outcome = "completed"
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED:
			if a := byID[ev.GetActivityTaskFailedEventAttributes().GetScheduledEventId()]; a != nil {
				a.outcome = "failed"
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
			if a := byID[ev.GetActivityTaskTimedOutEventAttributes().GetScheduledEventId()]; a != nil {
				a.outcome = "timed_out"
			}
		}
	}
	return out
}

// removeFile deletes a file of a stack root.
func removeFile(root, rel string) error {
	return os.Remove(filepath.Join(root, filepath.FromSlash(rel)))
}
