package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/strictcycle/strictcycle/cycletypes"
	"github.com/strictcycle/strictcycle/gates"
)

func latestKey(env string) string { return env + ":promotion_gate:latest" }

// decisionEvent is the payload of a decision stream entry.
type decisionEvent struct {
	EventType string `json:"event_type"`
	Producer  string `json:"producer"`
	TsUTC     string `json:"ts_utc"`
	PublishDecisionInput
}

// transitionEvent is the payload of a transition entry; the store adds
// from_status.
type transitionEvent struct {
	EventType        string   `json:"event_type"`
	Producer         string   `json:"producer"`
	TsUTC            string   `json:"ts_utc"`
	Environment      string   `json:"environment"`
	WorkflowID       string   `json:"workflow_id"`
	RunID            string   `json:"run_id"`
	ToStatus         string   `json:"to_status"`
	CriticalFailures []string `json:"critical_failures"`
	EvidenceBundleID string   `json:"evidence_bundle_id"`
	ArtifactPath     string   `json:"artifact_path"`
	Waived           []string `json:"waived"`
	DryRun           bool     `json:"dry_run"`
}

// PublishDecision appends the decision to the decision stream (one field,
// payload, MAXLEN ~), records a transition when the status changed (or
// there was none), and sets <prefix>:<env>:promotion_gate:latest. All of it
// happens in one Redis script keyed by the run id, so a retried activity
// finds its own decision and returns the stored stream id.
func (a *Activities) PublishDecision(ctx context.Context, in *PublishDecisionInput) (*PublishDecisionResult, error) {
	op := fmt.Sprintf("publish decision to %q", a.stream)
	if in.RunID == "" || in.Status == "" {
		return nil, nonRetryable(ErrTypeBadInput, fmt.Errorf("%s: run_id and status are required", op))
	}
	env, err := envName(in.Environment)
	if err != nil {
		return nil, err
	}
	if err := a.requireStore(op); err != nil {
		return nil, err
	}
	d := *in
	if d.CriticalFailures == nil {
		d.CriticalFailures = []string{}
	}
	if d.Restarts == nil {
		d.Restarts = []string{}
	}
	if d.Waived == nil {
		d.Waived = []string{}
	}
	at := d.DecidedAt
	if at.IsZero() {
		at = a.now()
	}
	ts := gates.FormatPyISO(at)
	payload, err := json.Marshal(decisionEvent{EventType: "promotion_gate_decision", Producer: "strictcycle", TsUTC: ts, PublishDecisionInput: d})
	if err != nil {
		return nil, fmt.Errorf("%s: encode: %w", op, err)
	}
	transition, err := json.Marshal(transitionEvent{
		EventType: "promotion_gate_transition", Producer: "strictcycle", TsUTC: ts,
		Environment: d.Environment, WorkflowID: d.WorkflowID, RunID: d.RunID, ToStatus: string(d.Status),
		CriticalFailures: d.CriticalFailures, EvidenceBundleID: d.EvidenceBundleID, ArtifactPath: d.ArtifactPath,
		Waived: d.Waived, DryRun: d.DryRun,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: encode transition: %w", op, err)
	}
	// The file first: it is local, so the decision lands on disk even when
	// Redis is down (a retry rewrites the same content).
	if d.Root != "" {
		if err := writeStrictCycleLatest(d.Root, ts, &d); err != nil {
			return nil, err
		}
	}
	stopBeat := a.heartbeatWhile(ctx)
	defer stopBeat()
	res, err := a.store.PublishOnce(ctx, Publication{
		LatestKey:        latestKey(env),
		Stream:           a.stream,
		TransitionStream: a.transitionStream,
		MaxLen:           a.streamMaxLen,
		RunID:            d.RunID,
		Status:           string(d.Status),
		Payload:          string(payload),
		Transition:       string(transition),
		Latest:           string(payload),
	})
	if err != nil {
		// The store names the stream; the error never carries a password
		// (go-redis reports the address only).
		return nil, err
	}
	return res, nil
}

// strictCycleLatest is reports/promotion_gates/strict_cycle_latest.json: the
// Python strict cycle's fields first (strict_gate_rc 0 PASS, 2 FAIL), then
// strictcycle's.
type strictCycleLatest struct {
	TsUTC            string   `json:"ts_utc"`
	StrictGateRC     int      `json:"strict_gate_rc"`
	StrictGateStatus string   `json:"strict_gate_status"`
	CriticalFailures []string `json:"critical_failures"`
	GateLatestPath   string   `json:"gate_latest_path"`
	Stdout           string   `json:"stdout"`

	Environment      string   `json:"environment"`
	WorkflowID       string   `json:"workflow_id"`
	RunID            string   `json:"run_id"`
	Reason           string   `json:"reason"`
	Rounds           int      `json:"rounds"`
	Restarts         []string `json:"restarts"`
	EvidenceBundleID string   `json:"evidence_bundle_id"`
	ArtifactPath     string   `json:"artifact_path"`
	// Waived and DryRun mark a decision that relied on waivers, or that of
	// a dry run (which writes no file today; the field keeps the schema
	// one).
	Waived []string `json:"waived"`
	DryRun bool     `json:"dry_run"`
}

func writeStrictCycleLatest(rootDir, ts string, d *PublishDecisionInput) error {
	root, err := openRoot(rootDir)
	if err != nil {
		return nonRetryable(ErrTypeBadInput, fmt.Errorf("write strict cycle latest: %w", err))
	}
	defer root.Close()
	const dir = "reports/promotion_gates"
	rc := 2
	if d.Status == cycletypes.StatusPass {
		rc = 0
	}
	// Names and paths are escaped: the stdout field is printed by
	// consumers, and a name with a newline must not forge a line.
	stdout := "[promotion-gates] status=" + gates.Printable(string(d.Status)) + "\n"
	if len(d.CriticalFailures) > 0 {
		stdout += "[promotion-gates] critical_failures=" + gates.PrintableList(d.CriticalFailures) + "\n"
	}
	if len(d.Waived) > 0 {
		stdout += "[promotion-gates] waived=" + gates.PrintableList(d.Waived) + "\n"
	}
	if d.DryRun {
		stdout += "[promotion-gates] dry_run=true\n"
	}
	stdout += "[promotion-gates] evidence=" + gates.Printable(d.ArtifactPath) + "\n"
	b, err := json.MarshalIndent(strictCycleLatest{
		TsUTC: ts, StrictGateRC: rc, StrictGateStatus: string(d.Status), CriticalFailures: d.CriticalFailures,
		GateLatestPath: root.Abs(dir + "/latest.json"), Stdout: stdout,
		Environment: d.Environment, WorkflowID: d.WorkflowID, RunID: d.RunID, Reason: d.Reason,
		Rounds: d.Rounds, Restarts: d.Restarts, EvidenceBundleID: d.EvidenceBundleID, ArtifactPath: d.ArtifactPath,
		Waived: d.Waived, DryRun: d.DryRun,
	}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode strict cycle latest: %w", err)
	}
	return writeAtomic(root, dir+"/strict_cycle_latest.json", append(b, '\n'))
}

// WriteDrillReport writes reports/recovery/recovery_drill_<stamp>.json and
// reports/recovery/latest.json atomically under in.Root.
func (a *Activities) WriteDrillReport(ctx context.Context, in *DrillReport) (*WriteDrillReportResult, error) {
	if in.Root == "" {
		return nil, nonRetryable(ErrTypeBadInput, errors.New("write drill report: no root"))
	}
	now := a.now().UTC()
	r := *in
	if r.TsUTC == "" {
		r.TsUTC = gates.FormatPyISO(now)
	}
	if r.Steps == nil {
		r.Steps = []DrillStep{}
	}
	b, err := json.MarshalIndent(&r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode drill report: %w", err)
	}
	b = append(b, '\n')
	root, err := openRoot(in.Root)
	if err != nil {
		return nil, nonRetryable(ErrTypeBadInput, fmt.Errorf("write drill report: %w", err))
	}
	defer root.Close()
	const dir = "reports/recovery"
	rel, err := writeStamped(root, dir, "recovery_drill_", now, b)
	if err != nil {
		return nil, err
	}
	if err := writeAtomic(root, dir+"/latest.json", b); err != nil {
		return nil, err
	}
	return &WriteDrillReportResult{Path: root.Abs(rel), Latest: root.Abs(dir + "/latest.json")}, nil
}
