package gates

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
)

// runHeadWith runs hbot-head with the interpreter of the generated tree
// and the contract changed by mod (the original's flags as options).
func runHeadWith(t *testing.T, root string, ci bool, mod func(c *config.Contract)) *Report {
	t.Helper()
	c, err := config.LoadContract("hbot-head")
	require.NoError(t, err)
	c.Interpreter = ".venv/bin/python"
	if mod != nil {
		mod(c)
		require.NoError(t, c.Validate())
	}
	e, err := New(c, Options{Root: root, CI: ci, Now: func() time.Time { return fixedNow }, CommandParallelism: 2})
	require.NoError(t, err)
	rep, err := e.Run(context.Background(), RunOptions{RunID: "head"})
	require.NoError(t, err)
	return rep
}

func resultOf(t *testing.T, rep *Report, name string) Result {
	t.Helper()
	for _, r := range rep.Checks {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no result %s", name)
	return Result{}
}

func checkOf(c *config.Contract, name string) *config.Check {
	for i := range c.Checks {
		if c.Checks[i].Name == name {
			return &c.Checks[i]
		}
	}
	return nil
}

const (
	day2Eval   = "reports/event_store/day2_gate_eval_latest.json"
	day2Newer  = "reports/event_store/source_compare_20260226T015100Z.json"
	day2Older  = "reports/event_store/source_compare_20260226T014600Z.json"
	day2EvalTS = "2026-02-26T01:00:00Z"
)

// day2Tree replaces the generated day2 files: the evaluation naming
// `named` (nothing when empty), and the two source compare files with
// known lags (the older one, 014600Z, has max 9 on x and y).
func day2Tree(t *testing.T, named string) func(root string) {
	return func(root string) {
		ms, err := filepath.Glob(filepath.Join(root, "reports/event_store/source_compare_*.json"))
		require.NoError(t, err)
		for _, m := range ms {
			require.NoError(t, os.Remove(m))
		}
		writeFile(t, root, day2Newer, `{"ts_utc":"2026-02-26T01:51:00Z","lag_produced_minus_ingested_since_baseline":{"a":2,"b":1}}`)
		writeFile(t, root, day2Older, `{"ts_utc":"2026-02-26T01:46:00Z","lag_produced_minus_ingested_since_baseline":{"y":9,"x":9,"w":"3"}}`)
		eval := `{"ts_utc":"` + day2EvalTS + `","go":false`
		if named != "" {
			eval += `,"source_compare_file":"` + strings.ReplaceAll(named, "ROOT", root) + `"`
		}
		writeFile(t, root, day2Eval, eval+"}")
	}
}

// The HEAD runner's day2 check records the evaluation and the source
// compare file it read: the one source_compare_file names when it exists
// (a container path under /workspace/hbot/ or a path under the root is
// the root's file), else the last source_compare_*.json by name, else
// none. hbot-head records the same, present or not, whatever it judged.
func TestHeadDay2Evidence(t *testing.T) {
	then := func(fs ...func(root string)) func(root string) {
		return func(root string) {
			for _, f := range fs {
				f(root)
			}
		}
	}
	tests := []struct {
		name     string
		mod      func(root string)
		verdict  Verdict
		evidence []string // root-relative; the evaluation first
		reason   string
	}{
		{"named in the container, not the last by name", day2Tree(t, "/workspace/hbot/"+day2Older), VerdictPass,
			[]string{day2Eval, day2Older}, "day2 gate GO/fresh with lag in tolerance (age_min=60.0 max_delta=9)"},
		{"named under the root", day2Tree(t, "ROOT/"+day2Older), VerdictPass,
			[]string{day2Eval, day2Older}, "day2 gate GO/fresh with lag in tolerance (age_min=60.0 max_delta=9)"},
		{"named relative to the root", day2Tree(t, day2Older), VerdictPass,
			[]string{day2Eval, day2Older}, "day2 gate GO/fresh with lag in tolerance (age_min=60.0 max_delta=9)"},
		{"named file absent: the last by name", day2Tree(t, "/workspace/hbot/reports/event_store/source_compare_gone.json"), VerdictPass,
			[]string{day2Eval, day2Newer}, "day2 gate GO/fresh with lag in tolerance (age_min=60.0 max_delta=2)"},
		{"nothing named: the last by name", day2Tree(t, ""), VerdictPass,
			[]string{day2Eval, day2Newer}, "day2 gate GO/fresh with lag in tolerance (age_min=60.0 max_delta=2)"},
		{"a JSON boolean lag is Python's int() of it", then(day2Tree(t, ""), func(root string) {
			writeFile(t, root, day2Newer, `{"lag_produced_minus_ingested_since_baseline":{"f":false,"t":true}}`)
		}), VerdictPass, []string{day2Eval, day2Newer}, "day2 gate GO/fresh with lag in tolerance (age_min=60.0 max_delta=1)"},
		{"no source compare file: the evaluation only", then(day2Tree(t, ""), func(root string) {
			require.NoError(t, os.Remove(filepath.Join(root, day2Newer)))
			require.NoError(t, os.Remove(filepath.Join(root, day2Older)))
		}), VerdictPass, []string{day2Eval}, "day2 gate GO/fresh with lag in tolerance (age_min=60.0 max_delta=0)"},
		{"a directory last by name: recorded as absent", then(day2Tree(t, ""), func(root string) {
			require.NoError(t, os.MkdirAll(filepath.Join(root, "reports/event_store/source_compare_20991231T000000Z.json"), 0o755))
		}), VerdictPass, []string{day2Eval, "reports/event_store/source_compare_20991231T000000Z.json"},
			"day2 gate GO/fresh with lag in tolerance (age_min=60.0 max_delta=0)"},
		// The original passes here (no require_* flag); hbot-head fails
		// closed on a missing evaluation but records what the original does.
		{"no evaluation", then(day2Tree(t, ""), func(root string) {
			require.NoError(t, os.Remove(filepath.Join(root, day2Eval)))
		}), VerdictMissing, []string{day2Eval, day2Newer}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := headRoot(t, tt.mod)
			r := resultOf(t, runHeadWith(t, root, true, nil), "day2_event_store_gate")
			assert.Equal(t, tt.verdict, r.Verdict, r.Text())
			want := make([]string, len(tt.evidence))
			for i, rel := range tt.evidence {
				want[i] = filepath.Join(root, rel)
			}
			assert.Equal(t, want, r.EvidencePaths)
			for _, ef := range r.Evidence {
				info, err := os.Stat(ef.Path)
				present := err == nil && info.Mode().IsRegular()
				assert.Equal(t, present, ef.Exists, ef.Path)
				assert.Equal(t, present, ef.SHA256 != "", ef.Path)
			}
			if tt.reason != "" {
				assert.Equal(t, tt.reason, r.Reason)
			}
		})
	}
}

// With the strict cycle's flags the original's day2 fail reason carries
// go, the evaluation's age, the observed and allowed delta and the worst
// stream of the file it reads, and its flags; the require_lag rule here
// judges the newest file by ts_utc (kept in the read list), while the
// recorded file and the reason's values stay the original's.
func TestHeadDay2FailReason(t *testing.T) {
	remedy := ". Remediation: run scripts/release/run_bus_recovery_check.py with --enforce-absolute-delta and ensure event_store consumer catches up before strict cycle."
	tests := []struct {
		name  string
		named string
		flags func(d *config.Day2Spec)
		want  string
	}{
		{"go required", "/workspace/hbot/" + day2Older, func(d *config.Day2Spec) { d.RequireGo = true },
			"day2 gate status: go=False age_min=60.0 max_delta=9/5 worst_stream=x (require_go=True require_fresh=False require_lag_tolerance=False)" + remedy},
		{"all three, the last by name", "", func(d *config.Day2Spec) { d.RequireGo, d.RequireFresh, d.RequireLag, d.MaxDelta = true, true, true, 6 },
			"day2 gate status: go=False age_min=60.0 max_delta=2/6 worst_stream=a (require_go=True require_fresh=True require_lag_tolerance=True)" + remedy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := headRoot(t, day2Tree(t, tt.named))
			rep := runHeadWith(t, root, true, func(c *config.Contract) { tt.flags(checkOf(c, "day2_event_store_gate").Day2) })
			r := resultOf(t, rep, "day2_event_store_gate")
			assert.NotEqual(t, VerdictPass, r.Verdict)
			assert.Equal(t, tt.want, r.Reason)
			assert.Contains(t, rep.CriticalFailures, "day2_event_store_gate")
			assert.Equal(t, filepath.Join(root, day2Eval), r.EvidencePaths[0])
		})
	}
	// An evaluation whose ts_utc does not parse: age_min as the original's
	// 1e9.
	root0 := headRoot(t, func(root string) {
		day2Tree(t, "")(root)
		writeFile(t, root, day2Eval, `{"ts_utc":"garbage","go":false}`)
	})
	r0 := resultOf(t, runHeadWith(t, root0, true, func(c *config.Contract) { checkOf(c, "day2_event_store_gate").Day2.RequireGo = true }), "day2_event_store_gate")
	assert.True(t, strings.HasPrefix(r0.Reason, "day2 gate status: go=False age_min=1000000000.0 max_delta=2/5 worst_stream=a "), r0.Reason)

	// A truthy go that is not a JSON boolean reads True in the words, as
	// Python's bool() shows it; the verdict is an error (W18).
	root := headRoot(t, func(root string) {
		day2Tree(t, "")(root)
		writeFile(t, root, day2Eval, `{"ts_utc":"`+day2EvalTS+`","go":"yes"}`)
	})
	r := resultOf(t, runHeadWith(t, root, true, func(c *config.Contract) { checkOf(c, "day2_event_store_gate").Day2.RequireGo = true }), "day2_event_store_gate")
	assert.Equal(t, VerdictError, r.Verdict)
	assert.True(t, strings.HasPrefix(r.Reason, "day2 gate status: go=True age_min=60.0 max_delta=2/5 worst_stream=a "), r.Reason)
}

// With the original's defaults the two history checks pass unread, as
// warnings, with its "... not enforced" words and evidence, whatever the
// tree holds; enforced, they are judged (the backfill critical, as the
// original then).
func TestHeadHistoryNotEnforced(t *testing.T) {
	broken := func(root string) {
		writeFile(t, root, "reports/ops/market_bar_v2_backfill_latest.json", `{"ts_utc":"2026-02-26T01:59:00Z","status":"fail","missing_count_after":4}`)
		ms, err := filepath.Glob(filepath.Join(root, "data/*/logs/epp_v24/*/minute.csv"))
		require.NoError(t, err)
		for _, m := range ms {
			require.NoError(t, os.Remove(m))
		}
	}
	for _, tt := range []struct {
		name string
		mod  func(root string)
	}{{"healthy tree", nil}, {"failing evidence", broken}} {
		t.Run(tt.name, func(t *testing.T) {
			root := headRoot(t, tt.mod)
			rep := runHeadWith(t, root, true, nil)
			b := resultOf(t, rep, "history_market_bar_v2_backfill")
			assert.Equal(t, VerdictPass, b.Verdict)
			assert.True(t, b.Pass)
			assert.Equal(t, "warning", b.Severity)
			assert.Equal(t, "shared history read rollout disabled; backfill evidence not enforced", b.Reason)
			assert.Contains(t, b.Detail, "not enforced")
			assert.Equal(t, []string{filepath.Join(root, "reports/ops/market_bar_v2_backfill_latest.json"), filepath.Join(root, "scripts/ops/backfill_market_bar_v2.py")}, b.EvidencePaths)
			assert.True(t, b.Evidence[0].Exists, "a present file is hashed, as the original's bundle hashes it")
			s := resultOf(t, rep, "history_seed_rollout")
			assert.Equal(t, VerdictPass, s.Verdict)
			assert.Equal(t, "warning", s.Severity)
			assert.Equal(t, "startup history seeding disabled; runtime seed gate not enforced", s.Reason)
			assert.Equal(t, []string{filepath.Join(root, "data")}, s.EvidencePaths)
			assert.False(t, s.Evidence[0].Exists, "a directory is recorded as absent")
			assert.NotContains(t, rep.CriticalFailures, "history_market_bar_v2_backfill")
			if tt.mod == nil {
				assert.Equal(t, StatusPass, rep.Status)
			}
			md := string(Markdown(rep))
			assert.Contains(t, md, "- [PASS] history_market_bar_v2_backfill: shared history read rollout disabled; backfill evidence not enforced\n")
			assert.Contains(t, md, "- [PASS] history_seed_rollout: startup history seeding disabled; runtime seed gate not enforced\n")
		})
	}
	// An evidence file that exists but cannot be read (a symlink out of
	// the root) makes the unenforced check an error naming it; its words
	// stay the original's and it never blocks.
	root := headRoot(t, func(root string) {
		p := filepath.Join(root, "scripts/ops/backfill_market_bar_v2.py")
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.Symlink("/etc/passwd", p))
	})
	rep := runHeadWith(t, root, true, nil)
	b := resultOf(t, rep, "history_market_bar_v2_backfill")
	assert.Equal(t, VerdictError, b.Verdict)
	assert.Equal(t, "shared history read rollout disabled; backfill evidence not enforced", b.Reason)
	assert.Contains(t, b.Detail, "scripts/ops/backfill_market_bar_v2.py")
	assert.Equal(t, StatusPass, rep.Status)

	enforce := func(c *config.Contract) {
		on := true
		checkOf(c, "history_market_bar_v2_backfill").Enforced = &on
		checkOf(c, "history_seed_rollout").Enforced = &on
	}
	root = headRoot(t, broken)
	rep = runHeadWith(t, root, true, enforce)
	b = resultOf(t, rep, "history_market_bar_v2_backfill")
	assert.Equal(t, VerdictFail, b.Verdict)
	assert.Equal(t, "critical", b.Severity)
	assert.Equal(t, "market_bar_v2 backfill parity failed (exists=True, status=fail, age_min=1.00, missing_after=4, mismatches=0)", b.Reason)
	assert.Contains(t, b.EvidencePaths, filepath.Join(root, "scripts/ops/backfill_market_bar_v2.py"))
	s := resultOf(t, rep, "history_seed_rollout")
	assert.Equal(t, VerdictMissing, s.Verdict)
	assert.Equal(t, "startup history seeding enabled but no minute.csv evidence found", s.Reason)
	assert.Equal(t, StatusFail, rep.Status)
	assert.Contains(t, rep.CriticalFailures, "history_market_bar_v2_backfill")
	rep = runHeadWith(t, headRoot(t, nil), true, enforce)
	b = resultOf(t, rep, "history_market_bar_v2_backfill")
	assert.Equal(t, VerdictPass, b.Verdict)
	assert.Equal(t, "market_bar_v2 backfill parity PASS (age_min=1.00, missing_after=0, mismatches=0)", b.Reason)

	// Enforced, the original's words with its values, as it coerces them.
	for _, tt := range []struct {
		name, report string
		v            Verdict
		reason       string
	}{
		{"no report", "", VerdictMissing, "market_bar_v2 backfill parity failed (exists=False, status=missing, age_min=1000000000.00, missing_after=0, mismatches=0)"},
		{"older than a day", `{"ts_utc":"2026-02-24T01:00:00Z","status":" PASS ","missing_count_after":null,"sample_mismatch_count":"0"}`, VerdictStale,
			"market_bar_v2 backfill parity failed (exists=True, status=pass, age_min=2940.00, missing_after=0, mismatches=0)"},
		{"counts as int()", `{"ts_utc":"2026-02-26T01:59:00Z","status":"","missing_count_after":2.7,"sample_mismatch_count":"3"}`, VerdictFail,
			"market_bar_v2 backfill parity failed (exists=True, status=missing, age_min=1.00, missing_after=2, mismatches=3)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := headRoot(t, func(root string) {
				p := filepath.Join(root, "reports/ops/market_bar_v2_backfill_latest.json")
				require.NoError(t, os.Remove(p))
				if tt.report != "" {
					writeFile(t, root, "reports/ops/market_bar_v2_backfill_latest.json", tt.report)
				}
			})
			b := resultOf(t, runHeadWith(t, root, true, enforce), "history_market_bar_v2_backfill")
			assert.Equal(t, tt.v, b.Verdict, b.Text())
			assert.Equal(t, tt.reason, b.Reason)
		})
	}
}

// argvPython is an interpreter that prints its arguments and exits 0.
const argvPython = "echo \"argv: $*\"\n"

// The replay check runs its live_argv (no --no-require-portfolio-risk-
// healthy) when an enabled bot is live, its argv otherwise; the CI argv
// of other checks is untouched by the live scope.
func TestHeadLiveArgv(t *testing.T) {
	flag := "--no-require-portfolio-risk-healthy"
	tests := []struct {
		name     string
		accounts string
		policy   string
		withFlag bool
	}{
		{"no live bot", `{"bots":{"bot1":{"account_mode":"probe"}}}`, "", true},
		{"live bot", `{"bots":{"bot1":{"account_mode":"live"}}}`, "", false},
		{"live bot disabled", `{"bots":{"bot1":{"account_mode":"live"}}}`, `{"bots":{"bot1":{"enabled":false}}}`, true},
		{"unreadable account map: live assumed", `{"bots":`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := headRoot(t, func(root string) {
				writeFile(t, root, "config/exchange_account_map.json", tt.accounts)
				if tt.policy != "" {
					writeFile(t, root, "config/multi_bot_policy_v1.json", tt.policy)
				}
				writeExe(t, filepath.Join(root, ".venv/bin/python"), argvPython)
			})
			rep := runHeadWith(t, root, true, nil)
			r := resultOf(t, rep, "replay_regression_first_class")
			require.NotNil(t, r.ExitCode)
			assert.Contains(t, r.OutputTail, "run_replay_regression_multi_window.py --windows 500,1000,2000 --repeat 2")
			assert.Equal(t, tt.withFlag, strings.Contains(r.OutputTail, flag), r.OutputTail)
			assert.Contains(t, resultOf(t, rep, "accounting_integrity_v2").OutputTail, "--max-age-min 15.0", "ci_argv still applies")
			c, err := config.LoadContract("hbot-head")
			require.NoError(t, err)
			argv, err := ReplayArgv(c, root)
			require.NoError(t, err)
			assert.Equal(t, tt.withFlag, argv[len(argv)-1] == flag, "the strict cycle's replay step: %v", argv)
		})
	}
}

// The evidence paths hbot-head records beyond the files its kinds read,
// as the HEAD runner records them: the checker scripts of the dossier,
// the L2 check and the golden path, and the ladder's five files when it is
// bypassed (the account map that decided is only read).
func TestHeadEvidencePaths(t *testing.T) {
	root := headRoot(t, nil)
	rep := runHeadWith(t, root, true, nil)
	abs := func(rels ...string) []string {
		out := make([]string, len(rels))
		for i, rel := range rels {
			out[i] = filepath.Join(root, rel)
		}
		return out
	}
	for name, want := range map[string][]string{
		"performance_dossier_expectancy_ci":     abs("reports/analysis/performance_dossier_latest.json", "scripts/analysis/performance_dossier.py"),
		"realtime_l2_data_quality":              abs("reports/verification/realtime_l2_data_quality_latest.json", "scripts/release/check_realtime_l2_data_quality.py"),
		"paper_exchange_functional_golden_path": abs("reports/verification/paper_exchange_golden_path_latest.json", "scripts/release/run_paper_exchange_golden_path.py"),
		"trading_validation_ladder": abs("reports/ops/go_live_checklist_evidence_latest.json", "reports/strategy/multi_day_summary_latest.json",
			"reports/ops/testnet_readiness_latest.json", "reports/strategy/testnet_daily_scorecard_latest.json", "reports/strategy/testnet_multi_day_summary_latest.json"),
	} {
		r := resultOf(t, rep, name)
		assert.Equal(t, VerdictPass, r.Verdict, name)
		assert.Equal(t, want, r.EvidencePaths, name)
	}
	ladder := resultOf(t, rep, "trading_validation_ladder")
	require.Len(t, ladder.Read, 1)
	assert.Equal(t, filepath.Join(root, "config/exchange_account_map.json"), ladder.Read[0].Path)
}
