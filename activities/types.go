package activities

import "github.com/strictcycle/strictcycle/cycletypes"

// The activities' inputs, results and constants are declared in cycletypes,
// which the workflows import without linking this package's dependencies
// (the Docker client, the Redis store, fsnotify). These aliases keep the
// activity signatures readable and the callers that name them here working.
type (
	Target                 = cycletypes.Target
	RunReplayInput         = cycletypes.RunReplayInput
	RunReplayResult        = cycletypes.RunReplayResult
	EvaluateGatesInput     = cycletypes.EvaluateGatesInput
	CheckSummary           = cycletypes.CheckSummary
	GateSummary            = cycletypes.GateSummary
	RestartServiceInput    = cycletypes.RestartServiceInput
	RestartServiceResult   = cycletypes.RestartServiceResult
	ServiceActionInput     = cycletypes.ServiceActionInput
	ServiceActionResult    = cycletypes.ServiceActionResult
	WatchUntilFreshInput   = cycletypes.WatchUntilFreshInput
	WatchUntilFreshResult  = cycletypes.WatchUntilFreshResult
	PublishDecisionInput   = cycletypes.PublishDecisionInput
	PublishDecisionResult  = cycletypes.PublishDecisionResult
	DrillReport            = cycletypes.DrillReport
	DrillStep              = cycletypes.DrillStep
	WriteDrillReportResult = cycletypes.WriteDrillReportResult
	Plan                   = cycletypes.Plan
	PlanCheck              = cycletypes.PlanCheck
	PlanService            = cycletypes.PlanService
)

// Activity names, error types and restart outcomes (see cycletypes).
const (
	DescribeContractName = cycletypes.DescribeContractName
	RunReplayName        = cycletypes.RunReplayName
	EvaluateGatesName    = cycletypes.EvaluateGatesName
	RestartServiceName   = cycletypes.RestartServiceName
	StopServiceName      = cycletypes.StopServiceName
	StartServiceName     = cycletypes.StartServiceName
	WatchUntilFreshName  = cycletypes.WatchUntilFreshName
	PublishDecisionName  = cycletypes.PublishDecisionName
	WriteDrillReportName = cycletypes.WriteDrillReportName

	ErrTypeBadContract     = cycletypes.ErrTypeBadContract
	ErrTypeBadInput        = cycletypes.ErrTypeBadInput
	ErrTypeDriver          = cycletypes.ErrTypeDriver
	ErrTypeNoStore         = cycletypes.ErrTypeNoStore
	ErrTypeContractChanged = cycletypes.ErrTypeContractChanged

	RestartDone            = cycletypes.RestartDone
	RestartAlreadyDone     = cycletypes.RestartAlreadyDone
	RestartDryRun          = cycletypes.RestartDryRun
	RestartBudgetExhausted = cycletypes.RestartBudgetExhausted
	RestartLockHeld        = cycletypes.RestartLockHeld
	RestartProtected       = cycletypes.RestartProtected
	RestartUnhealthy       = cycletypes.RestartUnhealthy
)
