package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func fixtureRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	require.True(t, ok)
	root, err := filepath.Abs(filepath.Join(filepath.Dir(file), "..", "..", "shared", "fixtures", "hbot-day28"))
	require.NoError(t, err)
	return root
}

func runGates(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := gatesCmd(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestGatesGoldenDay28 runs the shipped contract over the Day-28 fixture as
// the strict cycle would (--ci), without commands, at 2026-02-26T02:00:00Z,
// and checks every verdict and reason against the spec's oracle (§6.2) with
// the W7b/W9 fixes: day2 is in the future (stale, not fresh) and its lag is
// read from the delta_ keys (1583 > 6).
func TestGatesGoldenDay28(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := runGates(t, "--root", fixtureRoot(t), "--ci", "--no-commands", "--now", "2026-02-26T02:00:00Z", "--out", out)
	require.Empty(t, stderr)
	assert.Equal(t, 2, code)
	nc := "command not run (--no-commands); judged on "
	want := []string{
		"[PASS] preflight_checks: required files present",
		"[STALE] multi_bot_policy_scope: " + nc + "reports/policy/latest.json: multi-bot policy scope check failed: stale: age 2846.3m > 15m (ts_utc 2026-02-24T02:33:42Z)",
		"[PASS] strategy_catalog_consistency: strategy catalog configs resolve to shared code and declared bundles",
		"[PASS] coordination_policy_scope: coordination service runs only in policy-permitted scope/mode",
		"[STALE] unit_service_integration_tests: " + nc + "reports/tests/latest.json: deterministic test suite failed: stale: age 2846.2m > 15m (ts_utc 2026-02-24T02:33:47Z)",
		"[STALE] secrets_hygiene: " + nc + "reports/security/latest.json: secrets hygiene check failed: stale: age 2846.1m > 15m (ts_utc 2026-02-24T02:33:51Z)",
		"[PASS] smoke_checks: bot4 smoke activity artifacts found",
		"[PASS] paper_smoke_matrix: bot3 paper-mode intent verified",
		"[STALE] replay_regression_cycle: " + nc + `reports/replay_regression/latest.json: replay regression cycle failed: stale: age 2845.1m > 15m (ts_utc 2026-02-24T02:34:53Z); condition false (status="fail"; rule: status == "pass")`,
		"[STALE] regression_backtest_harness: " + nc + "reports/backtest_regression/latest.json: regression harness failed: stale: age 2845.1m > 15m (ts_utc 2026-02-24T02:34:53Z)",
		"[PASS] reconciliation_status: reconciliation healthy and fresh",
		"[PASS] parity_thresholds: parity pass and fresh",
		`[FAIL] portfolio_risk_status: portfolio risk critical or stale: condition false (critical_count=1, status="critical"; rule: (status == "ok" or status == "warning") and critical_count == 0)`,
		"[STALE] alerting_health: alert webhook evidence missing or stale: stale: age 2846.3m > 24h (ts_utc 2026-02-24T02:33:42Z)",
		"[PASS] event_store_integrity_freshness: event store integrity fresh with zero missing correlations",
		"[FAIL] day2_event_store_gate: day2 gate not yet GO: go=false; lag max_delta=1583 > 6 worst_stream=hb.audit.v1 " +
			"offending=hb.audit.v1=1583,hb.execution_intent.v1=1304,hb.market_data.v1=690 " +
			"(reports/event_store/source_compare_20260226T014648Z.json, delta_produced_minus_ingested_since_baseline); " +
			"stale: ts_utc 2026-02-26T03:13:57Z is in the future by 74.0m (skew allowed 2m)",
		"[promotion-gates] status=FAIL validation_level=0",
		"[promotion-gates] critical_failures=multi_bot_policy_scope,unit_service_integration_tests,secrets_hygiene," +
			"replay_regression_cycle,regression_backtest_harness,portfolio_risk_status,alerting_health,day2_event_store_gate",
		"[promotion-gates] evidence=" + filepath.Join(out, "promotion_gates_20260226T020000Z.json"),
	}
	assert.Equal(t, want, strings.Split(strings.TrimSuffix(stdout, "\n"), "\n"))

	data, err := os.ReadFile(filepath.Join(out, "latest.json"))
	require.NoError(t, err)
	var rep struct {
		TsUTC            string   `json:"ts_utc"`
		Status           string   `json:"status"`
		CriticalFailures []string `json:"critical_failures"`
		Checks           []struct {
			Name     string  `json:"name"`
			Pass     bool    `json:"pass"`
			Verdict  string  `json:"verdict"`
			TSSource string  `json:"ts_source"`
			Age      float64 `json:"age_min"`
		} `json:"checks"`
	}
	require.NoError(t, json.Unmarshal(data, &rep))
	assert.Equal(t, "2026-02-26T02:00:00+00:00", rep.TsUTC)
	assert.Equal(t, "FAIL", rep.Status)
	ages := map[string]float64{}
	for _, c := range rep.Checks {
		ages[c.Name] = c.Age
	}
	assert.InDelta(t, 9.53, ages["reconciliation_status"], 0.005)
	assert.InDelta(t, 11.30, ages["parity_thresholds"], 0.005)
	assert.InDelta(t, 8.87, ages["event_store_integrity_freshness"], 0.005)
	assert.InDelta(t, -73.96, ages["day2_event_store_gate"], 0.005)
	assert.InDelta(t, 2846.29, ages["alerting_health"], 0.005)
	stamped, err := os.ReadFile(filepath.Join(out, "promotion_gates_20260226T020000Z.json"))
	require.NoError(t, err)
	assert.Equal(t, string(stamped), string(data))
	md, err := os.ReadFile(filepath.Join(out, "latest.md"))
	require.NoError(t, err)
	assert.Contains(t, string(md), "- [FAIL] day2_event_store_gate: day2 gate not yet GO: go=false;")
}

func TestGatesExitCodes(t *testing.T) {
	dir := t.TempDir()
	badContract := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(badContract, []byte(`name: bad
freshness: {window: 20m}
checks:
  - name: recon
    severity: critical
    kind: report
    report: {path: reports/r.json, condition: "status =="}
`), 0o644))
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
		stdout string
	}{
		{"bad contract names the check", []string{"--root", dir, "--contract", badContract}, 1,
			`gates: load contract "` + badContract + `": validate contract: checks[0] (recon): report.condition: compile "status ==": unexpected token EOF (1:9)` + "\n", ""},
		{"check-config bad", []string{"--check-config", "--contract", badContract}, 1, "checks[0] (recon)", ""},
		{"check-config ok", []string{"--check-config"}, 0, "", "[promotion-gates] contract hbot-day28 ok (16 checks)\n"},
		{"missing root", []string{}, 1, "gates: --root is required\n", ""},
		{"root not found", []string{"--root", filepath.Join(dir, "nope")}, 1, "no such file or directory", ""},
		{"bad flag", []string{"--bogus"}, 1, "flag provided but not defined: -bogus", ""},
		{"bad now", []string{"--root", dir, "--now", "yesterday"}, 1, `gates: parse --now "yesterday"`, ""},
		{"unknown shipped contract", []string{"--root", dir, "--contract", "nope"}, 1, `not a shipped contract`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runGates(t, tt.args...)
			assert.Equal(t, tt.code, code)
			assert.Contains(t, stderr, tt.stderr)
			if tt.stdout != "" || tt.code == 1 {
				assert.Equal(t, tt.stdout, stdout)
			}
		})
	}
}

func TestGatesPassAndJSON(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, "r.json"), []byte(`{"ts_utc":"2026-02-26T01:59:00Z","status":"pass"}`), 0o644))
	contract := filepath.Join(root, "c.yaml")
	require.NoError(t, os.WriteFile(contract, []byte(`name: mini
freshness: {window: 20m}
checks:
  - name: r
    severity: critical
    kind: report
    pass_reason: fresh
    report: {path: r.json, condition: status == "pass"}
`), 0o644))
	code, stdout, _ := runGates(t, "--root", root, "--contract", contract, "--now", "2026-02-26T02:00:00Z", "--json", "--out", filepath.Join(root, "out"))
	assert.Equal(t, 0, code)
	assert.True(t, strings.HasPrefix(stdout, "{\n  \"ts_utc\": \"2026-02-26T02:00:00+00:00\",\n  \"status\": \"PASS\","), stdout)
	assert.Contains(t, stdout, "[PASS] r: fresh\n[promotion-gates] status=PASS validation_level=0\n[promotion-gates] evidence=")
	assert.NotContains(t, stdout, "critical_failures=")
}
