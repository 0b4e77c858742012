package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadShippedDay28(t *testing.T) {
	assert.Contains(t, ContractNames(), "hbot-day28")
	c, err := LoadContract("hbot-day28")
	require.NoError(t, err)
	want := []string{
		"preflight_checks", "multi_bot_policy_scope", "strategy_catalog_consistency", "coordination_policy_scope",
		"unit_service_integration_tests", "secrets_hygiene", "smoke_checks", "paper_smoke_matrix",
		"replay_regression_cycle", "regression_backtest_harness", "reconciliation_status", "parity_thresholds",
		"portfolio_risk_status", "alerting_health", "event_store_integrity_freshness", "day2_event_store_gate",
	}
	var got []string
	for _, ck := range c.Checks {
		got = append(got, ck.Name)
		assert.Equal(t, SeverityCritical, ck.Severity, ck.Name)
	}
	assert.Equal(t, want, got)
	assert.Len(t, c.Checks[0].Files, 13)
	assert.Equal(t, "replay_regression_cycle", c.Replay.Check)
	assert.Equal(t, 3, c.Recovery.MaxRestarts)
}

const base = `name: t
freshness: {window: 20m, ci_window: 15m, future_skew: 2m}
services:
  svc: {}
checks:
  - name: a
    severity: critical
    kind: report
    report: {path: reports/a.json, condition: status == "pass"}
`

func TestParseContractErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"unknown field", strings.Replace(base, "    severity: critical\n", "    severity: critical\n    colour: red\n", 1),
			"decode contract: yaml: unmarshal errors:\n  line 8: field colour not found in type config.Check"},
		{"unknown kind", strings.Replace(base, "kind: report", "kind: reprot", 1),
			`validate contract: checks[0] (a): kind "reprot" is not one of command|coordination_policy|day2_gate|files_glob|files_present|multi_bot_policy|parity_gate|redis_group_lag|redis_ping|redis_stream_fresh|report|secrets_hygiene|strategy_catalog|trading_ladder`},
		{"bad severity", strings.Replace(base, "severity: critical", "severity: crit", 1),
			`validate contract: checks[0] (a): severity "crit" is not critical|warning|info`},
		{"escape", strings.Replace(base, "reports/a.json", "../etc/passwd", 1),
			`validate contract: checks[0] (a): report.path: path "../etc/passwd" escapes the root`},
		{"absolute", strings.Replace(base, "reports/a.json", "/etc/passwd", 1),
			`validate contract: checks[0] (a): report.path: path "/etc/passwd" is absolute (paths are relative to the root)`},
		{"duplicate name", base + "  - name: a\n    severity: info\n    kind: files_present\n    files: [x]\n",
			`validate contract: checks[1] (a): duplicate name (also checks[0])`},
		{"bad expression", strings.Replace(base, `status == "pass"`, `status ==`, 1),
			`validate contract: checks[0] (a): report.condition: compile "status ==": unexpected token EOF (1:9)`},
		{"non-boolean expression", strings.Replace(base, `status == "pass"`, `1 + 2`, 1),
			`validate contract: checks[0] (a): report.condition: compile "1 + 2": expected bool, but got int`},
		{"bad service name", strings.Replace(base, "  svc: {}", "  Bad_Svc: {}", 1),
			`validate contract: services.Bad_Svc: name "Bad_Svc" does not match ^[a-z0-9][a-z0-9_.-]*$`},
		{"unknown producer", strings.Replace(base, "    kind: report\n", "    kind: report\n    producer: ghost\n", 1),
			`validate contract: checks[0] (a): producer "ghost" is not a key of services`},
		{"wrong block", strings.Replace(base, "    kind: report\n", "    kind: report\n    files: [x]\n", 1),
			`validate contract: checks[0] (a): block "files" does not belong to kind "report"`},
		{"injection template", base + "recovery:\n  driver: exec\n  exec:\n    restart: [systemctl, restart, '{service};rm']\n",
			`validate contract: recovery.exec.restart[2]: "{service};rm" contains shell metacharacter ";" (argv is not run through a shell)`},
		{"unknown placeholder", base + "recovery:\n  driver: exec\n  exec:\n    restart: [kill, '{pid}']\n",
			`validate contract: recovery.exec.restart[1]: placeholder {pid} is not {service} or {root}`},
		{"empty argv element", base + "recovery:\n  driver: exec\n  exec:\n    restart: [restart, '']\n",
			`validate contract: recovery.exec.restart[1]: must not be empty`},
		{"unknown driver", base + "recovery:\n  driver: ssh\n",
			`validate contract: recovery.driver: "ssh" is not docker|compose|exec`},
		{"negative duration", strings.Replace(base, "window: 20m", "window: -1m", 1),
			`validate contract: freshness.window: duration -1m0s is negative`},
		{"every problem reported", strings.Replace(strings.Replace(base, "severity: critical", "severity: crit", 1), "reports/a.json", "/abs", 1),
			`validate contract: checks[0] (a): severity "crit" is not critical|warning|info; checks[0] (a): report.path: path "/abs" is absolute (paths are relative to the root)`},
		{"empty", "", "decode contract: empty document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseContract([]byte(tt.yaml))
			require.EqualError(t, err, tt.want)
		})
	}
}

func TestLoadContractByPath(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	require.NoError(t, os.WriteFile(p, []byte(base), 0o644))
	c, err := LoadContract(p)
	require.NoError(t, err)
	assert.Equal(t, "t", c.Name)
	_, err = LoadContract("no-such-contract")
	require.EqualError(t, err, `load contract "no-such-contract": not a shipped contract (have `+strings.Join(ContractNames(), ", ")+")")
	_, err = LoadContract(filepath.Join(dir, "missing.yaml"))
	require.ErrorContains(t, err, "no such file or directory")
}

func FuzzLoadContract(f *testing.F) {
	day28, err := shipped.ReadFile("contracts/hbot-day28.yaml")
	require.NoError(f, err)
	f.Add(day28)
	f.Add([]byte(base))
	f.Add([]byte("checks: [{}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseContract(data)
		if err == nil && c == nil {
			t.Fatal("nil contract without error")
		}
	})
}
