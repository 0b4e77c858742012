package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/strictcycle/strictcycle/cycletypes"
)

// assertDryRun checks every side effect a dry run could have: no driver
// call, every restart asked as a dry run, no artifact written, and the
// decision published with the dry-run marker and no file root.
func (s *StrictCycleSuite) assertDryRun(res *StrictCycleResult) {
	s.True(res.DryRun)
	for svc, n := range s.stack.restartCalls {
		s.Zero(n, "restarted %s in a dry run", svc)
	}
	s.NotEmpty(s.stack.restartInputs)
	for _, in := range s.stack.restartInputs {
		s.True(in.DryRun, "restart of %s asked without dry run", in.Service)
	}
	s.NotEmpty(s.stack.evaluateInputs)
	for _, in := range s.stack.evaluateInputs {
		s.False(in.WriteArtifacts, "a dry run writes no artifact")
	}
	s.Require().Len(s.stack.published, 1)
	s.True(s.stack.published[0].DryRun)
	s.Empty(s.stack.published[0].Root, "a dry run writes no strict_cycle_latest.json")
}

func (s *StrictCycleSuite) TestDryRunNeverRestarts() {
	s.stack.verdict["event_store_integrity_freshness"] = cycletypes.VerdictStale
	in := s.input()
	in.DryRun = true
	s.env.ExecuteWorkflow(StrictCycle, in)
	res := s.result()
	s.Equal(cycletypes.StatusFail, res.Status)
	s.Equal("dry run: would restart event-store-service for event_store_integrity_freshness", res.Reason)
	s.assertDryRun(res)
}

// A dry run does not wait for an approval either (nothing would be
// restarted): it reports what it would do at once.
func (s *StrictCycleSuite) TestDryRunProtectedServiceNeitherWaitsNorRestarts() {
	s.stack.verdict["day2_event_store_gate"] = cycletypes.VerdictStale
	s.stack.protected["ops-scheduler"] = true
	in := s.input()
	in.DryRun = true
	start := s.env.Now()
	s.env.ExecuteWorkflow(StrictCycle, in)
	res := s.result()
	s.Equal("dry run: would restart ops-scheduler for day2_event_store_gate", res.Reason)
	s.Less(s.env.Now().Sub(start), ApprovalTimeout, "no approval wait")
	s.assertDryRun(res)
}

func (s *StrictCycleSuite) TestDryRunPassIsMarked() {
	in := s.input()
	in.DryRun = true
	s.env.ExecuteWorkflow(StrictCycle, in)
	res := s.result()
	s.Equal(cycletypes.StatusPass, res.Status)
	s.True(res.DryRun)
	s.True(s.stack.published[0].DryRun)
	s.Empty(s.stack.published[0].Root)
	for _, in := range s.stack.evaluateInputs {
		s.False(in.WriteArtifacts)
	}
}

func (s *StrictCycleSuite) TestRealRunIsNotMarked() {
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.False(res.DryRun)
	s.Empty(res.Waived)
	s.False(s.stack.published[0].DryRun)
	s.Empty(s.stack.published[0].Waived)
	s.Equal("/r", s.stack.published[0].Root)
	s.True(s.stack.evaluateInputs[0].WriteArtifacts)
}

// Failing warning checks fail neither the status nor start a recovery.
func (s *StrictCycleSuite) TestFailingWarningsNeitherFailNorRecover() {
	s.stack.severity["reconciliation_status"] = "warning"
	s.stack.severity["preflight_checks"] = "warning"
	s.stack.verdict["reconciliation_status"] = cycletypes.VerdictStale
	s.stack.verdict["preflight_checks"] = cycletypes.VerdictFail
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusPass, res.Status)
	s.Empty(res.Restarts)
	s.Zero(res.Rounds)
	s.Zero(s.stack.watchCalls)
}

// Beside a recoverable critical failure, a failing warning is not a
// blocking failure and its producer is not restarted.
func (s *StrictCycleSuite) TestWarningsIgnoredInRecovery() {
	s.stack.severity["reconciliation_status"] = "warning"
	s.stack.severity["preflight_checks"] = "warning"
	s.stack.verdict["reconciliation_status"] = cycletypes.VerdictStale
	s.stack.verdict["preflight_checks"] = cycletypes.VerdictFail
	s.stack.verdict["event_store_integrity_freshness"] = cycletypes.VerdictStale
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusPass, res.Status, res.Reason)
	s.Equal("passed after 1 restart(s) in 1 round(s)", res.Reason)
	s.Equal(1, s.stack.restartCalls["event-store-service"])
	s.Zero(s.stack.restartCalls["reconciliation-service"], "a warning's producer is not restarted")
}

func (s *StrictCycleSuite) TestWaivedPassIsMarked() {
	s.stack.verdict["event_store_integrity_freshness"] = cycletypes.VerdictStale
	s.stack.protected["event-store-service"] = true
	s.env.RegisterDelayedCallback(func() {
		s.env.UpdateWorkflow(UpdateWaive, "w1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { s.Fail("waive rejected", err.Error()) },
			OnAccept: func() {}, OnComplete: func(any, error) {},
		}, WaiveRequest{Check: "event_store_integrity_freshness", Reason: "INC-42", By: "carol", For: time.Hour})
	}, 10*time.Second)
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusPass, res.Status)
	s.Equal([]string{"event_store_integrity_freshness"}, res.Waived)
	s.Require().Len(s.stack.published, 1)
	s.Equal([]string{"event_store_integrity_freshness"}, s.stack.published[0].Waived)
	s.False(s.stack.published[0].DryRun)
}

// A waiver that expires at once cannot end an approval wait: the cycle
// still fails closed when nobody approves.
func (s *StrictCycleSuite) TestInstantWaiverRejected() {
	s.stack.verdict["day2_event_store_gate"] = cycletypes.VerdictStale
	s.stack.protected["ops-scheduler"] = true
	var rejected string
	s.env.RegisterDelayedCallback(func() {
		s.env.UpdateWorkflow(UpdateWaive, "w-ns", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { rejected = err.Error() },
			OnAccept: func() { s.Fail("accepted a 1ns waiver") }, OnComplete: func(any, error) {},
		}, WaiveRequest{Check: "day2_event_store_gate", Reason: "x", By: "c", For: time.Nanosecond})
	}, time.Minute)
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal("waive: expiry 2000-01-01T00:01:00Z is less than 1m0s away", rejected)
	s.Equal(cycletypes.StatusFail, res.Status)
	s.Equal("protected service ops-scheduler was not approved within 30m0s", res.Reason)
	s.Zero(s.stack.restartCalls["ops-scheduler"])
}

// A drill on a service or check the contract does not have is an error
// and writes no drill report (the last real one stays latest).
func TestRecoveryDrillBadInputWritesNothing(t *testing.T) {
	for _, tt := range []struct{ service, check, want string }{
		{"nope", "event_store_integrity_freshness", `recovery drill: service "nope" is not in contract fake`},
		{"event-store-service", "nope", `recovery drill: check "nope" is not in contract fake`},
	} {
		t.Run(tt.want, func(t *testing.T) {
			var ts testsuite.WorkflowTestSuite
			env := ts.NewTestWorkflowEnvironment()
			stack := newFakeStack()
			stack.register(env)
			env.ExecuteWorkflow(RecoveryDrill, &RecoveryDrillInput{
				Target:  cycletypes.Target{Environment: "test", Root: "/r", Contract: "fake"},
				Service: tt.service, Check: tt.check,
			})
			require.True(t, env.IsWorkflowCompleted())
			require.ErrorContains(t, env.GetWorkflowError(), tt.want)
			require.Zero(t, stack.drillReports)
			require.Empty(t, stack.stopped)
		})
	}
}
