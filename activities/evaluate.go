package activities

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/strictcycle/strictcycle/cycletypes"
	"github.com/strictcycle/strictcycle/gates"
)

// EvaluateGates evaluates the contract (or the Only checks), writes the
// artifacts when asked, and returns the small summary kept in history.
func (a *Activities) EvaluateGates(ctx context.Context, in *EvaluateGatesInput) (*GateSummary, error) {
	start := time.Now()
	c, e, err := a.engine(in.Target, in.NoCommands)
	if err != nil {
		return nil, err
	}
	if err := checkNames(c, in.Only); err != nil {
		return nil, err
	}
	// Command checks can run for minutes: heartbeat while the engine runs.
	stop := a.heartbeatWhile(ctx)
	rep, err := e.Run(ctx, gates.RunOptions{Only: in.Only, Waivers: in.Waivers, RunID: in.RunID})
	stop()
	if err != nil {
		return nil, fmt.Errorf("evaluate gates of %q: %w", in.Contract, err)
	}
	sum := Summarize(rep)
	if in.WriteArtifacts {
		out := in.OutDir
		if out == "" {
			out = filepath.Join(in.Root, "reports", "promotion_gates")
		}
		arts, err := gates.Write(out, rep)
		if err != nil {
			return nil, fmt.Errorf("write gate artifacts to %q: %w", out, err)
		}
		sum.ArtifactPath = arts.JSON
	}
	sum.DurationMS = ms(time.Since(start))
	return sum, nil
}

// Summarize reduces a report to what workflow history keeps: verdicts,
// reasons, ages and ids, no evidence bodies.
func Summarize(r *gates.Report) *GateSummary {
	if r == nil {
		return nil
	}
	s := &GateSummary{
		Status:           cycletypes.Status(r.Status),
		CriticalFailures: append([]string{}, r.CriticalFailures...),
		Checks:           make([]CheckSummary, 0, len(r.Checks)),
		EvidenceBundleID: r.EvidenceBundle.EvidenceBundleID,
		ContentDigest:    r.ContentDigest,
		TsUTC:            r.TsUTC,
		WindowMinutes:    r.WindowMinutes,
	}
	for i := range r.Checks {
		s.Checks = append(s.Checks, summarizeResult(&r.Checks[i]))
	}
	for _, p := range r.PreSteps {
		s.PreSteps = append(s.PreSteps, cycletypes.PreStepSummary{Name: p.Name, Ran: p.Ran, OK: p.OK,
			ExitCode: p.ExitCode, Reason: p.Reason, DurationMS: p.DurationMS})
	}
	return s
}

func summarizeResult(res *gates.Result) CheckSummary {
	return CheckSummary{
		Name:       res.Name,
		Severity:   cycletypes.Severity(res.Severity),
		Kind:       res.Kind,
		Verdict:    res.Verdict,
		Pass:       res.Pass,
		Reason:     res.Reason,
		Detail:     res.Detail,
		Producer:   res.Producer,
		TSSource:   res.TSSource,
		ReportTime: res.ReportTime,
		AgeMinutes: res.AgeMinutes,
	}
}

// heartbeatWhile heartbeats the elapsed time every HeartbeatEvery until the
// returned stop is called.
func (a *Activities) heartbeatWhile(ctx context.Context) (stop func()) {
	start := time.Now()
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(a.heartbeatEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx, replayProgress{ElapsedMS: ms(time.Since(start))})
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}
