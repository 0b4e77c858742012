package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// `strictcycle gates --ci` runs the contract's ci_only pre-steps (the
// original's --ci refreshes) before the checks and prints and records each;
// without --ci they are recorded as not run.
func TestGatesCIRunsPreSteps(t *testing.T) {
	root := t.TempDir()
	contract := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(contract, []byte(`name: prestep
freshness: {window: 20m, ci_window: 15m, future_skew: 2m}
pre_steps:
  - name: refresh
    argv: [/bin/sh, -c, 'mkdir -p reports && printf "{\"ts_utc\":\"2026-02-26T01:59:00Z\",\"status\":\"ok\"}" > reports/r.json']
    ci_only: true
  - name: probe
    argv: [/bin/sh, -c, 'exit 3']
    fails_checks: [r]
checks:
  - name: r
    severity: critical
    kind: report
    pass_reason: r ok
    fail_reason: r bad
    report: {path: reports/r.json, condition: status == "ok"}
`), 0o644))
	out := t.TempDir()
	code, stdout, stderr := runGates(t, "--contract", contract, "--root", root, "--now", "2026-02-26T02:00:00Z", "--out", out)
	require.Empty(t, stderr)
	assert.Equal(t, 2, code)
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	assert.Equal(t, "[pre-step] probe: failed: exited 3", lines[0])
	assert.Equal(t, "[MISSING] r: r bad: missing reports/r.json; pre-step probe: exited 3", lines[1])

	code, stdout, stderr = runGates(t, "--contract", contract, "--root", root, "--ci", "--now", "2026-02-26T02:00:00Z", "--out", out)
	require.Empty(t, stderr)
	assert.Equal(t, 2, code, "the failed probe still fails r")
	lines = strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	assert.Equal(t, []string{"[pre-step] refresh: ok", "[pre-step] probe: failed: exited 3", "[FAIL] r: r bad: pre-step probe: exited 3"}, lines[:3])
	data, err := os.ReadFile(filepath.Join(out, "latest.json"))
	require.NoError(t, err)
	var rep struct {
		PreSteps []struct {
			Name     string `json:"name"`
			Ran      bool   `json:"ran"`
			OK       bool   `json:"ok"`
			ExitCode *int   `json:"exit_code"`
		} `json:"pre_steps"`
		Checks []struct {
			Reason string `json:"reason"`
			Detail string `json:"detail"`
		} `json:"checks"`
	}
	require.NoError(t, json.Unmarshal(data, &rep))
	require.Len(t, rep.PreSteps, 2)
	assert.True(t, rep.PreSteps[0].Ran && rep.PreSteps[0].OK)
	assert.True(t, rep.PreSteps[1].Ran && !rep.PreSteps[1].OK)
	assert.Equal(t, 3, *rep.PreSteps[1].ExitCode)
	assert.Equal(t, "r bad", rep.Checks[0].Reason)
	assert.Equal(t, "pre-step probe: exited 3", rep.Checks[0].Detail)
	md, err := os.ReadFile(filepath.Join(out, "latest.md"))
	require.NoError(t, err)
	assert.Contains(t, strings.Split(string(md), "\n"), "- [FAIL] r: r bad")
}
