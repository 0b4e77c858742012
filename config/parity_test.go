package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A parity_gate block is validated like a report and must name its drift
// audit: without one the check could not judge what the original judges.
func TestParityGateErrors(t *testing.T) {
	parity := func(block string) string {
		return strings.Replace(base, "    kind: report\n    report: {path: reports/a.json, condition: status == \"pass\"}\n",
			"    kind: parity_gate\n    parity:\n"+block, 1)
	}
	tests := []struct{ name, yaml, want string }{
		{"no drift audit", parity("      report: {paths: [reports/parity/latest.json]}\n"),
			`validate contract: checks[0] (a): parity: needs drift_paths or drift_globs (the drift audit is part of the check)`},
		{"drift escapes", parity("      report: {paths: [reports/parity/latest.json]}\n      drift_paths: [../d.json]\n"),
			`validate contract: checks[0] (a): parity.drift.paths[0]: path "../d.json" escapes the root`},
		{"no parity report", parity("      drift_paths: [reports/parity/drift_audit_latest.json]\n"),
			`validate contract: checks[0] (a): parity.report: needs path, paths or globs`},
		{"parity without freshness", parity("      report: {paths: [reports/parity/latest.json], no_freshness: true}\n      drift_paths: [d.json]\n"),
			`validate contract: checks[0] (a): parity.report.no_freshness: the parity report is always judged for freshness`},
		{"block without the kind", strings.Replace(base, "    kind: report\n", "    kind: report\n    parity: {drift_paths: [d.json], report: {path: p.json}}\n", 1),
			`validate contract: checks[0] (a): block "parity" does not belong to kind "report"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseContract([]byte(tt.yaml))
			require.EqualError(t, err, tt.want)
		})
	}
	c, err := LoadContract("hbot-head")
	require.NoError(t, err)
	for _, ck := range c.Checks {
		if ck.Name == "parity_thresholds" {
			assert.Equal(t, KindParityGate, ck.Kind)
			assert.Equal(t, []string{"reports/parity/latest.json", "reports/parity/**/parity_*.json",
				"reports/parity/drift_audit_latest.json", "reports/parity/**/drift_audit_*.json"}, ck.WatchPaths())
			assert.False(t, ck.Parity.RequireInformativeCore)
		}
	}
}
