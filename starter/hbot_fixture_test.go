//go:build hbotfixture

package main

// The real-data suite of the gates command: the real Day-28 hbot report
// tree named by HBOT_FIXTURE (make test-hbot). It fails, never skips, when
// the tree is not there.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hbotFixture is the real Day-28 tree named by HBOT_FIXTURE.
func hbotFixture(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("HBOT_FIXTURE")
	if dir == "" {
		t.Fatal("HBOT_FIXTURE is not set: run make test-hbot HBOT_FIXTURE=DIR (a real hbot-day28 report tree)")
	}
	abs, err := filepath.Abs(dir)
	require.NoError(t, err)
	st, err := os.Stat(filepath.Join(abs, "reports", "promotion_gates"))
	if err != nil || !st.IsDir() {
		t.Fatalf("HBOT_FIXTURE=%s is not an hbot-day28 report tree (no reports/promotion_gates): %v", dir, err)
	}
	return abs
}

// TestHbotFixtureGatesGolden runs the shipped contract over the Day-28 fixture as
// the strict cycle would (--ci), without commands, at 2026-02-26T02:00:00Z,
// and checks every verdict and reason against the spec's oracle (§6.2) with
// the W7b/W9 fixes: day2 is in the future (stale, not fresh) and its lag is
// read from the delta_ keys (1583 > 6).
func TestHbotFixtureGatesGolden(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := runGates(t, "--root", hbotFixture(t), "--ci", "--no-commands", "--now", "2026-02-26T02:00:00Z", "--out", out)
	require.Empty(t, stderr)
	assert.Equal(t, 2, code)
	nc := "command not run (--no-commands); judged on "
	want := []string{
		"[PASS] preflight_checks: required files present",
		"[STALE] multi_bot_policy_scope: multi-bot policy consistency failed (rc=?): " + nc + "reports/policy/latest.json: stale: age 2846.3m > 15m (ts_utc 2026-02-24T02:33:42Z)",
		"[PASS] strategy_catalog_consistency: strategy catalog configs resolve to shared code and declared bundles",
		"[PASS] coordination_policy_scope: coordination service runs only in policy-permitted scope/mode",
		"[STALE] unit_service_integration_tests: deterministic tests failed (rc=?): " + nc + "reports/tests/latest.json: stale: age 2846.2m > 15m (ts_utc 2026-02-24T02:33:47Z)",
		"[STALE] secrets_hygiene: secrets hygiene check failed (rc=?): " + nc + "reports/security/latest.json: stale: age 2846.1m > 15m (ts_utc 2026-02-24T02:33:51Z)",
		"[PASS] smoke_checks: bot4 smoke activity artifacts found",
		"[PASS] paper_smoke_matrix: bot3 paper-mode intent verified",
		"[STALE] replay_regression_cycle: replay regression cycle failed (rc=?): " + nc + `reports/replay_regression/latest.json: stale: age 2845.1m > 15m (ts_utc 2026-02-24T02:34:53Z); condition false (status="fail"; rule: status == "pass")`,
		"[STALE] regression_backtest_harness: regression harness failed (rc=?): " + nc + "reports/backtest_regression/latest.json: stale: age 2845.1m > 15m (ts_utc 2026-02-24T02:34:53Z)",
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
	// latest.md prints the original's reason only; the detail is in the JSON.
	assert.Contains(t, strings.Split(string(md), "\n"), "- [FAIL] day2_event_store_gate: day2 gate not yet GO")
	assert.NotContains(t, string(md), "go=false")
}
