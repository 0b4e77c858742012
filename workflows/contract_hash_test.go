package workflows

import (
	"context"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/strictcycle/strictcycle/cycletypes"
)

// fakeContractSHA256 is the contract hash the fake plan returns.
const fakeContractSHA256 = "5ha256-of-the-fake-contract"

// TestContractHashInEveryInput: after the plan, every activity of a cycle
// that replays, restarts and watches carries the planned contract's hash,
// so each one judges the contract the cycle planned with.
func (s *StrictCycleSuite) TestContractHashInEveryInput() {
	s.stack.replayCheck = "replay_regression_cycle"
	s.stack.verdict["event_store_integrity_freshness"] = cycletypes.VerdictStale
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusPass, res.Status)

	s.Require().Len(s.stack.replayInputs, 1)
	s.Equal(fakeContractSHA256, s.stack.replayInputs[0].ContractSHA256)
	s.Require().Len(s.stack.evaluateInputs, 3, "gate run, recheck, final gate run")
	for i, in := range s.stack.evaluateInputs {
		s.Equal(fakeContractSHA256, in.ContractSHA256, "evaluate %d", i)
	}
	s.Require().NotEmpty(s.stack.restartInputs)
	for i, in := range s.stack.restartInputs {
		s.Equal(fakeContractSHA256, in.ContractSHA256, "restart %d", i)
	}
	s.Require().Len(s.stack.watchInputs, 2, "wait first, watch after the restart")
	for i, in := range s.stack.watchInputs {
		s.Equal(fakeContractSHA256, in.ContractSHA256, "watch %d", i)
	}
}

// TestContractChangedFailsClosed: an activity that finds another contract
// than the planned one fails the cycle closed at once, without a retry.
func (s *StrictCycleSuite) TestContractChangedFailsClosed() {
	calls := 0
	s.env.OnActivity(cycletypes.EvaluateGatesName, anyCtx, anyArg).Return(
		func(_ context.Context, in *cycletypes.EvaluateGatesInput) (*cycletypes.GateSummary, error) {
			calls++
			s.Equal(fakeContractSHA256, in.ContractSHA256)
			return nil, temporal.NewNonRetryableApplicationError("load contract \"fake\": the contract changed mid-cycle", cycletypes.ErrTypeContractChanged, nil)
		})
	s.env.ExecuteWorkflow(StrictCycle, s.input())
	res := s.result()
	s.Equal(cycletypes.StatusFail, res.Status)
	s.Equal("gate run could not complete: load contract \"fake\": the contract changed mid-cycle", res.Reason)
	s.Equal(1, calls, "a changed contract is not retried")
	s.Equal(1, s.stack.publishCalls)
}

// TestDrillCarriesContractHash: the drill's activities after its plan carry
// the planned hash too.
func (s *StrictCycleSuite) TestDrillCarriesContractHash() {
	s.env.ExecuteWorkflow(RecoveryDrill, &RecoveryDrillInput{
		Target:  cycletypes.Target{Environment: "test", Root: "/r", Contract: "fake"},
		Service: "event-store-service", Check: "event_store_integrity_freshness", StaleTimeout: time.Minute,
	})
	s.Require().True(s.env.IsWorkflowCompleted())
	s.Require().NoError(s.env.GetWorkflowError())
	s.Require().NotEmpty(s.stack.evaluateInputs)
	s.Require().Len(s.stack.actionInputs, 2, "stop and start")
	s.Require().NotEmpty(s.stack.watchInputs)
	for _, in := range s.stack.evaluateInputs {
		s.Equal(fakeContractSHA256, in.ContractSHA256)
	}
	for _, in := range s.stack.actionInputs {
		s.Equal(fakeContractSHA256, in.ContractSHA256)
	}
	for _, in := range s.stack.watchInputs {
		s.Equal(fakeContractSHA256, in.ContractSHA256)
	}
}
