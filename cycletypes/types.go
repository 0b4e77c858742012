package cycletypes

import "time"

// Target identifies the stack a cycle works on. It is in every input.
type Target struct {
	Environment string `json:"environment"`
	Root        string `json:"root"`
	// Contract is a shipped contract name or a file path.
	Contract string `json:"contract"`
	CI       bool   `json:"ci"`
	// ContractSHA256 is the sha256 of the contract bytes the cycle planned
	// with (Plan.ContractSHA256). An activity that loads a contract with
	// another hash fails with ErrTypeContractChanged; empty skips the check
	// (runs recorded before the hash was carried).
	ContractSHA256 string `json:"contract_sha256,omitempty"`
}

// RunReplayInput runs the contract's replay regression command.
type RunReplayInput struct {
	Target
	RunID string `json:"run_id"`
}

// RunReplayResult is small: the artifact stays on disk.
type RunReplayResult struct {
	Ran        bool    `json:"ran"`
	ExitCode   int     `json:"exit_code"`
	Artifact   string  `json:"artifact,omitempty"`
	Status     string  `json:"status,omitempty"`
	DurationMS float64 `json:"duration_ms"`
	OutputTail string  `json:"output_tail,omitempty"`
	// Reason says why it did not run (no replay configured, dry run).
	Reason string `json:"reason,omitempty"`
}

// EvaluateGatesInput evaluates the contract, or the Only checks (a recheck).
type EvaluateGatesInput struct {
	Target
	NoCommands     bool     `json:"no_commands"`
	Only           []string `json:"only,omitempty"`
	Waivers        []Waiver `json:"waivers,omitempty"`
	RunID          string   `json:"run_id"`
	WriteArtifacts bool     `json:"write_artifacts"`
	// OutDir overrides <root>/reports/promotion_gates.
	OutDir string `json:"out_dir,omitempty"`
}

// CheckSummary is one check's outcome as kept in workflow history: no
// evidence bodies, only what an engineer needs to read the decision.
type CheckSummary struct {
	Name       string     `json:"name"`
	Severity   Severity   `json:"severity"`
	Kind       string     `json:"kind"`
	Verdict    Verdict    `json:"verdict"`
	Pass       bool       `json:"pass"`
	Reason     string     `json:"reason"`
	Detail     string     `json:"detail,omitempty"`
	Producer   string     `json:"producer,omitempty"`
	TSSource   string     `json:"ts_source,omitempty"`
	ReportTime *time.Time `json:"report_time,omitempty"`
	AgeMinutes *float64   `json:"age_min,omitempty"`
}

// GateSummary is the small result of EvaluateGates.
type GateSummary struct {
	Status           Status         `json:"status"`
	CriticalFailures []string       `json:"critical_failures"`
	Checks           []CheckSummary `json:"checks"`
	EvidenceBundleID string         `json:"evidence_bundle_id"`
	ContentDigest    string         `json:"content_digest"`
	ArtifactPath     string         `json:"artifact_path,omitempty"`
	TsUTC            string         `json:"ts_utc"`
	WindowMinutes    float64        `json:"window_min"`
	DurationMS       float64        `json:"duration_ms"`
	// PreSteps are the contract's pre-steps as the gate run ran them.
	PreSteps []PreStepSummary `json:"pre_steps,omitempty"`
}

// PreStepSummary is one pre-step's outcome as kept in workflow history
// (no output).
type PreStepSummary struct {
	Name       string  `json:"name"`
	Ran        bool    `json:"ran"`
	OK         bool    `json:"ok"`
	ExitCode   *int    `json:"exit_code,omitempty"`
	Reason     string  `json:"reason,omitempty"`
	DurationMS float64 `json:"duration_ms"`
}

// RestartServiceInput restarts one producing service, at most once per
// (RunID, Service, Round).
type RestartServiceInput struct {
	Target
	Service  string `json:"service"`
	RunID    string `json:"run_id"`
	Round    int    `json:"round"`
	Approved bool   `json:"approved"`
	DryRun   bool   `json:"dry_run"`
}

// RestartServiceResult says what happened; a refusal is a result, not an error.
type RestartServiceResult struct {
	Service    string         `json:"service"`
	Outcome    RestartOutcome `json:"outcome"`
	Driver     string         `json:"driver"`
	At         time.Time      `json:"at"`
	BudgetUsed int            `json:"budget_used"`
	BudgetMax  int            `json:"budget_max"`
	Detail     string         `json:"detail,omitempty"`
	// Health is what the driver saw after the restart when it waits for
	// the container's health (docker): healthy, running (no healthcheck),
	// unhealthy, exited or starting (the wait ran out); empty otherwise.
	Health string `json:"health,omitempty"`
	// HealthWaitMS is how long that wait took.
	HealthWaitMS float64 `json:"health_wait_ms,omitempty"`
}

// ServiceActionInput stops or starts a service (recovery drills).
type ServiceActionInput struct {
	Target
	Service string `json:"service"`
	RunID   string `json:"run_id"`
}

// ServiceActionResult is the outcome of a stop or start.
type ServiceActionResult struct {
	Service string    `json:"service"`
	Action  string    `json:"action"`
	Driver  string    `json:"driver"`
	At      time.Time `json:"at"`
	Detail  string    `json:"detail,omitempty"`
}

// WatchUntilFreshInput waits until the named checks pass their freshness and
// condition with a report newer than NotBefore, or until Timeout.
type WatchUntilFreshInput struct {
	Target
	Service string   `json:"service"`
	Checks  []string `json:"checks"`
	// NotBefore: the report time must be at or after it (the restart time);
	// zero accepts any fresh report (a natural refresh).
	NotBefore time.Time     `json:"not_before"`
	Timeout   time.Duration `json:"timeout"`
	// Poll is the fallback poll period when file events are missed.
	Poll time.Duration `json:"poll"`
	// WantStale inverts the wait (drills): return when the checks are NOT
	// passing any more. The result's Fresh then is false when they went
	// stale, true when they still passed at the timeout.
	WantStale bool `json:"want_stale,omitempty"`
}

// WatchUntilFreshResult reports how the wait ended.
type WatchUntilFreshResult struct {
	Fresh    bool           `json:"fresh"`
	Checks   []CheckSummary `json:"checks"`
	WaitedMS float64        `json:"waited_ms"`
	Events   int            `json:"events"`
	Polls    int            `json:"polls"`
	Reason   string         `json:"reason"`
}

// PublishDecisionInput is the decision of one cycle.
type PublishDecisionInput struct {
	Environment      string    `json:"environment"`
	WorkflowID       string    `json:"workflow_id"`
	RunID            string    `json:"run_id"`
	Status           Status    `json:"status"`
	CriticalFailures []string  `json:"critical_failures"`
	EvidenceBundleID string    `json:"evidence_bundle_id"`
	ArtifactPath     string    `json:"artifact_path"`
	Rounds           int       `json:"rounds"`
	Restarts         []string  `json:"restarts"`
	Reason           string    `json:"reason"`
	DecidedAt        time.Time `json:"decided_at"`
	// Waived names the critical checks the decision did not count because
	// an operator waived them: a PASS with waived checks relied on them.
	Waived []string `json:"waived"`
	// DryRun marks the decision of a dry run (nothing was restarted, no
	// artifact was written).
	DryRun bool `json:"dry_run"`
	// Root, when set, also receives reports/promotion_gates/
	// strict_cycle_latest.json, the file the Python strict cycle wrote and
	// its consumers (soak monitor, readiness decision) read.
	Root string `json:"root,omitempty"`
}

// PublishDecisionResult says where the decision landed.
type PublishDecisionResult struct {
	StreamID       string `json:"stream_id"`
	PreviousStatus string `json:"previous_status"`
	Transitioned   bool   `json:"transitioned"`
}

// DrillReport is the recovery drill's artifact, written under
// <root>/reports/recovery/.
type DrillReport struct {
	TsUTC       string      `json:"ts_utc"`
	Environment string      `json:"environment"`
	WorkflowID  string      `json:"workflow_id"`
	Service     string      `json:"service"`
	Check       string      `json:"check"`
	Status      DrillStatus `json:"status"`
	Steps       []DrillStep `json:"steps"`
	Root        string      `json:"root"`
}

// DrillStep is one step of a drill with its outcome.
type DrillStep struct {
	Name   string    `json:"name"`
	OK     bool      `json:"ok"`
	Detail string    `json:"detail"`
	At     time.Time `json:"at"`
}

// WriteDrillReportResult gives the paths written.
type WriteDrillReportResult struct {
	Path   string `json:"path"`
	Latest string `json:"latest"`
}

// Plan is what a workflow needs to know about a contract.
type Plan struct {
	Contract      string                 `json:"contract"`
	Checks        []PlanCheck            `json:"checks"`
	Services      map[string]PlanService `json:"services"`
	ReplayCheck   string                 `json:"replay_check,omitempty"`
	ReplayTimeout time.Duration          `json:"replay_timeout,omitempty"`
	WaitFirst     time.Duration          `json:"wait_first"`
	WatchTimeout  time.Duration          `json:"watch_timeout"`
	MaxRounds     int                    `json:"max_rounds"`
	MaxRestarts   int                    `json:"max_restarts"`
	Window        time.Duration          `json:"window"`
	// ContractSHA256 is the sha256 of the contract bytes loaded; every
	// later activity input carries it in its Target.
	ContractSHA256 string `json:"contract_sha256,omitempty"`
}

// PlanCheck is one check's name, severity and producing service.
type PlanCheck struct {
	Name     string   `json:"name"`
	Severity Severity `json:"severity"`
	Kind     string   `json:"kind"`
	Producer string   `json:"producer,omitempty"`
}

// PlanService is one restart target.
type PlanService struct {
	Protected bool   `json:"protected"`
	Driver    string `json:"driver"`
}

// Waiver lets a named critical check not block the status until Expires.
type Waiver struct {
	Check   string    `json:"check"`
	Reason  string    `json:"reason"`
	By      string    `json:"by,omitempty"`
	Expires time.Time `json:"expires"`
}
