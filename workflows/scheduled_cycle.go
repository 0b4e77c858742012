package workflows

import (
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/cycletypes"
)

// CycleTimeout bounds one strict cycle, however it was started.
const CycleTimeout = 2 * time.Hour

// versionValidateEnvironment guards the environment check at the start of
// StrictCycle and RecoveryDrill: runs recorded before it (some with names the
// grammar now refuses) replay without it.
const versionValidateEnvironment = "validate-environment"

// checkEnvironment refuses an environment name outside config's grammar with
// a non-retryable error, before any command.
func checkEnvironment(ctx workflow.Context, env string) error {
	if workflow.GetVersion(ctx, versionValidateEnvironment, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil
	}
	return validEnvironment(env)
}

func validEnvironment(env string) error {
	if err := config.ValidateEnvironment(env); err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), cycletypes.ErrTypeBadInput, nil)
	}
	return nil
}

// ScheduledCycle is the schedule's action. It starts the environment's
// StrictCycle as a child under the one id a manual `run` uses too, so a
// manual and a scheduled cycle of one environment never run at once: when
// one runs, the server refuses the child start and this run ends with a
// recorded "skipped" result. No visibility query is involved, so nothing can
// race.
func ScheduledCycle(ctx workflow.Context, in *StrictCycleInput) (*ScheduledCycleResult, error) {
	if in == nil || in.Root == "" || in.Contract == "" {
		return nil, temporal.NewNonRetryableApplicationError("scheduled cycle input needs environment, root and contract", cycletypes.ErrTypeBadInput, nil)
	}
	if err := validEnvironment(in.Environment); err != nil {
		return nil, err
	}
	id := CycleID(in.Environment)
	res := &ScheduledCycleResult{CycleID: id}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:               id,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowExecutionTimeout: CycleTimeout,
		// A cycle may be restarting a service: it finishes (and releases
		// its lock) even if this wrapper is terminated.
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
		StaticSummary:     "scheduled strict cycle of " + in.Environment,
	})
	f := workflow.ExecuteChildWorkflow(cctx, StrictCycleName, in)
	var exec workflow.Execution
	if err := f.GetChildWorkflowExecution().Get(ctx, &exec); err != nil {
		if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
			res.Skipped = true
			res.Reason = fmt.Sprintf("skipped: cycle %s running", id)
			workflow.GetLogger(ctx).Info("scheduled cycle skipped: a cycle is running", "cycle", id)
			return res, nil
		}
		return nil, fmt.Errorf("start cycle %s: %w", id, err)
	}
	res.CycleRunID = exec.RunID
	var cycle StrictCycleResult
	if err := f.Get(ctx, &cycle); err != nil {
		return nil, fmt.Errorf("cycle %s run %s: %w", id, exec.RunID, err)
	}
	res.Status, res.Reason = cycle.Status, cycle.Reason
	return res, nil
}
