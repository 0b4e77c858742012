package gates

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/simstack"
)

// want is one check's expected verdict and reason.
type want struct {
	v      Verdict
	reason string
}

// day28Pass is every check's verdict and reason on a healthy generated root
// with --ci and --no-commands, in contract order.
var day28Pass = []struct {
	name string
	want
	age float64 // minutes; -1 for a check without a report age
}{
	{"preflight_checks", want{VerdictPass, "required files present"}, -1},
	{"multi_bot_policy_scope", want{VerdictPass, "multi-bot policy scope is consistent across risk/reconciliation/account-map: command not run (--no-commands); judged on reports/policy/latest.json"}, 3},
	{"strategy_catalog_consistency", want{VerdictPass, "strategy catalog configs resolve to shared code and declared bundles"}, -1},
	{"coordination_policy_scope", want{VerdictPass, "coordination service runs only in policy-permitted scope/mode"}, -1},
	{"unit_service_integration_tests", want{VerdictPass, "deterministic test suite + coverage threshold passed: command not run (--no-commands); judged on reports/tests/latest.json"}, 4},
	{"secrets_hygiene", want{VerdictPass, "no secret leakage markers in docs/reports/log artifacts: command not run (--no-commands); judged on reports/security/latest.json"}, 5},
	{"smoke_checks", want{VerdictPass, "bot4 smoke activity artifacts found"}, -1},
	{"paper_smoke_matrix", want{VerdictPass, "bot3 paper-mode intent verified"}, -1},
	{"replay_regression_cycle", want{VerdictPass, "replay regression cycle PASS: command not run (--no-commands); judged on reports/replay_regression/latest.json"}, 6},
	{"regression_backtest_harness", want{VerdictPass, "regression harness PASS: command not run (--no-commands); judged on reports/backtest_regression/latest.json"}, 7},
	{"reconciliation_status", want{VerdictPass, "reconciliation healthy and fresh"}, 9.5},
	{"parity_thresholds", want{VerdictPass, "parity pass and fresh"}, 11},
	{"portfolio_risk_status", want{VerdictPass, "portfolio risk healthy and fresh"}, 10},
	{"alerting_health", want{VerdictPass, "alert webhook evidence is present/recent"}, 120},
	{"event_store_integrity_freshness", want{VerdictPass, "event store integrity fresh with zero missing correlations"}, 9},
	{"day2_event_store_gate", want{VerdictPass, "day2 gate GO"}, 8},
}

func runDay28(t *testing.T, root string) *Report {
	t.Helper()
	c, err := config.LoadContract("hbot-day28")
	require.NoError(t, err)
	e, err := New(c, Options{Root: root, CI: true, NoCommands: true, Now: func() time.Time { return fixedNow }})
	require.NoError(t, err)
	assert.Equal(t, 15*time.Minute, e.Window())
	rep, err := e.Run(context.Background(), RunOptions{RunID: "generated"})
	require.NoError(t, err)
	return rep
}

// TestDay28OnGeneratedTree: the shipped contract over a generated Day-28
// root at fixedNow, as the strict cycle runs it (--ci, --no-commands):
// every verdict, reason and age is known by construction.
func TestDay28OnGeneratedTree(t *testing.T) {
	root := day28Root(t)
	rep := runDay28(t, root)
	require.Len(t, rep.Checks, len(day28Pass))
	for i, w := range day28Pass {
		got := rep.Checks[i]
		assert.Equal(t, w.name, got.Name)
		assert.Equal(t, w.v, got.Verdict, w.name)
		assert.True(t, got.Pass, w.name)
		assert.Equal(t, w.reason, got.Text(), w.name)
		if w.age < 0 {
			assert.Nil(t, got.AgeMinutes, w.name)
			continue
		}
		require.NotNil(t, got.AgeMinutes, w.name)
		assert.InDelta(t, w.age, *got.AgeMinutes, 1e-9, w.name)
		assert.Equal(t, TSSourceTsUTC, got.TSSource, w.name)
	}
	assert.Equal(t, StatusPass, rep.Status)
	assert.Empty(t, rep.CriticalFailures)

	byName := map[string]Result{}
	for _, r := range rep.Checks {
		byName[r.Name] = r
	}
	// The Day-28 runner read latest.json only, and the lexicographically
	// last integrity file; day2 records its evaluation, and the source
	// compare it judged (the newest, lag 2, over older ones with lag 500)
	// is in its read list.
	assert.Equal(t, []string{filepath.Join(root, "reports/reconciliation/latest.json")}, byName["reconciliation_status"].EvidencePaths)
	assert.Equal(t, []string{filepath.Join(root, "reports/event_store/integrity_20260226.json")}, byName["event_store_integrity_freshness"].EvidencePaths)
	assert.Equal(t, []string{filepath.Join(root, "reports/event_store/day2_gate_eval_latest.json")}, byName["day2_event_store_gate"].EvidencePaths)
	var read []string
	for _, ef := range byName["day2_event_store_gate"].Read {
		read = append(read, ef.Path)
	}
	assert.Contains(t, read, filepath.Join(root, "reports/event_store/source_compare_20260226T015100Z.json"))
	assert.Equal(t, rep.EvidenceBundle.ArtifactCount, len(rep.EvidenceBundle.Artifacts))
	// The built-in catalog and coordination checks record the reports the
	// original's checkers write; the generated tree has none (no checker
	// ran), so they are recorded as absent, as the original records them.
	checkerReports := map[string]bool{
		filepath.Join(root, "reports/strategy_catalog/latest.json"):           true,
		filepath.Join(root, "reports/policy/coordination_policy_latest.json"): true,
	}
	for _, a := range rep.EvidenceBundle.Artifacts {
		if checkerReports[a.Path] {
			assert.False(t, a.Exists, a.Path)
			continue
		}
		assert.True(t, a.Exists, a.Path)
		assert.Len(t, a.SHA256, 64, a.Path)
	}
	assert.False(t, rep.ReleaseManifestRef.Exists)
	// Day 28 named its manifest file; it is recorded even when absent.
	assert.Equal(t, filepath.Join(root, "docs/ops/release_manifest_20260221.md"), rep.ReleaseManifestRef.Path)
	assert.Len(t, rep.ContentDigest, 64)
}

// TestDay28GeneratedVariants: one thing broken in the generated root turns
// exactly the checks it feeds into the expected verdict and reason; every
// other check still passes.
func TestDay28GeneratedVariants(t *testing.T) {
	const nc = "command not run (--no-commands); judged on "
	recon := "(status == \"ok\" or status == \"warning\") and critical_count == 0"
	tests := []struct {
		name string
		opts simstack.Day28Options
		want map[string]want
	}{
		{"reconciliation stale", simstack.Day28Options{Stale: []string{"reconciliation_status"}}, map[string]want{
			"reconciliation_status": {VerdictStale, "reconciliation critical or stale: stale: age 120.0m > 15m (ts_utc 2026-02-26T00:00:00Z)"}}},
		{"alerting past its 24h", simstack.Day28Options{Stale: []string{"alerting_health"}}, map[string]want{
			"alerting_health": {VerdictStale, "alert webhook evidence missing or stale: stale: age 1560.0m > 24h (ts_utc 2026-02-25T00:00:00Z)"}}},
		{"command artifact stale", simstack.Day28Options{Stale: []string{"multi_bot_policy_scope"}}, map[string]want{
			"multi_bot_policy_scope": {VerdictStale, "multi-bot policy consistency failed (rc=?): " + nc + "reports/policy/latest.json: stale: age 120.0m > 15m (ts_utc 2026-02-26T00:00:00Z)"}}},
		{"integrity stale", simstack.Day28Options{Stale: []string{"event_store_integrity_freshness"}}, map[string]want{
			"event_store_integrity_freshness": {VerdictStale, "event store integrity missing/stale or missing correlations detected: stale: age 120.0m > 15m (ts_utc 2026-02-26T00:00:00Z)"}}},
		{"day2 stale", simstack.Day28Options{Stale: []string{"day2_event_store_gate"}}, map[string]want{
			"day2_event_store_gate": {VerdictStale, "day2 gate not yet GO: stale: age 120.0m > 15m (ts_utc 2026-02-26T00:00:00Z)"}}},
		{"day2 in the future", simstack.Day28Options{Ages: map[string]time.Duration{"day2_event_store_gate": -10 * time.Minute}}, map[string]want{
			// The source compare is written with the evaluation, so it is in the
			// future too: the lag cannot be judged, which is a failure, not
			// a staleness a restart could cure.
			"day2_event_store_gate": {VerdictFail, "day2 gate not yet GO: lag unknown: newest source compare file (by name stamp of 3) cannot be judged: reports/event_store/source_compare_20260226T020900Z.json: named for 2026-02-26T02:09:00Z, beyond now + 2m; stale: ts_utc 2026-02-26T02:10:00Z is in the future by 10.0m (skew allowed 2m)"}}},
		{"window edge: 15m passes, 15m01s is stale", simstack.Day28Options{Ages: map[string]time.Duration{
			"reconciliation_status": 15 * time.Minute, "parity_thresholds": 15*time.Minute + time.Second}}, map[string]want{
			"parity_thresholds": {VerdictStale, "parity fail or stale: stale: age 15.0m > 15m (ts_utc 2026-02-26T01:44:59Z)"}}},
		{"service reports unhealthy", simstack.Day28Options{Failing: []string{"reconciliation_status", "parity_thresholds", "portfolio_risk_status", "event_store_integrity_freshness"}}, map[string]want{
			"reconciliation_status":           {VerdictFail, `reconciliation critical or stale: condition false (critical_count=1, status="critical"; rule: ` + recon + ")"},
			"parity_thresholds":               {VerdictFail, `parity fail or stale: condition false (status="fail"; rule: status == "pass")`},
			"portfolio_risk_status":           {VerdictFail, `portfolio risk critical or stale: condition false (critical_count=1, status="critical"; rule: ` + recon + ")"},
			"event_store_integrity_freshness": {VerdictFail, "event store integrity missing/stale or missing correlations detected: condition false (missing_correlation_count=3; rule: missing_correlation_count == 0)"}}},
		{"day2 no-go", simstack.Day28Options{Failing: []string{"day2_event_store_gate"}}, map[string]want{
			"day2_event_store_gate": {VerdictFail, "day2 gate not yet GO: go=false"}}},
		{"day2 lag at tolerance passes", simstack.Day28Options{Day2Lag: 6}, nil},
		{"day2 lag over tolerance", simstack.Day28Options{Day2Lag: 7}, map[string]want{
			"day2_event_store_gate": {VerdictFail, "day2 gate not yet GO: lag max_delta=7 > 6 worst_stream=hb.audit.v1 offending=hb.audit.v1=7 (reports/event_store/source_compare_20260226T015100Z.json, lag_produced_minus_ingested_since_baseline)"}}},
		{"command artifacts and configs unhealthy", simstack.Day28Options{Failing: []string{"replay_regression_cycle", "unit_service_integration_tests", "strategy_catalog_consistency", "coordination_policy_scope"}}, map[string]want{
			"replay_regression_cycle":        {VerdictFail, "replay regression cycle failed (rc=?): " + nc + `reports/replay_regression/latest.json: condition false (status="fail"; rule: status == "pass")`},
			"unit_service_integration_tests": {VerdictFail, "deterministic tests failed (rc=?): " + nc + `reports/tests/latest.json: condition false (status="fail"; rule: status == "pass")`},
			"strategy_catalog_consistency":   {VerdictFail, "strategy catalog consistency failed (rc=2): epp_v2_4_binance_testnet_smoke_bot4: script config does not reference expected controller file epp_v2_4_bot4_binance_smoke.yml"},
			"coordination_policy_scope":      {VerdictFail, "coordination policy check failed (rc=2): coordination-service compose env missing token: COORD_ENABLED=${COORD_ENABLED:-false}"}}},
		{"bot3 not in paper mode", simstack.Day28Options{Failing: []string{"paper_smoke_matrix"}}, map[string]want{
			"paper_smoke_matrix": {VerdictFail, `bot3 paper-mode evidence missing/invalid: condition false (bots.bot3.account_mode="live", bots.bot3.account_probe_status="ok", bots.bot3.exchange="bitget_perpetual", bots.bot3.source="local_minute_proxy"; rule: (bots?.bot3?.account_mode == "paper_only" and bots?.bot3?.account_probe_status == "paper_only") or (lower(string(bots?.bot3?.exchange ?? "")) == "bitget_paper_trade" and bots?.bot3?.source == "local_minute_proxy"))`}}},
		{"files missing", simstack.Day28Options{Missing: []string{"preflight_checks", "smoke_checks", "coordination_policy_scope", "secrets_hygiene", "paper_smoke_matrix",
			"reconciliation_status", "alerting_health", "event_store_integrity_freshness", "day2_event_store_gate"}}, map[string]want{
			"preflight_checks":                {VerdictMissing, "missing required config/spec/script files: missing scripts/release/run_tests.py"},
			"smoke_checks":                    {VerdictMissing, "bot4 smoke artifacts missing: 0 file(s) match data/bot4/logs/epp_v24/*/minute.csv, need 1"},
			"coordination_policy_scope":       {VerdictFail, "coordination policy check failed (rc=2): coordination policy check exception: compose/docker-compose.yml: no such file"},
			"secrets_hygiene":                 {VerdictMissing, "secrets hygiene check failed (rc=?): " + nc + "reports/security/latest.json: missing reports/security/latest.json"},
			"paper_smoke_matrix":              {VerdictMissing, "bot3 paper-mode evidence missing/invalid: missing reports/exchange_snapshots/latest.json"},
			"reconciliation_status":           {VerdictMissing, "reconciliation critical or stale: missing reports/reconciliation/latest.json"},
			"alerting_health":                 {VerdictMissing, "alert webhook evidence missing or stale: missing reports/reconciliation/last_webhook_sent.json"},
			"event_store_integrity_freshness": {VerdictMissing, "event store integrity missing/stale or missing correlations detected: missing: no file among reports/event_store/integrity_*.json"},
			"day2_event_store_gate":           {VerdictMissing, "day2 gate not yet GO: missing reports/event_store/day2_gate_eval_latest.json"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := runDay28(t, day28Root(t, func(o *simstack.Day28Options) {
				tt.opts.Now = o.Now
				*o = tt.opts
			}))
			var failures []string
			for i, got := range rep.Checks {
				w, broken := tt.want[got.Name]
				if !broken {
					w = day28Pass[i].want
				} else {
					failures = append(failures, got.Name)
				}
				assert.Equal(t, w.v, got.Verdict, got.Name)
				assert.Equal(t, w.v == VerdictPass, got.Pass, got.Name)
				assert.Equal(t, w.reason, got.Text(), got.Name)
			}
			assert.Len(t, failures, len(tt.want), "every expected check exists")
			if len(failures) == 0 {
				assert.Equal(t, StatusPass, rep.Status)
				assert.Empty(t, rep.CriticalFailures)
			} else {
				assert.Equal(t, StatusFail, rep.Status)
				assert.Equal(t, failures, rep.CriticalFailures)
			}
		})
	}
}

func TestDay28WatchPathsAndOnly(t *testing.T) {
	c, err := config.LoadContract("hbot-day28")
	require.NoError(t, err)
	e, err := New(c, Options{Root: day28Root(t), CI: true, NoCommands: true, Now: func() time.Time { return fixedNow }})
	require.NoError(t, err)
	assert.Equal(t, []string{"reports/event_store/integrity_*.json"}, e.WatchPaths("event_store_integrity_freshness"))
	assert.Nil(t, e.WatchPaths("nope"))
	_, err = e.Run(context.Background(), RunOptions{Only: []string{"nope"}})
	require.EqualError(t, err, `run contract "hbot-day28": unknown checks nope`)
	only, err := e.Run(context.Background(), RunOptions{Only: []string{"reconciliation_status"}})
	require.NoError(t, err)
	assert.Equal(t, StatusPass, only.Status)
	require.Len(t, only.Checks, 1)
	assert.Equal(t, "reconciliation_status", only.Checks[0].Name)
}
