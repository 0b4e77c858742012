package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/strictcycle/strictcycle/workflows"
)

// protectedStack is a stack whose cycle stops at the approval of its
// protected producer, so a cycle stays running as long as a test needs.
func protectedStack(t *testing.T) *e2eStack {
	return newE2EStack(t, func(doc map[string]any) {
		doc["services"].(map[string]any)[DemoService] = map[string]any{"protected": true}
	})
}

func (s *e2eStack) inputIn(env string) *workflows.StrictCycleInput {
	in := s.input()
	in.Environment = env
	return in
}

// awaitApproval waits until the latest run of id waits for an approval.
func (s *e2eStack) awaitApproval(ctx context.Context, id string) {
	s.t.Helper()
	require.Eventually(s.t, func() bool {
		st, err := queryStatus(ctx, s.cl, id, "")
		return err == nil && st.Phase == workflows.PhaseApproval
	}, time.Minute, 20*time.Millisecond)
}

func (s *e2eStack) cycleResult(ctx context.Context, id, runID string) workflows.StrictCycleResult {
	s.t.Helper()
	var res workflows.StrictCycleResult
	require.NoError(s.t, s.cl.GetWorkflow(ctx, id, runID).Get(ctx, &res))
	return res
}

// Two `run`s at once in one environment: exactly one starts a cycle, the
// other exits 1 naming it; a later `run --wait` is refused too and never
// prints the running cycle's decision as its own.
func TestE2EConcurrentRunsOneStarts(t *testing.T) {
	s := protectedStack(t)
	s.startWorker()
	s.setCLIEnv()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	id := workflows.CycleID(s.cfg.Environment)

	var wg sync.WaitGroup
	codes, outs := make([]int, 2), make([]string, 2)
	for i := range 2 {
		wg.Go(func() { codes[i], outs[i] = runCLI("run") })
	}
	wg.Wait()
	started, refused := 0, 1
	if codes[0] != exitPass {
		started, refused = 1, 0
	}
	require.Equal(t, exitPass, codes[started], outs[started])
	require.Equal(t, exitError, codes[refused], "the second run is refused: %s", outs[refused])
	require.Contains(t, outs[started], "started "+id+" run ")
	runID := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(outs[started]), "started "+id+" run "))
	require.Contains(t, outs[refused], "start cycle "+id+": a cycle is already running in environment "+s.cfg.Environment+" (run "+runID+", started by run)")
	require.NotContains(t, outs[refused], "started "+id)

	code, out := s.cli("run", "--wait", "--dry-run")
	require.Equal(t, exitError, code, out)
	require.Contains(t, out, "a cycle is already running in environment "+s.cfg.Environment+" (run "+runID)
	require.NotContains(t, out, "decision:")
	require.NotContains(t, out, "[promotion-gates]")

	// A drill is refused the same way while one of the same service runs
	// (started here directly: the drill would otherwise finish quickly).
	drillIn := &workflows.RecoveryDrillInput{Target: s.input().Target, Service: DemoService, Check: DemoCheck, StaleTimeout: time.Minute}
	first, err := startDrill(ctx, s.cl, "no-worker-polls-this-queue", drillIn)
	require.NoError(t, err)
	_, err = startDrill(ctx, s.cl, "no-worker-polls-this-queue", drillIn)
	require.ErrorContains(t, err, "start drill "+workflows.DrillID(s.cfg.Environment, DemoService)+": a drill of "+DemoService+" is already running in environment "+s.cfg.Environment+" (run "+first.GetRunID()+")")
	require.NoError(t, s.cl.TerminateWorkflow(ctx, first.GetID(), first.GetRunID(), "test over"))

	code, out = s.cli("abort", "--reason", "test over", "--by", "op")
	require.Equal(t, exitPass, code, out)
	res := s.cycleResult(ctx, id, runID)
	require.Equal(t, "aborted by op: test over", res.Reason)
}

// `abort --env ab` acts on environment ab's cycle only, never on
// ab_cycle_z's; a name outside the grammar never reaches the server.
func TestE2EAbortExactEnvironment(t *testing.T) {
	s := protectedStack(t)
	s.startWorker()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s.cfg.Environment = "ab"
	s.setCLIEnv()

	other, err := startCycle(ctx, s.cl, s.cfg.TaskQueue, s.inputIn("ab_cycle_z"))
	require.NoError(t, err)
	require.Equal(t, "strictcycle-ab_cycle_z-cycle", other.GetID())
	s.awaitApproval(ctx, other.GetID())

	code, out := runCLI("abort", "--env", "ab", "--reason", "wrong env", "--by", "op")
	require.Equal(t, exitError, code, "no cycle in ab: %s", out)
	require.Contains(t, out, "strictcycle-ab-cycle")
	for _, bad := range []string{"ab-cycle-z", "ab' OR WorkflowId STARTS_WITH 'strictcycle", "AB", ""} {
		code, out = runCLI("abort", "--env", bad, "--reason", "wrong env", "--by", "op")
		require.Equal(t, exitError, code, out)
		require.Contains(t, out, "flag --env: environment name ")
	}
	code, out = runCLI("list", "--env", "ab", "--status", "RUNNING' OR 'x'='x")
	require.Equal(t, exitError, code, out)
	require.Contains(t, out, `list cycles: status "RUNNING' OR 'x'='x" is not PASS, FAIL or RUNNING`)

	mine, err := startCycle(ctx, s.cl, s.cfg.TaskQueue, s.inputIn("ab"))
	require.NoError(t, err)
	s.awaitApproval(ctx, mine.GetID())
	code, out = runCLI("abort", "--env", "ab", "--reason", "mine", "--by", "op")
	require.Equal(t, exitPass, code, out)
	require.Equal(t, "aborted by op: mine", s.cycleResult(ctx, mine.GetID(), mine.GetRunID()).Reason)

	st, err := queryStatus(ctx, s.cl, other.GetID(), other.GetRunID())
	require.NoError(t, err)
	require.Empty(t, st.Aborted, "ab_cycle_z's cycle was not touched")
	require.Equal(t, workflows.PhaseApproval, st.Phase)
	code, out = runCLI("abort", "--env", "ab_cycle_z", "--reason", "its own", "--by", "op")
	require.Equal(t, exitPass, code, out)
	require.Equal(t, "aborted by op: its own", s.cycleResult(ctx, other.GetID(), other.GetRunID()).Reason)
}

// scheduledResult waits for the n-th action of the environment's schedule
// and returns its ScheduledCycle result; its history is saved as name (see
// saveHistory).
func (s *e2eStack) scheduledResult(ctx context.Context, n int, name string) workflows.ScheduledCycleResult {
	s.t.Helper()
	h := s.cl.ScheduleClient().GetHandle(ctx, workflows.ScheduleID(s.cfg.Environment))
	var action *client.ScheduleWorkflowExecution
	require.Eventually(s.t, func() bool {
		d, err := h.Describe(ctx)
		if err != nil || len(d.Info.RecentActions) < n {
			return false
		}
		action = d.Info.RecentActions[n-1].StartWorkflowResult
		return true
	}, time.Minute, 50*time.Millisecond)
	require.True(s.t, strings.HasPrefix(action.WorkflowID, workflows.ScheduledID(s.cfg.Environment)+"-"), action.WorkflowID)
	var res workflows.ScheduledCycleResult
	require.NoError(s.t, s.cl.GetWorkflow(ctx, action.WorkflowID, action.FirstExecutionRunID).Get(ctx, &res))
	saveHistory(s.t, s.cl, action.WorkflowID, action.FirstExecutionRunID, name)
	return res
}

// A manual and a scheduled cycle of one environment exclude each other by
// the one cycle id: the scheduled run skips (recorded) while a manual cycle
// runs, and `run` is refused while a scheduled cycle runs. status and abort
// find the scheduled cycle under the cycle id.
func TestE2EScheduleAndManualExclusive(t *testing.T) {
	s := protectedStack(t)
	s.startWorker()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	id := workflows.CycleID(s.cfg.Environment)

	manual, err := startCycle(ctx, s.cl, s.cfg.TaskQueue, s.input())
	require.NoError(t, err)
	s.awaitApproval(ctx, id)
	code, out := s.cli("schedule", "create", "--every", "1h")
	require.Equal(t, exitPass, code, out)
	t.Cleanup(func() { s.cli("schedule", "delete") })
	code, out = s.cli("schedule", "trigger")
	require.Equal(t, exitPass, code, out)
	skipped := s.scheduledResult(ctx, 1, "scheduled_cycle_skipped")
	require.True(t, skipped.Skipped)
	require.Equal(t, "skipped: cycle "+id+" running", skipped.Reason)
	require.Empty(t, skipped.CycleRunID)

	code, out = s.cli("abort", "--reason", "make room", "--by", "op")
	require.Equal(t, exitPass, code, out)
	require.Equal(t, "aborted by op: make room", s.cycleResult(ctx, id, manual.GetRunID()).Reason)

	code, out = s.cli("schedule", "trigger")
	require.Equal(t, exitPass, code, out)
	var scheduledRun string
	require.Eventually(t, func() bool {
		d, err := s.cl.DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			return false
		}
		scheduledRun = d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
		return scheduledRun != manual.GetRunID()
	}, time.Minute, 20*time.Millisecond)
	s.awaitApproval(ctx, id)

	code, out = s.cli("run", "--wait")
	require.Equal(t, exitError, code, out)
	require.Contains(t, out, "start cycle "+id+": a cycle is already running in environment "+s.cfg.Environment+" (run "+scheduledRun+", started by "+workflows.ScheduledID(s.cfg.Environment)+"-")
	require.NotContains(t, out, "decision:")

	code, out = s.cli("status")
	require.Equal(t, exitPass, code, out)
	require.Contains(t, out, `"phase": "awaiting_approval"`)
	code, out = s.cli("abort", "--reason", "scheduled one", "--by", "op")
	require.Equal(t, exitPass, code, out)
	ran := s.scheduledResult(ctx, 2, "scheduled_cycle_ran")
	require.False(t, ran.Skipped)
	require.Equal(t, scheduledRun, ran.CycleRunID)
	require.Equal(t, "FAIL", string(ran.Status))
	require.Equal(t, "aborted by op: scheduled one", ran.Reason)

	// Right after a cycle ends, the next start is accepted (the old
	// visibility pre-check could still see the finished one as running).
	code, out = s.cli("run", "--dry-run")
	require.Equal(t, exitPass, code, out)
	code, out = s.cli("abort", "--reason", "done", "--by", "op")
	require.Equal(t, exitPass, code, out)
}

// Operator input refused before anything starts: a schedule every second, a
// drill of a service or check the contract does not declare.
func TestE2EOperatorInputRefused(t *testing.T) {
	s := newE2EStack(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	code, out := s.cli("schedule", "create", "--every", "1s")
	require.Equal(t, exitError, code, out)
	require.Contains(t, out, "flag --every: schedule interval 1s is shorter than 1m0s")
	_, err := s.cl.ScheduleClient().GetHandle(ctx, workflows.ScheduleID(s.cfg.Environment)).Describe(ctx)
	var notFound *serviceerror.NotFound
	require.ErrorAs(t, err, &notFound, "no schedule was created")

	latest := filepath.Join(s.root, "reports", "recovery", "latest.json")
	for _, tt := range []struct{ service, check, want string }{
		{"no-such-service", DemoCheck, `drill: service "no-such-service" is not in the services of contract simstack-demo`},
		{DemoService, "no_such_check", `drill: check "no_such_check" is not in contract simstack-demo`},
	} {
		code, out = s.cli("drill", "--service", tt.service, "--check", tt.check)
		require.Equal(t, exitError, code, out)
		require.Contains(t, out, tt.want)
		require.NotContains(t, out, "started strictcycle-")
		_, err = s.cl.DescribeWorkflowExecution(ctx, workflows.DrillID(s.cfg.Environment, tt.service), "")
		require.ErrorAs(t, err, &notFound, "no drill was started")
	}
	_, err = os.Stat(latest)
	require.ErrorIs(t, err, os.ErrNotExist, "no drill report was written")
}
