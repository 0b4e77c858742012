package gates

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The HEAD runner's trading ladder with a live bot (spec §2.3 row 24),
// rule by rule: the go-live checklist complete (overall_status "pass", no
// in_progress, fail or unknown item), ROAD-1 (n_days >= 20, road1_gate.pass
// and its 7 criteria true), ROAD-5 (testnet readiness and daily scorecard
// "pass", road5_gate.pass and its 6 criteria true). Enforced, the check is
// critical and first in critical_failures; complete, it passes with the
// original's PASS words.
// ladderNothing is the original's live ladder reason when none of its
// files exists.
const ladderNothing = "trading validation ladder incomplete: p0_4_go_live_checklist_incomplete(overall=missing, in_progress=0, fail=0, unknown=0); road1_not_ready(n_days=0, min_days=20, gate_pass=False, criteria_ready=False, missing_criteria=['min_days_gte_20', 'consecutive_days_complete', 'mean_daily_net_pnl_bps_positive', 'sharpe_gte_1_5', 'max_drawdown_lt_2pct', 'no_hard_stop_days', 'spread_capture_dominant_source'], failed_criteria=[]); road5_not_ready(readiness_pass=False, scorecard_pass=False, coverage_days=0, trading_days=0, gate_pass=False, criteria_ready=False, missing_criteria=['calendar_coverage_days_gte_28', 'trading_days_gte_20', 'no_hard_stop_incidents', 'slippage_delta_lt_2bps', 'rejection_rate_lt_0_5pct', 'testnet_sharpe_gte_0_8x_paper'], failed_criteria=[]); no live promotion path allowed"

func TestTradingLadder(t *testing.T) {
	criteria := func(keys []string) map[string]any {
		m := map[string]any{}
		for _, k := range keys {
			m[k] = true
		}
		return m
	}
	complete := func() map[string]map[string]any {
		return map[string]map[string]any{
			"reports/ops/go_live_checklist_evidence_latest.json": {"overall_status": "pass",
				"status_counts": map[string]any{"in_progress": 0, "fail": 0, "unknown": 0, "pass": 12}},
			"reports/strategy/multi_day_summary_latest.json":         {"n_days": 21, "road1_gate": map[string]any{"pass": true, "criteria": criteria(road1Criteria)}},
			"reports/ops/testnet_readiness_latest.json":              {"status": "pass"},
			"reports/strategy/testnet_daily_scorecard_latest.json":   {"status": "pass"},
			"reports/strategy/testnet_multi_day_summary_latest.json": {"road5_gate": map[string]any{"pass": true, "criteria": criteria(road5Criteria)}},
		}
	}
	const ladder = "trading_validation_ladder"
	tests := []struct {
		name   string
		mod    func(f map[string]map[string]any)
		v      Verdict
		reason string
		detail string
	}{
		{"complete", func(map[string]map[string]any) {}, VerdictPass,
			"trading validation ladder PASS (P0-4 checklist complete, ROAD-1 20-day pass, ROAD-5 4-week pass)", ""},
		{"checklist in progress", func(f map[string]map[string]any) {
			f["reports/ops/go_live_checklist_evidence_latest.json"]["status_counts"] = map[string]any{"in_progress": 2}
		}, VerdictFail, "trading validation ladder incomplete: p0_4_go_live_checklist_incomplete(overall=pass, in_progress=2, fail=0, unknown=0); no live promotion path allowed", "live bots bot1: p0_4_go_live_checklist_incomplete(in_progress=2)"},
		{"checklist not pass", func(f map[string]map[string]any) {
			f["reports/ops/go_live_checklist_evidence_latest.json"]["overall_status"] = "in_progress"
		}, VerdictFail, "trading validation ladder incomplete: p0_4_go_live_checklist_incomplete(overall=in_progress, in_progress=0, fail=0, unknown=0); no live promotion path allowed", "live bots bot1: p0_4_go_live_checklist_incomplete(overall_status=in_progress)"},
		{"ROAD-1 19 days", func(f map[string]map[string]any) {
			f["reports/strategy/multi_day_summary_latest.json"]["n_days"] = 19
		}, VerdictFail, "trading validation ladder incomplete: road1_not_ready(n_days=19, min_days=20, gate_pass=True, criteria_ready=True, missing_criteria=[], failed_criteria=[]); no live promotion path allowed", "live bots bot1: road1_not_ready(n_days=19)"},
		{"ROAD-1 criterion absent", func(f map[string]map[string]any) {
			delete(f["reports/strategy/multi_day_summary_latest.json"]["road1_gate"].(map[string]any)["criteria"].(map[string]any), "sharpe_gte_1_5")
		}, VerdictFail, "trading validation ladder incomplete: road1_not_ready(n_days=21, min_days=20, gate_pass=True, criteria_ready=False, missing_criteria=['sharpe_gte_1_5'], failed_criteria=[]); no live promotion path allowed", "live bots bot1: road1_not_ready(sharpe_gte_1_5=missing)"},
		{"ROAD-5 criterion false and scorecard fail", func(f map[string]map[string]any) {
			f["reports/strategy/testnet_multi_day_summary_latest.json"]["road5_gate"].(map[string]any)["criteria"].(map[string]any)["no_hard_stop_incidents"] = false
			f["reports/strategy/testnet_daily_scorecard_latest.json"]["status"] = "fail"
		}, VerdictFail, "trading validation ladder incomplete: road5_not_ready(readiness_pass=True, scorecard_pass=False, coverage_days=0, trading_days=0, gate_pass=True, criteria_ready=True, missing_criteria=[], failed_criteria=['no_hard_stop_incidents']); no live promotion path allowed", "live bots bot1: road5_not_ready(testnet_scorecard=fail, no_hard_stop_incidents=False)"},
		{"nothing written yet", func(f map[string]map[string]any) {
			for k := range f {
				delete(f, k)
			}
		}, VerdictFail, ladderNothing, "live bots bot1: p0_4_go_live_checklist_incomplete(overall_status=missing); road1_not_ready(n_days=missing, pass=missing, "},
		// Read as the original reads them: counts by int() (of a string
		// too), statuses stripped and lower-cased, criteria by bool().
		{"the original's coercions in the words", func(f map[string]map[string]any) {
			f["reports/ops/go_live_checklist_evidence_latest.json"]["overall_status"] = " Blocked "
			f["reports/ops/go_live_checklist_evidence_latest.json"]["status_counts"] = map[string]any{"in_progress": "3", "fail": 1.9, "unknown": true}
			f["reports/strategy/multi_day_summary_latest.json"]["road1_gate"].(map[string]any)["criteria"].(map[string]any)["sharpe_gte_1_5"] = "yes"
			f["reports/strategy/multi_day_summary_latest.json"]["road1_gate"].(map[string]any)["criteria"].(map[string]any)["no_hard_stop_days"] = 0
			f["reports/strategy/testnet_multi_day_summary_latest.json"]["coverage_days"] = 27.5
			f["reports/strategy/testnet_multi_day_summary_latest.json"]["trading_days_count"] = "19"
			f["reports/ops/testnet_readiness_latest.json"]["status"] = " PASS"
			f["reports/strategy/testnet_daily_scorecard_latest.json"]["status"] = "warn"
		}, VerdictFail, "trading validation ladder incomplete: p0_4_go_live_checklist_incomplete(overall=blocked, in_progress=3, fail=1, unknown=1); road1_not_ready(n_days=21, min_days=20, gate_pass=True, criteria_ready=True, missing_criteria=[], failed_criteria=['no_hard_stop_days']); road5_not_ready(readiness_pass=True, scorecard_pass=False, coverage_days=27, trading_days=19, gate_pass=True, criteria_ready=True, missing_criteria=[], failed_criteria=[]); no live promotion path allowed", "live bots bot1: "},
		// Stricter here than the original's reading (upper-case status,
		// a criterion "yes"): it fails, with the contract's words, as the
		// original's own words would say nothing blocks.
		{"fails only under the stricter rule: the contract's words", func(f map[string]map[string]any) {
			f["reports/ops/go_live_checklist_evidence_latest.json"]["overall_status"] = "PASS"
			f["reports/strategy/multi_day_summary_latest.json"]["road1_gate"].(map[string]any)["criteria"].(map[string]any)["sharpe_gte_1_5"] = "yes"
		}, VerdictFail, "trading validation ladder incomplete", "live bots bot1: p0_4_go_live_checklist_incomplete(overall_status=PASS); road1_not_ready(sharpe_gte_1_5=yes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := complete()
			tt.mod(files)
			root := headRoot(t, func(root string) {
				writeFile(t, root, "config/exchange_account_map.json", `{"bots":{"bot1":{"account_mode":"live"},"bot3":{"account_mode":"paper_only"}}}`)
				for rel, obj := range files {
					data, err := json.Marshal(obj)
					require.NoError(t, err)
					writeFile(t, root, rel, string(data))
				}
			})
			rep := runHead(t, root, true)
			var got Result
			for _, r := range rep.Checks {
				if r.Name == ladder {
					got = r
				}
			}
			assert.Equal(t, tt.v, got.Verdict, got.Text())
			assert.Equal(t, tt.reason, got.Reason)
			assert.Contains(t, got.Detail, tt.detail)
			assert.Equal(t, "critical", got.Severity)
			assert.Len(t, got.EvidencePaths, 5)
			assert.Equal(t, filepath.Join(root, "reports/ops/go_live_checklist_evidence_latest.json"), got.EvidencePaths[0])
			if tt.v == VerdictPass {
				assert.Equal(t, StatusPass, rep.Status)
			} else {
				require.NotEmpty(t, rep.CriticalFailures)
				assert.Equal(t, ladder, rep.CriticalFailures[0])
			}
		})
	}
}
