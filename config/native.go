package config

// Native checkers: the hbot checker scripts that are pure file logic,
// ported into the engine. Each one writes the report file its script
// wrote (same path, same fields), so the script's consumers keep working,
// and is then judged on that report like the command it replaces. With
// --no-commands it writes nothing and is judged on the report last
// written, as a command check is.

// Native check kinds.
const (
	KindSecretsHygiene = "secrets_hygiene"
	KindMultiBotPolicy = "multi_bot_policy"
)

// SecretsHygieneSpec is run_secrets_hygiene_check.py: docs/ and reports/
// (and with IncludeLogs every file under data/ with a "logs" directory in
// its path) scanned for secret markers and the secret values of EnvFile.
type SecretsHygieneSpec struct {
	// IncludeLogs is the script's --include-logs.
	IncludeLogs bool `yaml:"include_logs,omitempty" json:"include_logs,omitempty"`
	// MaxFileBytes is the script's --max-file-bytes (default 5 000 000).
	// The script skipped a larger file unread; here it fails the check,
	// naming the file (a secret cannot hide in a big log).
	MaxFileBytes int64 `yaml:"max_file_bytes,omitempty" json:"max_file_bytes,omitempty"`
	// EnvFile holds the secret values looked for verbatim (default env/.env).
	EnvFile string `yaml:"env_file,omitempty" json:"env_file,omitempty"`
	// ReportDir receives secrets_hygiene_<stamp>.json and latest.json
	// (default reports/security).
	ReportDir string `yaml:"report_dir,omitempty" json:"report_dir,omitempty"`
}

// Defaults of the secrets hygiene scan: the script's.
const (
	DefaultSecretsMaxFileBytes = 5_000_000
	DefaultSecretsEnvFile      = "env/.env"
	DefaultSecretsReportDir    = "reports/security"
	DefaultPolicyReportDir     = "reports/policy"
)

// Env is the env file read for secret values.
func (s *SecretsHygieneSpec) Env() string { return orDefault(s.EnvFile, DefaultSecretsEnvFile) }

// Dir is the report directory.
func (s *SecretsHygieneSpec) Dir() string { return orDefault(s.ReportDir, DefaultSecretsReportDir) }

// MaxBytes is the per-file size cap.
func (s *SecretsHygieneSpec) MaxBytes() int64 {
	if s.MaxFileBytes > 0 {
		return s.MaxFileBytes
	}
	return DefaultSecretsMaxFileBytes
}

// MultiBotPolicySpec is check_multi_bot_policy.py: the bot sets of the
// multi-bot policy, the exchange account map, the portfolio limits and the
// reconciliation thresholds agree. Every path defaults to the script's.
type MultiBotPolicySpec struct {
	Policy                   string `yaml:"policy,omitempty" json:"policy,omitempty"`
	ExchangeAccountMap       string `yaml:"exchange_account_map,omitempty" json:"exchange_account_map,omitempty"`
	PortfolioLimits          string `yaml:"portfolio_limits,omitempty" json:"portfolio_limits,omitempty"`
	ReconciliationThresholds string `yaml:"reconciliation_thresholds,omitempty" json:"reconciliation_thresholds,omitempty"`
	// ReportDir receives multi_bot_policy_check_<stamp>.json and
	// latest.json (default reports/policy).
	ReportDir string `yaml:"report_dir,omitempty" json:"report_dir,omitempty"`
}

// Inputs are the four configs, in the script's order, defaults applied.
func (s *MultiBotPolicySpec) Inputs() (policy, accountMap, portfolio, recon string) {
	return orDefault(s.Policy, "config/multi_bot_policy_v1.json"),
		orDefault(s.ExchangeAccountMap, "config/exchange_account_map.json"),
		orDefault(s.PortfolioLimits, "config/portfolio_limits_v1.json"),
		orDefault(s.ReconciliationThresholds, "config/reconciliation_thresholds.json")
}

// Dir is the report directory.
func (s *MultiBotPolicySpec) Dir() string { return orDefault(s.ReportDir, DefaultPolicyReportDir) }

// NativeReport is the report a native checker writes and is judged on
// (latest.json of its report directory: ts_utc, status == "pass"); nil for
// any other kind.
func (ck *Check) NativeReport() *ReportSpec {
	var dir string
	switch {
	case ck.Kind == KindSecretsHygiene && ck.SecretsHygiene != nil:
		dir = ck.SecretsHygiene.Dir()
	case ck.Kind == KindMultiBotPolicy && ck.MultiBotPolicy != nil:
		dir = ck.MultiBotPolicy.Dir()
	default:
		return nil
	}
	return &ReportSpec{Path: dir + "/latest.json", TimestampKeys: []string{"ts_utc"}, Condition: `status == "pass"`}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (s *SecretsHygieneSpec) validate(ps *problems, at string) {
	if s.MaxFileBytes < 0 {
		ps.addf("%s: secrets_hygiene.max_file_bytes %d is negative", at, s.MaxFileBytes)
	}
	ps.relPath(at+": secrets_hygiene.env_file", s.Env())
	ps.relPath(at+": secrets_hygiene.report_dir", s.Dir())
}

func (s *MultiBotPolicySpec) validate(ps *problems, at string) {
	p, a, f, r := s.Inputs()
	ps.relPath(at+": multi_bot_policy.policy", p)
	ps.relPath(at+": multi_bot_policy.exchange_account_map", a)
	ps.relPath(at+": multi_bot_policy.portfolio_limits", f)
	ps.relPath(at+": multi_bot_policy.reconciliation_thresholds", r)
	ps.relPath(at+": multi_bot_policy.report_dir", s.Dir())
}
