package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/simstack"
)

func runGates(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := gatesCmd(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestGatesOnSeededTree runs the README's "gate alone" example: `sim seed
// --now` lays out a Day-28-shaped root, then the shipped contract runs over
// it as the strict cycle would (--ci, --no-commands) at the same time.
// Every verdict and reason is known by construction; a stale report named
// to the seed turns its check (and only it) STALE and the exit code to 2.
func TestGatesOnSeededTree(t *testing.T) {
	const now = "2026-02-26T02:00:00Z"
	nc := ": command not run (--no-commands); judged on "
	pass := []string{
		"[PASS] preflight_checks: required files present",
		"[PASS] multi_bot_policy_scope: multi-bot policy scope is consistent across risk/reconciliation/account-map" + nc + "reports/policy/latest.json",
		"[PASS] strategy_catalog_consistency: strategy catalog configs resolve to shared code and declared bundles",
		"[PASS] coordination_policy_scope: coordination service runs only in policy-permitted scope/mode",
		"[PASS] unit_service_integration_tests: deterministic test suite + coverage threshold passed" + nc + "reports/tests/latest.json",
		"[PASS] secrets_hygiene: no secret leakage markers in docs/reports/log artifacts" + nc + "reports/security/latest.json",
		"[PASS] smoke_checks: bot4 smoke activity artifacts found",
		"[PASS] paper_smoke_matrix: bot3 paper-mode intent verified",
		"[PASS] replay_regression_cycle: replay regression cycle PASS" + nc + "reports/replay_regression/latest.json",
		"[PASS] regression_backtest_harness: regression harness PASS" + nc + "reports/backtest_regression/latest.json",
		"[PASS] reconciliation_status: reconciliation healthy and fresh",
		"[PASS] parity_thresholds: parity pass and fresh",
		"[PASS] portfolio_risk_status: portfolio risk healthy and fresh",
		"[PASS] alerting_health: alert webhook evidence is present/recent",
		"[PASS] event_store_integrity_freshness: event store integrity fresh with zero missing correlations",
		"[PASS] day2_event_store_gate: day2 gate GO",
	}
	tests := []struct {
		name  string
		seed  []string
		code  int
		lines map[int]string // index in pass -> the line instead
		tail  []string
	}{
		{"healthy", nil, 0, nil, []string{"[promotion-gates] status=PASS validation_level=2"}},
		{"reconciliation stale", []string{"--stale", "reconciliation_status"}, 2, map[int]string{
			10: "[STALE] reconciliation_status: reconciliation critical or stale: stale: age 120.0m > 15m (ts_utc 2026-02-26T00:00:00Z)"},
			[]string{"[promotion-gates] status=FAIL validation_level=2", "[promotion-gates] critical_failures=reconciliation_status"}},
		{"integrity missing", []string{"--missing", "event_store_integrity_freshness"}, 2, map[int]string{
			14: "[MISSING] event_store_integrity_freshness: event store integrity missing/stale or missing correlations detected: missing: no file among reports/event_store/integrity_*.json"},
			[]string{"[promotion-gates] status=FAIL validation_level=2", "[promotion-gates] critical_failures=event_store_integrity_freshness"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "hbot")
			var seedOut, seedErr bytes.Buffer
			seedArgs := append([]string{"seed", "--root", root, "--now", now}, tt.seed...)
			require.Equal(t, 0, simstack.Command(context.Background(), seedArgs, &seedOut, &seedErr), seedErr.String())
			assert.Equal(t, "seeded "+root+": Day-28 reports aged against "+now+"\n", seedOut.String())

			out := filepath.Join(t.TempDir(), "gates")
			code, stdout, stderr := runGates(t, "--root", root, "--ci", "--no-commands", "--now", now, "--out", out)
			require.Empty(t, stderr)
			assert.Equal(t, tt.code, code)
			want := append([]string(nil), pass...)
			for i, l := range tt.lines {
				want[i] = l
			}
			want = append(append(want, tt.tail...), "[promotion-gates] evidence="+filepath.Join(out, "promotion_gates_20260226T020000Z.json"))
			assert.Equal(t, want, strings.Split(strings.TrimSuffix(stdout, "\n"), "\n"))
			data, err := os.ReadFile(filepath.Join(out, "latest.json"))
			require.NoError(t, err)
			var rep struct {
				TsUTC  string `json:"ts_utc"`
				Status string `json:"status"`
			}
			require.NoError(t, json.Unmarshal(data, &rep))
			assert.Equal(t, "2026-02-26T02:00:00+00:00", rep.TsUTC)
			assert.Equal(t, map[int]string{0: "PASS", 2: "FAIL"}[tt.code], rep.Status)
		})
	}
}

func TestSimSeedErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad now", []string{"--now", "yesterday"}, `sim seed: parse --now "yesterday"`},
		{"unknown stale check", []string{"--now", "2026-02-26T02:00:00Z", "--stale", "smoke_checks"}, `stale "smoke_checks": not a timed Day-28 check`},
		{"no failing form", []string{"--now", "2026-02-26T02:00:00Z", "--failing", "alerting_health"}, `failing "alerting_health": no failing form`},
		{"variants need now", []string{"--stale", "parity_thresholds"}, "--stale, --failing and --missing need --now"},
		{"real size needs now", []string{"--real-size"}, "--real-size needs --now"},
		{"real size takes no variants", []string{"--now", "2026-02-26T02:00:00Z", "--real-size", "--stale", "parity_thresholds"}, "--real-size writes a passing tree"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "hbot")
			var out, errb bytes.Buffer
			assert.Equal(t, 1, simstack.Command(context.Background(), append([]string{"seed", "--root", root}, tt.args...), &out, &errb))
			assert.Contains(t, errb.String(), tt.want)
			assert.NoDirExists(t, filepath.Join(root, "reports"), "nothing written on a bad request")
		})
	}
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

// `strictcycle gates` masks the configured secrets in what a command
// check prints, as the worker does: the Redis password a script echoes
// reaches neither stdout nor the artifacts.
func TestGatesMasksConfiguredSecrets(t *testing.T) {
	const pw = "hunter2-gates-secret"
	t.Setenv("REDIS_URL", "redis://:"+pw+"@127.0.0.1:6379/0")
	root, out := t.TempDir(), t.TempDir()
	contract := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(contract, []byte(`name: leak
freshness: {window: 20m, ci_window: 15m, future_skew: 2m}
checks:
  - name: echo_secret
    severity: critical
    kind: command
    pass_reason: ok
    fail_reason: bad
    command:
      argv: ["sh", "-c", "echo pw=`+pw+`; exit 1"]
      timeout: 10s
      report: {path: reports/x.json, condition: 'status == "ok"', no_freshness: true}
`), 0o644))
	code, stdout, stderr := runGates(t, "--root", root, "--contract", contract, "--out", out, "--json")
	require.Equal(t, exitFail, code, stderr)
	require.Contains(t, stdout, "pw=[redacted]")
	require.NotContains(t, stdout+stderr, pw)
	b, err := os.ReadFile(filepath.Join(out, "latest.json"))
	require.NoError(t, err)
	require.NotContains(t, string(b), pw)
}
