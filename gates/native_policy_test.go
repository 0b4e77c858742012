package gates

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
)

func policyCheck() config.Check {
	return config.Check{Name: "multi_bot_policy_scope", Kind: config.KindMultiBotPolicy,
		PassReason: "multi-bot policy scope is consistent across risk/reconciliation/account-map",
		FailReason: "multi-bot policy scope check failed (rc={rc})", MultiBotPolicy: &config.MultiBotPolicySpec{}}
}

const (
	policyRel    = "config/multi_bot_policy_v1.json"
	accountRel   = "config/exchange_account_map.json"
	portfolioRel = "config/portfolio_limits_v1.json"
	reconRel     = "config/reconciliation_thresholds.json"
)

// policyBase is a consistent set: bot1 live with portfolio actions, bot2
// disabled everywhere, bot3 paper only.
var policyBase = map[string]string{
	policyRel: `{"bots": {"bot1": {"enabled": true, "mode": "live", "portfolio_action_enabled": true},
		"bot2": {"enabled": false, "mode": "disabled"}, "bot3": {"enabled": true, "mode": "paper_only"}}}`,
	accountRel:   `{"bots": {"bot1": {"account_mode": "live"}, "bot2": {"account_mode": "disabled"}, "bot3": {"account_mode": "paper_only"}}}`,
	portfolioRel: `{"bot_action_scope": ["bot1"]}`,
	reconRel:     `{"bots": {"bot1": {}, "bot2": {"enabled": false}, "bot3": {}}}`,
}

type policyReport struct {
	TSUTC   string   `json:"ts_utc"`
	Status  string   `json:"status"`
	Errors  []string `json:"errors"`
	Details struct {
		PolicyBots      []string          `json:"policy_bots"`
		ActionPolicy    []string          `json:"portfolio_action_scope_policy"`
		ActionPortfolio []string          `json:"portfolio_action_scope_portfolio"`
		Disabled        []string          `json:"disabled_scope"`
		Paths           map[string]string `json:"paths"`
	} `json:"details"`
}

// TestMultiBotPolicyRules: each rule of check_multi_bot_policy.py
// (docs/COMPATIBILITY.md, "Native checkers"), case by case, with the
// script's error strings (Python list repr, str() of values).
func TestMultiBotPolicyRules(t *testing.T) {
	cases := []struct {
		name   string
		files  map[string]string
		errors []string // "<abs>" is the root
	}{
		{"consistent", nil, nil},
		{"account map bots differ", map[string]string{accountRel: `{"bots": {"bot1": {"account_mode": "live"}, "bot3": {"account_mode": "paper_only"}, "bot9": {}}}`},
			[]string{"policy bots mismatch exchange account map: policy=['bot1', 'bot2', 'bot3'] account_map=['bot1', 'bot3', 'bot9']",
				"bot2: expected account_mode=disabled, got unset"}},
		{"account map without bots", map[string]string{accountRel: `{"bots": []}`},
			[]string{"policy bots mismatch exchange account map: policy=['bot1', 'bot2', 'bot3'] account_map=[]",
				"bot2: expected account_mode=disabled, got unset", "bot3: expected account_mode=paper_only, got unset"}},
		{"reconciliation misses a bot", map[string]string{reconRel: `{"bots": {"bot1": {}, "bot2": {"enabled": false}, "bot4": {}}}`},
			[]string{"policy bots missing in reconciliation thresholds: missing=['bot3']"}},
		{"reconciliation superset is fine", map[string]string{reconRel: `{"bots": {"bot1": {}, "bot2": {"enabled": false}, "bot3": {}, "bot4": {}}}`}, nil},
		{"action scope by truthiness", map[string]string{policyRel: `{"bots": {"bot1": {"enabled": true, "mode": "live", "portfolio_action_enabled": "false"},
			"bot2": {"enabled": false, "mode": "disabled", "portfolio_action_enabled": 0}, "bot3": {"enabled": true, "mode": "paper_only", "portfolio_action_enabled": [1]}}}`},
			[]string{"portfolio action scope mismatch: policy=['bot1', 'bot3'] portfolio=['bot1']"}},
		{"portfolio items by str()", map[string]string{portfolioRel: `{"bot_action_scope": ["bot1", 1, 2.5, null, true, " ", "", "bot1"]}`},
			[]string{"portfolio action scope mismatch: policy=['bot1'] portfolio=['1', '2.5', 'None', 'True', 'bot1']"}},
		{"portfolio scope not a list", map[string]string{portfolioRel: `{"bot_action_scope": "bot1"}`},
			[]string{"portfolio action scope mismatch: policy=['bot1'] portfolio=[]"}},
		{"paper_only needs paper_only", map[string]string{accountRel: `{"bots": {"bot1": {"account_mode": "live"}, "bot2": {"account_mode": " Disabled "}, "bot3": {"account_mode": "probe"}}}`},
			[]string{"bot3: expected account_mode=paper_only, got probe"}},
		{"mode normalised", map[string]string{policyRel: `{"bots": {"bot1": {"enabled": true, "mode": "live", "portfolio_action_enabled": true},
			"bot2": {"enabled": false, "mode": "disabled"}, "bot3": {"enabled": true, "mode": "  PAPER_ONLY\t"}}}`,
			accountRel: `{"bots": {"bot1": {"account_mode": "live"}, "bot2": {"account_mode": "disabled"}, "bot3": {"account_mode": null}}}`},
			[]string{"bot3: expected account_mode=paper_only, got none"}},
		{"account entry not an object skips the mode rules", map[string]string{accountRel: `{"bots": {"bot1": {"account_mode": "live"}, "bot2": "x", "bot3": ["paper_only"]}}`}, nil},
		{"disabled bot needs reconciliation disabled", map[string]string{reconRel: `{"bots": {"bot1": {}, "bot2": {"enabled": "false"}, "bot3": {}}}`},
			[]string{"bot2: disabled bot must set reconciliation bots.bot2.enabled=false"}},
		{"falsy reconciliation enabled is disabled", map[string]string{reconRel: `{"bots": {"bot1": {}, "bot2": {"enabled": 0}, "bot3": {}}}`}, nil},
		{"reconciliation entry not an object counts as enabled", map[string]string{reconRel: `{"bots": {"bot1": {}, "bot2": [], "bot3": {}}}`},
			[]string{"bot2: disabled bot must set reconciliation bots.bot2.enabled=false"}},
		{"enabled absent means disabled", map[string]string{policyRel: `{"bots": {"bot1": {"enabled": true, "mode": "live", "portfolio_action_enabled": true},
			"bot2": {"enabled": false, "mode": "disabled"}, "bot3": {"mode": "paper_only"}}}`},
			[]string{"bot3: disabled bot must set reconciliation bots.bot3.enabled=false"}},
		{"missing config", map[string]string{portfolioRel: ""},
			[]string{"policy check exception: [Errno 2] No such file or directory: '<abs>/config/portfolio_limits_v1.json'"}},
		{"config not an object", map[string]string{accountRel: `[1]`},
			[]string{"policy check exception: expected object in <abs>/config/exchange_account_map.json"}},
		{"policy without bots", map[string]string{policyRel: `{"bots": {}}`},
			[]string{"policy check exception: multi_bot_policy_v1.json must contain a non-empty 'bots' object"}},
		{"policy bots not an object", map[string]string{policyRel: `{"bots": ["bot1"]}`},
			[]string{"policy check exception: multi_bot_policy_v1.json must contain a non-empty 'bots' object"}},
		{"quote in a bot name", map[string]string{policyRel: `{"bots": {"bot'1": {"enabled": true}}}`, accountRel: `{"bots": {"bot'1": {}}}`,
			reconRel: `{"bots": {"bot'1": {}}}`, portfolioRel: `{"bot_action_scope": ["b\\c"]}`},
			[]string{`portfolio action scope mismatch: policy=[] portfolio=['b\\c']`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for rel, body := range policyBase {
				if v, ok := tc.files[rel]; ok {
					body = v
				}
				if body != "" {
					writeFile(t, root, rel, body)
				}
			}
			r := runOne(t, root, policyCheck())
			data, err := os.ReadFile(filepath.Join(root, "reports/policy/latest.json"))
			require.NoError(t, err)
			var rep policyReport
			require.NoError(t, json.Unmarshal(data, &rep))
			want := []string{}
			for _, e := range tc.errors {
				want = append(want, strings.ReplaceAll(e, "<abs>", root))
			}
			assert.Equal(t, want, rep.Errors)
			assert.Equal(t, []string{filepath.Join(root, "reports/policy/latest.json")}, r.EvidencePaths)
			if len(want) == 0 {
				assert.Equal(t, "pass", rep.Status)
				assert.Equal(t, VerdictPass, r.Verdict, r.Reason)
				assert.Equal(t, "multi-bot policy scope is consistent across risk/reconciliation/account-map", r.Reason)
			} else {
				assert.Equal(t, "fail", rep.Status)
				assert.Equal(t, VerdictFail, r.Verdict)
				assert.Equal(t, "multi-bot policy scope check failed (rc=2)", r.Reason)
				assert.Contains(t, r.OutputTail, "[multi-bot-policy] error="+want[0])
			}
		})
	}
}

// The report is the script's bytes, details included.
func TestMultiBotPolicyReportBytes(t *testing.T) {
	root := t.TempDir()
	for rel, body := range policyBase {
		writeFile(t, root, rel, body)
	}
	runOne(t, root, policyCheck())
	abs := func(rel string) string { return strings.ReplaceAll(filepath.Join(root, rel), `\`, `\\`) }
	want := `{
  "ts_utc": "2026-02-26T02:00:00+00:00",
  "status": "pass",
  "errors": [],
  "details": {
    "policy_bots": [
      "bot1",
      "bot2",
      "bot3"
    ],
    "portfolio_action_scope_policy": [
      "bot1"
    ],
    "portfolio_action_scope_portfolio": [
      "bot1"
    ],
    "disabled_scope": [
      "bot2"
    ],
    "paths": {
      "policy": "` + abs(policyRel) + `",
      "exchange_account_map": "` + abs(accountRel) + `",
      "portfolio_limits": "` + abs(portfolioRel) + `",
      "reconciliation_thresholds": "` + abs(reconRel) + `"
    }
  }
}`
	for _, rel := range []string{"reports/policy/latest.json", "reports/policy/multi_bot_policy_check_20260226T020000Z.json"} {
		got, err := os.ReadFile(filepath.Join(root, rel))
		require.NoError(t, err)
		assert.Equal(t, want, string(got), rel)
	}
	writeFile(t, root, policyRel, `{}`)
	runOne(t, root, policyCheck())
	got, err := os.ReadFile(filepath.Join(root, "reports/policy/latest.json"))
	require.NoError(t, err)
	assert.Equal(t, "{\n  \"ts_utc\": \"2026-02-26T02:00:00+00:00\",\n  \"status\": \"fail\",\n  \"errors\": [\n"+
		"    \"policy check exception: multi_bot_policy_v1.json must contain a non-empty 'bots' object\"\n  ],\n  \"details\": {}\n}", string(got))
}

// A config that cannot be read fails closed (error, not the script's
// exception), naming it; with --no-commands the last report is judged.
func TestMultiBotPolicyUnreadableAndNoCommands(t *testing.T) {
	root := t.TempDir()
	for rel, body := range policyBase {
		if rel != reconRel {
			writeFile(t, root, rel, body)
		}
	}
	require.NoError(t, syscall.Mkfifo(filepath.Join(root, reconRel), 0o644))
	r := runOne(t, root, policyCheck())
	assert.Equal(t, VerdictError, r.Verdict)
	assert.Equal(t, "multi-bot policy scope check failed (rc=?)", r.Reason, "no command exited")
	assert.Contains(t, r.Detail, "config/reconciliation_thresholds.json")
	assert.Contains(t, r.Detail, "FIFO")

	r = runOne(t, root, policyCheck(), func(o *Options) { o.NoCommands = true })
	assert.Equal(t, VerdictFail, r.Verdict, "judged on the failed report it wrote")
	assert.Contains(t, r.Detail, "command not run (--no-commands); judged on reports/policy/latest.json")
}

func TestPyRepr(t *testing.T) {
	for v, want := range map[string]string{"a": "'a'", "it's": `"it's"`, `it's "x"`: `'it\'s "x"'`, "t\tn\n\x01é\u200b": `'t\tn\n\x01é\u200b'`} {
		assert.Equal(t, want, pyQuote(v), v)
	}
	floats := map[float64]string{1: "1.0", 2.5: "2.5", 1e16: "1e+16", 1.5e-5: "1.5e-05", 0.0001: "0.0001", 123456789012345.0: "123456789012345.0", -0.5: "-0.5"}
	for f, want := range floats {
		assert.Equal(t, want, pyFloat(f), "%v", f)
	}
	assert.Equal(t, "{'a': [1, None, False]}", pyRepr(map[string]any{"a": []any{int64(1), nil, false}}))
}
