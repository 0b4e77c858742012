package workflows

import (
	"errors"

	"go.temporal.io/sdk/workflow"
)

// StrictCycle runs replay, gate run, watch until fresh, recovery rounds and
// the decision.
func StrictCycle(ctx workflow.Context, in *StrictCycleInput) (*StrictCycleResult, error) {
	return nil, errors.New("not implemented")
}

// RecoveryDrill proves the gate fails closed when a producer is down and
// passes again once it is back.
func RecoveryDrill(ctx workflow.Context, in *RecoveryDrillInput) (*RecoveryDrillResult, error) {
	return nil, errors.New("not implemented")
}
