package activities

import (
	"context"
	"errors"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
)

// Activities holds the dependencies of every activity.
type Activities struct{}

// Register registers the activities on a worker under their method names.
func Register(w worker.Registry, a *Activities) {
	w.RegisterActivityWithOptions(a.RunReplay, activity.RegisterOptions{Name: RunReplayName})
	w.RegisterActivityWithOptions(a.EvaluateGates, activity.RegisterOptions{Name: EvaluateGatesName})
	w.RegisterActivityWithOptions(a.RestartService, activity.RegisterOptions{Name: RestartServiceName})
	w.RegisterActivityWithOptions(a.StopService, activity.RegisterOptions{Name: StopServiceName})
	w.RegisterActivityWithOptions(a.StartService, activity.RegisterOptions{Name: StartServiceName})
	w.RegisterActivityWithOptions(a.WatchUntilFresh, activity.RegisterOptions{Name: WatchUntilFreshName})
	w.RegisterActivityWithOptions(a.PublishDecision, activity.RegisterOptions{Name: PublishDecisionName})
	w.RegisterActivityWithOptions(a.WriteDrillReport, activity.RegisterOptions{Name: WriteDrillReportName})
}

var errTODO = errors.New("not implemented")

func (a *Activities) RunReplay(ctx context.Context, in *RunReplayInput) (*RunReplayResult, error) {
	return nil, errTODO
}
func (a *Activities) EvaluateGates(ctx context.Context, in *EvaluateGatesInput) (*GateSummary, error) {
	return nil, errTODO
}
func (a *Activities) RestartService(ctx context.Context, in *RestartServiceInput) (*RestartServiceResult, error) {
	return nil, errTODO
}
func (a *Activities) StopService(ctx context.Context, in *ServiceActionInput) (*ServiceActionResult, error) {
	return nil, errTODO
}
func (a *Activities) StartService(ctx context.Context, in *ServiceActionInput) (*ServiceActionResult, error) {
	return nil, errTODO
}
func (a *Activities) WatchUntilFresh(ctx context.Context, in *WatchUntilFreshInput) (*WatchUntilFreshResult, error) {
	return nil, errTODO
}
func (a *Activities) PublishDecision(ctx context.Context, in *PublishDecisionInput) (*PublishDecisionResult, error) {
	return nil, errTODO
}
func (a *Activities) WriteDrillReport(ctx context.Context, in *DrillReport) (*WriteDrillReportResult, error) {
	return nil, errTODO
}
