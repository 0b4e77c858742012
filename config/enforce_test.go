package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// enforced: false needs a not_enforced block; not_enforced is refused on
// any check but the two the original leaves unenforced by default, must
// say "not enforced" in plain text, and never blocks.
func TestNotEnforcedErrors(t *testing.T) {
	named := func(name, block string) string {
		return strings.Replace(strings.Replace(base, "  - name: a\n", "  - name: "+name+"\n", 1),
			"    kind: report\n", "    kind: report\n"+block, 1)
	}
	ok := "    enforced: false\n    not_enforced: {reason: x not enforced, severity: warning, evidence_paths: [data]}\n"
	tests := []struct{ name, yaml, want string }{
		{"another check", named("secrets_hygiene", ok),
			`validate contract: checks[0] (secrets_hygiene): not_enforced is only for the checks the original runner leaves unenforced by default (history_market_bar_v2_backfill, history_seed_rollout)`},
		{"enforced without the block", named("history_seed_rollout", "    enforced: false\n"),
			`validate contract: checks[0] (history_seed_rollout): enforced needs a not_enforced block (what the check records while it is not enforced)`},
		{"enforced true without the block", named("history_seed_rollout", "    enforced: true\n"),
			`validate contract: checks[0] (history_seed_rollout): enforced needs a not_enforced block (what the check records while it is not enforced)`},
		{"reason does not say it", named("history_seed_rollout", strings.Replace(ok, "x not enforced", "seeding disabled", 1)),
			`validate contract: checks[0] (history_seed_rollout): not_enforced.reason "seeding disabled" must say "not enforced"`},
		{"reason with a placeholder", named("history_seed_rollout", strings.Replace(ok, "x not enforced", "\"{status} not enforced\"", 1)),
			`validate contract: checks[0] (history_seed_rollout): not_enforced.reason must be plain text (no placeholders: nothing is read)`},
		{"critical", named("history_seed_rollout", strings.Replace(ok, "severity: warning", "severity: critical", 1)),
			`validate contract: checks[0] (history_seed_rollout): not_enforced.severity "critical" is not warning|info (a check that is not enforced never blocks)`},
		{"no severity", named("history_seed_rollout", strings.Replace(ok, "severity: warning, ", "", 1)),
			`validate contract: checks[0] (history_seed_rollout): not_enforced.severity "" is not warning|info (a check that is not enforced never blocks)`},
		{"evidence escapes", named("history_seed_rollout", strings.Replace(ok, "[data]", "[../data]", 1)),
			`validate contract: checks[0] (history_seed_rollout): not_enforced.evidence_paths[0]: path "../data" escapes the root`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseContract([]byte(tt.yaml))
			require.EqualError(t, err, tt.want)
		})
	}
	c, err := ParseContract([]byte(named("history_seed_rollout", ok)))
	require.NoError(t, err)
	assert.False(t, c.Checks[0].IsEnforced())
	c, err = ParseContract([]byte(named("history_seed_rollout", strings.Replace(ok, "enforced: false", "enforced: true", 1))))
	require.NoError(t, err)
	assert.True(t, c.Checks[0].IsEnforced())
	c, err = ParseContract([]byte(base))
	require.NoError(t, err)
	assert.True(t, c.Checks[0].IsEnforced(), "a check without the field is enforced")

	// hbot-head leaves exactly the two history checks unenforced, as the
	// original's defaults do.
	c, err = LoadContract("hbot-head")
	require.NoError(t, err)
	var off []string
	for _, ck := range c.Checks {
		if !ck.IsEnforced() {
			off = append(off, ck.Name+": "+ck.NotEnforced.Reason)
		}
	}
	assert.Equal(t, []string{
		"history_market_bar_v2_backfill: shared history read rollout disabled; backfill evidence not enforced",
		"history_seed_rollout: startup history seeding disabled; runtime seed gate not enforced",
	}, off)
}

// live_argv (a command check's, the replay's) needs the live scope, a
// non-empty argv and no ci_argv beside it.
func TestLiveArgvErrors(t *testing.T) {
	cmd := strings.Replace(base, "    kind: report\n    report: {path: reports/a.json, condition: status == \"pass\"}\n",
		"    kind: command\n    command: {argv: [python, a.py], LIVE}\n", 1)
	scope := "live_scope: {}\n"
	replay := "replay: {check: a, argv: [python, r.py], artifact: reports/r.json, LIVE}\n"
	tests := []struct{ name, yaml, want string }{
		{"command without live_scope", strings.Replace(cmd, "LIVE", "live_argv: [python, b.py]", 1),
			`validate contract: checks[0] (a): command.live_argv needs the contract's live_scope (it applies when a live bot is enabled)`},
		{"command empty", scope + strings.Replace(cmd, "LIVE", "live_argv: []", 1),
			`validate contract: checks[0] (a): command.live_argv: must not be empty`},
		{"command with ci_argv", scope + strings.Replace(cmd, "LIVE", "live_argv: [python, b.py], ci_argv: [python, c.py]", 1),
			`validate contract: checks[0] (a): command: live_argv and ci_argv together are not supported (set one)`},
		{"replay without live_scope", strings.Replace(replay, "LIVE", "live_argv: [python, s.py]", 1) + strings.Replace(cmd, ", LIVE", "", 1),
			`validate contract: replay.live_argv needs the contract's live_scope (it applies when a live bot is enabled)`},
		{"replay empty argument", scope + strings.Replace(replay, "LIVE", "live_argv: [python, \"\"]", 1) + strings.Replace(cmd, ", LIVE", "", 1),
			`validate contract: replay.live_argv[1]: must not be empty`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseContract([]byte(tt.yaml))
			require.EqualError(t, err, tt.want)
		})
	}
	c, err := ParseContract([]byte(scope + strings.Replace(replay, "LIVE", "live_argv: [python, s.py]", 1) + strings.Replace(cmd, "LIVE", "live_argv: [python, b.py]", 1)))
	require.NoError(t, err)
	assert.Equal(t, []string{"python", "s.py"}, c.Replay.LiveArgv)
	assert.Equal(t, []string{"python", "b.py"}, c.Checks[0].Command.LiveArgv)

	// hbot-head: the replay's live argv is its argv without
	// --no-require-portfolio-risk-healthy, in the replay and in the check.
	c, err = LoadContract("hbot-head")
	require.NoError(t, err)
	want := []string{"python", "scripts/release/run_replay_regression_multi_window.py", "--windows", "500,1000,2000", "--repeat", "2"}
	assert.Equal(t, want, c.Replay.LiveArgv)
	assert.Equal(t, append(append([]string{}, want...), "--no-require-portfolio-risk-healthy"), c.Replay.Argv)
	for _, ck := range c.Checks {
		if ck.Name == c.Replay.Check {
			assert.Equal(t, c.Replay.Argv, ck.Command.Argv)
			assert.Equal(t, c.Replay.LiveArgv, ck.Command.LiveArgv)
		}
	}
}

// words names a known built-in reason function, on a check that judges a
// report.
func TestWordsErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"unknown", strings.Replace(base, "    kind: report\n", "    kind: report\n    words: dossier\n", 1),
			`validate contract: checks[0] (a): words "dossier" is not one of history_backfill|performance_dossier`},
		{"no report", strings.Replace(base, "    kind: report\n    report: {path: reports/a.json, condition: status == \"pass\"}\n",
			"    kind: files_present\n    files: [a]\n    words: performance_dossier\n", 1),
			`validate contract: checks[0] (a): words is for checks that judge a report`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseContract([]byte(tt.yaml))
			require.EqualError(t, err, tt.want)
		})
	}
	_, err := ParseContract([]byte(strings.Replace(base, "    kind: report\n", "    kind: report\n    words: performance_dossier\n", 1)))
	require.NoError(t, err)
}
