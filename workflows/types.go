package workflows

import (
	"time"

	"github.com/strictcycle/strictcycle/cycletypes"
)

// StrictCycleInput starts one strict promotion cycle.
type StrictCycleInput struct {
	cycletypes.Target
	// NoCommands judges command checks on their last artifacts.
	NoCommands bool `json:"no_commands"`
	// DryRun evaluates and reports what it would restart, restarting nothing.
	DryRun bool `json:"dry_run"`
	// SkipReplay does not run the replay command (the replay check is then
	// judged on its last artifact, never auto-passed).
	SkipReplay bool `json:"skip_replay"`
	// MaxRounds overrides the contract's recovery rounds when > 0.
	MaxRounds int `json:"max_rounds,omitempty"`
}

// StrictCycleResult is the decision of a cycle.
type StrictCycleResult struct {
	Status           cycletypes.Status `json:"status"`
	CriticalFailures []string          `json:"critical_failures"`
	Rounds           int               `json:"rounds"`
	Restarts         []Restart         `json:"restarts"`
	EvidenceBundleID string            `json:"evidence_bundle_id"`
	ContentDigest    string            `json:"content_digest"`
	ArtifactPath     string            `json:"artifact_path"`
	// Reason explains the decision in one line (e.g. "non-recoverable
	// critical failure: unit_service_integration_tests (fail)").
	Reason    string    `json:"reason"`
	DecidedAt time.Time `json:"decided_at"`
	// Waived names the critical checks waived in the final gate run (a PASS
	// with waived checks relied on them); DryRun marks a dry run's decision.
	Waived []string `json:"waived,omitempty"`
	DryRun bool     `json:"dry_run,omitempty"`
	// PublishError is set when the decision could not be published to Redis
	// (it still stands here and in history).
	PublishError string `json:"publish_error,omitempty"`
}

// Restart records one restart performed (or refused) in a round.
type Restart struct {
	Round   int                       `json:"round"`
	Service string                    `json:"service"`
	Outcome cycletypes.RestartOutcome `json:"outcome"`
	At      time.Time                 `json:"at"`
	// FreshAfterMS is how long the report took to be fresh after the restart
	// (0 when it never was).
	FreshAfterMS float64 `json:"fresh_after_ms"`
}

// RecoveryDrillInput starts a game-day drill on one service.
type RecoveryDrillInput struct {
	cycletypes.Target
	Service string `json:"service"`
	// Check is the critical check expected to fail while the service is down.
	Check string `json:"check"`
	// DrillWindow replaces the freshness window while the drill waits for the
	// check to go stale (so a drill does not wait 15 minutes).
	StaleTimeout time.Duration `json:"stale_timeout"`
	NoCommands   bool          `json:"no_commands"`
}

// RecoveryDrillResult is the drill's verdict.
type RecoveryDrillResult struct {
	Status     cycletypes.DrillStatus `json:"status"`
	Steps      []cycletypes.DrillStep `json:"steps"`
	ReportPath string                 `json:"report_path"`
}

// ScheduledCycleResult is what a scheduled run did: it ran the
// environment's cycle (its decision is Status), or skipped because a cycle
// of the environment was already running.
type ScheduledCycleResult struct {
	CycleID    string            `json:"cycle_id"`
	CycleRunID string            `json:"cycle_run_id,omitempty"`
	Skipped    bool              `json:"skipped"`
	Status     cycletypes.Status `json:"status,omitempty"`
	Reason     string            `json:"reason,omitempty"`
}
