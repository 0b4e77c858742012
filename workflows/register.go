// Package workflows holds the deterministic orchestration of strictcycle: the
// strict promotion cycle and the recovery drill. Every I/O is an activity.
package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TaskQueue is the default task queue.
const TaskQueue = "strictcycle"

// Workflow type names.
const (
	StrictCycleName   = "StrictCycle"
	RecoveryDrillName = "RecoveryDrill"
)

// Search attributes set by the workflows; the dev server registers them and
// the compose deployment's setup job does too.
var (
	SAStatus      = temporal.NewSearchAttributeKeyKeyword("StrictCycleStatus")
	SAEnvironment = temporal.NewSearchAttributeKeyKeyword("StrictCycleEnvironment")
	SAFailures    = temporal.NewSearchAttributeKeyKeywordList("StrictCycleFailures")
	SARestarts    = temporal.NewSearchAttributeKeyInt64("StrictCycleRestarts")
	SAPhase       = temporal.NewSearchAttributeKeyKeyword("StrictCyclePhase")
)

// SearchAttributeKeys lists every key, for registration.
func SearchAttributeKeys() []temporal.SearchAttributeKey {
	return []temporal.SearchAttributeKey{SAStatus, SAEnvironment, SAFailures, SARestarts, SAPhase}
}

// Register registers the workflows on a worker.
func Register(w worker.WorkflowRegistry) {
	w.RegisterWorkflowWithOptions(StrictCycle, workflow.RegisterOptions{Name: StrictCycleName})
	w.RegisterWorkflowWithOptions(RecoveryDrill, workflow.RegisterOptions{Name: RecoveryDrillName})
}

// WorkflowID builds the business id of a workflow: environment plus purpose
// (e.g. "cycle", "drill-event-store-service"). It is never random, so a
// second start while one runs is refused and an operator finds a run by name.
func WorkflowID(environment, purpose string) string {
	return "strictcycle-" + environment + "-" + purpose
}
