package workflows

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/strictcycle/strictcycle/cycletypes"
)

// These tests pin what an operator reads from a decision (the result, the
// published payload, the status query, the search attributes) on the paths
// where a statement mutant of the cycle survived the older suite.

// The published decision is the decision: every field the stream, the
// latest key and strict_cycle_latest.json carry comes from this run.
func (s *StrictCycleSuite) TestPublishedDecisionCarriesTheRun() {
	s.stack.verdict["event_store_integrity_freshness"] = cycletypes.VerdictStale
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusPass, res.Status)
	s.Equal("id", res.EvidenceBundleID)
	s.Equal("digest", res.ContentDigest)
	s.Equal("/r/latest.json", res.ArtifactPath)
	s.False(res.DecidedAt.IsZero(), "decided_at is set")
	s.NotNil(res.CriticalFailures, "critical_failures is [], not null")

	s.Require().Len(s.stack.restartInputs, 1)
	ri := s.stack.restartInputs[0]
	s.NotEmpty(ri.RunID, "the restart mark and lock holder need the run id")
	s.Equal("event-store-service", ri.Service)
	s.Equal(1, ri.Round)
	s.Equal(fakeContractSHA256, ri.ContractSHA256)

	s.Require().Len(s.stack.published, 1)
	p := s.stack.published[0]
	s.Equal("test", p.Environment)
	s.NotEmpty(p.WorkflowID)
	s.Equal(ri.RunID, p.RunID)
	s.Equal(cycletypes.StatusPass, p.Status)
	s.Equal([]string{}, p.CriticalFailures)
	s.Equal("id", p.EvidenceBundleID)
	s.Equal("/r/latest.json", p.ArtifactPath)
	s.Equal(1, p.Rounds)
	s.Equal(res.Reason, p.Reason)
	s.Equal("passed after 1 restart(s) in 1 round(s)", p.Reason)
	s.True(res.DecidedAt.Equal(p.DecidedAt))
	s.Equal("/r", p.Root)
	for _, in := range s.stack.evaluateInputs {
		s.Equal(ri.RunID, in.RunID, "the content digest binds the run id")
	}
}

// A failed decision publishes its failures and its reason.
func (s *StrictCycleSuite) TestPublishedFailCarriesFailures() {
	s.stack.verdict["unit_service_integration_tests"] = cycletypes.VerdictFail
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusFail, res.Status)
	p := s.stack.published[0]
	s.Equal(cycletypes.StatusFail, p.Status)
	s.Equal([]string{"unit_service_integration_tests"}, p.CriticalFailures)
	s.Equal("non-recoverable critical failure: unit_service_integration_tests (fail)", p.Reason)
	s.Zero(p.Rounds)
}

// A cycle that could evaluate nothing decides FAIL with [] failures, and
// publishes that FAIL.
func (s *StrictCycleSuite) TestNoSummaryDecidesFail() {
	s.env.OnActivity(cycletypes.DescribeContractName, anyCtx, anyArg).Return(nil,
		temporal.NewNonRetryableApplicationError("contract missing", cycletypes.ErrTypeBadContract, nil))
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusFail, res.Status)
	s.Equal("load contract fake: contract missing", res.Reason)
	s.NotNil(res.CriticalFailures)
	s.Require().Len(s.stack.published, 1)
	s.Equal(cycletypes.StatusFail, s.stack.published[0].Status)
	s.NotNil(s.stack.published[0].CriticalFailures)
	st := s.queryStatus()
	s.Equal(PhaseDone, st.Phase)
	s.Equal(cycletypes.StatusFail, st.Status)
}

// The status query after the decision shows the decision, the restarts and
// no pending approval.
func (s *StrictCycleSuite) TestStatusQueryShowsTheDecision() {
	s.stack.verdict["day2_event_store_gate"] = cycletypes.VerdictStale
	s.stack.protected["ops-scheduler"] = true
	s.env.RegisterDelayedCallback(func() {
		st := s.queryStatus()
		s.Equal([]string{"ops-scheduler"}, st.Pending)
		// While it waits, the query shows the first gate run's verdict.
		s.Equal(cycletypes.StatusFail, st.Status)
		s.Equal([]string{"day2_event_store_gate"}, st.Failures)
		s.Equal(1, st.Round)
		s.env.UpdateWorkflow(UpdateApprove, "u1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { s.Fail("approve rejected", err.Error()) },
			OnAccept: func() {}, OnComplete: func(any, error) {},
		}, ApproveRequest{Service: "ops-scheduler", By: "alice"})
	}, 5*time.Minute)
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusPass, res.Status)
	st := s.queryStatus()
	s.Equal(PhaseDone, st.Phase)
	s.Equal(cycletypes.StatusPass, st.Status)
	s.Equal(2, st.MaxRounds)
	s.Equal(1, st.Round)
	s.Empty(st.Pending, "the approval is no longer pending")
	s.Empty(st.Failures)
	s.Require().Len(st.Restarts, 1)
	s.Equal(cycletypes.RestartDone, st.Restarts[0].Outcome)
	s.Require().Len(s.stack.restartInputs, 1)
	s.True(s.stack.restartInputs[0].Approved, "the approval reaches the restart")
}

// A publication that fails leaves the decision standing, with the error.
func (s *StrictCycleSuite) TestPublishErrorIsReported() {
	s.env.OnActivity(cycletypes.PublishDecisionName, anyCtx, anyArg).Return(nil,
		temporal.NewNonRetryableApplicationError("redis down", cycletypes.ErrTypeBadInput, nil))
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusPass, res.Status)
	s.Equal("redis down", res.PublishError)
}

// The restarts search attribute counts real restarts only.
func (s *StrictCycleSuite) TestRestartsSearchAttributeCountsRestarts() {
	s.stack.verdict["event_store_integrity_freshness"] = cycletypes.VerdictStale
	s.stack.deadAfterRestart["event-store-service"] = true
	var restarts []int64
	var statuses []string
	s.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		if n, ok := sa.GetInt64(SARestarts); ok {
			restarts = append(restarts, n)
		}
		if v, ok := sa.GetKeyword(SAStatus); ok {
			statuses = append(statuses, v)
		}
	}).Return(nil).Maybe()
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusFail, res.Status)
	s.Equal([]int64{2}, restarts, "two rounds, one restart each")
	s.Equal([]string{string(cycletypes.StatusRunning), string(cycletypes.StatusFail)}, statuses)
}

func TestCountRestarts(t *testing.T) {
	rs := []Restart{
		{Outcome: cycletypes.RestartDone}, {Outcome: cycletypes.RestartLockHeld},
		{Outcome: cycletypes.RestartAlreadyDone}, {Outcome: cycletypes.RestartDryRun},
	}
	require.Equal(t, 2, countRestarts(rs))
	require.Zero(t, countRestarts(nil))
}

// A recheck that turns a stale check into a failure no restart cures ends
// recovery at once: the next round classifies the rechecked verdicts.
func (s *StrictCycleSuite) TestRecheckVerdictsDriveTheNextRound() {
	s.stack.verdict["event_store_integrity_freshness"] = cycletypes.VerdictStale
	s.stack.afterRestart["event-store-service"] = cycletypes.VerdictFail
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusFail, res.Status)
	s.Equal("non-recoverable critical failure: event_store_integrity_freshness (fail)", res.Reason)
	s.Equal(1, s.stack.restartCalls["event-store-service"], "no second restart for a failure a restart cannot cure")
	s.Equal(1, res.Rounds)
	// The recheck asked for exactly the checks of the restarted service.
	s.Require().GreaterOrEqual(len(s.stack.evaluateInputs), 2)
	s.Equal([]string{"event_store_integrity_freshness"}, s.stack.evaluateInputs[1].Only)
	s.False(s.stack.evaluateInputs[1].WriteArtifacts, "a recheck writes no artifact")
	s.True(s.stack.evaluateInputs[len(s.stack.evaluateInputs)-1].WriteArtifacts, "the final gate run writes the artifact")
}

func TestMergeSummary(t *testing.T) {
	full := &cycletypes.GateSummary{Status: cycletypes.StatusFail, EvidenceBundleID: "full", Checks: []cycletypes.CheckSummary{
		{Name: "a", Verdict: cycletypes.VerdictStale}, {Name: "b", Verdict: cycletypes.VerdictPass, Pass: true},
	}}
	recheck := &cycletypes.GateSummary{Checks: []cycletypes.CheckSummary{{Name: "a", Verdict: cycletypes.VerdictFail}}}
	out := mergeSummary(full, recheck)
	require.Equal(t, "full", out.EvidenceBundleID)
	require.Equal(t, []cycletypes.CheckSummary{
		{Name: "a", Verdict: cycletypes.VerdictFail}, {Name: "b", Verdict: cycletypes.VerdictPass, Pass: true},
	}, out.Checks)
	require.Equal(t, cycletypes.VerdictStale, full.Checks[0].Verdict, "the full summary is not changed")
}

func TestAffectedChecks(t *testing.T) {
	require.Equal(t, []string{"a", "b", "c"}, affectedChecks([]serviceGroup{{Service: "x", Checks: []string{"a", "b"}}, {Service: "y", Checks: []string{"c"}}}))
	require.Empty(t, affectedChecks(nil))
}

// With every check of a protected service waived while its approval is
// pending, nothing is restarted and the waived check is marked.
func (s *StrictCycleSuite) TestWaiverEndsApprovalWaitWithoutRestart() {
	s.stack.verdict["day2_event_store_gate"] = cycletypes.VerdictStale
	s.stack.protected["ops-scheduler"] = true
	s.env.RegisterDelayedCallback(func() {
		s.env.UpdateWorkflow(UpdateWaive, "w1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { s.Fail("waive rejected", err.Error()) },
			OnAccept: func() {}, OnComplete: func(any, error) {},
		}, WaiveRequest{Check: "day2_event_store_gate", Reason: "INC-7", By: "carol", For: time.Hour})
	}, 5*time.Minute)
	start := s.env.Now()
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusPass, res.Status)
	s.Equal([]string{"day2_event_store_gate"}, res.Waived)
	s.Empty(s.stack.restartInputs, "a waived check asks for no restart")
	s.Less(s.env.Now().Sub(start), ApprovalTimeout, "the waiver ended the wait")
	s.Equal([]string{"day2_event_store_gate"}, s.stack.published[0].Waived)
}

// An unexpected restart outcome fails closed and names the outcome.
func (s *StrictCycleSuite) TestUnexpectedRestartOutcomeFailsClosed() {
	s.stack.verdict["reconciliation_status"] = cycletypes.VerdictStale
	s.stack.outcome["reconciliation-service"] = cycletypes.RestartOutcome("exploded")
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusFail, res.Status)
	s.Equal(`restart reconciliation-service: unexpected outcome "exploded"`, res.Reason)
	s.Equal(1, s.stack.watchCalls, "only the wait-first watch ran")
}

// A protected outcome from the activity stops the round.
func (s *StrictCycleSuite) TestProtectedOutcomeStopsTheRound() {
	s.stack.verdict["reconciliation_status"] = cycletypes.VerdictStale
	s.stack.outcome["reconciliation-service"] = cycletypes.RestartProtected
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusFail, res.Status)
	s.Equal("protected service reconciliation-service needs an approval", res.Reason)
	s.Equal(1, res.Rounds)
}

// A restart already done by an earlier attempt is watched from its time,
// like a fresh one, and counts as a restart.
func (s *StrictCycleSuite) TestAlreadyDoneIsWatchedFromItsTime() {
	s.stack.verdict["reconciliation_status"] = cycletypes.VerdictStale
	s.stack.outcome["reconciliation-service"] = cycletypes.RestartAlreadyDone
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	s.result()
	var after []cycletypes.WatchUntilFreshInput
	for _, w := range s.stack.watchInputs {
		if !w.NotBefore.IsZero() {
			after = append(after, w)
		}
	}
	s.NotEmpty(after, "the report must be newer than the restart")
	for _, w := range after {
		s.Equal(3*time.Minute, w.Timeout, "watched with the plan's watch timeout")
	}
}

// An abort before the gate run decides FAIL at once with the operator's
// reason and restarts nothing.
func (s *StrictCycleSuite) TestAbortDuringReplayFailsClosed() {
	s.stack.replayCheck = "replay_regression_cycle"
	s.stack.verdict["event_store_integrity_freshness"] = cycletypes.VerdictStale
	s.env.OnActivity(cycletypes.RunReplayName, anyCtx, anyArg).Return(nil, errors.New("replay interrupted")).After(time.Minute)
	s.env.RegisterDelayedCallback(func() {
		s.env.UpdateWorkflow(UpdateAbort, "a1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { s.Fail("abort rejected", err.Error()) },
			OnAccept: func() {}, OnComplete: func(any, error) {},
		}, AbortRequest{Reason: "halt", By: "dan"})
	}, 10*time.Second)
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusFail, res.Status)
	s.Equal("aborted by dan: halt", res.Reason)
	s.Empty(s.stack.restartInputs)
	s.Empty(s.stack.evaluateInputs, "no gate run after an abort")
}

// SkipReplay skips the replay; without it the replay runs with the run id.
func (s *StrictCycleSuite) TestReplayRunsUnlessSkipped() {
	s.stack.replayCheck = "replay_regression_cycle"
	in := s.input()
	in.SkipReplay = true
	s.env.ExecuteWorkflow(StrictCycle, in)
	s.result()
	s.Empty(s.stack.replayInputs)
}

func TestReplayRunsWithRunID(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	stack := newFakeStack()
	stack.replayCheck = "replay_regression_cycle"
	stack.register(env)
	env.ExecuteWorkflow(StrictCycle, &StrictCycleInput{Target: cycletypes.Target{Environment: "test", Root: "/r", Contract: "fake"}})
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, stack.replayInputs, 1)
	require.NotEmpty(t, stack.replayInputs[0].RunID)
	require.Equal(t, stack.replayInputs[0].RunID, stack.published[0].RunID)
}

// The drill asks the watcher for the right thing: first that the report
// goes stale, then that it is fresh again after the start.
func TestRecoveryDrillWatchesStaleThenFresh(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	stack := newFakeStack()
	stack.register(env)
	env.ExecuteWorkflow(RecoveryDrill, &RecoveryDrillInput{
		Target:  cycletypes.Target{Environment: "test", Root: "/r", Contract: "fake"},
		Service: "event-store-service", Check: "event_store_integrity_freshness",
	})
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, stack.watchInputs, 2)
	require.True(t, stack.watchInputs[0].WantStale, "the first watch waits for stale")
	require.Equal(t, 15*time.Minute+5*time.Minute, stack.watchInputs[0].Timeout, "the window plus a margin")
	require.False(t, stack.watchInputs[1].WantStale)
	require.False(t, stack.watchInputs[1].NotBefore.IsZero(), "fresh means newer than the start")
	require.Equal(t, 3*time.Minute, stack.watchInputs[1].Timeout)

	require.Len(t, stack.drillInputs, 1)
	r := stack.drillInputs[0]
	require.Equal(t, "test", r.Environment)
	require.NotEmpty(t, r.WorkflowID)
	require.NotEmpty(t, r.TsUTC)
	require.Equal(t, "event-store-service", r.Service)
	require.Equal(t, "event_store_integrity_freshness", r.Check)
	require.Equal(t, cycletypes.DrillStatusPass, r.Status)
	require.Len(t, r.Steps, 7)
	require.Equal(t, "/r", r.Root)
}

// A drill whose contract cannot load is bad contract input, named as such.
func TestRecoveryDrillContractErrorIsNamed(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	stack := newFakeStack()
	stack.register(env)
	env.OnActivity(cycletypes.DescribeContractName, mock.Anything, mock.Anything).Return(nil,
		temporal.NewNonRetryableApplicationError("no such contract", cycletypes.ErrTypeBadContract, nil))
	env.ExecuteWorkflow(RecoveryDrill, &RecoveryDrillInput{
		Target:  cycletypes.Target{Environment: "test", Root: "/r", Contract: "fake"},
		Service: "event-store-service", Check: "event_store_integrity_freshness",
	})
	err := env.GetWorkflowError()
	require.Error(t, err)
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), err)
	require.Equal(t, cycletypes.ErrTypeBadContract, app.Type())
	require.Contains(t, app.Message(), "recovery drill: load contract fake: no such contract")
	require.Zero(t, stack.drillReports)
}

// A drill whose service does not fail closed when stopped is a failed drill
// that still starts the service again.
func TestRecoveryDrillNotFailingClosedFails(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	stack := newFakeStack()
	stack.severity["event_store_integrity_freshness"] = cycletypes.SeverityWarning
	stack.register(env)
	env.ExecuteWorkflow(RecoveryDrill, &RecoveryDrillInput{
		Target:  cycletypes.Target{Environment: "test", Root: "/r", Contract: "fake"},
		Service: "event-store-service", Check: "event_store_integrity_freshness",
	})
	require.NoError(t, env.GetWorkflowError())
	var res RecoveryDrillResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, cycletypes.DrillStatusFail, res.Status)
	require.Empty(t, stack.stopped, "the service is started again")
	var failed []string
	for _, st := range res.Steps {
		if !st.OK {
			failed = append(failed, st.Name)
		}
	}
	require.Equal(t, []string{DrillFailClosed}, failed)
}

// cycleThenSchedule starts a strict cycle under the environment's cycle id,
// then the schedule's action while that cycle still runs.
func cycleThenSchedule(ctx workflow.Context, in *StrictCycleInput) (*ScheduledCycleResult, error) {
	first := workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: CycleID(in.Environment)}), StrictCycleName, in)
	if err := first.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		return nil, err
	}
	var res ScheduledCycleResult
	err := workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: "schedule-action"}), ScheduledCycle, in).Get(ctx, &res)
	if err != nil {
		return nil, err
	}
	return &res, first.Get(ctx, nil)
}

// The schedule's action while a cycle of the environment runs records a
// skip and starts nothing.
func TestScheduledCycleSkipsWhileACycleRuns(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	stack := newFakeStack()
	// The first cycle waits for an approval that never comes.
	stack.verdict["day2_event_store_gate"] = cycletypes.VerdictStale
	stack.protected["ops-scheduler"] = true
	stack.register(env)
	env.RegisterWorkflowWithOptions(StrictCycle, workflowOptions(StrictCycleName))
	env.RegisterWorkflow(ScheduledCycle)
	env.RegisterWorkflow(cycleThenSchedule)
	env.ExecuteWorkflow(cycleThenSchedule, &StrictCycleInput{Target: cycletypes.Target{Environment: "test", Root: "/r", Contract: "fake"}})
	require.NoError(t, env.GetWorkflowError())
	var res ScheduledCycleResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.True(t, res.Skipped)
	require.Equal(t, "skipped: cycle strictcycle-test-cycle running", res.Reason)
	require.Empty(t, res.CycleRunID)
	require.Len(t, stack.published, 1, "only the first cycle decided")
}

// The operator's --max-rounds overrides the contract's, and --no-commands
// reaches every gate run.
func (s *StrictCycleSuite) TestInputMaxRoundsAndNoCommands() {
	s.stack.verdict["event_store_integrity_freshness"] = cycletypes.VerdictStale
	s.stack.deadAfterRestart["event-store-service"] = true
	in := s.input()
	in.MaxRounds = 1
	in.NoCommands = true
	s.env.ExecuteWorkflow(StrictCycle, in)
	res := s.result()
	s.Equal(cycletypes.StatusFail, res.Status)
	s.Equal(1, res.Rounds)
	s.Equal("still failing after 1 recovery rounds: event_store_integrity_freshness", res.Reason)
	s.Equal(1, s.stack.restartCalls["event-store-service"])
	s.Equal(1, s.queryStatus().MaxRounds)
	s.NotEmpty(s.stack.evaluateInputs)
	for _, e := range s.stack.evaluateInputs {
		s.True(e.NoCommands)
	}
}

// Without --max-rounds the contract's max_rounds bounds recovery, not the
// built-in default.
func (s *StrictCycleSuite) TestContractMaxRoundsBoundsRecovery() {
	s.stack.maxRounds = cycletypes.DefaultMaxRounds + 1
	s.stack.verdict["event_store_integrity_freshness"] = cycletypes.VerdictStale
	s.stack.deadAfterRestart["event-store-service"] = true
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusFail, res.Status)
	s.Equal(cycletypes.DefaultMaxRounds+1, res.Rounds)
	s.Equal(cycletypes.DefaultMaxRounds+1, s.stack.restartCalls["event-store-service"], "one restart per round")
}

func drillEnv(t *testing.T, stack *fakeStack) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	stack.register(env)
	return env
}

func drillInput() *RecoveryDrillInput {
	return &RecoveryDrillInput{
		Target:  cycletypes.Target{Environment: "test", Root: "/r", Contract: "fake"},
		Service: "event-store-service", Check: "event_store_integrity_freshness",
	}
}

// The drill's baseline is a recheck of its one check that writes nothing;
// the fail-closed and final gate runs are full runs that write the
// artifacts an operator inspects afterwards.
func TestRecoveryDrillGateRuns(t *testing.T) {
	stack := newFakeStack()
	env := drillEnv(t, stack)
	env.ExecuteWorkflow(RecoveryDrill, drillInput())
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, stack.evaluateInputs, 3)
	require.Equal(t, []string{"event_store_integrity_freshness"}, stack.evaluateInputs[0].Only)
	require.False(t, stack.evaluateInputs[0].WriteArtifacts, "the baseline writes nothing")
	for _, in := range stack.evaluateInputs[1:] {
		require.Empty(t, in.Only)
		require.True(t, in.WriteArtifacts, "a full drill gate run writes its artifacts")
	}
}

// A drill whose gate fails for another check than the drilled one did not
// prove the drilled check fails closed, and says which checks failed.
func TestRecoveryDrillWrongFailureNamed(t *testing.T) {
	stack := newFakeStack()
	stack.severity["event_store_integrity_freshness"] = cycletypes.SeverityWarning
	stack.verdict["unit_service_integration_tests"] = cycletypes.VerdictFail
	env := drillEnv(t, stack)
	env.ExecuteWorkflow(RecoveryDrill, drillInput())
	require.NoError(t, env.GetWorkflowError())
	var res RecoveryDrillResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, cycletypes.DrillStatusFail, res.Status)
	i := slices.IndexFunc(res.Steps, func(s cycletypes.DrillStep) bool { return s.Name == DrillFailClosed })
	require.GreaterOrEqual(t, i, 0)
	require.False(t, res.Steps[i].OK)
	require.Equal(t, "expected event_store_integrity_freshness among critical failures, got unit_service_integration_tests", res.Steps[i].Detail)
}

// A drill report that cannot be written fails the drill workflow: the
// operator must not believe a drill report exists.
func TestRecoveryDrillReportWriteErrorFails(t *testing.T) {
	stack := newFakeStack()
	env := drillEnv(t, stack)
	env.OnActivity(cycletypes.WriteDrillReportName, mock.Anything, mock.Anything).Return(nil,
		temporal.NewNonRetryableApplicationError("disk full", cycletypes.ErrTypeBadInput, nil))
	env.ExecuteWorkflow(RecoveryDrill, drillInput())
	require.ErrorContains(t, env.GetWorkflowError(), "write drill report")
}

// The schedule's action refuses an input without root or contract before
// it starts any cycle.
func TestScheduledCycleRefusesIncompleteInput(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	stack := newFakeStack()
	stack.register(env)
	env.RegisterWorkflowWithOptions(StrictCycle, workflowOptions(StrictCycleName))
	started := 0
	env.SetOnChildWorkflowStartedListener(func(*workflow.Info, workflow.Context, converter.EncodedValues) { started++ })
	env.ExecuteWorkflow(ScheduledCycle, &StrictCycleInput{Target: cycletypes.Target{Environment: "test", Contract: "fake"}})
	requireBadInput(t, env.GetWorkflowError(), "scheduled cycle input needs environment, root and contract")
	require.Zero(t, started, "no cycle started")
	require.Empty(t, stack.published)
}

// A replay that could not complete does not decide the cycle: the gate run
// judges whatever replay artifact exists.
func (s *StrictCycleSuite) TestReplayErrorStillRunsTheGates() {
	s.stack.replayCheck = "replay_regression_cycle"
	s.env.OnActivity(cycletypes.RunReplayName, anyCtx, anyArg).Return(nil,
		temporal.NewNonRetryableApplicationError("replay crashed", cycletypes.ErrTypeBadInput, nil))
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusPass, res.Status, res.Reason)
	s.Equal(1, s.stack.evaluateCalls)
}

// A restart that cannot complete ends the cycle at once with that error as
// the reason: no further round, no second restart attempt.
func (s *StrictCycleSuite) TestRestartErrorFailsClosed() {
	s.stack.verdict["event_store_integrity_freshness"] = cycletypes.VerdictStale
	s.env.OnActivity(cycletypes.RestartServiceName, anyCtx, anyArg).Return(nil,
		temporal.NewNonRetryableApplicationError("docker daemon unreachable", cycletypes.ErrTypeBadInput, nil))
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusFail, res.Status)
	s.Equal("recovery round 1 could not complete: docker daemon unreachable", res.Reason)
	s.Equal(1, res.Rounds)
	s.Equal([]string{"event_store_integrity_freshness"}, res.CriticalFailures)
}

// A recheck that cannot complete ends the cycle with that error as the
// reason, on the last full summary's failures.
func (s *StrictCycleSuite) TestRecheckErrorFailsClosed() {
	s.stack.verdict["event_store_integrity_freshness"] = cycletypes.VerdictStale
	s.env.OnActivity(cycletypes.EvaluateGatesName, anyCtx, anyArg).Return(
		func(ctx context.Context, in *cycletypes.EvaluateGatesInput) (*cycletypes.GateSummary, error) {
			if len(in.Only) > 0 {
				return nil, temporal.NewNonRetryableApplicationError("report unreadable", cycletypes.ErrTypeBadInput, nil)
			}
			return s.stack.EvaluateGates(ctx, in)
		})
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusFail, res.Status)
	s.Equal("recheck could not complete: report unreadable", res.Reason)
	s.Equal([]string{"event_store_integrity_freshness"}, res.CriticalFailures)
	s.Equal(1, s.stack.restartCalls["event-store-service"])
}

// An approval that never came is recorded as a protected restart outcome,
// in the result and in the published restarts.
func (s *StrictCycleSuite) TestApprovalTimeoutIsRecorded() {
	s.stack.verdict["day2_event_store_gate"] = cycletypes.VerdictStale
	s.stack.protected["ops-scheduler"] = true
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusFail, res.Status)
	s.Require().Len(res.Restarts, 1)
	s.Equal(Restart{Round: 1, Service: "ops-scheduler", Outcome: cycletypes.RestartProtected}, res.Restarts[0])
	s.Equal([]string{"1:ops-scheduler:protected"}, s.stack.published[0].Restarts)
	s.Empty(s.stack.restartInputs)
}

// Two services restarted in one round: each is watched for its own checks
// from its own restart, and each restart record gets its own time to fresh.
func (s *StrictCycleSuite) TestTwoServicesWatchedSeparately() {
	s.stack.verdict["event_store_integrity_freshness"] = cycletypes.VerdictStale
	s.stack.verdict["reconciliation_status"] = cycletypes.VerdictStale
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusPass, res.Status)
	s.Require().Len(res.Restarts, 2)
	for _, r := range res.Restarts {
		s.Equal(float64(120), r.FreshAfterMS, "%s", r.Service)
		s.False(r.At.IsZero(), "%s has its restart time", r.Service)
		s.Equal(1, r.Round)
	}
	watched := map[string][]string{}
	for _, w := range s.stack.watchInputs {
		if !w.NotBefore.IsZero() {
			watched[w.Service] = w.Checks
		}
	}
	s.Equal(map[string][]string{
		"reconciliation-service": {"reconciliation_status"},
		"event-store-service":    {"event_store_integrity_freshness"},
	}, watched)
}

// A watch that cannot complete fails the cycle closed with its error.
func (s *StrictCycleSuite) TestWatchErrorFailsClosed() {
	s.stack.verdict["event_store_integrity_freshness"] = cycletypes.VerdictStale
	s.env.OnActivity(cycletypes.WatchUntilFreshName, anyCtx, anyArg).Return(nil,
		temporal.NewNonRetryableApplicationError("watcher lost", cycletypes.ErrTypeBadInput, nil))
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusFail, res.Status)
	s.Equal("recovery round 1 could not complete: watcher lost", res.Reason)
	s.Empty(s.stack.restartInputs, "no restart after a failed wait")
}

// A final gate run that fails after a passing recheck names its critical
// failures as the reason.
func (s *StrictCycleSuite) TestFinalGateFailureIsTheReason() {
	s.stack.verdict["event_store_integrity_freshness"] = cycletypes.VerdictStale
	full := 0
	s.env.OnActivity(cycletypes.EvaluateGatesName, anyCtx, anyArg).Return(
		func(ctx context.Context, in *cycletypes.EvaluateGatesInput) (*cycletypes.GateSummary, error) {
			if len(in.Only) == 0 {
				full++
				if full == 2 {
					s.stack.mu.Lock()
					s.stack.verdict["unit_service_integration_tests"] = cycletypes.VerdictFail
					s.stack.mu.Unlock()
				}
			}
			return s.stack.EvaluateGates(ctx, in)
		})
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusFail, res.Status)
	s.Equal("critical failures: unit_service_integration_tests", res.Reason)
	s.Equal(res.Reason, s.stack.published[0].Reason)
}

// An abort that lands in the same workflow task as a gate run's PASS (the
// activity had completed when the abort cancelled it) still decides FAIL
// with the operator's reason: decide never lets a PASS summary outvote an
// abort.
func (s *StrictCycleSuite) TestAbortOutvotesAPassingSummary() {
	decideAborted := func(ctx workflow.Context, in *StrictCycleInput) (*StrictCycleResult, error) {
		sc := &strictCycle{in: in, abortReq: &AbortRequest{Reason: "late halt", By: "eve"}}
		pass := &cycletypes.GateSummary{Status: cycletypes.StatusPass, CriticalFailures: []string{}}
		return sc.decide(ctx, &StrictCycleResult{}, pass, "")
	}
	s.env.RegisterWorkflowWithOptions(decideAborted, workflow.RegisterOptions{Name: "decideAborted"})
	s.env.ExecuteWorkflow("decideAborted", s.input())
	res := s.result()
	s.Equal(cycletypes.StatusFail, res.Status)
	s.Equal("aborted by eve: late halt", res.Reason)
	s.Equal(1, s.stack.publishCalls, "the FAIL is published")
}
