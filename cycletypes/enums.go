// Package cycletypes holds the types that cross the boundary between the
// strict-cycle workflows and their activities: activity inputs and results,
// and the closed sets (verdict, severity, status, restart outcome, phase)
// as named string types with one spelling each. It imports nothing beyond
// the standard library, so the deterministic workflow code can depend on it
// without linking the Docker client, the Redis store or the file watcher.
//
// The JSON field names and enum values are those recorded in workflow
// histories: renaming one breaks the replay of runs in flight.
package cycletypes

import "time"

// Recovery defaults of a Plan when the contract leaves them unset.
const (
	DefaultWaitFirst     = 30 * time.Second
	DefaultWatchTimeout  = 3 * time.Minute
	DefaultMaxRounds     = 2
	DefaultReplayTimeout = 30 * time.Minute
)

// Verdict is the outcome class of one check. Only VerdictPass passes.
type Verdict string

// Verdicts.
const (
	VerdictPass    Verdict = "pass"
	VerdictFail    Verdict = "fail"
	VerdictStale   Verdict = "stale"
	VerdictMissing Verdict = "missing"
	VerdictError   Verdict = "error"
	VerdictSkipped Verdict = "skipped"
	// VerdictWaived is a critical check an operator waived with a reason and
	// an expiry; it does not fail the status and says so.
	VerdictWaived Verdict = "waived"
)

// Recoverable reports whether a restart of the producing service can cure
// the verdict (a report that is stale or absent).
func (v Verdict) Recoverable() bool { return v == VerdictStale || v == VerdictMissing }

// Severity is a check's severity as the contract declares it.
type Severity string

// Severities.
const (
	SeverityCritical Severity = "critical"
	SeverityWarning  Severity = "warning"
	SeverityInfo     Severity = "info"
)

// Status is the decision of a gate run or a cycle, spelled as the Python
// gate runner writes it.
type Status string

// Statuses. StatusRunning is only a search-attribute value while a cycle
// has not decided yet.
const (
	StatusPass    Status = "PASS"
	StatusFail    Status = "FAIL"
	StatusRunning Status = "RUNNING"
)

// DrillStatus is the verdict of a recovery drill.
type DrillStatus string

// Drill verdicts.
const (
	DrillStatusPass DrillStatus = "pass"
	DrillStatusFail DrillStatus = "fail"
)

// RestartOutcome says what RestartService did; a refusal is an outcome, not
// an error.
type RestartOutcome string

// Restart outcomes.
const (
	RestartDone            RestartOutcome = "restarted"
	RestartAlreadyDone     RestartOutcome = "already_restarted" // a retried attempt: not restarted twice
	RestartDryRun          RestartOutcome = "dry_run"
	RestartBudgetExhausted RestartOutcome = "budget_exhausted"
	RestartLockHeld        RestartOutcome = "lock_held"
	RestartProtected       RestartOutcome = "protected" // needs an approval first
	// RestartUnhealthy: the container was restarted (or started) but
	// exited or turned unhealthy, or stayed starting past the health
	// wait; the round fails closed and does not restart it again.
	RestartUnhealthy RestartOutcome = "unhealthy"
)

// Restarted reports whether the service was (or had already been) restarted.
func (o RestartOutcome) Restarted() bool {
	return o == RestartDone || o == RestartAlreadyDone || o == RestartUnhealthy
}

// Phase is where a strict cycle is, as the status query and the
// StrictCyclePhase search attribute show it.
type Phase string

// Phases of a strict cycle.
const (
	PhasePlan       Phase = "plan"
	PhaseReplay     Phase = "replay"
	PhaseGates      Phase = "gates"
	PhaseWaitFirst  Phase = "wait_first"
	PhaseApproval   Phase = "awaiting_approval"
	PhaseRestart    Phase = "restarting"
	PhaseWatch      Phase = "watching"
	PhaseRecheck    Phase = "rechecking"
	PhaseFinalGates Phase = "final_gates"
	PhasePublish    Phase = "publishing"
	PhaseDone       Phase = "done"
)

// Activity names as registered on the worker (the method names of the
// activities struct). Workflows refer to them through these constants.
const (
	DescribeContractName = "DescribeContract"
	RunReplayName        = "RunReplay"
	EvaluateGatesName    = "EvaluateGates"
	RestartServiceName   = "RestartService"
	StopServiceName      = "StopService"
	StartServiceName     = "StartService"
	WatchUntilFreshName  = "WatchUntilFresh"
	PublishDecisionName  = "PublishDecision"
	WriteDrillReportName = "WriteDrillReport"
)

// Non-retryable application error types.
const (
	ErrTypeBadContract = "BadContract" // contract cannot be loaded or validated
	ErrTypeBadInput    = "BadInput"    // input names an unknown service or check
	ErrTypeDriver      = "DriverMisconfigured"
	// ErrTypeNoStore: the worker was built without a Redis store.
	ErrTypeNoStore = "StoreNotConfigured"
	// ErrTypeContractChanged: the contract an activity loaded is not the one
	// the cycle planned with (its bytes changed mid-cycle).
	ErrTypeContractChanged = "ContractChanged"
)

// NonRetryableErrorTypes lists every error type a workflow must not retry.
func NonRetryableErrorTypes() []string {
	return []string{ErrTypeBadContract, ErrTypeBadInput, ErrTypeDriver, ErrTypeContractChanged}
}
