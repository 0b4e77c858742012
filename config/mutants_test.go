package config

// Tests that kill statement mutants of config/ (docs/RELIABILITY.md,
// "Mutation testing"): each asserts what an operator reads, the README's
// row of a variable, the configuration a variable sets, or the problem a
// contract error is reported as.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr"
	"github.com/stretchr/testify/require"
)

// Each variable's README row is exactly its name, its default ("—" when it
// has none), its meaning, and "(secret: never logged)" when it is a secret:
// an operator learns from that table which values must never be pasted
// into a ticket.
func TestREADMERowOfEveryVariable(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	readme := string(b)
	secrets := map[string]bool{}
	for _, v := range Vars() {
		def := "—"
		if v.Default != "" {
			def = "`" + v.Default + "`"
		}
		doc := v.Doc
		if v.Secret {
			doc += " (secret: never logged)"
			secrets[v.Name] = true
		}
		require.Contains(t, readme, fmt.Sprintf("\n| `%s` | %s | %s |\n", v.Name, def, doc), "README row of %s", v.Name)
	}
	require.Equal(t, map[string]bool{"TEMPORAL_API_KEY": true, "TEMPORAL_TLS_KEY": true, "REDIS_URL": true, "REDIS_PASSWORD": true}, secrets)
}

// The default a variable documents is the default in force: a zero
// configuration given every documented default is Default() (StreamMaxLen
// has no variable).
func TestVariableDefaultsAreInForce(t *testing.T) {
	var c Config
	for _, v := range Vars() {
		if v.Default != "" {
			require.NoError(t, v.set(&c, v.Default), v.Name)
		}
	}
	want := Default()
	c.Redis.StreamMaxLen = want.Redis.StreamMaxLen
	require.Equal(t, want, c)
	require.Equal(t, int64(10000), want.Redis.StreamMaxLen)
}

// Every variable sets its own field, and only it.
func TestEveryVariableSetsItsField(t *testing.T) {
	env := map[string]string{
		"STRICTCYCLE_ENVIRONMENT":       "prod",
		"STRICTCYCLE_ROOT":              "/srv/hbot",
		"STRICTCYCLE_CONTRACT":          "hbot-head",
		"STRICTCYCLE_TASK_QUEUE":        "q",
		"STRICTCYCLE_METRICS_ADDR":      "",
		"STRICTCYCLE_LOG_LEVEL":         "debug",
		"STRICTCYCLE_SCHEDULE_EVERY":    "5m",
		"TEMPORAL_ADDRESS":              "temporal:7233",
		"TEMPORAL_NAMESPACE":            "ns",
		"TEMPORAL_API_KEY":              "key",
		"TEMPORAL_TLS":                  "true",
		"TEMPORAL_TLS_CERT":             "c.pem",
		"TEMPORAL_TLS_KEY":              "k.pem",
		"TEMPORAL_TLS_CA":               "ca.pem",
		"TEMPORAL_TLS_SERVER_NAME":      "sn",
		"STRICTCYCLE_DEV_DB":            ":memory:",
		"STRICTCYCLE_DEV_PORT":          "7300",
		"STRICTCYCLE_DEV_UI_PORT":       "0",
		"REDIS_URL":                     "rediss://redis:6380/1",
		"REDIS_PASSWORD":                "pw",
		"REDIS_TLS":                     "true",
		"REDIS_TLS_CA":                  "rca.pem",
		"REDIS_DIAL_TIMEOUT":            "7s",
		"STRICTCYCLE_DECISION_STREAM":   "d",
		"STRICTCYCLE_TRANSITION_STREAM": "tr",
		"STRICTCYCLE_REDIS_PREFIX":      "p",
	}
	require.Len(t, env, len(Vars()), "one value per variable")
	c, err := Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	require.Equal(t, Config{
		Environment: "prod", Root: "/srv/hbot", Contract: "hbot-head",
		Temporal: Temporal{Address: "temporal:7233", Namespace: "ns", APIKey: "key", TLSCert: "c.pem", TLSKey: "k.pem",
			TLSCA: "ca.pem", TLSServerName: "sn", TLS: true, DevDB: ":memory:", DevPort: 7300, DevUIPort: 0},
		Redis: Redis{URL: "rediss://redis:6380/1", Password: "pw", TLS: true, TLSCA: "rca.pem", DialTimeout: 7 * time.Second,
			Stream: "d", TransitionStream: "tr", StreamMaxLen: 10000, KeyPrefix: "p"},
		TaskQueue: "q", MetricsAddr: "", LogLevel: "debug", ScheduleEvery: 5 * time.Minute,
	}, c)
}

// Every configuration problem is reported, each naming its variable, and a
// bad value of one variable does not stop the others being read.
func TestConfigProblemsNameTheirVariable(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"root", func(c *Config) { c.Root = "" }, "STRICTCYCLE_ROOT: must not be empty"},
		{"contract", func(c *Config) { c.Contract = "" }, "STRICTCYCLE_CONTRACT: must not be empty"},
		{"task queue", func(c *Config) { c.TaskQueue = "" }, "STRICTCYCLE_TASK_QUEUE: must not be empty"},
		{"address", func(c *Config) { c.Temporal.Address = "" }, "TEMPORAL_ADDRESS: must not be empty"},
		{"namespace", func(c *Config) { c.Temporal.Namespace = "" }, "TEMPORAL_NAMESPACE: must not be empty"},
		{"key without cert", func(c *Config) { c.Temporal.TLSKey = "k.pem" }, "TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: set both or neither"},
		{"redis url", func(c *Config) { c.Redis.URL = "" }, "REDIS_URL: must not be empty"},
		{"redis scheme", func(c *Config) { c.Redis.URL = "http://:pw@x" }, "REDIS_URL: must be redis:// or rediss:// (value not shown)"},
		{"decision stream", func(c *Config) { c.Redis.Stream = "" }, "STRICTCYCLE_DECISION_STREAM: must not be empty"},
		{"transition stream", func(c *Config) { c.Redis.TransitionStream = "" }, "STRICTCYCLE_TRANSITION_STREAM: must not be empty"},
		{"same streams", func(c *Config) { c.Redis.TransitionStream = c.Redis.Stream },
			"STRICTCYCLE_TRANSITION_STREAM: must differ from STRICTCYCLE_DECISION_STREAM (a reader of decisions would take transitions for decisions)"},
		{"dev port", func(c *Config) { c.Temporal.DevPort = 0 }, "STRICTCYCLE_DEV_PORT: 0 is not a port"},
		{"dev port high", func(c *Config) { c.Temporal.DevPort = 65536 }, "STRICTCYCLE_DEV_PORT: 65536 is not a port"},
		{"ui port", func(c *Config) { c.Temporal.DevUIPort = -1 }, "STRICTCYCLE_DEV_UI_PORT: -1 is not a port"},
		{"ui port high", func(c *Config) { c.Temporal.DevUIPort = 70000 }, "STRICTCYCLE_DEV_UI_PORT: 70000 is not a port"},
		{"schedule", func(c *Config) { c.ScheduleEvery = time.Second }, "STRICTCYCLE_SCHEDULE_EVERY: schedule interval 1s is shorter than 1m0s"},
		{"environment", func(c *Config) { c.Environment = "a-b" },
			`STRICTCYCLE_ENVIRONMENT: environment name "a-b" must match ^[a-z0-9][a-z0-9_]{0,62}$ (lower-case letters, digits and underscores, at most 63)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mod(&c)
			require.EqualError(t, c.Validate(), tt.want)
		})
	}
	require.NoError(t, func() error { c := Default(); return c.Validate() }())

	// Two bad values: both are reported, in variable order.
	env := map[string]string{"STRICTCYCLE_DEV_PORT": "x", "REDIS_DIAL_TIMEOUT": "soon", "TEMPORAL_TLS": "maybe"}
	_, err := Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.EqualError(t, err, strings.Join([]string{
		`env TEMPORAL_TLS: parse bool "maybe": strconv.ParseBool: parsing "maybe": invalid syntax`,
		`env STRICTCYCLE_DEV_PORT: parse int "x": strconv.Atoi: parsing "x": invalid syntax`,
		`env REDIS_DIAL_TIMEOUT: parse duration "soon": time: invalid duration "soon"`,
	}, "\n"))
}

// validContract has a check of most kinds, a service, a replay, a
// recovery with every driver's settings, a pre-step and a manifest; it
// validates.
func validContract() *Contract {
	return &Contract{
		Name:      "c",
		Freshness: Freshness{Window: 20 * time.Minute, CIWindow: time.Hour, FutureSkew: 2 * time.Minute},
		Checks: []Check{
			{Name: "r", Severity: SeverityCritical, Kind: KindReport, Producer: "svc",
				Report: &ReportSpec{Path: "reports/r.json", Condition: `status == "ok"`}},
			{Name: "cmd", Severity: SeverityWarning, Kind: KindCommand,
				Command: &CommandSpec{Argv: []string{"python3", "x.py"}, Timeout: time.Minute}},
			{Name: "g", Severity: SeverityInfo, Kind: KindFilesGlob, Glob: &GlobSpec{Pattern: "reports/*.json"}},
			{Name: "lag", Severity: SeverityCritical, Kind: KindRedisGroupLag, Redis: &RedisSpec{Stream: "s", Group: "g"}},
			{Name: "f", Severity: SeverityCritical, Kind: KindFilesPresent, Files: []string{"a.txt"}},
		},
		Services: map[string]Service{"svc": {Driver: DriverDocker, Container: "svc-1", Profiles: []string{"p"}}},
		Replay:   &Replay{Check: "r", Argv: []string{"true"}, Artifact: "reports/replay.json", Timeout: time.Minute},
		Recovery: Recovery{Driver: DriverExec, MaxRestarts: 2, MaxRounds: 2,
			Exec:    ExecDriver{Restart: []string{"systemctl", "restart", "{service}"}},
			Compose: ComposeDriver{Command: []string{"docker", "compose"}, Files: []string{"compose.yml"}, Profiles: []string{"live"}, EnvFile: ".env"}},
		PreSteps:        []PreStep{{Name: "pre", Argv: []string{"make", "{today_utc}"}, FailsChecks: []string{"r"}}},
		ReleaseManifest: &ManifestSpec{Path: "docs/m.md", Glob: "docs/m_*.md"},
	}
}

// Each contract error is reported as exactly its problem, with the path of
// the field, and nothing else: a load error an operator can act on.
func TestContractProblemsNameTheirField(t *testing.T) {
	require.NoError(t, validContract().Validate())
	tests := []struct {
		name string
		mod  func(c *Contract)
		want []string
	}{
		{"ci window", func(c *Contract) { c.Freshness.CIWindow = -time.Second }, []string{"freshness.ci_window: duration -1s is negative"}},
		{"future skew", func(c *Contract) { c.Freshness.FutureSkew = -time.Second }, []string{"freshness.future_skew: duration -1s is negative"}},
		{"warning is a severity", func(c *Contract) { c.Checks[1].Severity = "crit" }, []string{`checks[1] (cmd): severity "crit" is not critical|warning|info`}},
		{"unknown kind", func(c *Contract) { c.Checks[4].Kind = "nope" }, []string{`checks[4] (f): kind "nope" is not one of ` + strings.Join(Kinds(), "|")}},
		{"block of another kind", func(c *Contract) { c.Checks[4].Glob = &GlobSpec{Pattern: "x"} }, []string{`checks[4] (f): block "glob" does not belong to kind "files_present"`}},
		{"missing block", func(c *Contract) { c.Checks[2].Glob = nil }, []string{`checks[2] (g): kind "files_glob" needs a "glob" block`}},
		{"unknown producer", func(c *Contract) { c.Checks[0].Producer = "other" }, []string{`checks[0] (r): producer "other" is not a key of services`}},
		{"evidence_paths", func(c *Contract) { c.Checks[4].EvidencePaths = []string{"../x"} }, []string{`checks[4] (f): evidence_paths[0]: path "../x" escapes the root`}},
		{"both evidence lists", func(c *Contract) { c.Checks[4].EvidencePaths = []string{"x"}; c.Checks[4].Evidence = []string{"y"} },
			[]string{"checks[4] (f): set evidence_paths (the whole recorded list) or evidence (extra files), not both"}},
		{"files", func(c *Contract) { c.Checks[4].Files = []string{"/etc/passwd"} }, []string{`checks[4] (f): files[0]: path "/etc/passwd" is absolute (paths are relative to the root)`}},
		// report
		{"path and globs", func(c *Contract) { c.Checks[0].Report.Globs = []string{"reports/*.json"} }, []string{"checks[0] (r): report: set path, or paths/globs, not both"}},
		{"no path", func(c *Contract) { c.Checks[0].Report.Path = "" }, []string{"checks[0] (r): report: needs path, paths or globs"}},
		{"paths", func(c *Contract) { c.Checks[0].Report.Path = ""; c.Checks[0].Report.Paths = []string{"a", ""} }, []string{"checks[0] (r): report.paths[1]: path must not be empty"}},
		{"glob pattern", func(c *Contract) { c.Checks[0].Report.Path = ""; c.Checks[0].Report.Globs = []string{"reports/[.json"} },
			[]string{`checks[0] (r): report.globs[0]: bad pattern "reports/[.json": syntax error in pattern`}},
		{"glob slash in a class", func(c *Contract) {
			c.Checks[0].Report.Path = ""
			c.Checks[0].Report.Globs = []string{"reports/a[/]*.json"}
		},
			[]string{`checks[0] (r): report.globs[0]: bad pattern "reports/a[/]*.json": syntax error in pattern`}},
		{"files_glob pattern", func(c *Contract) { c.Checks[2].Glob.Pattern = "logs/[a-" },
			[]string{`checks[2] (g): glob.pattern: bad pattern "logs/[a-": syntax error in pattern`}},
		{"timestamp key", func(c *Contract) { c.Checks[0].Report.TimestampKeys = []string{"ts", " "} }, []string{"checks[0] (r): report.timestamp_keys[1]: must not be empty"}},
		{"missing_path with path", func(c *Contract) { c.Checks[0].Report.MissingPath = "reports/m.json" },
			[]string{"checks[0] (r): report: missing_path is for paths/globs (a single path is recorded itself)"}},
		{"missing_path escapes", func(c *Contract) {
			c.Checks[0].Report.Path = ""
			c.Checks[0].Report.Globs = []string{"reports/*.json"}
			c.Checks[0].Report.MissingPath = "../m.json"
		}, []string{`checks[0] (r): report.missing_path: path "../m.json" escapes the root`}},
		{"max_age", func(c *Contract) { c.Checks[0].Report.MaxAge = -time.Minute }, []string{"checks[0] (r): report.max_age: duration -1m0s is negative"}},
		{"no_freshness and max_age", func(c *Contract) { c.Checks[0].Report.MaxAge = time.Minute; c.Checks[0].Report.NoFreshness = true },
			[]string{"checks[0] (r): report: no_freshness and max_age both set"}},
		{"ci_condition", func(c *Contract) { c.Checks[0].Report.CICondition = "1 +" },
			[]string{`checks[0] (r): report.ci_condition: compile "1 +": unexpected token EOF (1:3)`}},
		// command
		{"command argv", func(c *Contract) { c.Checks[1].Command.Argv = nil }, []string{"checks[1] (cmd): command.argv: must not be empty"}},
		{"command argv element", func(c *Contract) { c.Checks[1].Command.Argv = []string{"x", ""} }, []string{"checks[1] (cmd): command.argv[1]: must not be empty"}},
		{"command ci_argv", func(c *Contract) { c.Checks[1].Command.CIArgv = []string{} }, []string{"checks[1] (cmd): command.ci_argv: must not be empty"}},
		{"command timeout", func(c *Contract) { c.Checks[1].Command.Timeout = -time.Second }, []string{"checks[1] (cmd): command.timeout: duration -1s is negative"}},
		{"command env", func(c *Contract) { c.Checks[1].Command.PassEnv = []string{"REDIS_PASSWORD"} },
			[]string{"checks[1] (cmd): command.pass_env[0]: REDIS_PASSWORD is a setting of the worker and is never passed to a child"}},
		{"command report", func(c *Contract) { c.Checks[1].Command.Report = &ReportSpec{} }, []string{"checks[1] (cmd): command.report: needs path, paths or globs"}},
		{"command argv is not a template", func(c *Contract) {
			c.Checks[1].Command.Argv = []string{"/bin/sh", "-c", "a; b | c {x}"}
			c.Checks[1].Command.CIArgv = []string{"/bin/sh", "-c", "$(d) {y}"}
		}, nil},
		// glob, redis
		{"glob pattern escapes", func(c *Contract) { c.Checks[2].Glob.Pattern = "../*" }, []string{`checks[2] (g): glob.pattern: path "../*" escapes the root`}},
		{"glob min", func(c *Contract) { c.Checks[2].Glob.MinMatches = -1 }, []string{"checks[2] (g): glob.min_matches -1 is negative"}},
		{"glob none_evidence", func(c *Contract) { c.Checks[2].Glob.NoneEvidence = "/x" }, []string{`checks[2] (g): glob.none_evidence: path "/x" is absolute (paths are relative to the root)`}},
		{"redis stream", func(c *Contract) { c.Checks[3].Redis.Stream = "" }, []string{"checks[3] (lag): redis.stream must not be empty"}},
		{"redis group", func(c *Contract) { c.Checks[3].Redis.Group = "" }, []string{"checks[3] (lag): redis.group must not be empty"}},
		{"redis max_age", func(c *Contract) { c.Checks[3].Redis.MaxAge = -time.Second }, []string{"checks[3] (lag): redis.max_age: duration -1s is negative"}},
		{"redis max_lag", func(c *Contract) { c.Checks[3].Redis.MaxLag = -1 }, []string{"checks[3] (lag): redis.max_lag -1 is negative"}},
		// the other kinds' blocks
		{"strategy catalog", func(c *Contract) {
			c.Checks[4] = Check{Name: "sc", Severity: SeverityCritical, Kind: KindStrategyCatalog,
				StrategyCatalog: &StrategyCatalogSpec{Catalog: "/c", ControllerTemplate: "../t", ScriptTemplate: "", ControllersDir: "d"}}
		}, []string{
			`checks[4] (sc): strategy_catalog.catalog: path "/c" is absolute (paths are relative to the root)`,
			`checks[4] (sc): strategy_catalog.controller_template: path "../t" escapes the root`,
			"checks[4] (sc): strategy_catalog.script_template: path must not be empty",
		}},
		{"strategy catalog dir", func(c *Contract) {
			c.Checks[4] = Check{Name: "sc", Severity: SeverityCritical, Kind: KindStrategyCatalog,
				StrategyCatalog: &StrategyCatalogSpec{Catalog: "c", ControllerTemplate: "t", ScriptTemplate: "s", ControllersDir: ".."}}
		}, []string{`checks[4] (sc): strategy_catalog.controllers_dir: path ".." escapes the root`}},
		{"coordination", func(c *Contract) {
			c.Checks[4] = Check{Name: "co", Severity: SeverityCritical, Kind: KindCoordination,
				Coordination: &CoordinationSpec{Policy: "/p", MultiBotPolicy: "", Compose: "../c"}}
		}, []string{
			`checks[4] (co): coordination.policy: path "/p" is absolute (paths are relative to the root)`,
			"checks[4] (co): coordination.multi_bot_policy: path must not be empty",
			`checks[4] (co): coordination.compose: path "../c" escapes the root`,
		}},
		{"day2", func(c *Contract) {
			c.Checks[4] = Check{Name: "d2", Severity: SeverityCritical, Kind: KindDay2Gate,
				Day2: &Day2Spec{Eval: "/e", RequireLag: true, MaxDelta: -1}}
		}, []string{
			`checks[4] (d2): day2.eval: path "/e" is absolute (paths are relative to the root)`,
			"checks[4] (d2): day2.source_compare_glob: path must not be empty",
			"checks[4] (d2): day2.max_delta -1 is negative",
		}},
		{"day2 without lag", func(c *Contract) {
			c.Checks[4] = Check{Name: "d2", Severity: SeverityCritical, Kind: KindDay2Gate, Day2: &Day2Spec{Eval: "e"}}
		}, nil},
		{"secrets hygiene", func(c *Contract) {
			c.Checks[4] = Check{Name: "sh", Severity: SeverityCritical, Kind: KindSecretsHygiene,
				SecretsHygiene: &SecretsHygieneSpec{MaxFileBytes: -1, EnvFile: "/e", ReportDir: "../r"}}
		}, []string{
			"checks[4] (sh): secrets_hygiene.max_file_bytes -1 is negative",
			`checks[4] (sh): secrets_hygiene.env_file: path "/e" is absolute (paths are relative to the root)`,
			`checks[4] (sh): secrets_hygiene.report_dir: path "../r" escapes the root`,
		}},
		{"multi bot policy", func(c *Contract) {
			c.Checks[4] = Check{Name: "mb", Severity: SeverityCritical, Kind: KindMultiBotPolicy,
				MultiBotPolicy: &MultiBotPolicySpec{Policy: "../p", ExchangeAccountMap: "../a", PortfolioLimits: "../f", ReconciliationThresholds: "../t", ReportDir: "/r"}}
		}, []string{
			`checks[4] (mb): multi_bot_policy.policy: path "../p" escapes the root`,
			`checks[4] (mb): multi_bot_policy.exchange_account_map: path "../a" escapes the root`,
			`checks[4] (mb): multi_bot_policy.portfolio_limits: path "../f" escapes the root`,
			`checks[4] (mb): multi_bot_policy.reconciliation_thresholds: path "../t" escapes the root`,
			`checks[4] (mb): multi_bot_policy.report_dir: path "/r" is absolute (paths are relative to the root)`,
		}},
		// live
		{"live severities", func(c *Contract) {
			c.LiveScope = &LiveScopeSpec{}
			for i, sev := range []string{"", SeverityCritical, SeverityWarning, SeverityInfo} {
				c.Checks[i].Live = &LiveSpec{Severity: sev}
			}
		}, nil},
		{"live severity", func(c *Contract) { c.LiveScope = &LiveScopeSpec{}; c.Checks[4].Live = &LiveSpec{Severity: "high"} },
			[]string{`checks[4] (f): live.severity "high" is not critical|warning|info`}},
		{"live without scope", func(c *Contract) { c.Checks[4].Live = &LiveSpec{} }, []string{"checks[4] (f): live needs the contract's live_scope"}},
		// parity, reasons
		{"parity drift", func(c *Contract) {
			c.Checks[4] = Check{Name: "pa", Severity: SeverityCritical, Kind: KindParityGate,
				Parity: &ParitySpec{Report: ReportSpec{Path: "reports/p.json"}, DriftPaths: []string{"../d.json"}, DriftGlobs: []string{"/d_*.json"}}}
		}, []string{
			`checks[4] (pa): parity.drift.paths[0]: path "../d.json" escapes the root`,
			`checks[4] (pa): parity.drift.globs[0]: path "/d_*.json" is absolute (paths are relative to the root)`,
		}},
		{"reasons of checks that judge a report", func(c *Contract) {
			fr := []FailReason{{When: `status == "x"`, Reason: "x"}}
			c.Checks[0].StaleReason, c.Checks[0].FailReasons = "stale", fr
			c.Checks[1].Command.Report = &ReportSpec{Path: "reports/c.json"}
			c.Checks[1].StaleReason, c.Checks[1].FailReasons = "stale", fr
			c.Checks[4] = Check{Name: "pa", Severity: SeverityCritical, Kind: KindParityGate, StaleReason: "stale", FailReasons: fr,
				Parity: &ParitySpec{Report: ReportSpec{Path: "reports/p.json"}, DriftPaths: []string{"d.json"}}}
		}, nil},
		{"reasons of checks that judge no report", func(c *Contract) {
			fr := []FailReason{{When: `status == "x"`, Reason: "x"}}
			c.Checks[0].Report.NoFreshness = true
			c.Checks[0].StaleReason = "stale"
			c.Checks[1].StaleReason, c.Checks[1].FailReasons = "stale", fr
			c.Checks[2].FailReasons = fr
		}, []string{
			"checks[0] (r): stale_reason is for checks that judge a report's freshness",
			"checks[1] (cmd): stale_reason is for checks that judge a report's freshness",
			"checks[1] (cmd): fail_reasons are for checks that judge a report",
			"checks[2] (g): fail_reasons are for checks that judge a report",
		}},
		{"blocks that do not belong, by name", func(c *Contract) {
			c.Checks[4].Glob = &GlobSpec{Pattern: "x"}
			c.Checks[4].Command = &CommandSpec{Argv: []string{"x"}}
		}, []string{`checks[4] (f): block "command" does not belong to kind "files_present"`, `checks[4] (f): block "glob" does not belong to kind "files_present"`}},
		{"replay and compose argv are not templates", func(c *Contract) {
			c.Replay.Argv = []string{"/bin/sh", "-c", "a; b {x}"}
			c.Recovery.Compose.Command = []string{"podman-compose", "a|b", "{x}"}
		}, nil},
		// services
		{"service driver", func(c *Contract) { c.Services["svc"] = Service{Driver: "k8s"} }, []string{`services.svc: driver "k8s" is not docker|compose|exec`}},
		{"service control character", func(c *Contract) { c.Services["a\nb"] = Service{} },
			[]string{`services["a\nb"]: name "a\nb" does not match ^[a-z0-9][a-z0-9_.-]*$`}},
		// replay
		{"replay check", func(c *Contract) { c.Replay.Check = "zz" }, []string{`replay.check: "zz" is not a check of the contract`}},
		{"replay argv", func(c *Contract) { c.Replay.Argv = nil }, []string{"replay.argv: must not be empty"}},
		{"replay env", func(c *Contract) { c.Replay.Env = map[string]string{"A B": "x"} }, []string{`replay.env: "A B" is not a variable name (^[A-Za-z_][A-Za-z0-9_]*$)`}},
		{"replay artifact", func(c *Contract) { c.Replay.Artifact = "" }, []string{"replay.artifact: path must not be empty"}},
		{"replay timeout", func(c *Contract) { c.Replay.Timeout = -time.Second }, []string{"replay.timeout: duration -1s is negative"}},
		// recovery
		{"recovery driver", func(c *Contract) { c.Recovery.Driver = "ssh" }, []string{`recovery.driver: "ssh" is not docker|compose|exec`}},
		{"budget window", func(c *Contract) { c.Recovery.BudgetWindow = -time.Second }, []string{"recovery.budget_window: duration -1s is negative"}},
		{"wait first", func(c *Contract) { c.Recovery.WaitFirst = -time.Second }, []string{"recovery.wait_first: duration -1s is negative"}},
		{"watch timeout", func(c *Contract) { c.Recovery.WatchTimeout = -time.Second }, []string{"recovery.watch_timeout: duration -1s is negative"}},
		{"lock ttl", func(c *Contract) { c.Recovery.LockTTL = -time.Second }, []string{"recovery.lock_ttl: duration -1s is negative"}},
		{"docker timeout", func(c *Contract) { c.Recovery.Docker.Timeout = -time.Second }, []string{"recovery.docker.timeout: duration -1s is negative"}},
		{"docker health", func(c *Contract) { c.Recovery.Docker.HealthTimeout = -time.Second }, []string{"recovery.docker.health_timeout: duration -1s is negative"}},
		{"exec timeout", func(c *Contract) { c.Recovery.Exec.Timeout = -time.Second }, []string{"recovery.exec.timeout: duration -1s is negative"}},
		{"max restarts", func(c *Contract) { c.Recovery.MaxRestarts = -1 }, []string{"recovery.max_restarts: -1 is negative"}},
		{"max rounds", func(c *Contract) { c.Recovery.MaxRounds = -1 }, []string{"recovery.max_rounds: -1 is negative"}},
		{"compose env", func(c *Contract) { c.Recovery.Compose.SecretEnv = []string{"TEMPORAL_API_KEY"} },
			[]string{"recovery.compose.secret_env[0]: TEMPORAL_API_KEY is a setting of the worker and is never passed to a child"}},
		{"exec env", func(c *Contract) { c.Recovery.Exec.PassEnv = []string{"1X"} },
			[]string{`recovery.exec.pass_env[0]: "1X" is not a variable name (^[A-Za-z_][A-Za-z0-9_]*$)`}},
		{"compose command", func(c *Contract) { c.Recovery.Compose.Command = []string{"docker", ""} }, []string{"recovery.compose.command[1]: must not be empty"}},
		{"compose file", func(c *Contract) { c.Recovery.Compose.Files = []string{"ok.yml", "../c.yml"} }, []string{`recovery.compose.files[1]: path "../c.yml" escapes the root`}},
		{"compose profile", func(c *Contract) { c.Recovery.Compose.Profiles = []string{"-x"} },
			[]string{`recovery.compose.profiles[0]: "-x" does not match ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`}},
		{"compose env file", func(c *Contract) { c.Recovery.Compose.EnvFile = "/etc/env" },
			[]string{`recovery.compose.env_file: path "/etc/env" is absolute (paths are relative to the root)`}},
		{"exec stop", func(c *Contract) { c.Recovery.Exec.Stop = []string{"kill", "{pid}"} }, []string{"recovery.exec.stop[1]: placeholder {pid} is not {service} or {root}"}},
		{"exec start", func(c *Contract) { c.Recovery.Exec.Start = []string{"run", "a|b"} },
			[]string{`recovery.exec.start[1]: "a|b" contains shell metacharacter "|" (argv is not run through a shell)`}},
		{"exec brace", func(c *Contract) { c.Recovery.Exec.Restart = []string{"run", "{service"} }, []string{`recovery.exec.restart[1]: "{service" has an unbalanced brace`}},
		{"exec stop and start", func(c *Contract) { c.Recovery.Exec = ExecDriver{Stop: []string{"stop"}, Start: []string{"start"}} }, nil},
		{"exec stop alone", func(c *Contract) { c.Recovery.Exec = ExecDriver{Stop: []string{"stop"}} }, []string{"recovery.exec: driver exec needs restart, or stop and start"}},
		{"exec start alone", func(c *Contract) { c.Recovery.Exec = ExecDriver{Start: []string{"start"}} }, []string{"recovery.exec: driver exec needs restart, or stop and start"}},
		{"no exec without the exec driver", func(c *Contract) { c.Recovery.Driver = DriverDocker; c.Recovery.Exec = ExecDriver{} }, nil},
		// interpreter
		{"interpreter name", func(c *Contract) { c.Interpreter = "python3" }, nil},
		{"interpreter absolute", func(c *Contract) { c.Interpreter = "/usr/bin/python3" }, nil},
		{"interpreter relative", func(c *Contract) { c.Interpreter = ".venv/bin/python" }, nil},
		{"interpreter shell", func(c *Contract) { c.Interpreter = "python3;id" },
			[]string{`interpreter: "python3;id" is not a program name or path (no spaces, quotes, globs or shell characters)`}},
		{"interpreter option", func(c *Contract) { c.Interpreter = "-c" }, []string{`interpreter: "-c" is not a program name (^[A-Za-z0-9][A-Za-z0-9._+-]*$) or a path`}},
		{"interpreter unclean", func(c *Contract) { c.Interpreter = "/usr/../bin/python3" }, []string{`interpreter: "/usr/../bin/python3" is not a clean absolute path`}},
		{"interpreter escapes", func(c *Contract) { c.Interpreter = "../venv/bin/python" }, []string{`interpreter: path "../venv/bin/python" escapes the root`}},
		// pre-steps
		{"pre-step name", func(c *Contract) { c.PreSteps[0].Name = "A" }, []string{`pre_steps[0] (A): name "A" does not match ^[a-z0-9][a-z0-9_.-]*$`}},
		{"pre-step duplicate", func(c *Contract) { c.PreSteps = append(c.PreSteps, PreStep{Name: "pre", Argv: []string{"x"}}) },
			[]string{"pre_steps[1] (pre): duplicate name (also pre_steps[0])"}},
		{"pre-step argv", func(c *Contract) { c.PreSteps[0].Argv = nil }, []string{"pre_steps[0] (pre): argv: must not be empty"}},
		{"pre-step placeholder", func(c *Contract) { c.PreSteps[0].Argv = []string{"make", "{today}"} }, []string{"pre_steps[0] (pre): argv[1]: placeholder {today} is not {today_utc}"}},
		{"pre-step ci_argv", func(c *Contract) { c.PreSteps[0].CIArgv = []string{"make", ""} }, []string{"pre_steps[0] (pre): ci_argv[1]: must not be empty"}},
		{"pre-step ci_argv placeholder", func(c *Contract) { c.PreSteps[0].CIArgv = []string{"make", "{now}"} },
			[]string{"pre_steps[0] (pre): ci_argv[1]: placeholder {now} is not {today_utc}"}},
		{"pre-step env", func(c *Contract) { c.PreSteps[0].PassEnv = []string{"X", "X"} }, []string{"pre_steps[0] (pre).pass_env[1]: X is already listed (pre_steps[0] (pre).pass_env[0])"}},
		{"pre-step timeout", func(c *Contract) { c.PreSteps[0].Timeout = -time.Second }, []string{"pre_steps[0] (pre): timeout: duration -1s is negative"}},
		{"pre-step fails_checks", func(c *Contract) { c.PreSteps[0].FailsChecks = []string{"r", "zz"} },
			[]string{`pre_steps[0] (pre): fails_checks[1]: "zz" is not a check of the contract`}},
		// release manifest
		{"manifest path", func(c *Contract) { c.ReleaseManifest.Path = "/m.md" }, []string{`release_manifest.path: path "/m.md" is absolute (paths are relative to the root)`}},
		{"manifest glob path", func(c *Contract) { c.ReleaseManifest.Glob = "../m_*.md" }, []string{`release_manifest.glob: path "../m_*.md" escapes the root`}},
		{"manifest glob pattern", func(c *Contract) { c.ReleaseManifest.Glob = "docs/m_[.md" }, []string{`release_manifest.glob: bad pattern "docs/m_[.md": syntax error in pattern`}},
		{"manifest without glob", func(c *Contract) { c.ReleaseManifest.Glob = "" }, nil},
		// paths
		{"backslash absolute", func(c *Contract) { c.Checks[4].Files = []string{`\x`} }, []string{`checks[4] (f): files[0]: path "\\x" is absolute (paths are relative to the root)`}},
		{"drive", func(c *Contract) { c.Checks[4].Files = []string{`c:x`} }, []string{`checks[4] (f): files[0]: path "c:x" is absolute (paths are relative to the root)`}},
		{"dotdot in a name is fine", func(c *Contract) { c.Checks[4].Files = []string{"a..b/..c"} }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validContract()
			tt.mod(c)
			err := c.Validate()
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tt.want, ve.Problems)
		})
	}
}

// A condition evaluated over its budget environment stops at
// MaxConditionSteps predicate steps with an error saying so; under the
// budget it evaluates; without the budget environment it cannot run.
func TestConditionStepBudget(t *testing.T) {
	p, err := CompileConditionProgram(`all(items, all(items, # >= 0))`)
	require.NoError(t, err)
	items := func(n int) map[string]any {
		xs := make([]any, n)
		for i := range xs {
			xs[i] = float64(i)
		}
		return map[string]any{"items": xs}
	}
	out, err := expr.Run(p, ConditionEnv(items(900))) // 810 900 steps
	require.NoError(t, err)
	require.Equal(t, true, out)
	_, err = expr.Run(p, ConditionEnv(items(1100))) // 1 211 100 steps
	require.ErrorContains(t, err, "condition budget exceeded: more than 1000000 predicate steps")
	_, err = expr.Run(p, items(3))
	require.Error(t, err, "a condition run without its budget")
}

// Each predicate element costs one step of the budget: the count an
// operator reads in "more than N predicate steps" is the number of
// elements visited. The budget's variable cannot be named in a condition.
func TestConditionStepsPerElement(t *testing.T) {
	p, err := CompileConditionProgram(`all(items, # >= 0) and any(items, # > 6)`)
	require.NoError(t, err)
	env := ConditionEnv(map[string]any{"items": []any{1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0}})
	out, err := expr.Run(p, env)
	require.NoError(t, err)
	require.Equal(t, true, out)
	require.Equal(t, 14, env[budgetVar].(*ConditionBudget).steps)
	require.ErrorContains(t, CompileCondition(budgetVar+` != nil`), budgetVar+" is reserved")
}

// A reason's placeholders parse to their kind and parameters, which the
// engine fills from the check's result: the return code, the age, the
// command's output, a report field.
func TestReasonPlaceholders(t *testing.T) {
	ps, err := ParsePlaceholders("{rc} {age_min:%.1f} {output:200} {status} {a.b:upper} {names:join|none} {x|-}")
	require.NoError(t, err)
	require.Equal(t, []Placeholder{
		{Raw: "{rc}", Kind: "rc"},
		{Raw: "{age_min:%.1f}", Kind: "age", Format: "%.1f"},
		{Raw: "{output:200}", Kind: "output", Chars: 200},
		{Raw: "{status}", Kind: "field", Field: "status"},
		{Raw: "{a.b:upper}", Kind: "field", Field: "a.b", Transform: "upper"},
		{Raw: "{names:join|none}", Kind: "field", Field: "names", Transform: "join", Default: "none", HasDefault: true},
		{Raw: "{x|-}", Kind: "field", Field: "x", Default: "-", HasDefault: true},
	}, ps)
}

// A function call is refused in a condition: only the built-ins bounded by
// the report can run.
func TestConditionRefusesCalls(t *testing.T) {
	for _, cond := range []string{`f(1) == 1`, `all(items, g(#))`} {
		require.ErrorContains(t, CompileCondition(cond), "function calls are not allowed in a condition", cond)
	}
}

// The deadline is looked at every 16 steps; past it, the step fails with
// the deadline in the message. The tick refuses a call that is not
// (budget, value).
func TestConditionDeadlineAndTick(t *testing.T) {
	b := &ConditionBudget{deadline: time.Now().Add(-time.Second)}
	for range 15 {
		require.NoError(t, b.step())
	}
	require.EqualError(t, b.step(), "condition budget exceeded: ran longer than 2s")

	_, err := tick(true)
	require.EqualError(t, err, "condition budget: bad call")
	_, err = tick(1, true)
	require.EqualError(t, err, "condition budget: evaluated without a budget")
	v, err := tick(&ConditionBudget{deadline: time.Now().Add(time.Minute)}, "x")
	require.NoError(t, err)
	require.Equal(t, "x", v)
}

// ScopeStreams puts both streams under the key prefix, so a run that drops
// its prefix leaves no stream behind and never writes the stack's own.
func TestScopeStreams(t *testing.T) {
	r := Default().Redis
	r.KeyPrefix = "t1"
	r.ScopeStreams()
	require.Equal(t, "t1:hb.promotion_gate.v1", r.Stream)
	require.Equal(t, "t1:hb.promotion_gate.transitions.v1", r.TransitionStream)
}

// Every documented log level is accepted, and only those.
func TestLogLevels(t *testing.T) {
	for _, l := range []string{"debug", "info", "warn", "error"} {
		c := Default()
		c.LogLevel = l
		require.NoError(t, c.Validate(), l)
	}
	c := Default()
	c.LogLevel = "trace"
	require.EqualError(t, c.Validate(), `STRICTCYCLE_LOG_LEVEL: level "trace" is not debug|info|warn|error`)
}

// LoadContractDigest loads as LoadContract does (same errors) and returns
// the sha256 of the bytes it decoded; an empty name is its own error.
func TestLoadContractDigestAndErrors(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/c.yaml"
	data := "name: t\nchecks:\n  - name: a\n    severity: critical\n    kind: files_present\n    files: [a.txt]\n"
	require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
	c, sum, err := LoadContractDigest(p)
	require.NoError(t, err)
	require.Equal(t, "t", c.Name)
	h := sha256.Sum256([]byte(data))
	require.Equal(t, hex.EncodeToString(h[:]), sum)

	_, _, err = LoadContractDigest("no-such-contract")
	require.EqualError(t, err, `load contract "no-such-contract": not a shipped contract (have `+strings.Join(ContractNames(), ", ")+")")
	_, _, err = LoadContractDigest(dir + "/missing.yaml")
	require.ErrorContains(t, err, "no such file or directory")
	_, err = LoadContract("")
	require.EqualError(t, err, "load contract: empty name")
}

// Loading a contract file closes it (a worker that reloads its contract
// would otherwise hold one descriptor per load until the collector runs).
func TestLoadContractClosesFile(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self/fd")
	}
	p := t.TempDir() + "/c.yaml"
	require.NoError(t, os.WriteFile(p, []byte("name: t\nchecks:\n  - name: a\n    severity: critical\n    kind: files_present\n    files: [a.txt]\n"), 0o644))
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	_, err := LoadContract(p)
	require.NoError(t, err)
	fds, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	for _, fd := range fds {
		target, err := os.Readlink("/proc/self/fd/" + fd.Name())
		if err == nil {
			require.NotEqual(t, p, target, "a descriptor left open on the contract")
		}
	}
}

// Problems about a map's keys (services, a child's env) come sorted by key,
// whatever the map's iteration order: the same contract always reads the
// same.
func TestProblemsSortedByKey(t *testing.T) {
	keys := []string{"B1", "C2", "D3", "E4", "F5", "G6", "H7", "I8"}
	var wantEnv, wantSvc []string
	for _, k := range keys {
		wantEnv = append(wantEnv, fmt.Sprintf(`replay.env: "%s-" is not a variable name (^[A-Za-z_][A-Za-z0-9_]*$)`, k))
		wantSvc = append(wantSvc, fmt.Sprintf(`services.%s: name "%s" does not match ^[a-z0-9][a-z0-9_.-]*$`, k, k))
	}
	for range 10 {
		c := validContract()
		c.Replay.Env = map[string]string{}
		for _, k := range keys {
			c.Replay.Env[k+"-"] = "x"
			c.Services[k] = Service{}
		}
		var ve *ValidationError
		require.ErrorAs(t, c.Validate(), &ve)
		require.Equal(t, append(wantSvc, wantEnv...), ve.Problems)
	}
}

// The secrets scan's per-file cap is the contract's when set, else the
// default.
func TestSecretsMaxBytes(t *testing.T) {
	require.Equal(t, int64(10), (&SecretsHygieneSpec{MaxFileBytes: 10}).MaxBytes())
	require.Equal(t, int64(DefaultSecretsMaxFileBytes), (&SecretsHygieneSpec{}).MaxBytes())
}
