package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/strictcycle/strictcycle/activities"
	"github.com/strictcycle/strictcycle/gates"
)

// Drill step names, in order.
const (
	DrillBaseline   = "baseline_pass"
	DrillStop       = "stop_service"
	DrillGoesStale  = "check_goes_stale"
	DrillFailClosed = "gate_fails_closed"
	DrillStart      = "start_service"
	DrillFresh      = "report_fresh_again"
	DrillPass       = "gate_passes_again"
)

// versionDrillUnknownService guards the refusal of an unknown service.
const versionDrillUnknownService = "drill-unknown-service-is-bad-input"

// RecoveryDrill is a game day on one service: it proves the gate fails
// closed with the expected critical failure while the service is down, and
// passes again once it is back. The service is always started again, even
// when a step before fails.
func RecoveryDrill(ctx workflow.Context, in *RecoveryDrillInput) (*RecoveryDrillResult, error) {
	if in == nil || in.Environment == "" || in.Root == "" || in.Contract == "" || in.Service == "" || in.Check == "" {
		return nil, temporal.NewNonRetryableApplicationError("recovery drill input needs environment, root, contract, service and check", activities.ErrTypeBadInput, nil)
	}
	if err := checkEnvironment(ctx, in.Environment); err != nil {
		return nil, err
	}
	d := &drill{in: in, runID: workflow.GetInfo(ctx).WorkflowExecution.RunID}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() ([]activities.DrillStep, error) {
		return slices.Clone(d.steps), nil
	}); err != nil {
		return nil, fmt.Errorf("set status query: %w", err)
	}
	return d.run(ctx)
}

type drill struct {
	in    *RecoveryDrillInput
	runID string
	steps []activities.DrillStep
	plan  activities.Plan
}

func (d *drill) step(ctx workflow.Context, name string, ok bool, detail string) bool {
	d.steps = append(d.steps, activities.DrillStep{Name: name, OK: ok, Detail: detail, At: workflow.Now(ctx)})
	return ok
}

func (d *drill) evaluate(ctx workflow.Context, only []string, write bool) (*activities.GateSummary, error) {
	var out activities.GateSummary
	err := workflow.ExecuteActivity(withOptions(ctx, evaluateOptions, "gate run"), activities.EvaluateGatesName,
		&activities.EvaluateGatesInput{Target: d.in.Target, NoCommands: d.in.NoCommands, Only: only, RunID: d.runID, WriteArtifacts: write}).Get(ctx, &out)
	return &out, err
}

func (d *drill) service(ctx workflow.Context, name, action string) (*activities.ServiceActionResult, error) {
	var out activities.ServiceActionResult
	err := workflow.ExecuteActivity(withOptions(ctx, drillOptions, action+" "+d.in.Service), name,
		&activities.ServiceActionInput{Target: d.in.Target, Service: d.in.Service, RunID: d.runID}).Get(ctx, &out)
	return &out, err
}

func (d *drill) watch(ctx workflow.Context, wantStale bool, notBefore time.Time, timeout time.Duration) (*activities.WatchUntilFreshResult, error) {
	var out activities.WatchUntilFreshResult
	opts := watchOptions
	opts.StartToCloseTimeout = timeout + time.Minute
	summary := "watch " + d.in.Check + " until fresh"
	if wantStale {
		summary = "watch " + d.in.Check + " until stale"
	}
	err := workflow.ExecuteActivity(withOptions(ctx, opts, summary), activities.WatchUntilFreshName,
		&activities.WatchUntilFreshInput{Target: d.in.Target, Service: d.in.Service, Checks: []string{d.in.Check},
			NotBefore: notBefore, Timeout: timeout, WantStale: wantStale}).Get(ctx, &out)
	return &out, err
}

func (d *drill) run(ctx workflow.Context) (*RecoveryDrillResult, error) {
	res := &RecoveryDrillResult{Status: "fail"}
	// A drill that cannot start (no contract, a service or check the
	// contract does not have) is an error, not a failed drill: it writes no
	// drill report, so reports/recovery/latest.json keeps the last real one.
	// Histories from before this rule wrote a failed report instead.
	planErr := workflow.ExecuteActivity(withOptions(ctx, planOptions, "load contract "+d.in.Contract), activities.DescribeContractName, d.in.Target).Get(ctx, &d.plan)
	if v := workflow.GetVersion(ctx, versionDrillBadInput, workflow.DefaultVersion, 1); v >= 1 {
		if err := d.checkInput(planErr); err != nil {
			return nil, err
		}
	}
	if planErr != nil {
		d.step(ctx, DrillBaseline, false, "load contract: "+errMessage(planErr))
		return d.finish(ctx, res)
	}
	if _, ok := d.plan.Services[d.in.Service]; !ok {
		msg := fmt.Sprintf("service %q is not in contract %s", d.in.Service, d.plan.Contract)
		// A drill of a service the contract does not know is bad input, not
		// a failed drill: it writes no drill report (the last real one
		// stays in reports/recovery/latest.json).
		if workflow.GetVersion(ctx, versionDrillUnknownService, workflow.DefaultVersion, 1) >= 1 {
			return nil, temporal.NewNonRetryableApplicationError("recovery drill: "+msg, activities.ErrTypeBadInput, nil)
		}
		d.step(ctx, DrillBaseline, false, msg)
		return d.finish(ctx, res)
	}

	base, err := d.evaluate(ctx, []string{d.in.Check}, false)
	if !d.step(ctx, DrillBaseline, err == nil && base.Status == gates.StatusPass, summaryDetail(base, err)) {
		return d.finish(ctx, res)
	}

	_, err = d.service(ctx, activities.StopServiceName, "stop")
	stopped := d.step(ctx, DrillStop, err == nil, detailOf("stopped "+d.in.Service, err))
	ok := stopped
	if ok {
		timeout := d.in.StaleTimeout
		if timeout <= 0 {
			timeout = d.plan.Window + 5*time.Minute
		}
		w, err := d.watch(ctx, true, time.Time{}, timeout)
		ok = d.step(ctx, DrillGoesStale, err == nil && !w.Fresh, watchDetail(w, err))
	}
	if ok {
		full, err := d.evaluate(ctx, nil, true)
		failedClosed := err == nil && full.Status == gates.StatusFail && slices.Contains(full.CriticalFailures, d.in.Check)
		detail := summaryDetail(full, err)
		if err == nil && full.Status == gates.StatusFail && !failedClosed {
			detail = fmt.Sprintf("expected %s among critical failures, got %s", d.in.Check, strings.Join(full.CriticalFailures, ","))
		}
		ok = d.step(ctx, DrillFailClosed, failedClosed, detail)
	}

	// Recovery runs whatever happened above, so a drill never leaves a
	// service it stopped down.
	var startedAt time.Time
	if stopped {
		sr, err := d.service(ctx, activities.StartServiceName, "start")
		if err == nil {
			startedAt = sr.At
		}
		ok = d.step(ctx, DrillStart, err == nil, detailOf("started "+d.in.Service, err)) && ok
	}
	if ok {
		w, err := d.watch(ctx, false, startedAt, d.plan.WatchTimeout)
		ok = d.step(ctx, DrillFresh, err == nil && w.Fresh, watchDetail(w, err))
	}
	if ok {
		full, err := d.evaluate(ctx, nil, true)
		ok = d.step(ctx, DrillPass, err == nil && full.Status == gates.StatusPass, summaryDetail(full, err))
	}
	if ok {
		res.Status = "pass"
	}
	return d.finish(ctx, res)
}

// versionDrillBadInput: a drill whose contract, service or check is wrong
// fails with an error and writes no drill report.
const versionDrillBadInput = "drill-bad-input-is-error"

func (d *drill) checkInput(planErr error) error {
	if planErr != nil {
		return temporal.NewNonRetryableApplicationError("recovery drill: load contract "+d.in.Contract+": "+errMessage(planErr), activities.ErrTypeBadContract, nil)
	}
	if _, ok := d.plan.Services[d.in.Service]; !ok {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("recovery drill: service %q is not in contract %s", d.in.Service, d.plan.Contract), activities.ErrTypeBadInput, nil)
	}
	if !slices.ContainsFunc(d.plan.Checks, func(c activities.PlanCheck) bool { return c.Name == d.in.Check }) {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("recovery drill: check %q is not in contract %s", d.in.Check, d.plan.Contract), activities.ErrTypeBadInput, nil)
	}
	return nil
}

func (d *drill) finish(ctx workflow.Context, res *RecoveryDrillResult) (*RecoveryDrillResult, error) {
	res.Steps = d.steps
	report := &activities.DrillReport{
		TsUTC:       workflow.Now(ctx).UTC().Format(time.RFC3339Nano),
		Environment: d.in.Environment,
		WorkflowID:  workflow.GetInfo(ctx).WorkflowExecution.ID,
		Service:     d.in.Service,
		Check:       d.in.Check,
		Status:      res.Status,
		Steps:       d.steps,
		Root:        d.in.Root,
	}
	var out activities.WriteDrillReportResult
	if err := workflow.ExecuteActivity(withOptions(ctx, drillOptions, "write drill report"), activities.WriteDrillReportName, report).Get(ctx, &out); err != nil {
		return res, fmt.Errorf("write drill report: %w", err)
	}
	res.ReportPath = out.Path
	return res, nil
}

func summaryDetail(s *activities.GateSummary, err error) string {
	if err != nil {
		return "gate run could not complete: " + errMessage(err)
	}
	var parts []string
	for _, c := range s.Checks {
		if !c.Pass {
			parts = append(parts, fmt.Sprintf("%s %s: %s", c.Name, c.Verdict, c.Reason))
		}
	}
	if len(parts) == 0 {
		return "status " + s.Status
	}
	return "status " + s.Status + "; " + strings.Join(parts, "; ")
}

func watchDetail(w *activities.WatchUntilFreshResult, err error) string {
	if err != nil {
		return "watch could not complete: " + errMessage(err)
	}
	return fmt.Sprintf("fresh=%t after %.0fms: %s", w.Fresh, w.WaitedMS, w.Reason)
}

func detailOf(ok string, err error) string {
	if err != nil {
		return errMessage(err)
	}
	return ok
}
