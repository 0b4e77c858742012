package gates

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/simstack"
)

// fakePython stands for the stack's interpreter in a generated HEAD tree:
// every checker script and module exits 0 (the reports it would write are
// generated fresh beside it), unless FAIL_<name> names it in its
// environment file, where it exits with that code. It writes nothing.
const fakePython = `#!/bin/sh
target="$1"; [ "$1" = "-m" ] && target="$2"
name=$(basename "$target" .py)
rc=$(/bin/sed -n "s/^$name=//p" "$(dirname "$0")/fail" 2>/dev/null)
echo "ran $name"
exit ${rc:-0}
`

// headRoot generates a tree on which every hbot-head check passes at
// fixedNow: the Day-28 tree plus the HEAD reports and scripts, and a fake
// interpreter at .venv/bin/python.
func headRoot(t *testing.T, mod func(root string)) string {
	t.Helper()
	root := day28Root(t)
	c, err := config.LoadContract("hbot-head")
	require.NoError(t, err)
	for _, f := range c.Checks[0].Files {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			writeFile(t, root, f, "")
		}
	}
	ts := fixedNow.Add(-time.Minute).Format(time.RFC3339)
	report := func(rel string, fields map[string]any) {
		if _, ok := fields["ts_utc"]; !ok {
			fields["ts_utc"] = ts
		}
		data, err := json.Marshal(fields)
		require.NoError(t, err)
		writeFile(t, root, rel, string(data))
	}
	pass := func(rel string) { report(rel, map[string]any{"status": "pass"}) }
	report("reports/analysis/performance_dossier_latest.json", map[string]any{"summary": map[string]any{"rolling_expectancy_gate_fail": false}})
	pass("reports/verification/realtime_l2_data_quality_latest.json")
	report("reports/ops/market_bar_v2_backfill_latest.json", map[string]any{"status": "pass", "missing_count_after": 0, "sample_mismatch_count": 0})
	pass("reports/verification/paper_exchange_golden_path_latest.json")
	pass("reports/strategy_catalog/latest.json")
	pass("reports/policy/coordination_policy_latest.json")
	pass("reports/replay_regression_multi_window/latest.json")
	pass("reports/policy/ml_governance_latest.json")
	pass("reports/accounting/latest.json")
	pass("reports/market_data/latest.json")
	report("reports/reconciliation/last_webhook_sent.json", map[string]any{"status": "ok", "mode": "webhook"})
	report("reports/ops_db_writer/latest.json", map[string]any{"status": "pass", "counts": map[string]any{"bot_snapshot_minute": 10, "exchange_snapshot": 3}})
	report("reports/paper_soak/latest.json", map[string]any{"status": "PASS"})
	report("reports/analysis/post_trade_validation.json", map[string]any{"status": "PASS"})
	report("reports/parity/drift_audit_latest.json", map[string]any{"status": "pass", "active_bots": []any{"bot1"},
		"bots": []any{map[string]any{"bot": "bot1", "pass": true, "buckets": map[string]any{}}}})
	report("config/exchange_account_map.json", map[string]any{"bots": map[string]any{
		"bot1": map[string]any{"account_mode": "probe"}, "bot3": map[string]any{"account_mode": "paper_only"}, "bot4": map[string]any{"account_mode": "probe"}}})
	// The newest integrity file gains the stream counts HEAD checks.
	integ, err := filepath.Glob(filepath.Join(root, "reports/event_store/integrity_*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, integ)
	newest := integ[len(integ)-1]
	data, err := os.ReadFile(newest)
	require.NoError(t, err)
	var obj map[string]any
	require.NoError(t, json.Unmarshal(data, &obj))
	streams := map[string]any{}
	for _, s := range []string{"hb.market_data.v1", "hb.signal.v1", "hb.risk_decision.v1", "hb.execution_intent.v1", "hb.audit.v1", "hb.bot_telemetry.v1"} {
		streams[s] = 5
	}
	obj["events_by_stream"] = streams
	data, err = json.Marshal(obj)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(newest, data, 0o644))
	writeExe(t, filepath.Join(root, ".venv/bin/python"), fakePython[len("#!/bin/sh\n"):])
	if mod != nil {
		mod(root)
	}
	return root
}

// headChecks are the 33 checks of hbot-head, in the original's order, with
// their severities (non-live scope, default flags).
var headChecks = []struct{ name, severity string }{
	{"preflight_checks", "critical"}, {"performance_dossier_expectancy_ci", "critical"}, {"realtime_l2_data_quality", "critical"},
	{"history_market_bar_v2_backfill", "warning"}, {"history_seed_rollout", "warning"}, {"paper_exchange_functional_golden_path", "critical"},
	{"multi_bot_policy_scope", "critical"}, {"strategy_catalog_consistency", "critical"}, {"coordination_policy_scope", "critical"},
	{"unit_service_integration_tests", "critical"}, {"ruff_lint", "critical"}, {"mypy_type_check", "warning"},
	{"dependency_audit", "info"}, {"tick_benchmark", "info"}, {"secrets_hygiene", "critical"}, {"smoke_checks", "critical"},
	{"paper_smoke_matrix", "critical"}, {"replay_regression_first_class", "critical"}, {"ml_signal_governance", "critical"},
	{"regression_backtest_harness", "critical"}, {"reconciliation_status", "critical"}, {"parity_thresholds", "critical"},
	{"portfolio_risk_status", "warning"}, {"accounting_integrity_v2", "critical"}, {"alerting_health", "critical"},
	{"event_store_integrity_freshness", "critical"}, {"event_stream_coverage", "critical"}, {"ops_db_writer_freshness", "warning"},
	{"market_data_freshness", "warning"}, {"day2_event_store_gate", "critical"}, {"validation_ladder_paper_soak", "warning"},
	{"validation_ladder_post_trade", "warning"}, {"trading_validation_ladder", "warning"},
}

func runHead(t *testing.T, root string, ci bool) *Report {
	t.Helper()
	c, err := config.LoadContract("hbot-head")
	require.NoError(t, err)
	c.Interpreter = ".venv/bin/python"
	e, err := New(c, Options{Root: root, CI: ci, Now: func() time.Time { return fixedNow }, CommandParallelism: 2})
	require.NoError(t, err)
	rep, err := e.Run(context.Background(), RunOptions{RunID: "head"})
	require.NoError(t, err)
	return rep
}

// TestHeadOnGeneratedTree: hbot-head runs every check (the commands with
// the contract's interpreter) and its pre-steps over a generated tree; each
// verdict is the one constructed.
func TestHeadOnGeneratedTree(t *testing.T) {
	rep := runHead(t, headRoot(t, nil), true)
	require.Len(t, rep.Checks, len(headChecks))
	for i, w := range headChecks {
		got := rep.Checks[i]
		assert.Equal(t, w.name, got.Name)
		assert.Equal(t, w.severity, got.Severity, w.name)
		assert.Equal(t, VerdictPass, got.Verdict, "%s: %s", got.Name, got.Text())
	}
	assert.Equal(t, StatusPass, rep.Status)
	// The pass reasons that carry values, filled as the original's
	// f-strings fill them.
	byName := map[string]Result{}
	for _, r := range rep.Checks {
		byName[r.Name] = r
	}
	assert.Equal(t, "alert webhook evidence healthy (status=ok, mode=webhook)", byName["alerting_health"].Reason)
	assert.Equal(t, "rolling expectancy gate not armed yet (sample=0 < min_fills=1)", byName["performance_dossier_expectancy_ci"].Reason)
	assert.Equal(t, "paper soak PASS (age=1m)", byName["validation_ladder_paper_soak"].Reason)
	assert.Equal(t, "post-trade validation PASS", byName["validation_ladder_post_trade"].Reason)
	assert.Equal(t, "day2 gate GO/fresh with lag in tolerance (age_min=8.0 max_delta=2)", byName["day2_event_store_gate"].Reason)
	var steps []string
	for _, p := range rep.PreSteps {
		assert.True(t, p.Ran && p.OK, "%s: %s", p.Name, p.Reason)
		steps = append(steps, p.Name)
	}
	assert.Equal(t, []string{"parity-refresh", "event-integrity-refresh", "fill-event-backfill", "ops-db-writer-refresh", "alerting-health-probe", "realtime-l2-data-quality"}, steps)
	assert.Contains(t, rep.Checks[10].OutputTail, "ran ruff")

	// Outside CI the ci_only refreshes do not run, and the alerting
	// status set is {ok, local_dev_degraded}.
	rep = runHead(t, headRoot(t, func(root string) {
		writeFile(t, root, "reports/reconciliation/last_webhook_sent.json",
			`{"ts_utc":"`+fixedNow.Add(-time.Minute).Format(time.RFC3339)+`","status":"local_dev_degraded","mode":"local"}`)
	}), false)
	assert.Equal(t, StatusPass, rep.Status)
	assert.False(t, rep.PreSteps[0].Ran)
	assert.False(t, rep.PreSteps[2].Ran, "the fill backfill is a --ci step")
	assert.True(t, rep.PreSteps[4].Ran)
}

// One thing broken at a time turns exactly the checks it feeds into the
// constructed verdict and the original's reason; critical_failures keep the
// original's order (names appended while running first).
func TestHeadVariants(t *testing.T) {
	fail := func(lines ...string) func(root string) {
		return func(root string) {
			writeFile(t, root, ".venv/bin/fail", fmt.Sprintln(lines[0]))
			for _, l := range lines[1:] {
				f, err := os.OpenFile(filepath.Join(root, ".venv/bin/fail"), os.O_APPEND|os.O_WRONLY, 0)
				require.NoError(t, err)
				_, err = fmt.Fprintln(f, l)
				require.NoError(t, err)
				require.NoError(t, f.Close())
			}
		}
	}
	write := func(rel, body string) func(root string) {
		return func(root string) { writeFile(t, root, rel, body) }
	}
	ts := fixedNow.Add(-time.Minute).Format(time.RFC3339)
	tests := []struct {
		name     string
		mod      func(root string)
		want     map[string]want
		failures []string
	}{
		{"ruff fails", fail("ruff=1"), map[string]want{"ruff_lint": {VerdictFail, "ruff lint failed (rc=1): ran ruff"}}, []string{"ruff_lint"}},
		{"mypy fails: a warning", fail("mypy=1"), map[string]want{"mypy_type_check": {VerdictFail, "mypy failed (rc=1): ran mypy"}}, []string{}},
		{"alerting probe fails", fail("check_alerting_health=2"), map[string]want{"alerting_health": {VerdictFail, "alert webhook unhealthy/stale (status=ok, mode=webhook, rc=2)"}}, []string{"alerting_health"}},
		{"catalog checker fails", fail("check_strategy_catalog_consistency=2"), map[string]want{
			"strategy_catalog_consistency": {VerdictFail, "strategy catalog consistency failed (rc=2)"}}, []string{"strategy_catalog_consistency"}},
		{"appended first", func(root string) {
			fail("check_multi_bot_policy=2")(root)
			write("reports/verification/realtime_l2_data_quality_latest.json", `{"ts_utc":"`+ts+`","status":"fail"}`)(root)
		}, map[string]want{
			"multi_bot_policy_scope":   {VerdictFail, "multi-bot policy consistency failed (rc=2)"},
			"realtime_l2_data_quality": {VerdictFail, "realtime/L2 data quality failed (status=fail, rc=0)"},
		}, []string{"realtime_l2_data_quality", "multi_bot_policy_scope"}},
		{"stream missing", write("reports/event_store/integrity_20260226.json",
			`{"last_update_utc":"`+ts+`","missing_correlation_count":0,"events_by_stream":{"hb.market_data.v1":5}}`),
			map[string]want{"event_stream_coverage": {VerdictFail, "one or more required streams missing/zero in event_store integrity artifact"}}, []string{"event_stream_coverage"}},
		{"live bot: the ladder is enforced and critical", write("config/exchange_account_map.json", `{"bots":{"bot1":{"account_mode":"live"}}}`),
			map[string]want{"trading_validation_ladder": {VerdictFail, ladderNothing}}, []string{"trading_validation_ladder"}},
		{"live bot: portfolio risk is critical with the live words, after the ladder", func(root string) {
			write("config/exchange_account_map.json", `{"bots":{"bot3":{"account_mode":" LIVE "}}}`)(root)
			write("reports/portfolio_risk/latest.json", `{"ts_utc":"`+ts+`","status":"critical","critical_count":1}`)(root)
		}, map[string]want{
			"trading_validation_ladder": {VerdictFail, ladderNothing},
			"portfolio_risk_status":     {VerdictFail, "portfolio risk critical or stale"},
		}, []string{"trading_validation_ladder", "portfolio_risk_status"}},
		{"any bot of the account map can be live", write("config/exchange_account_map.json", `{"bots":{"bot3":{"account_mode":"paper_only"},"bot7":{"account_mode":"live"}}}`),
			map[string]want{"trading_validation_ladder": {VerdictFail, ladderNothing}}, []string{"trading_validation_ladder"}},
		{"live bot with a null enabled: enabled, as the original's default", func(root string) {
			write("config/exchange_account_map.json", `{"bots":{"bot1":{"account_mode":"live"}}}`)(root)
			write("config/multi_bot_policy_v1.json", `{"bots":{"bot1":{"enabled":null}}}`)(root)
		}, map[string]want{"trading_validation_ladder": {VerdictFail, ladderNothing}}, []string{"trading_validation_ladder"}},
		{"live bot disabled in the policy: bypassed", func(root string) {
			write("config/exchange_account_map.json", `{"bots":{"bot1":{"account_mode":"live"}}}`)(root)
			write("config/multi_bot_policy_v1.json", `{"bots":{"bot1":{"enabled":false}}}`)(root)
		}, map[string]want{}, []string{}},
		{"unreadable account map: live assumed, the ladder an error", write("config/exchange_account_map.json", `{"bots":`),
			map[string]want{"trading_validation_ladder": {VerdictError, "trading validation ladder incomplete"}}, []string{"trading_validation_ladder"}},
		{"drift audit failing: parity fails", write("reports/parity/drift_audit_latest.json",
			`{"ts_utc":"`+ts+`","active_bots":["bot1"],"bots":[{"bot":"bot1","pass":false,"buckets":{}}]}`),
			map[string]want{"parity_thresholds": {VerdictFail, "parity drift audit failing for active bots: bot1"}}, []string{"parity_thresholds"}},
		{"no drift audit: parity fails", func(root string) {
			require.NoError(t, os.Remove(filepath.Join(root, "reports/parity/drift_audit_latest.json")))
		},
			map[string]want{"parity_thresholds": {VerdictMissing, "parity drift audit stale"}}, []string{"parity_thresholds"}},
		{"L2 report passes but is stale", write("reports/verification/realtime_l2_data_quality_latest.json", `{"ts_utc":"2026-02-26T01:30:00Z","status":"pass"}`),
			map[string]want{"realtime_l2_data_quality": {VerdictStale, "realtime/L2 data quality stale evidence selected (age_min=30.00)"}}, []string{"realtime_l2_data_quality"}},
		{"L2 checker fails on a stale passing report", func(root string) {
			fail("check_realtime_l2_data_quality=3")(root)
			write("reports/verification/realtime_l2_data_quality_latest.json", `{"ts_utc":"2026-02-26T01:30:00Z","status":"pass"}`)(root)
		}, map[string]want{"realtime_l2_data_quality": {VerdictStale, "realtime/L2 data quality stale evidence selected (age_min=30.00)"}}, []string{"realtime_l2_data_quality"}},
		{"L2 checker fails on a fresh report without a status", func(root string) {
			fail("check_realtime_l2_data_quality=3")(root)
			write("reports/verification/realtime_l2_data_quality_latest.json", `{"ts_utc":"`+ts+`"}`)(root)
		}, map[string]want{"realtime_l2_data_quality": {VerdictFail, "realtime/L2 data quality failed (status=fail, rc=3)"}}, []string{"realtime_l2_data_quality"}},
		{"L2 status is shown stripped and lower-cased", write("reports/verification/realtime_l2_data_quality_latest.json", `{"ts_utc":"`+ts+`","status":" Degraded "}`),
			map[string]want{"realtime_l2_data_quality": {VerdictFail, "realtime/L2 data quality failed (status=degraded, rc=0)"}}, []string{"realtime_l2_data_quality"}},
		{"golden path fails with categories", func(root string) {
			fail("run_paper_exchange_golden_path=2")(root)
			write("reports/verification/paper_exchange_golden_path_latest.json", `{"ts_utc":"`+ts+`","status":"fail","failed_remediation_categories":["fills","book"]}`)(root)
		}, map[string]want{"paper_exchange_functional_golden_path": {VerdictFail,
			"paper-exchange functional golden-path suite failed (status=fail, rc=2, failed_categories=fills,book)"}}, []string{"paper_exchange_functional_golden_path"}},
		{"golden path fails without categories", write("reports/verification/paper_exchange_golden_path_latest.json", `{"ts_utc":"`+ts+`","status":"FAIL"}`),
			map[string]want{"paper_exchange_functional_golden_path": {VerdictFail,
				"paper-exchange functional golden-path suite failed (status=fail, rc=0, failed_categories=n/a)"}}, []string{"paper_exchange_functional_golden_path"}},
		{"golden path without a status, blank categories left out", write("reports/verification/paper_exchange_golden_path_latest.json", `{"ts_utc":"`+ts+`","failed_remediation_categories":[" ","book",""]}`),
			map[string]want{"paper_exchange_functional_golden_path": {VerdictFail,
				"paper-exchange functional golden-path suite failed (status=unknown, rc=0, failed_categories=book)"}}, []string{"paper_exchange_functional_golden_path"}},
		{"alerting status and mode lower-cased, unknown when empty", write("reports/reconciliation/last_webhook_sent.json", `{"ts_utc":"`+ts+`","status":" FAILED "}`),
			map[string]want{"alerting_health": {VerdictFail, "alert webhook unhealthy/stale (status=failed, mode=unknown, rc=0)"}}, []string{"alerting_health"}},
		{"integrity clean but stale", write("reports/event_store/integrity_20260226.json",
			`{"last_update_utc":"2026-02-26T01:00:00Z","missing_correlation_count":0,"events_by_stream":{"hb.market_data.v1":5,"hb.signal.v1":5,"hb.risk_decision.v1":5,"hb.execution_intent.v1":5,"hb.audit.v1":5,"hb.bot_telemetry.v1":5}}`),
			map[string]want{
				"event_store_integrity_freshness": {VerdictStale, "event store integrity stale evidence selected (age_min=60.00)"},
				"event_stream_coverage":           {VerdictStale, "one or more required streams missing/zero in event_store integrity artifact"},
			}, []string{"event_store_integrity_freshness", "event_stream_coverage"}},
		{"paper soak PASS but stale keeps the pass words", write("reports/paper_soak/latest.json", `{"ts_utc":"2026-02-24T01:00:00Z","status":"pass"}`),
			map[string]want{"validation_ladder_paper_soak": {VerdictStale, "paper soak PASS (age=2940m)"}}, []string{}},
		{"post-trade with no status yet", write("reports/analysis/post_trade_validation.json", `{"status":""}`),
			map[string]want{"validation_ladder_post_trade": {VerdictPass, "post-trade validation not yet run"}}, []string{}},
		{"post-trade not run yet: no file", func(root string) {
			require.NoError(t, os.Remove(filepath.Join(root, "reports/analysis/post_trade_validation.json")))
		}, map[string]want{"validation_ladder_post_trade": {VerdictPass, "post-trade validation not yet run"}}, []string{}},
		{"post-trade CRITICAL", write("reports/analysis/post_trade_validation.json", `{"status":"critical"}`),
			map[string]want{"validation_ladder_post_trade": {VerdictFail, "post-trade validation CRITICAL"}}, []string{}},
		{"alerting local_dev_degraded fails under --ci", write("reports/reconciliation/last_webhook_sent.json", `{"ts_utc":"`+ts+`","status":"local_dev_degraded","mode":"local"}`),
			map[string]want{"alerting_health": {VerdictFail, "alert webhook unhealthy/stale (status=local_dev_degraded, mode=local, rc=0)"}}, []string{"alerting_health"}},
		{"reconciliation coverage gap, sorted and stripped", write("reports/reconciliation/latest.json", `{"ts_utc":"`+ts+`","status":"ok","critical_count":0,"active_bots_unchecked":["bot4"," bot2"]}`),
			map[string]want{"reconciliation_status": {VerdictFail, "reconciliation active-bot coverage gap: bot2,bot4"}}, []string{"reconciliation_status"}},
		{"reconciliation critical with a gap: the plain reason", write("reports/reconciliation/latest.json", `{"ts_utc":"`+ts+`","status":"critical","critical_count":1,"active_bots_unchecked":["bot2"]}`),
			map[string]want{"reconciliation_status": {VerdictFail, "reconciliation critical or stale"}}, []string{"reconciliation_status"}},
		{"day2 passes with default flags whatever it says; the last compare file by name gives max_delta", func(root string) {
			write("reports/event_store/day2_gate_eval_latest.json", `{"ts_utc":"2026-02-26T01:00:00Z","go":false,"source_compare_file":"/elsewhere/x.json"}`)(root)
			write("reports/event_store/source_compare_20991231T000000Z.json", `{"lag_produced_minus_ingested_since_baseline":{"a":-40,"b":"17","c":6.9,"d":"x"}}`)(root)
		}, map[string]want{"day2_event_store_gate": {VerdictPass, "day2 gate GO/fresh with lag in tolerance (age_min=60.0 max_delta=17)"}}, []string{}},
		{"ops DB writer empty counts: a warning with the original's non-live words", write("reports/ops_db_writer/latest.json", `{"ts_utc":"`+ts+`","status":"pass","counts":{"bot_snapshot_minute":0,"exchange_snapshot":3}}`),
			map[string]want{"ops_db_writer_freshness": {VerdictFail, "ops_db_writer missing/stale/failing or counts empty (warning-only non-live scope)"}}, []string{}},
		{"dossier with an empty summary: missing, as the original", write("reports/analysis/performance_dossier_latest.json", `{"ts_utc":"`+ts+`","summary":{}}`),
			map[string]want{"performance_dossier_expectancy_ci": {VerdictFail, "performance dossier summary missing"}}, []string{"performance_dossier_expectancy_ci"}},
		{"dossier without a summary object", write("reports/analysis/performance_dossier_latest.json", `{"ts_utc":"`+ts+`","summary":"ok"}`),
			map[string]want{"performance_dossier_expectancy_ci": {VerdictFail, "performance dossier summary missing"}}, []string{"performance_dossier_expectancy_ci"}},
		{"dossier gate fail as a string: the original's _safe_bool", write("reports/analysis/performance_dossier_latest.json", `{"ts_utc":"`+ts+`","summary":{"rolling_expectancy_gate_fail":" Yes "}}`),
			map[string]want{"performance_dossier_expectancy_ci": {VerdictFail, "rolling expectancy CI upper bound below zero (ci95_high=0.000000, sample=0, min_fills=1)"}}, []string{"performance_dossier_expectancy_ci"}},
		{"dossier gate fail true", write("reports/analysis/performance_dossier_latest.json", `{"ts_utc":"`+ts+`","summary":{"rolling_expectancy_gate_fail":true}}`),
			map[string]want{"performance_dossier_expectancy_ci": {VerdictFail, "rolling expectancy CI upper bound below zero (ci95_high=0.000000, sample=0, min_fills=1)"}}, []string{"performance_dossier_expectancy_ci"}},
		{"dossier gate fail, values as the original coerces them", write("reports/analysis/performance_dossier_latest.json",
			`{"ts_utc":"`+ts+`","summary":{"rolling_expectancy_gate_fail":"yes","rolling_expectancy_sample_count":12.9,"rolling_expectancy_gate_min_fills":0,"rolling_expectancy_ci95_high_quote":" -0.5"}}`),
			map[string]want{"performance_dossier_expectancy_ci": {VerdictFail, "rolling expectancy CI upper bound below zero (ci95_high=-0.500000, sample=12, min_fills=1)"}}, []string{"performance_dossier_expectancy_ci"}},
		{"dossier negative counts clamped as the original", write("reports/analysis/performance_dossier_latest.json",
			`{"ts_utc":"`+ts+`","summary":{"rolling_expectancy_gate_fail":"on","rolling_expectancy_sample_count":-3,"rolling_expectancy_gate_min_fills":"-5"}}`),
			map[string]want{"performance_dossier_expectancy_ci": {VerdictFail, "rolling expectancy CI upper bound below zero (ci95_high=0.000000, sample=0, min_fills=1)"}}, []string{"performance_dossier_expectancy_ci"}},
		{"dossier armed and passing", write("reports/analysis/performance_dossier_latest.json",
			`{"ts_utc":"`+ts+`","summary":{"rolling_expectancy_gate_fail":false,"rolling_expectancy_sample_count":42,"rolling_expectancy_gate_min_fills":"30","rolling_expectancy_ci95_high_quote":0.0012345678}}`),
			map[string]want{"performance_dossier_expectancy_ci": {VerdictPass, "rolling expectancy gate pass (ci95_high=0.001235, sample=42, min_fills=30)"}}, []string{}},
		{"dossier checker fails on a passing summary: the original keeps its pass words", func(root string) {
			fail("performance_dossier=2")(root)
			write("reports/analysis/performance_dossier_latest.json",
				`{"ts_utc":"`+ts+`","summary":{"rolling_expectancy_sample_count":"bad","rolling_expectancy_gate_min_fills":7}}`)(root)
		}, map[string]want{"performance_dossier_expectancy_ci": {VerdictFail, "rolling expectancy gate not armed yet (sample=0 < min_fills=7)"}}, []string{"performance_dossier_expectancy_ci"}},
		{"dossier not written: summary missing", func(root string) {
			require.NoError(t, os.Remove(filepath.Join(root, "reports/analysis/performance_dossier_latest.json")))
		}, map[string]want{"performance_dossier_expectancy_ci": {VerdictMissing, "performance dossier summary missing"}}, []string{"performance_dossier_expectancy_ci"}},
		{"dossier stale: the contract's words (the original judges no age)", write("reports/analysis/performance_dossier_latest.json", `{"ts_utc":"2026-02-26T01:00:00Z","summary":{"rolling_expectancy_gate_fail":false}}`),
			map[string]want{"performance_dossier_expectancy_ci": {VerdictStale, "rolling expectancy CI upper bound below zero"}}, []string{"performance_dossier_expectancy_ci"}},
		{"dossier failing only under the stricter rule: the contract's words", write("reports/analysis/performance_dossier_latest.json", `{"ts_utc":"`+ts+`","summary":{"rolling_expectancy_gate_fail":1.0}}`),
			map[string]want{"performance_dossier_expectancy_ci": {VerdictFail, "rolling expectancy CI upper bound below zero"}}, []string{"performance_dossier_expectancy_ci"}},
		{"dossier gate fail \"no\": passes", write("reports/analysis/performance_dossier_latest.json", `{"ts_utc":"`+ts+`","summary":{"rolling_expectancy_gate_fail":"no","rolling_expectancy_sample_count":3}}`),
			map[string]want{}, []string{}},
		{"portfolio risk critical: a warning", write("reports/portfolio_risk/latest.json", `{"ts_utc":"`+ts+`","status":"critical","critical_count":1}`),
			map[string]want{"portfolio_risk_status": {VerdictFail, "portfolio risk critical/stale (non-live scope; warning only)"}}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := runHead(t, headRoot(t, tt.mod), true)
			for _, got := range rep.Checks {
				w, ok := tt.want[got.Name]
				if !ok {
					assert.Equal(t, VerdictPass, got.Verdict, "%s: %s", got.Name, got.Text())
					continue
				}
				assert.Equal(t, w.v, got.Verdict, got.Name)
				assert.Equal(t, w.reason, got.Reason, got.Name)
			}
			assert.Equal(t, tt.failures, rep.CriticalFailures)
		})
	}
}

// The shipped hbot-head passes on the generated Day-28 tree only where its
// HEAD reports exist: the tree generator is the Day-28 one (simstack), so
// this guards that headRoot stays the only difference.
func TestHeadNeedsHeadReports(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, simstack.WriteDay28(root, simstack.Day28Options{Now: fixedNow}))
	c, err := config.LoadContract("hbot-head")
	require.NoError(t, err)
	e, err := New(c, Options{Root: root, NoCommands: true, Now: func() time.Time { return fixedNow }})
	require.NoError(t, err)
	rep, err := e.Run(context.Background(), RunOptions{RunID: "head"})
	require.NoError(t, err)
	assert.Equal(t, StatusFail, rep.Status)
	assert.Contains(t, rep.CriticalFailures, "preflight_checks")
	// No artifact of its own: the lint is skipped, never passed.
	for _, r := range rep.Checks {
		if r.Name == "ruff_lint" {
			assert.Equal(t, VerdictSkipped, r.Verdict)
		}
	}
}
