package workflows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"github.com/stretchr/testify/suite"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/strictcycle/strictcycle/cycletypes"
)

// fakeStack scripts the world the activities see: which checks are stale,
// fail or pass, and how services react to a restart. It counts every side
// effect so tests can assert "restarted exactly once".
type fakeStack struct {
	mu sync.Mutex
	// verdict per check; producer per check.
	verdict  map[string]cycletypes.Verdict
	producer map[string]string
	order    []string
	// refreshOnWait: services whose report refreshes by itself during the
	// wait-first step.
	refreshOnWait map[string]bool
	// deadAfterRestart: services that stay stale even after a restart.
	deadAfterRestart map[string]bool
	// afterRestart: the verdict a service's checks get from a restart
	// (pass when unset and the service is not dead).
	afterRestart    map[string]cycletypes.Verdict
	outcome         map[string]cycletypes.RestartOutcome // forced restart outcome per service
	failRestartOnce map[string]bool                      // first attempt errors (worker crash)
	protected       map[string]bool
	severity        map[string]cycletypes.Severity // per check; critical when unset
	replayCheck     string                         // the plan's replay check, none when empty
	maxRounds       int                            // the plan's max rounds; 2 when unset

	restartInputs  []cycletypes.RestartServiceInput
	evaluateInputs []cycletypes.EvaluateGatesInput
	watchInputs    []cycletypes.WatchUntilFreshInput
	actionInputs   []cycletypes.ServiceActionInput
	replayInputs   []cycletypes.RunReplayInput
	drillReports   int
	drillInputs    []cycletypes.DrillReport

	restartCalls  map[string]int // driver-level restarts
	restartMarks  map[string]bool
	attempts      map[string]int
	watchCalls    int
	publishCalls  int
	published     []cycletypes.PublishDecisionInput
	stopped       map[string]bool
	evaluateCalls int
}

func newFakeStack() *fakeStack {
	f := &fakeStack{
		verdict: map[string]cycletypes.Verdict{}, producer: map[string]string{},
		refreshOnWait: map[string]bool{}, deadAfterRestart: map[string]bool{}, afterRestart: map[string]cycletypes.Verdict{},
		outcome: map[string]cycletypes.RestartOutcome{}, failRestartOnce: map[string]bool{}, protected: map[string]bool{},
		restartCalls: map[string]int{}, restartMarks: map[string]bool{}, attempts: map[string]int{},
		stopped: map[string]bool{}, severity: map[string]cycletypes.Severity{},
	}
	for _, c := range []struct{ name, producer string }{
		{"preflight_checks", ""},
		{"unit_service_integration_tests", ""},
		{"reconciliation_status", "reconciliation-service"},
		{"event_store_integrity_freshness", "event-store-service"},
		{"day2_event_store_gate", "ops-scheduler"},
	} {
		f.order = append(f.order, c.name)
		f.producer[c.name] = c.producer
		f.verdict[c.name] = cycletypes.VerdictPass
	}
	return f
}

func (f *fakeStack) DescribeContract(_ context.Context, _ *cycletypes.Target) (*cycletypes.Plan, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := &cycletypes.Plan{Contract: "fake", ContractSHA256: fakeContractSHA256, Services: map[string]cycletypes.PlanService{},
		WaitFirst: 30 * time.Second, WatchTimeout: 3 * time.Minute, MaxRounds: 2, Window: 15 * time.Minute}
	p.ReplayCheck = f.replayCheck
	if f.maxRounds > 0 {
		p.MaxRounds = f.maxRounds
	}
	for _, n := range f.order {
		p.Checks = append(p.Checks, cycletypes.PlanCheck{Name: n, Severity: f.severityOf(n), Producer: f.producer[n]})
		if s := f.producer[n]; s != "" {
			p.Services[s] = cycletypes.PlanService{Protected: f.protected[s], Driver: "exec"}
		}
	}
	return p, nil
}

func (f *fakeStack) summary(only []string, waivers []cycletypes.Waiver) *cycletypes.GateSummary {
	sum := &cycletypes.GateSummary{Status: cycletypes.StatusPass, CriticalFailures: []string{}, EvidenceBundleID: "id", ContentDigest: "digest", ArtifactPath: "/r/latest.json"}
	for _, n := range f.order {
		if len(only) > 0 && !slices.Contains(only, n) {
			continue
		}
		v := f.verdict[n]
		if v != cycletypes.VerdictPass && slices.ContainsFunc(waivers, func(w cycletypes.Waiver) bool { return w.Check == n }) {
			v = cycletypes.VerdictWaived
		}
		c := cycletypes.CheckSummary{Name: n, Severity: f.severityOf(n), Verdict: v, Pass: v == cycletypes.VerdictPass, Producer: f.producer[n], Reason: string(v)}
		sum.Checks = append(sum.Checks, c)
		if c.Severity == "critical" && v != cycletypes.VerdictPass && v != cycletypes.VerdictWaived {
			sum.Status = cycletypes.StatusFail
			sum.CriticalFailures = append(sum.CriticalFailures, n)
		}
	}
	return sum
}

func (f *fakeStack) EvaluateGates(_ context.Context, in *cycletypes.EvaluateGatesInput) (*cycletypes.GateSummary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.evaluateCalls++
	f.evaluateInputs = append(f.evaluateInputs, *in)
	return f.summary(in.Only, in.Waivers), nil
}

func (f *fakeStack) RunReplay(_ context.Context, in *cycletypes.RunReplayInput) (*cycletypes.RunReplayResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replayInputs = append(f.replayInputs, *in)
	return &cycletypes.RunReplayResult{Ran: true}, nil
}

func (f *fakeStack) RestartService(ctx context.Context, in *cycletypes.RestartServiceInput) (*cycletypes.RestartServiceResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := fmt.Sprintf("%s/%s/%d", in.RunID, in.Service, in.Round)
	f.attempts[key]++
	f.restartInputs = append(f.restartInputs, *in)
	at := activity.GetInfo(ctx).StartedTime
	if in.DryRun {
		// As the real activity: a dry run never reaches the driver.
		return &cycletypes.RestartServiceResult{Service: in.Service, Outcome: cycletypes.RestartDryRun, At: at}, nil
	}
	if o, ok := f.outcome[in.Service]; ok {
		return &cycletypes.RestartServiceResult{Service: in.Service, Outcome: o, At: at, BudgetUsed: 3, BudgetMax: 3}, nil
	}
	if f.protected[in.Service] && !in.Approved {
		return &cycletypes.RestartServiceResult{Service: in.Service, Outcome: cycletypes.RestartProtected}, nil
	}
	if f.restartMarks[key] {
		return &cycletypes.RestartServiceResult{Service: in.Service, Outcome: cycletypes.RestartAlreadyDone, At: at}, nil
	}
	// The intent mark is written before the driver call, as the real
	// activity does, so a crash after it never restarts twice.
	f.restartMarks[key] = true
	f.restartCalls[in.Service]++
	if !f.deadAfterRestart[in.Service] {
		v := cycletypes.VerdictPass
		if av, ok := f.afterRestart[in.Service]; ok {
			v = av
		}
		for n, p := range f.producer {
			if p == in.Service {
				f.verdict[n] = v
			}
		}
	}
	if f.failRestartOnce[in.Service] && f.attempts[key] == 1 {
		return nil, errors.New("worker lost after restart")
	}
	return &cycletypes.RestartServiceResult{Service: in.Service, Outcome: cycletypes.RestartDone, At: at}, nil
}

func (f *fakeStack) WatchUntilFresh(_ context.Context, in *cycletypes.WatchUntilFreshInput) (*cycletypes.WatchUntilFreshResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.watchCalls++
	f.watchInputs = append(f.watchInputs, *in)
	if in.NotBefore.IsZero() && f.refreshOnWait[in.Service] {
		for _, n := range in.Checks {
			f.verdict[n] = cycletypes.VerdictPass
		}
	}
	fresh := true
	for _, n := range in.Checks {
		if f.verdict[n] != cycletypes.VerdictPass {
			fresh = false
		}
	}
	if in.WantStale {
		return &cycletypes.WatchUntilFreshResult{Fresh: fresh, Reason: "watched"}, nil
	}
	reason := "fresh"
	if !fresh {
		reason = "timeout"
	}
	return &cycletypes.WatchUntilFreshResult{Fresh: fresh, WaitedMS: 120, Reason: reason}, nil
}

func (f *fakeStack) PublishDecision(_ context.Context, in *cycletypes.PublishDecisionInput) (*cycletypes.PublishDecisionResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.publishCalls++
	f.published = append(f.published, *in)
	return &cycletypes.PublishDecisionResult{StreamID: "1-0"}, nil
}

func (f *fakeStack) StopService(_ context.Context, in *cycletypes.ServiceActionInput) (*cycletypes.ServiceActionResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped[in.Service] = true
	f.actionInputs = append(f.actionInputs, *in)
	for n, p := range f.producer {
		if p == in.Service {
			f.verdict[n] = cycletypes.VerdictStale
		}
	}
	return &cycletypes.ServiceActionResult{Service: in.Service, Action: "stop"}, nil
}

func (f *fakeStack) StartService(ctx context.Context, in *cycletypes.ServiceActionInput) (*cycletypes.ServiceActionResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.stopped, in.Service)
	f.actionInputs = append(f.actionInputs, *in)
	if !f.deadAfterRestart[in.Service] {
		for n, p := range f.producer {
			if p == in.Service {
				f.verdict[n] = cycletypes.VerdictPass
			}
		}
	}
	return &cycletypes.ServiceActionResult{Service: in.Service, Action: "start", At: activity.GetInfo(ctx).StartedTime}, nil
}

func (f *fakeStack) severityOf(check string) cycletypes.Severity {
	if s := f.severity[check]; s != "" {
		return s
	}
	return cycletypes.SeverityCritical
}

func (f *fakeStack) WriteDrillReport(_ context.Context, in *cycletypes.DrillReport) (*cycletypes.WriteDrillReportResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.drillReports++
	f.drillInputs = append(f.drillInputs, *in)
	return &cycletypes.WriteDrillReportResult{Path: in.Root + "/reports/recovery/latest.json"}, nil
}

func (f *fakeStack) register(env *testsuite.TestWorkflowEnvironment) {
	reg := func(fn any, name string) { env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name}) }
	reg(f.DescribeContract, cycletypes.DescribeContractName)
	reg(f.EvaluateGates, cycletypes.EvaluateGatesName)
	reg(f.RunReplay, cycletypes.RunReplayName)
	reg(f.RestartService, cycletypes.RestartServiceName)
	reg(f.WatchUntilFresh, cycletypes.WatchUntilFreshName)
	reg(f.PublishDecision, cycletypes.PublishDecisionName)
	reg(f.StopService, cycletypes.StopServiceName)
	reg(f.StartService, cycletypes.StartServiceName)
	reg(f.WriteDrillReport, cycletypes.WriteDrillReportName)
}

func workflowOptions(name string) workflow.RegisterOptions {
	return workflow.RegisterOptions{Name: name}
}

var anyCtx, anyArg = mock.Anything, mock.Anything

type StrictCycleSuite struct {
	suite.Suite
	testsuite.WorkflowTestSuite
	env   *testsuite.TestWorkflowEnvironment
	stack *fakeStack
}

func TestStrictCycle(t *testing.T) { suite.Run(t, new(StrictCycleSuite)) }

func (s *StrictCycleSuite) SetupTest() {
	s.env = s.NewTestWorkflowEnvironment()
	s.env.SetStartTime(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
	s.stack = newFakeStack()
	s.stack.register(s.env)
	s.env.RegisterWorkflowWithOptions(StrictCycle, workflowOptions(StrictCycleName))
	s.env.RegisterWorkflowWithOptions(RecoveryDrill, workflowOptions(RecoveryDrillName))
}

func (s *StrictCycleSuite) input() *StrictCycleInput {
	return &StrictCycleInput{Target: cycletypes.Target{Environment: "test", Root: "/r", Contract: "fake", CI: true}}
}

func (s *StrictCycleSuite) result() *StrictCycleResult {
	s.Require().True(s.env.IsWorkflowCompleted())
	s.Require().NoError(s.env.GetWorkflowError())
	var res StrictCycleResult
	s.Require().NoError(s.env.GetWorkflowResult(&res))
	return &res
}

func (s *StrictCycleSuite) TestPassFirstTime() {
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusPass, res.Status)
	s.Empty(res.Restarts)
	s.Equal(0, res.Rounds)
	s.Equal(0, s.stack.watchCalls)
	s.Equal(1, s.stack.publishCalls)
	s.Equal(1, s.stack.evaluateCalls, "a passing cycle evaluates once")
	s.Equal(cycletypes.StatusPass, s.stack.published[0].Status)
}

func (s *StrictCycleSuite) TestStaleRefreshesDuringWaitFirst() {
	s.stack.verdict["event_store_integrity_freshness"] = cycletypes.VerdictStale
	s.stack.refreshOnWait["event-store-service"] = true
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusPass, res.Status)
	s.Empty(res.Restarts, "a natural refresh needs no restart")
	s.Zero(s.stack.restartCalls["event-store-service"])
	s.Equal(1, res.Rounds)
}

func (s *StrictCycleSuite) TestStaleRestartFreshPass() {
	s.stack.verdict["event_store_integrity_freshness"] = cycletypes.VerdictStale
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusPass, res.Status)
	s.Require().Len(res.Restarts, 1)
	s.Equal("event-store-service", res.Restarts[0].Service)
	s.Equal(cycletypes.RestartDone, res.Restarts[0].Outcome)
	s.Equal(float64(120), res.Restarts[0].FreshAfterMS)
	s.Equal(1, s.stack.restartCalls["event-store-service"])
	s.Equal("passed after 1 restart(s) in 1 round(s)", res.Reason)
	s.Equal([]string{"1:event-store-service:restarted"}, s.stack.published[0].Restarts)
}

func (s *StrictCycleSuite) TestNonRecoverableFailsClosedAtOnce() {
	s.stack.verdict["unit_service_integration_tests"] = cycletypes.VerdictFail
	s.stack.verdict["event_store_integrity_freshness"] = cycletypes.VerdictStale
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusFail, res.Status)
	s.Equal("non-recoverable critical failure: unit_service_integration_tests (fail)", res.Reason)
	s.Empty(res.Restarts)
	s.Zero(s.stack.watchCalls, "no watch, no restart storm")
	s.Equal([]string{"unit_service_integration_tests", "event_store_integrity_freshness"}, res.CriticalFailures)
}

func (s *StrictCycleSuite) TestStaleWithoutProducerIsNotRecoverable() {
	s.stack.verdict["preflight_checks"] = cycletypes.VerdictMissing
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusFail, res.Status)
	s.Equal("non-recoverable critical failure: preflight_checks (missing)", res.Reason)
}

func (s *StrictCycleSuite) TestBudgetExhausted() {
	s.stack.verdict["reconciliation_status"] = cycletypes.VerdictStale
	s.stack.outcome["reconciliation-service"] = cycletypes.RestartBudgetExhausted
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusFail, res.Status)
	s.Equal("restart budget exhausted for reconciliation-service (3/3 in window): reconciliation_status", res.Reason)
	s.Require().Len(res.Restarts, 1)
	s.Equal(cycletypes.RestartBudgetExhausted, res.Restarts[0].Outcome)
	s.Zero(s.stack.restartCalls["reconciliation-service"])
}

func (s *StrictCycleSuite) TestLockHeldWatchesWithoutRestarting() {
	s.stack.verdict["reconciliation_status"] = cycletypes.VerdictStale
	s.stack.outcome["reconciliation-service"] = cycletypes.RestartLockHeld
	s.stack.refreshOnWait["reconciliation-service"] = false
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	// Nobody refreshed the report: two rounds of lock_held, then FAIL.
	s.Equal(cycletypes.StatusFail, res.Status)
	s.Equal(2, res.Rounds)
	s.Len(res.Restarts, 2)
	s.Zero(s.stack.restartCalls["reconciliation-service"])
	s.Equal("still failing after 2 recovery rounds: reconciliation_status", res.Reason)
}

func (s *StrictCycleSuite) TestDeadServiceFailsAfterMaxRounds() {
	s.stack.verdict["event_store_integrity_freshness"] = cycletypes.VerdictStale
	s.stack.deadAfterRestart["event-store-service"] = true
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusFail, res.Status)
	s.Equal(2, res.Rounds)
	s.Equal(2, s.stack.restartCalls["event-store-service"], "one restart per round")
	s.Equal([]string{"event_store_integrity_freshness"}, res.CriticalFailures)
}

func (s *StrictCycleSuite) TestProtectedServiceWaitsForApproval() {
	s.stack.verdict["day2_event_store_gate"] = cycletypes.VerdictStale
	s.stack.protected["ops-scheduler"] = true
	s.env.RegisterDelayedCallback(func() {
		st := s.queryStatus()
		s.Equal(PhaseApproval, st.Phase)
		s.Equal([]string{"ops-scheduler"}, st.Pending)
		s.env.UpdateWorkflow(UpdateApprove, "u1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { s.Fail("approve rejected", err.Error()) },
			OnAccept: func() {}, OnComplete: func(any, error) {},
		}, ApproveRequest{Service: "ops-scheduler", By: "alice"})
	}, 5*time.Minute)
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusPass, res.Status)
	s.Equal(1, s.stack.restartCalls["ops-scheduler"])
}

func (s *StrictCycleSuite) TestProtectedServiceWithoutApprovalFailsClosed() {
	s.stack.verdict["day2_event_store_gate"] = cycletypes.VerdictStale
	s.stack.protected["ops-scheduler"] = true
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusFail, res.Status)
	s.Equal("protected service ops-scheduler was not approved within 30m0s", res.Reason)
	s.Zero(s.stack.restartCalls["ops-scheduler"])
}

func (s *StrictCycleSuite) TestAbortDuringApprovalWait() {
	s.stack.verdict["day2_event_store_gate"] = cycletypes.VerdictStale
	s.stack.protected["ops-scheduler"] = true
	s.env.RegisterDelayedCallback(func() {
		s.env.UpdateWorkflow(UpdateAbort, "a1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { s.Fail("abort rejected", err.Error()) },
			OnAccept: func() {}, OnComplete: func(any, error) {},
		}, AbortRequest{Reason: "market event", By: "bob"})
	}, time.Minute)
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusFail, res.Status)
	s.Equal("aborted by bob: market event", res.Reason)
	s.Zero(s.stack.restartCalls["ops-scheduler"])
	s.Equal(1, s.stack.publishCalls, "an aborted cycle still publishes its FAIL")
}

func (s *StrictCycleSuite) TestWaiveUnblocksCheck() {
	s.stack.verdict["event_store_integrity_freshness"] = cycletypes.VerdictStale
	s.stack.protected["event-store-service"] = true
	s.env.RegisterDelayedCallback(func() {
		s.env.UpdateWorkflow(UpdateWaive, "w1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { s.Fail("waive rejected", err.Error()) },
			OnAccept: func() {}, OnComplete: func(any, error) {},
		}, WaiveRequest{Check: "event_store_integrity_freshness", Reason: "INC-42 known outage", By: "carol", For: time.Hour})
	}, 10*time.Second)
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusPass, res.Status)
	s.Empty(res.CriticalFailures)
	s.Zero(s.stack.restartCalls["event-store-service"], "a waived check needs no restart")
}

// A waiver that covers every check of a service that is not protected
// also spares its restart: a restart would not change the decision, and a
// failed one would fail the cycle although its only failure is waived.
func (s *StrictCycleSuite) TestWaivedServiceIsNotRestarted() {
	s.stack.verdict["event_store_integrity_freshness"] = cycletypes.VerdictStale
	// The waiver arrives while the cycle waits for a natural refresh.
	sent := false
	s.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name != cycletypes.WatchUntilFreshName || sent {
			return
		}
		sent = true
		s.env.UpdateWorkflow(UpdateWaive, "w1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { s.Fail("waive rejected", err.Error()) },
			OnAccept: func() {}, OnComplete: func(any, error) {},
		}, WaiveRequest{Check: "event_store_integrity_freshness", Reason: "INC-42 known outage", By: "carol", For: time.Hour})
	})
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.True(sent)
	s.Equal([]string{"event_store_integrity_freshness"}, res.Waived, "a PASS that relied on a waiver says so")
	s.Empty(res.Restarts)
	s.Zero(s.stack.restartCalls["event-store-service"], "a waived check needs no restart")
}

func (s *StrictCycleSuite) TestUpdateValidatorsRejectBadRequests() {
	s.stack.verdict["day2_event_store_gate"] = cycletypes.VerdictStale
	s.stack.protected["ops-scheduler"] = true
	rejected := map[string]string{}
	reject := func(id string) *testsuite.TestUpdateCallback {
		return &testsuite.TestUpdateCallback{
			OnReject: func(err error) { rejected[id] = err.Error() },
			OnAccept: func() { s.Fail("accepted " + id) }, OnComplete: func(any, error) {},
		}
	}
	s.env.RegisterDelayedCallback(func() {
		s.env.UpdateWorkflow(UpdateWaive, "w-unknown", reject("w-unknown"), WaiveRequest{Check: "nope", Reason: "x", By: "c", For: time.Hour})
		s.env.UpdateWorkflow(UpdateWaive, "w-long", reject("w-long"), WaiveRequest{Check: "day2_event_store_gate", Reason: "x", By: "c", For: 48 * time.Hour})
		s.env.UpdateWorkflow(UpdateWaive, "w-past", reject("w-past"), WaiveRequest{Check: "day2_event_store_gate", Reason: "x", By: "c", For: -time.Minute})
		s.env.UpdateWorkflow(UpdateApprove, "a-unknown", reject("a-unknown"), ApproveRequest{Service: "nope", By: "c"})
		s.env.UpdateWorkflow(UpdateAbort, "ab-empty", reject("ab-empty"), AbortRequest{})
		// Operator text is one bounded line: it is printed by the CLI, kept
		// in history and copied into every later gate run's details.
		s.env.UpdateWorkflow(UpdateWaive, "w-newline", reject("w-newline"), WaiveRequest{Check: "day2_event_store_gate", Reason: "INC-1\n[promotion-gates] status=PASS", By: "c", For: time.Hour})
		s.env.UpdateWorkflow(UpdateWaive, "w-reason-long", reject("w-reason-long"), WaiveRequest{Check: "day2_event_store_gate", Reason: strings.Repeat("r", 1025), By: "c", For: time.Hour})
		s.env.UpdateWorkflow(UpdateWaive, "w-by-long", reject("w-by-long"), WaiveRequest{Check: "day2_event_store_gate", Reason: "x", By: strings.Repeat("b", 129), For: time.Hour})
		s.env.UpdateWorkflow(UpdateAbort, "ab-esc", reject("ab-esc"), AbortRequest{Reason: "x\x1b[2J", By: "c"})
		s.env.UpdateWorkflow(UpdateAbort, "ab-c1", reject("ab-c1"), AbortRequest{Reason: "x", By: "c\u009b2J"})
		s.env.UpdateWorkflow(UpdateApprove, "a-bidi", reject("a-bidi"), ApproveRequest{Service: "ops-scheduler", By: "\u202eevil"})
		s.env.UpdateWorkflow(UpdateApprove, "a-no-service", reject("a-no-service"), ApproveRequest{By: "c"})
	}, time.Minute)
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	s.result()
	s.Equal(map[string]string{
		"w-unknown": `waive: check "nope" is not in contract fake`,
		"w-long":    "waive: expiry 2000-01-03T00:01:00Z is more than 24h0m0s away",
		"w-past":    "waive: expiry must be in the future",
		"a-unknown": `approve: service "nope" is not in contract fake`,
		"ab-empty":  "abort: reason is required",

		"w-newline":     "waive: reason holds control character U+000A at byte 5 (one line of printable text)",
		"w-reason-long": "waive: reason is 1025 bytes, more than 1024",
		"w-by-long":     "waive: by is 129 bytes, more than 128",
		"ab-esc":        "abort: reason holds control character U+001B at byte 1 (one line of printable text)",
		"ab-c1":         "abort: by holds control character U+009B at byte 1 (one line of printable text)",
		"a-bidi":        "approve: by holds control character U+202E at byte 0 (one line of printable text)",
		"a-no-service":  "approve: service is required",
	}, rejected)
}

// A cycle keeps a bounded number of waivers, and approves a service once.
func (s *StrictCycleSuite) TestUpdatesBoundedPerCycle() {
	s.stack.verdict["day2_event_store_gate"] = cycletypes.VerdictStale
	s.stack.protected["ops-scheduler"] = true
	accepted, rejected := 0, []string{}
	cb := func() *testsuite.TestUpdateCallback {
		return &testsuite.TestUpdateCallback{
			OnReject: func(err error) { rejected = append(rejected, err.Error()) },
			OnAccept: func() { accepted++ }, OnComplete: func(any, error) {},
		}
	}
	s.env.RegisterDelayedCallback(func() {
		s.env.UpdateWorkflow(UpdateApprove, "a1", cb(), ApproveRequest{Service: "ops-scheduler", By: "c"})
		s.env.UpdateWorkflow(UpdateApprove, "a2", cb(), ApproveRequest{Service: "ops-scheduler", By: "c"})
		for i := 0; i <= MaxWaivers; i++ {
			s.env.UpdateWorkflow(UpdateWaive, fmt.Sprintf("w%d", i), cb(), WaiveRequest{Check: "day2_event_store_gate", Reason: "x", By: "c", For: time.Hour})
		}
	}, 10*time.Second)
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	s.result()
	s.Equal(1+MaxWaivers, accepted)
	s.Equal([]string{
		`approve: service "ops-scheduler" is already approved`,
		fmt.Sprintf("waive: this cycle already holds %d waivers", MaxWaivers),
	}, rejected)
}

func (s *StrictCycleSuite) TestRestartRetriedAfterWorkerErrorRestartsOnce() {
	s.stack.verdict["event_store_integrity_freshness"] = cycletypes.VerdictStale
	s.stack.failRestartOnce["event-store-service"] = true
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusPass, res.Status)
	s.Equal(1, s.stack.restartCalls["event-store-service"], "the retry found the intent mark")
	s.Require().Len(res.Restarts, 1)
	s.Equal(cycletypes.RestartAlreadyDone, res.Restarts[0].Outcome)
}

func (s *StrictCycleSuite) TestDryRunRestartsNothing() {
	s.stack.verdict["event_store_integrity_freshness"] = cycletypes.VerdictStale
	in := s.input()
	in.DryRun = true
	s.env.ExecuteWorkflow(StrictCycle, in)
	res := s.result()
	s.Equal(cycletypes.StatusFail, res.Status)
	s.Equal("dry run: would restart event-store-service for event_store_integrity_freshness", res.Reason)
}

func (s *StrictCycleSuite) TestEvaluateErrorFailsClosed() {
	s.env.OnActivity(cycletypes.EvaluateGatesName, anyCtx, anyArg).Return(nil,
		temporal.NewNonRetryableApplicationError("read report", cycletypes.ErrTypeBadContract, nil))
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusFail, res.Status)
	s.Contains(res.Reason, "gate run could not complete: read report")
	s.Equal(1, s.stack.publishCalls)
}

func (s *StrictCycleSuite) TestBadInputIsRejected() {
	s.env.ExecuteWorkflow(StrictCycle, &StrictCycleInput{})
	s.Require().True(s.env.IsWorkflowCompleted())
	s.Require().ErrorContains(s.env.GetWorkflowError(), "strict cycle input needs environment, root and contract")
}

func (s *StrictCycleSuite) queryStatus() CycleStatus {
	v, err := s.env.QueryWorkflow(QueryStatus)
	s.Require().NoError(err)
	var st CycleStatus
	s.Require().NoError(v.Get(&st))
	return st
}

func TestRecoveryDrillPasses(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	stack := newFakeStack()
	stack.register(env)
	env.ExecuteWorkflow(RecoveryDrill, &RecoveryDrillInput{
		Target:  cycletypes.Target{Environment: "test", Root: "/r", Contract: "fake"},
		Service: "event-store-service", Check: "event_store_integrity_freshness",
	})
	require.NoError(t, env.GetWorkflowError())
	var res RecoveryDrillResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, cycletypes.DrillStatusPass, res.Status)
	var names []string
	for _, st := range res.Steps {
		require.True(t, st.OK, "%s: %s", st.Name, st.Detail)
		names = append(names, st.Name)
	}
	require.Equal(t, []string{DrillBaseline, DrillStop, DrillGoesStale, DrillFailClosed, DrillStart, DrillFresh, DrillPass}, names)
	require.Empty(t, stack.stopped, "the service is running again")
	require.Equal(t, "/r/reports/recovery/latest.json", res.ReportPath)
}

func TestRecoveryDrillFailsWhenServiceStaysDown(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	stack := newFakeStack()
	stack.deadAfterRestart["event-store-service"] = true
	stack.register(env)
	env.ExecuteWorkflow(RecoveryDrill, &RecoveryDrillInput{
		Target:  cycletypes.Target{Environment: "test", Root: "/r", Contract: "fake"},
		Service: "event-store-service", Check: "event_store_integrity_freshness",
	})
	require.NoError(t, env.GetWorkflowError())
	var res RecoveryDrillResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, cycletypes.DrillStatusFail, res.Status)
	last := res.Steps[len(res.Steps)-1]
	require.Equal(t, DrillFresh, last.Name)
	require.False(t, last.OK)
}
