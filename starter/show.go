package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/strictcycle/strictcycle/activities"
	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/gates"
	"github.com/strictcycle/strictcycle/temporalclient"
	"github.com/strictcycle/strictcycle/workflows"
)

var showCmd = cycleCmd("show", nil, func(ctx context.Context, cl client.Client, id, runID string, _ any, out io.Writer) error {
	events, err := temporalclient.History(ctx, cl, id, runID)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "workflow %s", id)
	if runID != "" {
		fmt.Fprintf(out, " run %s", runID)
	}
	fmt.Fprintln(out)
	for _, line := range Timeline(events) {
		fmt.Fprintln(out, line)
	}
	return nil
})

// scheduled remembers what an activity was asked to do until it ends.
type scheduled struct {
	name  string
	input *commonpb.Payloads
	at    time.Time
	start time.Time
	tries int32
}

// Timeline renders a cycle's history as one line per step: when, what,
// how long, and the outcome an engineer needs (verdicts, restarts, waits).
func Timeline(events []*historypb.HistoryEvent) []string {
	dc := converter.GetDefaultDataConverter()
	var lines []string
	var t0 time.Time
	wfType := ""
	acts := map[int64]*scheduled{}
	stamp := func(t time.Time) string { return fmt.Sprintf("%+8.2fs", t.Sub(t0).Seconds()) }
	for _, e := range events {
		at := e.GetEventTime().AsTime()
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			a := e.GetWorkflowExecutionStartedEventAttributes()
			t0 = at
			wfType = a.GetWorkflowType().GetName()
			line := fmt.Sprintf("%s  %s started %s", stamp(at), a.GetWorkflowType().GetName(), at.UTC().Format(time.RFC3339))
			if p := a.GetParentWorkflowExecution().GetWorkflowId(); p != "" {
				line += " by " + p
			}
			var in workflows.StrictCycleInput
			if dc.FromPayloads(a.GetInput(), &in) == nil && in.Environment != "" {
				line += fmt.Sprintf(" env=%s contract=%s root=%s ci=%t", pr(in.Environment), pr(in.Contract), pr(in.Root), in.CI)
			}
			lines = append(lines, line)
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			a := e.GetActivityTaskScheduledEventAttributes()
			acts[e.GetEventId()] = &scheduled{name: a.GetActivityType().GetName(), input: a.GetInput(), at: at}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			a := e.GetActivityTaskStartedEventAttributes()
			if s := acts[a.GetScheduledEventId()]; s != nil {
				s.start, s.tries = at, a.GetAttempt()
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			a := e.GetActivityTaskCompletedEventAttributes()
			s := acts[a.GetScheduledEventId()]
			if s == nil {
				continue
			}
			lines = append(lines, fmt.Sprintf("%s  %-16s %8s  %s%s", stamp(s.at), s.name, dur(at.Sub(s.at)), describe(dc, s, a.GetResult()), attempts(s.tries)))
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED:
			a := e.GetActivityTaskFailedEventAttributes()
			if s := acts[a.GetScheduledEventId()]; s != nil {
				lines = append(lines, fmt.Sprintf("%s  %-16s %8s  error: %s%s", stamp(s.at), s.name, dur(at.Sub(s.at)), pr(a.GetFailure().GetMessage()), attempts(s.tries)))
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
			a := e.GetActivityTaskTimedOutEventAttributes()
			if s := acts[a.GetScheduledEventId()]; s != nil {
				lines = append(lines, fmt.Sprintf("%s  %-16s %8s  timed out: %s%s", stamp(s.at), s.name, dur(at.Sub(s.at)), pr(a.GetFailure().GetMessage()), attempts(s.tries)))
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
			a := e.GetActivityTaskCanceledEventAttributes()
			if s := acts[a.GetScheduledEventId()]; s != nil {
				lines = append(lines, fmt.Sprintf("%s  %-16s %8s  canceled", stamp(s.at), s.name, dur(at.Sub(s.at))))
			}
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
			a := e.GetWorkflowExecutionUpdateAcceptedEventAttributes()
			req := a.GetAcceptedRequest()
			args := ""
			if p := req.GetInput().GetArgs(); p != nil {
				var m map[string]any
				if dc.FromPayloads(p, &m) == nil {
					args = pr(fmt.Sprint(m))
				}
			}
			lines = append(lines, fmt.Sprintf("%s  update %-9s accepted %s", stamp(at), pr(req.GetInput().GetName()), args))
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			a := e.GetTimerStartedEventAttributes()
			lines = append(lines, fmt.Sprintf("%s  timer %s started (%s)", stamp(at), a.GetTimerId(), a.GetStartToFireTimeout().AsDuration()))
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
			a := e.GetWorkflowExecutionCompletedEventAttributes()
			if wfType == workflows.RecoveryDrillName {
				var drill workflows.RecoveryDrillResult
				if dc.FromPayloads(a.GetResult(), &drill) == nil {
					lines = append(lines, fmt.Sprintf("%s  drill %s", stamp(at), drill.Status))
					for _, st := range drill.Steps {
						mark := "ok"
						if !st.OK {
							mark = "FAILED"
						}
						lines = append(lines, fmt.Sprintf("%24s %-20s %-6s %s", "", pr(st.Name), mark, pr(st.Detail)))
					}
					lines = append(lines, fmt.Sprintf("%s  drill report %s", stamp(at), pr(drill.ReportPath)))
				}
				continue
			}
			if wfType == workflows.ScheduledCycleName {
				var sc workflows.ScheduledCycleResult
				if dc.FromPayloads(a.GetResult(), &sc) == nil {
					line := fmt.Sprintf("%s  cycle %s run %s: %s", stamp(at), pr(sc.CycleID), pr(sc.CycleRunID), sc.Status)
					if sc.Skipped {
						line = fmt.Sprintf("%s  %s", stamp(at), pr(sc.Reason))
					} else if sc.Reason != "" {
						line += " — " + pr(sc.Reason)
					}
					lines = append(lines, line)
				}
				continue
			}
			var res workflows.StrictCycleResult
			if dc.FromPayloads(a.GetResult(), &res) == nil && res.Status != "" {
				line := fmt.Sprintf("%s  decision %s", stamp(at), res.Status)
				if res.Reason != "" {
					line += " — " + pr(res.Reason)
				}
				lines = append(lines, line)
				if res.ArtifactPath != "" {
					lines = append(lines, fmt.Sprintf("%s  evidence %s bundle %s", stamp(at), pr(res.ArtifactPath), pr(res.EvidenceBundleID)))
				}
				if res.PublishError != "" {
					lines = append(lines, fmt.Sprintf("%s  publish failed: %s", stamp(at), pr(res.PublishError)))
				}
			}
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
			a := e.GetWorkflowExecutionFailedEventAttributes()
			lines = append(lines, fmt.Sprintf("%s  workflow failed: %s", stamp(at), pr(a.GetFailure().GetMessage())))
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
			lines = append(lines, fmt.Sprintf("%s  workflow terminated: %s", stamp(at), pr(e.GetWorkflowExecutionTerminatedEventAttributes().GetReason())))
		}
	}
	return lines
}

// pr escapes a string read from history for one line of the timeline: a
// reason, path or name a report or a child process chose cannot forge a
// line or reorder the terminal.
func pr(s string) string { return gates.Printable(s) }

func attempts(n int32) string {
	if n > 1 {
		return fmt.Sprintf(" (attempt %d)", n)
	}
	return ""
}

func dur(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

// describe summarises an activity's input and result in one phrase.
func describe(dc converter.DataConverter, s *scheduled, result *commonpb.Payloads) string {
	switch s.name {
	case activities.DescribeContractName:
		var p activities.Plan
		if dc.FromPayloads(result, &p) == nil {
			return fmt.Sprintf("contract %s: %d checks, %d services, window %s", pr(p.Contract), len(p.Checks), len(p.Services), p.Window)
		}
	case activities.RunReplayName:
		var r activities.RunReplayResult
		if dc.FromPayloads(result, &r) == nil {
			if !r.Ran {
				return "replay not run: " + pr(r.Reason)
			}
			return fmt.Sprintf("replay exit %d, status %s, artifact %s", r.ExitCode, pr(string(r.Status)), pr(r.Artifact))
		}
	case activities.EvaluateGatesName:
		var in activities.EvaluateGatesInput
		var r activities.GateSummary
		if dc.FromPayloads(s.input, &in) == nil && dc.FromPayloads(result, &r) == nil {
			what := "gate run"
			if len(in.Only) > 0 {
				what = "recheck " + gates.PrintableList(in.Only)
			}
			out := fmt.Sprintf("%s: %s", what, r.Status)
			for _, p := range r.PreSteps {
				if p.Ran && !p.OK {
					out += fmt.Sprintf("\n%24s PRE-STEP %s: %s", "", pr(p.Name), pr(p.Reason))
				}
			}
			for _, c := range r.Checks {
				if !c.Pass {
					why := c.Reason
					if c.Detail != "" {
						why += ": " + c.Detail
					}
					out += fmt.Sprintf("\n%24s %s %s: %s", "", strings.ToUpper(pr(string(c.Verdict))), pr(c.Name), pr(why))
				}
			}
			if r.ArtifactPath != "" {
				out += fmt.Sprintf("\n%24s artifact %s", "", pr(r.ArtifactPath))
			}
			return out
		}
	case activities.WatchUntilFreshName:
		var in activities.WatchUntilFreshInput
		var r activities.WatchUntilFreshResult
		if dc.FromPayloads(s.input, &in) == nil && dc.FromPayloads(result, &r) == nil {
			what := "wait for natural refresh of"
			if !in.NotBefore.IsZero() {
				what = "watch after restart"
			}
			if in.WantStale {
				what = "wait for staleness of"
			}
			return fmt.Sprintf("%s %s (%s): fresh=%t after %s, %d file events, %d polls: %s",
				what, pr(in.Service), gates.PrintableList(in.Checks), r.Fresh, dur(time.Duration(r.WaitedMS*float64(time.Millisecond))), r.Events, r.Polls, pr(r.Reason))
		}
	case activities.RestartServiceName:
		var r activities.RestartServiceResult
		if dc.FromPayloads(result, &r) == nil {
			out := fmt.Sprintf("%s %s via %s", pr(r.Service), pr(string(r.Outcome)), pr(r.Driver))
			if r.BudgetMax > 0 {
				out += fmt.Sprintf(" (budget %d/%d)", r.BudgetUsed, r.BudgetMax)
			}
			if r.Detail != "" {
				out += ": " + pr(r.Detail)
			}
			return out
		}
	case activities.StopServiceName, activities.StartServiceName:
		var r activities.ServiceActionResult
		if dc.FromPayloads(result, &r) == nil {
			return fmt.Sprintf("%s %s via %s", pr(r.Action), pr(r.Service), pr(r.Driver))
		}
	case activities.PublishDecisionName:
		var r activities.PublishDecisionResult
		if dc.FromPayloads(result, &r) == nil {
			out := "published as " + pr(r.StreamID)
			if r.Transitioned {
				out += fmt.Sprintf(" (status changed from %s)", pr(orNone(r.PreviousStatus)))
			}
			return out
		}
	case activities.WriteDrillReportName:
		var r activities.WriteDrillReportResult
		if dc.FromPayloads(result, &r) == nil {
			return "drill report " + pr(r.Path)
		}
	}
	return "completed"
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func listCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := newCommon("list", stderr)
	if err != nil {
		return fail(stderr, err)
	}
	status := c.fs.String("status", "", "PASS, FAIL or RUNNING (default: any)")
	allEnvs := c.fs.Bool("all-envs", false, "every environment (default: --env only)")
	since := c.fs.Duration("since", 24*time.Hour, "started within this long")
	limit := c.fs.Int("limit", 50, "at most this many")
	if !c.parse(args, stderr) {
		return exitError
	}
	q, err := ListQuery(c.cfg.Environment, *status, *allEnvs, time.Now().Add(-*since))
	if err != nil {
		return fail(stderr, err)
	}
	cl, err := c.dial(ctx)
	if err != nil {
		return fail(stderr, err)
	}
	defer cl.Close()
	resp, err := cl.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, PageSize: int32(*limit)})
	if err != nil {
		return fail(stderr, fmt.Errorf("list cycles (%s): %w", q, err))
	}
	dc := converter.GetDefaultDataConverter()
	fmt.Fprintf(stdout, "%-40s %-20s %-8s %-8s %s\n", "WORKFLOW", "STARTED", "STATUS", "RESTARTS", "FAILURES")
	for _, ex := range resp.GetExecutions() {
		sa := ex.GetSearchAttributes().GetIndexedFields()
		var st, env string
		var restarts int64
		var failures []string
		_ = dc.FromPayload(sa[workflows.SAStatus.GetName()], &st)
		_ = dc.FromPayload(sa[workflows.SAEnvironment.GetName()], &env)
		_ = dc.FromPayload(sa[workflows.SARestarts.GetName()], &restarts)
		_ = dc.FromPayload(sa[workflows.SAFailures.GetName()], &failures)
		fmt.Fprintf(stdout, "%-40s %-20s %-8s %-8d %s\n", ex.GetExecution().GetWorkflowId(),
			ex.GetStartTime().AsTime().UTC().Format("2006-01-02T15:04:05Z"), st, restarts, strings.Join(failures, ","))
	}
	return exitPass
}

// ListQuery builds the visibility query of `list`. Every value in it is
// checked against a closed set or a grammar first, so none can close the
// quoted literal it sits in; the environment is matched exactly.
func ListQuery(env, status string, allEnvs bool, since time.Time) (string, error) {
	parts := []string{fmt.Sprintf("WorkflowType = '%s'", workflows.StrictCycleName)}
	if !allEnvs {
		if err := config.ValidateEnvironment(env); err != nil {
			return "", fmt.Errorf("list cycles: %w", err)
		}
		parts = append(parts, fmt.Sprintf("%s = '%s'", workflows.SAEnvironment.GetName(), env))
	}
	if status != "" {
		st := strings.ToUpper(status)
		if st != gates.StatusPass && st != gates.StatusFail && st != "RUNNING" {
			return "", fmt.Errorf("list cycles: status %q is not PASS, FAIL or RUNNING", status)
		}
		parts = append(parts, fmt.Sprintf("%s = '%s'", workflows.SAStatus.GetName(), st))
	}
	parts = append(parts, fmt.Sprintf("StartTime > '%s'", since.UTC().Format(time.RFC3339)))
	return strings.Join(parts, " AND "), nil
}

func probe(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("probe %s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probe %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probe %s: status %d", url, resp.StatusCode)
	}
	return nil
}
