package config

import "time"

// Contract is a gate contract: the ordered checks that decide promotion, plus
// the services that produce their reports and how to restart them. It is
// decoded strictly from YAML (unknown fields are errors) and validated before
// use; every path in it is relative to the stack root.
type Contract struct {
	Name        string    `yaml:"name" json:"name"`
	Description string    `yaml:"description,omitempty" json:"description,omitempty"`
	Freshness   Freshness `yaml:"freshness" json:"freshness"`
	// Replay is the replay regression command run first in a strict cycle;
	// its artifact feeds the check named in Replay.Check.
	Replay   *Replay            `yaml:"replay,omitempty" json:"replay,omitempty"`
	Checks   []Check            `yaml:"checks" json:"checks"`
	Services map[string]Service `yaml:"services,omitempty" json:"services,omitempty"`
	Recovery Recovery           `yaml:"recovery,omitempty" json:"recovery,omitempty"`
	// Interpreter replaces argv[0] of every command check, pre-step and
	// replay whose argv[0] is "python": the original runs its checkers with
	// its own interpreter (sys.executable), and a Debian host has python3
	// but no python. Empty means python3, else python, from PATH; a name is
	// looked up in PATH, a path (a venv's bin/python) is taken relative to
	// the root unless absolute.
	Interpreter string `yaml:"interpreter,omitempty" json:"interpreter,omitempty"`
	// PreSteps run in order before any check is evaluated (the original's
	// refreshes and probes, spec §2.2).
	PreSteps []PreStep `yaml:"pre_steps,omitempty" json:"pre_steps,omitempty"`
	// ReleaseManifest says which file is recorded as release_manifest_ref;
	// nil means the HEAD rule (newest docs/ops/release_manifest_*.md by
	// name, else docs/ops/release_manifest.md).
	ReleaseManifest *ManifestSpec `yaml:"release_manifest,omitempty" json:"release_manifest,omitempty"`
	// LiveScope, when set, is read before the checks: with a live bot the
	// checks' live blocks apply (config/live.go).
	LiveScope *LiveScopeSpec `yaml:"live_scope,omitempty" json:"live_scope,omitempty"`
}

// ManifestSpec picks the release manifest: the last match of Glob by name,
// else Path (recorded as absent when it does not exist, as the original
// records its fallback path).
type ManifestSpec struct {
	Glob string `yaml:"glob,omitempty" json:"glob,omitempty"`
	Path string `yaml:"path" json:"path"`
}

// TodayUTC in a pre-step's argv is the evaluation day, UTC, as YYYYMMDD
// (the original's fill backfill runs with --day of today).
const TodayUTC = "{today_utc}"

// PreStep is a command run before the checks. Its outcome is recorded in
// the gate artifact and the gate run's result. A failed pre-step (exit
// code not 0, timeout, not startable) fails the checks named in
// FailsChecks (the original's coupling, e.g. the alerting probe and
// alerting_health) and, with FailClosed, adds a critical error result
// named pre_step:<name>; otherwise it is only recorded, as the original
// keeps a refresh's rc in its notes.
type PreStep struct {
	Name     string            `yaml:"name" json:"name"`
	Argv     []string          `yaml:"argv" json:"argv"`
	Env      map[string]string `yaml:"env,omitempty" json:"env,omitempty"`
	ChildEnv `yaml:",inline"`
	Timeout  time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// CIOnly pre-steps run only in CI mode (strictcycle gates --ci, the
	// original's --ci refreshes).
	CIOnly bool `yaml:"ci_only,omitempty" json:"ci_only,omitempty"`
	// CIArgv, when set, replaces Argv in CI mode (the alerting probe's
	// --strict under --ci).
	CIArgv      []string `yaml:"ci_argv,omitempty" json:"ci_argv,omitempty"`
	FailsChecks []string `yaml:"fails_checks,omitempty" json:"fails_checks,omitempty"`
	FailClosed  bool     `yaml:"fail_closed,omitempty" json:"fail_closed,omitempty"`
}

// Freshness holds the report windows. The CI window is its own value (the
// Python runner lowered 20 to 15 only when the value was exactly 20).
type Freshness struct {
	Window     time.Duration `yaml:"window" json:"window"`
	CIWindow   time.Duration `yaml:"ci_window" json:"ci_window"`
	FutureSkew time.Duration `yaml:"future_skew" json:"future_skew"`
}

// Severity values.
const (
	SeverityCritical = "critical"
	SeverityWarning  = "warning"
	SeverityInfo     = "info"
)

// Check kinds.
const (
	KindFilesPresent     = "files_present"
	KindFilesGlob        = "files_glob"
	KindReport           = "report"
	KindCommand          = "command"
	KindRedisPing        = "redis_ping"
	KindRedisStreamFresh = "redis_stream_fresh"
	KindRedisGroupLag    = "redis_group_lag"
	KindStrategyCatalog  = "strategy_catalog"
	KindCoordination     = "coordination_policy"
	KindDay2Gate         = "day2_gate"
)

// Check is one gate check. Kind selects which of the kind blocks applies;
// validation rejects a block that does not belong to the kind.
type Check struct {
	Name     string `yaml:"name" json:"name"`
	Severity string `yaml:"severity" json:"severity"`
	Kind     string `yaml:"kind" json:"kind"`
	// Producer names the service (a key of Contract.Services) whose report
	// this check reads; a stale or missing verdict on it is recoverable by a
	// restart of that service.
	Producer string `yaml:"producer,omitempty" json:"producer,omitempty"`
	// Evidence lists extra files recorded (and hashed) with the result.
	Evidence []string `yaml:"evidence,omitempty" json:"evidence,omitempty"`
	// FailsFirst puts the check, when it is a critical failure, ahead of
	// the others in critical_failures (in check order among such checks):
	// the original appends these names the moment they run, the rest after
	// all checks, and the order feeds evidence_bundle_id.
	FailsFirst bool `yaml:"fails_first,omitempty" json:"fails_first,omitempty"`
	// EvidencePaths, when set, are exactly the paths the check records in
	// evidence_paths (present or not), as the original runner records them
	// for this check, in place of the files its kind read; those are kept
	// in the result's read list. It excludes Evidence.
	EvidencePaths []string `yaml:"evidence_paths,omitempty" json:"evidence_paths,omitempty"`
	// PassReason and FailReason are the reason strings of the original
	// runner, byte for byte; the explanation goes to the result's detail.
	// In FailReason, {rc} is the command's exit code (? when no command
	// exited).
	PassReason string `yaml:"pass_reason,omitempty" json:"pass_reason,omitempty"`
	FailReason string `yaml:"fail_reason,omitempty" json:"fail_reason,omitempty"`
	// StaleReason, when set, is the original's reason for a report that
	// holds what the condition asks but is too old ("... stale evidence
	// selected (age_min=...)"). Each of the three reasons may hold the
	// placeholders of config/reason.go.
	StaleReason string `yaml:"stale_reason,omitempty" json:"stale_reason,omitempty"`
	// FailReasons are the original's other words for a failure: when the
	// judged report is fresh but fails, the first whose condition holds on
	// it gives the reason (reconciliation's "active-bot coverage gap: ...").
	FailReasons []FailReason `yaml:"fail_reasons,omitempty" json:"fail_reasons,omitempty"`

	Files           []string             `yaml:"files,omitempty" json:"files,omitempty"`
	Glob            *GlobSpec            `yaml:"glob,omitempty" json:"glob,omitempty"`
	Report          *ReportSpec          `yaml:"report,omitempty" json:"report,omitempty"`
	Command         *CommandSpec         `yaml:"command,omitempty" json:"command,omitempty"`
	Redis           *RedisSpec           `yaml:"redis,omitempty" json:"redis,omitempty"`
	StrategyCatalog *StrategyCatalogSpec `yaml:"strategy_catalog,omitempty" json:"strategy_catalog,omitempty"`
	Coordination    *CoordinationSpec    `yaml:"coordination,omitempty" json:"coordination,omitempty"`
	Day2            *Day2Spec            `yaml:"day2,omitempty" json:"day2,omitempty"`
	// Native checkers (config/native.go).
	SecretsHygiene *SecretsHygieneSpec `yaml:"secrets_hygiene,omitempty" json:"secrets_hygiene,omitempty"`
	MultiBotPolicy *MultiBotPolicySpec `yaml:"multi_bot_policy,omitempty" json:"multi_bot_policy,omitempty"`
	// Parity is the parity_gate block (config/parity.go).
	Parity *ParitySpec `yaml:"parity,omitempty" json:"parity,omitempty"`
	// TradingLadder is the trading_ladder block, Live what the check
	// becomes in the live scope (config/live.go).
	TradingLadder *TradingLadderSpec `yaml:"trading_ladder,omitempty" json:"trading_ladder,omitempty"`
	Live          *LiveSpec          `yaml:"live,omitempty" json:"live,omitempty"`
	// Enforced false leaves the check unread: it passes with the
	// NotEnforced block's reason, severity and evidence (config/enforce.go;
	// only for the checks the original passes unread by default).
	Enforced *bool `yaml:"enforced,omitempty" json:"enforced,omitempty"`
	// Words selects a built-in reason function (config/words.go) for the
	// original's reasons a template cannot write.
	Words       string           `yaml:"words,omitempty" json:"words,omitempty"`
	NotEnforced *NotEnforcedSpec `yaml:"not_enforced,omitempty" json:"not_enforced,omitempty"`
}

// GlobSpec is files_glob: at least MinMatches files match Pattern.
type GlobSpec struct {
	Pattern    string `yaml:"pattern" json:"pattern"`
	MinMatches int    `yaml:"min_matches,omitempty" json:"min_matches,omitempty"`
	// NoneEvidence is the path recorded when too few files match (the
	// original records data/bot4/logs for its smoke check).
	NoneEvidence string `yaml:"none_evidence,omitempty" json:"none_evidence,omitempty"`
}

// ReportSpec reads one JSON report: Path, or the freshest of Paths and Globs.
type ReportSpec struct {
	Path  string   `yaml:"path,omitempty" json:"path,omitempty"`
	Paths []string `yaml:"paths,omitempty" json:"paths,omitempty"`
	Globs []string `yaml:"globs,omitempty" json:"globs,omitempty"`
	// TimestampKeys are tried in order (e.g. ts_utc, then last_update_utc).
	TimestampKeys []string `yaml:"timestamp_keys,omitempty" json:"timestamp_keys,omitempty"`
	// AllowMtime permits the file mtime when no timestamp key is present;
	// the result records that mtime was used.
	AllowMtime bool `yaml:"allow_mtime,omitempty" json:"allow_mtime,omitempty"`
	// MaxAge overrides the contract window; zero means the contract window.
	// NoFreshness turns the age test off (the original had none for some
	// checks); it is recorded in the reason.
	MaxAge      time.Duration `yaml:"max_age,omitempty" json:"max_age,omitempty"`
	NoFreshness bool          `yaml:"no_freshness,omitempty" json:"no_freshness,omitempty"`
	// Condition is an expression over the parsed JSON object, compiled at
	// load time; it must yield a boolean.
	Condition string `yaml:"condition,omitempty" json:"condition,omitempty"`
	// MissingPasses makes a report that does not exist a pass, judged as
	// the empty object (the original's post-trade validation "not yet
	// run"): only for checks whose original passes on {}.
	MissingPasses bool `yaml:"missing_passes,omitempty" json:"missing_passes,omitempty"`
	// CICondition, when set, replaces Condition in CI mode (the original's
	// alerting status set is {"ok"} under --ci).
	CICondition string `yaml:"ci_condition,omitempty" json:"ci_condition,omitempty"`
	// MissingPath is recorded as evidence when no candidate of paths/globs
	// exists (the original's default file, e.g. integrity_20260221.json);
	// empty records nothing.
	MissingPath string `yaml:"missing_path,omitempty" json:"missing_path,omitempty"`
}

// CommandSpec runs an argv (no shell) with cwd = root, then optionally judges
// the report it writes.
type CommandSpec struct {
	Argv []string          `yaml:"argv" json:"argv"`
	Env  map[string]string `yaml:"env,omitempty" json:"env,omitempty"`
	// ChildEnv names the worker variables the command receives.
	ChildEnv `yaml:",inline"`
	Timeout  time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// CIArgv, when set, replaces Argv in CI mode (the original passes
	// --strict and the CI window to its checkers under --ci).
	CIArgv []string `yaml:"ci_argv,omitempty" json:"ci_argv,omitempty"`
	// LiveArgv, when set, replaces Argv when the contract's live scope is
	// enforced (the original drops the replay's
	// --no-require-portfolio-risk-healthy with a live bot). Not together
	// with CIArgv.
	LiveArgv []string `yaml:"live_argv,omitempty" json:"live_argv,omitempty"`
	// Report, when set, is read after the command exits 0 (and, with
	// --no-commands, instead of running it).
	Report *ReportSpec `yaml:"report,omitempty" json:"report,omitempty"`
}

// RedisSpec parameterises the redis_* kinds.
type RedisSpec struct {
	Stream string        `yaml:"stream,omitempty" json:"stream,omitempty"`
	Group  string        `yaml:"group,omitempty" json:"group,omitempty"`
	MaxAge time.Duration `yaml:"max_age,omitempty" json:"max_age,omitempty"`
	MaxLag int64         `yaml:"max_lag,omitempty" json:"max_lag,omitempty"`
}

// StrategyCatalogSpec is the built-in strategy catalog consistency check.
type StrategyCatalogSpec struct {
	Catalog            string `yaml:"catalog" json:"catalog"`
	ControllerTemplate string `yaml:"controller_template" json:"controller_template"`
	ScriptTemplate     string `yaml:"script_template" json:"script_template"`
	ControllersDir     string `yaml:"controllers_dir" json:"controllers_dir"`
}

// CoordinationSpec is the built-in coordination policy scope check.
type CoordinationSpec struct {
	Policy         string   `yaml:"policy" json:"policy"`
	MultiBotPolicy string   `yaml:"multi_bot_policy" json:"multi_bot_policy"`
	Compose        string   `yaml:"compose" json:"compose"`
	Service        string   `yaml:"service,omitempty" json:"service,omitempty"`
	RequiredEnv    []string `yaml:"required_env,omitempty" json:"required_env,omitempty"`
}

// Day2Spec is the built-in day2 event store gate.
type Day2Spec struct {
	Eval              string   `yaml:"eval" json:"eval"`
	SourceCompareGlob string   `yaml:"source_compare_glob" json:"source_compare_glob"`
	RequireGo         bool     `yaml:"require_go" json:"require_go"`
	RequireFresh      bool     `yaml:"require_fresh" json:"require_fresh"`
	RequireLag        bool     `yaml:"require_lag" json:"require_lag"`
	MaxDelta          int64    `yaml:"max_delta" json:"max_delta"`
	TimestampKeys     []string `yaml:"timestamp_keys,omitempty" json:"timestamp_keys,omitempty"`
	// AllowMtime permits the eval file's mtime when it has no timestamp key
	// (the original fell back silently; here it must be asked for).
	AllowMtime bool `yaml:"allow_mtime,omitempty" json:"allow_mtime,omitempty"`
}

// Replay is the replay regression step of a strict cycle.
type Replay struct {
	Check    string            `yaml:"check" json:"check"`
	Argv     []string          `yaml:"argv" json:"argv"`
	Env      map[string]string `yaml:"env,omitempty" json:"env,omitempty"`
	ChildEnv `yaml:",inline"`
	Timeout  time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// LiveArgv, when set, replaces Argv when the contract's live scope is
	// enforced, as the command check's live_argv.
	LiveArgv []string `yaml:"live_argv,omitempty" json:"live_argv,omitempty"`
	// Artifact is the report the command writes (relative to root).
	Artifact string `yaml:"artifact" json:"artifact"`
}

// Restart drivers.
const (
	DriverDocker  = "docker"
	DriverCompose = "compose"
	DriverExec    = "exec"
)

// Service is a restart target: a service that produces reports.
type Service struct {
	// Driver overrides Recovery.Driver for this service.
	Driver string `yaml:"driver,omitempty" json:"driver,omitempty"`
	// Container is the container name for the docker driver when it differs
	// from the service name (e.g. desk-snapshot).
	Container string `yaml:"container,omitempty" json:"container,omitempty"`
	// Protected services are never restarted without an operator approval.
	Protected bool `yaml:"protected,omitempty" json:"protected,omitempty"`
	// Profiles are compose profiles needed to address the service.
	Profiles []string `yaml:"profiles,omitempty" json:"profiles,omitempty"`
}

// Recovery configures the recovery drill of a strict cycle.
type Recovery struct {
	Driver  string        `yaml:"driver,omitempty" json:"driver,omitempty"`
	Docker  DockerDriver  `yaml:"docker,omitempty" json:"docker,omitempty"`
	Compose ComposeDriver `yaml:"compose,omitempty" json:"compose,omitempty"`
	Exec    ExecDriver    `yaml:"exec,omitempty" json:"exec,omitempty"`
	// Budget: at most MaxRestarts per service within BudgetWindow.
	MaxRestarts  int           `yaml:"max_restarts,omitempty" json:"max_restarts,omitempty"`
	BudgetWindow time.Duration `yaml:"budget_window,omitempty" json:"budget_window,omitempty"`
	// WaitFirst is how long to wait for a natural refresh before restarting.
	WaitFirst time.Duration `yaml:"wait_first,omitempty" json:"wait_first,omitempty"`
	// WatchTimeout bounds the wait for a fresh report after a restart.
	WatchTimeout time.Duration `yaml:"watch_timeout,omitempty" json:"watch_timeout,omitempty"`
	MaxRounds    int           `yaml:"max_rounds,omitempty" json:"max_rounds,omitempty"`
	LockTTL      time.Duration `yaml:"lock_ttl,omitempty" json:"lock_ttl,omitempty"`
}

// DockerDriver talks to the Docker Engine API over a unix socket and finds
// the container by compose project and service labels.
type DockerDriver struct {
	Socket  string        `yaml:"socket,omitempty" json:"socket,omitempty"`
	Project string        `yaml:"project,omitempty" json:"project,omitempty"`
	Timeout time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// HealthTimeout bounds the wait, after a restart or start, for the
	// container to turn healthy (running when it has no healthcheck).
	// Default 60s.
	HealthTimeout time.Duration `yaml:"health_timeout,omitempty" json:"health_timeout,omitempty"`
}

// ComposeDriver runs `docker compose` as an argv (no shell).
type ComposeDriver struct {
	Command  []string `yaml:"command,omitempty" json:"command,omitempty"`
	EnvFile  string   `yaml:"env_file,omitempty" json:"env_file,omitempty"`
	Files    []string `yaml:"files,omitempty" json:"files,omitempty"`
	Profiles []string `yaml:"profiles,omitempty" json:"profiles,omitempty"`
	// ChildEnv names the worker variables `docker compose` receives (e.g.
	// DOCKER_HOST, DOCKER_CONFIG).
	ChildEnv `yaml:",inline"`
}

// ExecDriver runs argv templates; the placeholders {service} and {root} are
// substituted as whole arguments or parts of one, never through a shell.
type ExecDriver struct {
	Restart  []string      `yaml:"restart,omitempty" json:"restart,omitempty"`
	Stop     []string      `yaml:"stop,omitempty" json:"stop,omitempty"`
	Start    []string      `yaml:"start,omitempty" json:"start,omitempty"`
	Timeout  time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	ChildEnv `yaml:",inline"`
}

// ChildEnv declares which variables of the worker's environment a child
// process (the replay command, a command check, a compose or exec restart)
// receives. A child's environment is PATH, HOME, LANG, LC_ALL and TZ when
// set, the PassEnv and SecretEnv variables, then its explicit env map;
// nothing else of the worker's environment (REDIS_URL, TEMPORAL_API_KEY,
// ...) reaches it.
type ChildEnv struct {
	// PassEnv are passed as they are.
	PassEnv []string `yaml:"pass_env,omitempty" json:"pass_env,omitempty"`
	// SecretEnv are passed too, and their values are masked in everything
	// the child prints before it is stored anywhere.
	SecretEnv []string `yaml:"secret_env,omitempty" json:"secret_env,omitempty"`
}

// Names lists PassEnv then SecretEnv.
func (e ChildEnv) Names() []string {
	return append(append([]string{}, e.PassEnv...), e.SecretEnv...)
}
