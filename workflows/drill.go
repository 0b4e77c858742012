package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/strictcycle/strictcycle/cycletypes"
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
		return nil, temporal.NewNonRetryableApplicationError("recovery drill input needs environment, root, contract, service and check", cycletypes.ErrTypeBadInput, nil)
	}
	if err := checkEnvironment(ctx, in.Environment); err != nil {
		return nil, err
	}
	d := &drill{in: in, runID: workflow.GetInfo(ctx).WorkflowExecution.RunID}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() ([]cycletypes.DrillStep, error) {
		return slices.Clone(d.steps), nil
	}); err != nil {
		return nil, fmt.Errorf("set status query: %w", err)
	}
	return d.run(ctx)
}

type drill struct {
	in    *RecoveryDrillInput
	runID string
	steps []cycletypes.DrillStep
	plan  cycletypes.Plan
	// contractSHA256 is the planned contract's hash (see target).
	contractSHA256 string
}

// target is the drill's stack with the planned contract's hash once the
// plan is loaded.
func (d *drill) target() cycletypes.Target {
	t := d.in.Target
	t.ContractSHA256 = d.contractSHA256
	return t
}

func (d *drill) step(ctx workflow.Context, name string, ok bool, detail string) bool {
	d.steps = append(d.steps, cycletypes.DrillStep{Name: name, OK: ok, Detail: detail, At: workflow.Now(ctx)})
	return ok
}

func (d *drill) evaluate(ctx workflow.Context, only []string, write bool) (*cycletypes.GateSummary, error) {
	var out cycletypes.GateSummary
	err := workflow.ExecuteActivity(withOptions(ctx, evaluateOptions, "gate run"), cycletypes.EvaluateGatesName,
		&cycletypes.EvaluateGatesInput{Target: d.target(), NoCommands: d.in.NoCommands, Only: only, RunID: d.runID, WriteArtifacts: write}).Get(ctx, &out)
	return &out, err
}

func (d *drill) service(ctx workflow.Context, name, action string) (*cycletypes.ServiceActionResult, error) {
	var out cycletypes.ServiceActionResult
	err := workflow.ExecuteActivity(withOptions(ctx, drillOptions, action+" "+d.in.Service), name,
		&cycletypes.ServiceActionInput{Target: d.target(), Service: d.in.Service, RunID: d.runID}).Get(ctx, &out)
	return &out, err
}

func (d *drill) watch(ctx workflow.Context, wantStale bool, notBefore time.Time, timeout time.Duration) (*cycletypes.WatchUntilFreshResult, error) {
	var out cycletypes.WatchUntilFreshResult
	opts := watchOptions
	opts.StartToCloseTimeout = timeout + time.Minute
	summary := "watch " + d.in.Check + " until fresh"
	if wantStale {
		summary = "watch " + d.in.Check + " until stale"
	}
	err := workflow.ExecuteActivity(withOptions(ctx, opts, summary), cycletypes.WatchUntilFreshName,
		&cycletypes.WatchUntilFreshInput{Target: d.target(), Service: d.in.Service, Checks: []string{d.in.Check},
			NotBefore: notBefore, Timeout: timeout, WantStale: wantStale}).Get(ctx, &out)
	return &out, err
}

func (d *drill) run(ctx workflow.Context) (*RecoveryDrillResult, error) {
	res := &RecoveryDrillResult{Status: cycletypes.DrillStatusFail}
	// A drill that cannot start (no contract, a service or check the
	// contract does not have) is an error, not a failed drill: it writes no
	// drill report, so reports/recovery/latest.json keeps the last real one.
	// Histories from before this rule wrote a failed report instead.
	planErr := workflow.ExecuteActivity(withOptions(ctx, planOptions, "load contract "+d.in.Contract), cycletypes.DescribeContractName, d.in.Target).Get(ctx, &d.plan)
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
			return nil, temporal.NewNonRetryableApplicationError("recovery drill: "+msg, cycletypes.ErrTypeBadInput, nil)
		}
		d.step(ctx, DrillBaseline, false, msg)
		return d.finish(ctx, res)
	}

	d.contractSHA256 = plannedContract(ctx, &d.plan)

	base, err := d.evaluate(ctx, []string{d.in.Check}, false)
	if !d.step(ctx, DrillBaseline, err == nil && base.Status == cycletypes.StatusPass, summaryDetail(base, err)) {
		return d.finish(ctx, res)
	}

	_, err = d.service(ctx, cycletypes.StopServiceName, "stop")
	stopped := d.step(ctx, DrillStop, err == nil, detailOf("stopped "+d.in.Service, err))
	ok := stopped
	if ok {
		timeout := d.in.StaleTimeout
		if timeout <= 0 {
			// The plan's window is the engine's (gates.DefaultWindow when
			// the contract sets none): wait it out, plus a margin.
			timeout = d.plan.Window + 5*time.Minute
		}
		w, err := d.watch(ctx, true, time.Time{}, timeout)
		ok = d.step(ctx, DrillGoesStale, err == nil && !w.Fresh, watchDetail(w, err))
	}
	if ok {
		full, err := d.evaluate(ctx, nil, true)
		failedClosed := err == nil && full.Status == cycletypes.StatusFail && slices.Contains(full.CriticalFailures, d.in.Check)
		detail := summaryDetail(full, err)
		if err == nil && full.Status == cycletypes.StatusFail && !failedClosed {
			detail = fmt.Sprintf("expected %s among critical failures, got %s", d.in.Check, strings.Join(full.CriticalFailures, ","))
		}
		ok = d.step(ctx, DrillFailClosed, failedClosed, detail)
	}

	// Recovery runs whatever happened above, so a drill never leaves a
	// service it stopped down.
	var startedAt time.Time
	if stopped {
		sr, err := d.service(ctx, cycletypes.StartServiceName, "start")
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
		ok = d.step(ctx, DrillPass, err == nil && full.Status == cycletypes.StatusPass, summaryDetail(full, err))
	}
	if ok {
		res.Status = cycletypes.DrillStatusPass
	}
	return d.finish(ctx, res)
}

// versionDrillBadInput: a drill whose contract, service or check is wrong
// fails with an error and writes no drill report.
const versionDrillBadInput = "drill-bad-input-is-error"

func (d *drill) checkInput(planErr error) error {
	if planErr != nil {
		return temporal.NewNonRetryableApplicationError("recovery drill: load contract "+d.in.Contract+": "+errMessage(planErr), cycletypes.ErrTypeBadContract, nil)
	}
	if _, ok := d.plan.Services[d.in.Service]; !ok {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("recovery drill: service %q is not in contract %s", d.in.Service, d.plan.Contract), cycletypes.ErrTypeBadInput, nil)
	}
	if !slices.ContainsFunc(d.plan.Checks, func(c cycletypes.PlanCheck) bool { return c.Name == d.in.Check }) {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("recovery drill: check %q is not in contract %s", d.in.Check, d.plan.Contract), cycletypes.ErrTypeBadInput, nil)
	}
	return nil
}

func (d *drill) finish(ctx workflow.Context, res *RecoveryDrillResult) (*RecoveryDrillResult, error) {
	res.Steps = d.steps
	report := &cycletypes.DrillReport{
		TsUTC:       workflow.Now(ctx).UTC().Format(time.RFC3339Nano),
		Environment: d.in.Environment,
		WorkflowID:  workflow.GetInfo(ctx).WorkflowExecution.ID,
		Service:     d.in.Service,
		Check:       d.in.Check,
		Status:      res.Status,
		Steps:       d.steps,
		Root:        d.in.Root,
	}
	var out cycletypes.WriteDrillReportResult
	if err := workflow.ExecuteActivity(withOptions(ctx, drillOptions, "write drill report"), cycletypes.WriteDrillReportName, report).Get(ctx, &out); err != nil {
		return res, fmt.Errorf("write drill report: %w", err)
	}
	res.ReportPath = out.Path
	return res, nil
}

func summaryDetail(s *cycletypes.GateSummary, err error) string {
	if err != nil {
		return "gate run could not complete: " + errMessage(err)
	}
	var parts []string
	for _, c := range s.Checks {
		if !c.Pass {
			why := c.Reason
			if c.Detail != "" {
				why += ": " + c.Detail
			}
			parts = append(parts, fmt.Sprintf("%s %s: %s", c.Name, c.Verdict, why))
		}
	}
	if len(parts) == 0 {
		return "status " + string(s.Status)
	}
	return "status " + string(s.Status) + "; " + strings.Join(parts, "; ")
}

func watchDetail(w *cycletypes.WatchUntilFreshResult, err error) string {
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
