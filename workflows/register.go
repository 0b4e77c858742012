// Package workflows holds the deterministic orchestration of strictcycle: the
// strict promotion cycle and the recovery drill. Every I/O is an activity.
package workflows

import (
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TaskQueue is the default task queue.
const TaskQueue = "strictcycle"

// Workflow type names.
const (
	StrictCycleName    = "StrictCycle"
	RecoveryDrillName  = "RecoveryDrill"
	ScheduledCycleName = "ScheduledCycle"
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
	w.RegisterWorkflowWithOptions(ScheduledCycle, workflow.RegisterOptions{Name: ScheduledCycleName})
}

// WorkflowID builds the business id of a workflow: environment plus purpose
// (e.g. "cycle", "drill-event-store-service"). It is never random, so a
// second start while one runs is refused and an operator finds a run by name.
// The environment must pass config.ValidateEnvironment: its grammar has no
// hyphen, so the id names exactly one (environment, purpose) pair.
func WorkflowID(environment, purpose string) string {
	return "strictcycle-" + environment + "-" + purpose
}

// CycleID is the one id every strict cycle of an environment runs under,
// started by `run` or by the schedule: two cycles of one environment can
// never run at once, by construction.
func CycleID(environment string) string { return WorkflowID(environment, "cycle") }

// CycleStartOptions are the one way a client starts a strict cycle: under
// the environment's cycle id, refused while a cycle of the environment runs
// (conflict policy fail) and, with WorkflowExecutionErrorWhenAlreadyStarted,
// refused as an error: without it the SDK hands back the running cycle, and
// its decision would be taken for the new start's.
func CycleStartOptions(environment, queue string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                                       CycleID(environment),
		TaskQueue:                                queue,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		WorkflowExecutionTimeout:                 CycleTimeout,
	}
}

// DrillID is the id of a recovery drill on one service.
func DrillID(environment, service string) string { return WorkflowID(environment, "drill-"+service) }

// ScheduledID is the id the schedule gives its ScheduledCycle runs (the
// schedule appends its action time).
func ScheduledID(environment string) string { return WorkflowID(environment, "scheduled") }

// ScheduleID is the id of an environment's strict-cycle schedule.
func ScheduleID(environment string) string { return WorkflowID(environment, "schedule") }
