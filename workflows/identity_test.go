package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/cycletypes"
)

// words lists every string of length 1..n over alphabet.
func words(alphabet string, n int) []string {
	out := []string{}
	prev := []string{""}
	for range n {
		var next []string
		for _, p := range prev {
			for _, r := range alphabet {
				next = append(next, p+string(r))
			}
		}
		out = append(out, next...)
		prev = next
	}
	return out
}

// No two (environment, purpose) pairs build the same workflow id, over every
// environment name the grammar accepts from an alphabet that holds the
// separator, and purposes that hold it too (as "drill-<service>" does).
func TestWorkflowIDNamesOnePair(t *testing.T) {
	var envs []string
	for _, e := range words("a_-0", 4) {
		if config.ValidateEnvironment(e) == nil {
			envs = append(envs, e)
		}
	}
	purposes := append(words("a-c", 3), "cycle", "schedule", "scheduled", "drill-a", "drill-a-cycle", "a-cycle", "cycle-a")
	type pair struct{ env, purpose string }
	seen := map[string]pair{}
	for _, e := range envs {
		for _, p := range purposes {
			id := WorkflowID(e, p)
			if other, ok := seen[id]; ok && other != (pair{e, p}) {
				t.Fatalf("id %q built by %v and %v", id, other, pair{e, p})
			}
			seen[id] = pair{e, p}
		}
	}
	require.Len(t, envs, 80, "2+6+18+54 names of 1..4 characters")
	// The helpers of each purpose stay apart for one environment.
	require.Len(t, map[string]bool{CycleID("ab"): true, ScheduledID("ab"): true, ScheduleID("ab"): true, DrillID("ab", "cycle"): true}, 4)
	require.Equal(t, "strictcycle-ab-cycle", CycleID("ab"))
}

func requireBadInput(t *testing.T, err error, want string) {
	t.Helper()
	require.Error(t, err)
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "%v", err)
	require.Equal(t, cycletypes.ErrTypeBadInput, app.Type())
	require.True(t, app.NonRetryable())
	require.Contains(t, app.Message(), want)
}

// A name outside the grammar stops each workflow before any activity.
func TestWorkflowsRefuseBadEnvironment(t *testing.T) {
	for _, env := range []string{"ab-cycle-z", "prod' OR '1'='1", "Prod", "a b"} {
		t.Run(env, func(t *testing.T) {
			var ts testsuite.WorkflowTestSuite
			target := cycletypes.Target{Environment: env, Root: "/r", Contract: "fake"}
			for name, start := range map[string]func(*testsuite.TestWorkflowEnvironment){
				StrictCycleName: func(e *testsuite.TestWorkflowEnvironment) {
					e.ExecuteWorkflow(StrictCycle, &StrictCycleInput{Target: target})
				},
				ScheduledCycleName: func(e *testsuite.TestWorkflowEnvironment) {
					e.ExecuteWorkflow(ScheduledCycle, &StrictCycleInput{Target: target})
				},
				RecoveryDrillName: func(e *testsuite.TestWorkflowEnvironment) {
					e.ExecuteWorkflow(RecoveryDrill, &RecoveryDrillInput{Target: target, Service: "event-store-service", Check: "event_store_integrity_freshness"})
				},
			} {
				env := ts.NewTestWorkflowEnvironment()
				stack := newFakeStack()
				stack.register(env)
				env.RegisterWorkflowWithOptions(StrictCycle, workflowOptions(StrictCycleName))
				start(env)
				require.True(t, env.IsWorkflowCompleted(), name)
				requireBadInput(t, env.GetWorkflowError(), "environment name ")
				require.Zero(t, stack.evaluateCalls, name)
				require.Zero(t, stack.publishCalls, name)
			}
		})
	}
}

// The schedule's action runs the environment's cycle as a child under the
// one cycle id, and records its decision.
func TestScheduledCycleRunsTheCycleUnderItsID(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	stack := newFakeStack()
	stack.register(env)
	env.RegisterWorkflowWithOptions(StrictCycle, workflowOptions(StrictCycleName))
	env.ExecuteWorkflow(ScheduledCycle, &StrictCycleInput{Target: cycletypes.Target{Environment: "test", Root: "/r", Contract: "fake", CI: true}})
	require.NoError(t, env.GetWorkflowError())
	var res ScheduledCycleResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.False(t, res.Skipped)
	require.Equal(t, "strictcycle-test-cycle", res.CycleID)
	require.Equal(t, cycletypes.StatusPass, res.Status)
	require.NotEmpty(t, res.CycleRunID)
	require.Len(t, stack.published, 1)
	require.Equal(t, "strictcycle-test-cycle", stack.published[0].WorkflowID, "the child ran under the cycle id")
}

// A drill of a service the contract does not know is refused as bad input and
// writes no drill report.
func TestRecoveryDrillUnknownServiceWritesNoReport(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	stack := newFakeStack()
	stack.register(env)
	reports := 0
	env.OnActivity(cycletypes.WriteDrillReportName, anyCtx, anyArg).Return(
		func(context.Context, *cycletypes.DrillReport) (*cycletypes.WriteDrillReportResult, error) {
			reports++
			return &cycletypes.WriteDrillReportResult{}, nil
		}).Maybe()
	env.ExecuteWorkflow(RecoveryDrill, &RecoveryDrillInput{
		Target:  cycletypes.Target{Environment: "test", Root: "/r", Contract: "fake"},
		Service: "no-such-service", Check: "event_store_integrity_freshness",
	})
	require.True(t, env.IsWorkflowCompleted())
	requireBadInput(t, env.GetWorkflowError(), `recovery drill: service "no-such-service" is not in contract fake`)
	require.Zero(t, reports)
	require.Empty(t, stack.stopped)
}

// Waivers shorter than MinWaiver (they would end an approval wait and then
// waive nothing) and beyond MaxWaiver are refused by the validator.
func (s *StrictCycleSuite) TestWaiveExpiryBounds() {
	s.stack.verdict["day2_event_store_gate"] = cycletypes.VerdictStale
	s.stack.protected["ops-scheduler"] = true
	rejected := map[string]string{}
	accepted := map[string]bool{}
	cb := func(id string) *testsuite.TestUpdateCallback {
		return &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { rejected[id] = err.Error() },
			OnAccept:   func() { accepted[id] = true },
			OnComplete: func(any, error) {},
		}
	}
	const check = "day2_event_store_gate"
	start := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	s.env.RegisterDelayedCallback(func() {
		s.env.UpdateWorkflow(UpdateWaive, "ns", cb("ns"), WaiveRequest{Check: check, Reason: "x", By: "c", For: time.Nanosecond})
		s.env.UpdateWorkflow(UpdateWaive, "59s", cb("59s"), WaiveRequest{Check: check, Reason: "x", By: "c", For: 59 * time.Second})
		s.env.UpdateWorkflow(UpdateWaive, "huge", cb("huge"), WaiveRequest{Check: check, Reason: "x", By: "c", For: time.Duration(1<<63 - 1)})
		s.env.UpdateWorkflow(UpdateWaive, "y9999", cb("y9999"), WaiveRequest{Check: check, Reason: "x", By: "c", Expires: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)})
		s.env.UpdateWorkflow(UpdateWaive, "soon", cb("soon"), WaiveRequest{Check: check, Reason: "x", By: "c", Expires: start.Add(time.Minute + time.Second)})
		s.env.UpdateWorkflow(UpdateWaive, "both", cb("both"), WaiveRequest{Check: check, Reason: "x", By: "c", For: time.Hour, Expires: start.Add(2 * time.Hour)})
	}, time.Minute)
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	s.result()
	s.Equal(map[string]string{
		"ns":    "waive: expiry 2000-01-01T00:01:00Z is less than 1m0s away",
		"59s":   "waive: expiry 2000-01-01T00:01:59Z is less than 1m0s away",
		"huge":  "waive: expiry 2292-04-10T23:48:16Z is more than 24h0m0s away",
		"y9999": "waive: expiry 9999-01-01T00:00:00Z is more than 24h0m0s away",
		"soon":  "waive: expiry 2000-01-01T00:01:01Z is less than 1m0s away",
		"both":  "waive: give for or expires, not both",
	}, rejected)
	s.Empty(accepted)
	s.Equal(0, s.stack.restartCalls["ops-scheduler"])
}
