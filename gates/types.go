// Package gates is the gate engine: it evaluates a gate contract over an hbot
// stack root and writes promotion-gate artifacts compatible with the Python
// runner. It has no Temporal imports.
package gates

import (
	"time"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/cycletypes"
	"github.com/strictcycle/strictcycle/redact"
)

// Verdict is the outcome class of one check, declared in cycletypes (the
// wire types of the workflows) so that one spelling serves both.
type Verdict = cycletypes.Verdict

// Verdicts. Only VerdictPass passes.
const (
	VerdictPass    = cycletypes.VerdictPass
	VerdictFail    = cycletypes.VerdictFail
	VerdictStale   = cycletypes.VerdictStale
	VerdictMissing = cycletypes.VerdictMissing
	VerdictError   = cycletypes.VerdictError
	VerdictSkipped = cycletypes.VerdictSkipped
	VerdictWaived  = cycletypes.VerdictWaived
)

// Timestamp sources.
const (
	TSSourceTsUTC         = "ts_utc"
	TSSourceLastUpdateUTC = "last_update_utc"
	TSSourceMtime         = "mtime"
	TSSourceNone          = "none"
)

// DefaultWindow is the freshness window of a contract that sets none: the
// one value the engine judges with and the recovery drill waits on.
const DefaultWindow = defaultWindow

// Status values, as the Python runner writes them. They stay untyped here
// (the report's status is a plain string field of the artifact) and spell
// cycletypes.StatusPass and StatusFail; a test holds them equal.
const (
	StatusPass = "PASS"
	StatusFail = "FAIL"
)

// EvidenceFile is one evidence file, hashed when the check read it.
type EvidenceFile struct {
	Path      string `json:"path"`
	Exists    bool   `json:"exists"`
	SHA256    string `json:"sha256"`
	SizeBytes int64  `json:"size_bytes"`
}

// Result is the outcome of one check. The first five JSON fields are the
// original runner's; the rest are strictcycle's additions.
type Result struct {
	Name          string   `json:"name"`
	Severity      string   `json:"severity"`
	Pass          bool     `json:"pass"`
	Reason        string   `json:"reason"`
	EvidencePaths []string `json:"evidence_paths"`

	Kind    string  `json:"kind"`
	Verdict Verdict `json:"verdict"`
	// Detail explains a verdict (observed values, file, rule); Reason
	// stays the original runner's string, byte for byte, which is all
	// latest.md prints.
	Detail   string `json:"detail,omitempty"`
	Producer string `json:"producer,omitempty"`
	// TSSource is where the report's time came from (ts_utc, last_update_utc,
	// mtime, none) and ReportTime that time; AgeMinutes is now - ReportTime.
	TSSource   string     `json:"ts_source,omitempty"`
	ReportTime *time.Time `json:"report_time,omitempty"`
	AgeMinutes *float64   `json:"age_min,omitempty"`
	// Evidence holds the files with their sha256 taken at read time.
	Evidence []EvidenceFile `json:"evidence,omitempty"`
	// Read holds the files the check read when the contract fixes the
	// recorded evidence_paths to the original's list (they are bound into
	// the content digest, not into evidence_bundle_id).
	Read []EvidenceFile `json:"read,omitempty"`
	// Waiver is set when the verdict is waived.
	Waiver     *Waiver `json:"waiver,omitempty"`
	DurationMS float64 `json:"duration_ms"`
	// Chosen says which file a freshest-of check judged and why (W33).
	Chosen string `json:"chosen,omitempty"`
	// ExitCode and OutputTail are set when a command ran.
	ExitCode   *int   `json:"exit_code,omitempty"`
	OutputTail string `json:"output_tail,omitempty"`
	// FailsFirst is the check's contract flag (see config.Check).
	FailsFirst bool `json:"-"`
	// exact, when set on a non-pass verdict, is the original's reason for
	// this case (a kind whose original words its failures several ways);
	// what Reason says beyond it becomes the detail.
	exact string
	// What a reason template may name (config/reason.go): the judged
	// report, its unrounded age, whether its condition held (a stale
	// report that would pass takes the stale_reason), and the exit code
	// of the pre-step that can fail the check.
	obj    map[string]any
	age    *float64
	condOK bool
	preRC  *int
	// failTmpl is the fail_reasons template that matched, if any.
	failTmpl string
	// passWords, when set, is the original's pass reason from a check's
	// words (gates/words.go).
	passWords string
	// output is what the command printed as the original quotes it
	// (stdout, newline, stderr, stripped); ran says a command ran.
	output string
	ran    bool
}

// Waiver lets a named critical check not block the status until Expires.
type Waiver = cycletypes.Waiver

// Report is one gate run.
type Report struct {
	TsUTC  string `json:"ts_utc"`
	Status string `json:"status"`
	// ValidationLevel is the original's (HEAD) level: 1 when
	// unit_service_integration_tests passed, 2 when the replay check passed.
	ValidationLevel  int      `json:"validation_level"`
	CriticalFailures []string `json:"critical_failures"`
	Checks           []Result `json:"checks"`
	// ReleaseManifestRef and EvidenceBundle are the original's fields.
	ReleaseManifestRef EvidenceFile   `json:"release_manifest_ref"`
	EvidenceBundle     EvidenceBundle `json:"evidence_bundle"`

	RunID    string `json:"run_id"`
	Contract string `json:"contract"`
	Root     string `json:"root"`
	CI       bool   `json:"ci_mode"`
	// WindowMinutes is the freshness window in force.
	WindowMinutes float64 `json:"max_report_age_min"`
	// ContentDigest is sha256 over (relative path, sha256) of every evidence
	// file plus the run id: unlike evidence_bundle_id it binds content.
	ContentDigest string `json:"content_digest"`
	// PreSteps are the contract's pre-steps as this run ran (or skipped)
	// them, in order.
	PreSteps []PreStepResult `json:"pre_steps,omitempty"`
}

// PreStepResult is the outcome of one pre-step.
type PreStepResult struct {
	Name string `json:"name"`
	// Ran is false for a ci_only step outside CI mode and for every step
	// with --no-commands; Reason says which.
	Ran        bool    `json:"ran"`
	OK         bool    `json:"ok"`
	ExitCode   *int    `json:"exit_code,omitempty"`
	TimedOut   bool    `json:"timed_out,omitempty"`
	Reason     string  `json:"reason,omitempty"`
	DurationMS float64 `json:"duration_ms"`
	OutputTail string  `json:"output_tail,omitempty"`
}

// EvidenceBundle is the original's evidence bundle.
type EvidenceBundle struct {
	EvidenceBundleID string         `json:"evidence_bundle_id"`
	ArtifactCount    int            `json:"artifact_count"`
	Artifacts        []EvidenceFile `json:"artifacts"`
}

// Options configure an Engine.
type Options struct {
	Root string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// CI selects the contract's CI window.
	CI bool
	// NoCommands judges command checks on their last artifact instead of
	// running them; the reason says so.
	NoCommands bool
	// Redis is used by the redis_* kinds; nil makes them errors.
	Redis RedisClient
	// Secrets are the worker's secret values (Redis password, Temporal API
	// key, TLS key), masked in everything a command check prints.
	Secrets *redact.Redactor
	// CommandParallelism bounds how many command checks run at once; zero
	// means the number of CPUs.
	CommandParallelism int
	// Cache is shared by the engines that are given it (see Cache); nil
	// gives the engine a cache of its own.
	Cache *Cache
}

// RunOptions select what one Run evaluates.
type RunOptions struct {
	// Only restricts the run to these check names (a recheck); the other
	// checks are omitted from the report.
	Only []string
	// Waivers apply to critical checks by name while unexpired.
	Waivers []Waiver
	// RunID is bound into the content digest; empty means a generated one.
	RunID string
}

// Artifacts are the paths Write produced.
type Artifacts struct {
	JSON       string `json:"json"`
	Markdown   string `json:"markdown"`
	LatestJSON string `json:"latest_json"`
	LatestMD   string `json:"latest_md"`
}

// Contract is re-exported for callers that only import gates.
type Contract = config.Contract
