package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The contract language of the original runner's pre-steps, interpreter,
// recorded evidence and manifest: every bad value is a load error naming
// the field.
func TestCompatFieldsErrors(t *testing.T) {
	step := "pre_steps:\n  - name: probe\n    argv: [python, scripts/release/check_alerting_health.py]\n"
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"interpreter with a space", base + "interpreter: python3 -I\n",
			`validate contract: interpreter: "python3 -I" is not a program name or path (no spaces, quotes, globs or shell characters)`},
		{"interpreter shell", base + "interpreter: 'python;rm'\n",
			`validate contract: interpreter: "python;rm" is not a program name or path (no spaces, quotes, globs or shell characters)`},
		{"interpreter option", base + "interpreter: -python\n",
			`validate contract: interpreter: "-python" is not a program name (^[A-Za-z0-9][A-Za-z0-9._+-]*$) or a path`},
		{"interpreter escapes", base + "interpreter: ../venv/bin/python\n",
			`validate contract: interpreter: path "../venv/bin/python" escapes the root`},
		{"interpreter unclean", base + "interpreter: /opt//venv/bin/python\n",
			`validate contract: interpreter: "/opt//venv/bin/python" is not a clean absolute path`},
		{"pre-step without argv", base + "pre_steps:\n  - name: probe\n",
			`validate contract: pre_steps[0] (probe): argv: must not be empty`},
		{"pre-step bad name", base + "pre_steps:\n  - name: Probe Now\n    argv: [true]\n",
			`validate contract: pre_steps[0] (Probe Now): name "Probe Now" does not match ^[a-z0-9][a-z0-9_.-]*$`},
		{"pre-step duplicate", base + step + "  - name: probe\n    argv: [true]\n",
			`validate contract: pre_steps[1] (probe): duplicate name (also pre_steps[0])`},
		{"pre-step fails unknown check", base + step + "    fails_checks: [alerting_health]\n",
			`validate contract: pre_steps[0] (probe): fails_checks[0]: "alerting_health" is not a check of the contract`},
		{"pre-step negative timeout", base + step + "    timeout: -1s\n",
			`validate contract: pre_steps[0] (probe): timeout: duration -1s is negative`},
		{"pre-step worker secret", base + step + "    pass_env: [REDIS_URL]\n",
			`validate contract: pre_steps[0] (probe).pass_env[0]: REDIS_URL is a setting of the worker and is never passed to a child`},
		{"evidence_paths and evidence", strings.Replace(base, "    kind: report\n", "    kind: report\n    evidence: [a]\n    evidence_paths: [b]\n", 1),
			`validate contract: checks[0] (a): set evidence_paths (the whole recorded list) or evidence (extra files), not both`},
		{"evidence_paths escapes", strings.Replace(base, "    kind: report\n", "    kind: report\n    evidence_paths: [../x]\n", 1),
			`validate contract: checks[0] (a): evidence_paths[0]: path "../x" escapes the root`},
		{"missing_path with a single path", strings.Replace(base, "condition: status", "missing_path: reports/b.json, condition: status", 1),
			`validate contract: checks[0] (a): report: missing_path is for paths/globs (a single path is recorded itself)`},
		{"manifest absolute", base + "release_manifest: {path: /docs/m.md}\n",
			`validate contract: release_manifest.path: path "/docs/m.md" is absolute (paths are relative to the root)`},
		{"manifest bad glob", base + "release_manifest: {path: docs/m.md, glob: 'docs/[m.md'}\n",
			`validate contract: release_manifest.glob: bad pattern "docs/[m.md": syntax error in pattern`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseContract([]byte(tt.yaml))
			require.EqualError(t, err, tt.want)
		})
	}
	ok := base + "interpreter: .venv/bin/python\nrelease_manifest: {path: docs/ops/release_manifest.md, glob: 'docs/ops/release_manifest_*.md'}\n" +
		step + "    ci_only: true\n    fails_checks: [a]\n    fail_closed: true\n    timeout: 30s\n"
	c, err := ParseContract([]byte(ok))
	require.NoError(t, err)
	assert.Equal(t, ".venv/bin/python", c.Interpreter)
	require.Len(t, c.PreSteps, 1)
	assert.True(t, c.PreSteps[0].CIOnly)
	assert.Equal(t, []string{"a"}, c.PreSteps[0].FailsChecks)
}

// The shipped hbot-day28 declares the original's --ci refreshes as ci_only
// pre-steps and records what the original records.
func TestShippedDay28CompatFields(t *testing.T) {
	c, err := LoadContract("hbot-day28")
	require.NoError(t, err)
	require.Len(t, c.PreSteps, 2)
	for _, s := range c.PreSteps {
		assert.True(t, s.CIOnly, s.Name)
		assert.Equal(t, "python", s.Argv[0], s.Name)
	}
	assert.Equal(t, "docs/ops/release_manifest_20260221.md", c.ReleaseManifest.Path)
	byName := map[string]Check{}
	for _, ck := range c.Checks {
		byName[ck.Name] = ck
	}
	assert.Equal(t, []string{"reports/strategy_catalog/latest.json", "config/strategy_catalog/catalog_v1.json"}, byName["strategy_catalog_consistency"].EvidencePaths)
	assert.Equal(t, "multi-bot policy consistency failed (rc={rc})", byName["multi_bot_policy_scope"].FailReason)
	assert.Equal(t, "reports/reconciliation/latest.json", byName["reconciliation_status"].Report.Path)
}

// hbot-head is shipped beside hbot-day28: 33 checks with default flags,
// the day2 flags as options (off), the original's pre-steps.
func TestShippedHead(t *testing.T) {
	assert.Contains(t, ContractNames(), "hbot-head")
	c, err := LoadContract("hbot-head")
	require.NoError(t, err)
	assert.Len(t, c.Checks, 33)
	assert.Len(t, c.Checks[0].Files, 37)
	var first []string
	for _, ck := range c.Checks {
		if ck.FailsFirst {
			first = append(first, ck.Name)
		}
		if ck.Kind == KindDay2Gate {
			assert.False(t, ck.Day2.RequireGo || ck.Day2.RequireFresh || ck.Day2.RequireLag, "default flags")
		}
	}
	assert.Equal(t, []string{"performance_dossier_expectancy_ci", "realtime_l2_data_quality", "paper_exchange_functional_golden_path"}, first)
	var steps []string
	for _, s := range c.PreSteps {
		steps = append(steps, s.Name)
	}
	assert.Equal(t, []string{"parity-refresh", "event-integrity-refresh", "fill-event-backfill", "ops-db-writer-refresh", "alerting-health-probe", "realtime-l2-data-quality"}, steps)
	assert.Equal(t, "replay_regression_first_class", c.Replay.Check)
}
