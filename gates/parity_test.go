package gates

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
)

// parityCheck is hbot-head's parity_thresholds (kind parity_gate), with
// informative-core required when core is true.
func parityCheck(t *testing.T, core bool) config.Check {
	t.Helper()
	c, err := config.LoadContract("hbot-head")
	if err != nil {
		t.Fatal(err)
	}
	for _, ck := range c.Checks {
		if ck.Name == "parity_thresholds" {
			p := *ck.Parity
			p.RequireInformativeCore = core
			ck.Parity = &p
			ck.Producer = ""
			return ck
		}
	}
	t.Fatal("hbot-head has no parity_thresholds")
	return config.Check{}
}

// The rules of the HEAD runner's parity_thresholds (spec §2.3 row 13 and
// its helpers), case by case: status "pass" (case-sensitive) and fresh;
// the drift audit fresh by ts_utc only; no active bot failing the drift
// audit or in an insufficient-evidence bucket; with
// --require-parity-informative-core, no active bot whose three core
// metrics are all insufficient. The reason is the original's for the first
// rule broken in the order its reasons are listed.
func TestParityGate(t *testing.T) {
	const (
		fresh   = `"ts_utc":"2026-02-26T01:55:00Z"`
		old     = `"ts_utc":"2026-02-26T01:30:00Z"`
		metrics = `"metrics":[{"metric":"fill_ratio_delta","value":0.01,"delta":0.01},{"metric":"slippage_delta_bps","value":null,"delta":null},{"metric":"reject_rate_delta","note":"insufficient_data","value":0,"delta":0}]`
		thin    = `"metrics":[{"metric":"fill_ratio_delta","note":"insufficient_data","value":0.1,"delta":0.1},{"metric":"slippage_delta_bps","value":null,"delta":null},"reject_rate_delta"]`
		pass    = "parity pass, drift audit clean, fresh, and informative"
	)
	parityOK := `{` + fresh + `,"status":"pass","active_bots":["bot1"],"bots":[{"bot":"bot1",` + metrics + `}]}`
	driftOK := `{` + fresh + `,"active_bots":["bot1"],"bots":[{"bot":"bot1","pass":true,"buckets":{}}]}`
	tests := []struct {
		name          string
		parity, drift string
		core          bool
		v             Verdict
		reason        string
	}{
		{"all clean", parityOK, driftOK, false, VerdictPass, pass},
		{"no drift audit (the 959d6cc tree)", parityOK, "", false, VerdictMissing, "parity drift audit stale"},
		{"drift audit older than the window", parityOK, `{` + old + `,"active_bots":[],"bots":[]}`, false, VerdictStale, "parity drift audit stale"},
		{"drift audit has last_update_utc only: no fallback", parityOK, `{"last_update_utc":"2026-02-26T01:55:00Z","bots":[]}`, false, VerdictError, "parity drift audit stale"},
		{"active bot fails the drift audit", parityOK, `{` + fresh + `,"active_bots":["bot1"],"bots":[{"bot":"bot1","pass":false}]}`, false, VerdictFail,
			"parity drift audit failing for active bots: bot1"},
		{"pass absent counts as failing", parityOK, `{` + fresh + `,"bots":[{"bot":"bot1"}]}`, false, VerdictFail,
			"parity drift audit failing for active bots: bot1"},
		{"inactive bot failing the drift audit is not judged", parityOK, `{` + fresh + `,"active_bots":["bot1"],"bots":[{"bot":"bot1","pass":true},{"bot":"bot9","pass":false}]}`, false, VerdictPass, pass},
		{"drift audit's own active bots count", parityOK, `{` + fresh + `,"active_bots":["bot9"],"bots":[{"bot":"bot9","pass":false}]}`, false, VerdictFail,
			"parity drift audit failing for active bots: bot9"},
		{"insufficient bucket (object)", parityOK, `{` + fresh + `,"bots":[{"bot":"bot1","pass":true,"buckets":{"fill_path_insufficient_evidence":3}}]}`, false, VerdictFail,
			"parity drift audit insufficient evidence for active bots: bot1"},
		{"insufficient bucket (list)", parityOK, `{` + fresh + `,"bots":[{"bot":"bot1","pass":true,"buckets":["active_bot_scope_mismatch"]}]}`, false, VerdictFail,
			"parity drift audit insufficient evidence for active bots: bot1"},
		{"a zero bucket count is no evidence gap", parityOK, `{` + fresh + `,"bots":[{"bot":"bot1","pass":true,"buckets":{"market_data_or_fill_alignment_insufficient":0,"other":5}}]}`, false, VerdictPass, pass},
		{"failing comes before insufficient", parityOK, `{` + fresh + `,"bots":[{"bot":"bot1","pass":false,"buckets":["fill_path_insufficient_evidence"]}]}`, false, VerdictFail,
			"parity drift audit failing for active bots: bot1"},
		{"parity status fail", `{` + fresh + `,"status":"fail","active_bots":["bot1"]}`, driftOK, false, VerdictFail, "parity fail or stale"},
		{"parity status is case-sensitive", `{` + fresh + `,"status":"PASS"}`, driftOK, false, VerdictFail, "parity fail or stale"},
		{"parity stale", `{` + old + `,"status":"pass"}`, driftOK, false, VerdictStale, "parity fail or stale"},
		// The stored HEAD script words the drift audit and the core
		// metrics only for a passing, fresh parity report.
		{"parity fail and drift stale: the plain reason", `{` + fresh + `,"status":"fail"}`, `{` + old + `}`, false, VerdictFail, "parity fail or stale"},
		{"two failing bots joined by a comma", parityOK, `{` + fresh + `,"active_bots":["bot1","bot2"],"bots":[{"bot":"bot1","pass":false},{"bot":"bot2","pass":false}]}`, false, VerdictFail,
			"parity drift audit failing for active bots: bot1,bot2"},
		{"core metrics not required by default", `{` + fresh + `,"status":"pass","active_bots":["bot1"],"bots":[{"bot":"bot1",` + thin + `}]}`, driftOK, false, VerdictPass, pass},
		{"core metrics all insufficient, required", `{` + fresh + `,"status":"pass","active_bots":["bot1"],"bots":[{"bot":"bot1",` + thin + `}]}`, driftOK, true, VerdictFail,
			"parity core metrics insufficient_data for active bots: bot1"},
		{"one core metric informative, required", parityOK, driftOK, true, VerdictPass, pass},
		{"active by counter when active_bots is empty", `{` + fresh + `,"status":"pass","active_bots":[],"bots":[{"summary":{"fills_total":2},` + thin + `},{"bot":"bot2","summary":{"intents_total":0}}]}`,
			`{` + fresh + `,"bots":[]}`, true, VerdictFail, "parity core metrics insufficient_data for active bots: bot_0"},
		{"active by active_window", `{` + fresh + `,"status":"pass","bots":[{"bot":"bot2","summary":{"active_window":true}}]}`,
			`{` + fresh + `,"bots":[{"bot":"bot2","pass":false}]}`, false, VerdictFail, "parity drift audit failing for active bots: bot2"},
		{"active bot absent from parity bots has no metrics", `{` + fresh + `,"status":"pass","active_bots":[" bot3 "]}`, driftOK, true, VerdictFail,
			"parity core metrics insufficient_data for active bots: bot3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, root, "reports/parity/latest.json", tt.parity)
			if tt.drift != "" {
				writeFile(t, root, "reports/parity/drift_audit_latest.json", tt.drift)
			}
			r := runOne(t, root, parityCheck(t, tt.core))
			assert.Equal(t, tt.v, r.Verdict, r.Text())
			assert.Equal(t, tt.reason, r.Reason, r.Text())
			assert.Equal(t, tt.v == VerdictPass, r.Pass)
			want := []string{filepath.Join(root, "reports/parity/latest.json")}
			if tt.drift != "" {
				want = append(want, filepath.Join(root, "reports/parity/drift_audit_latest.json"))
			}
			assert.Equal(t, want, r.EvidencePaths)
		})
	}
}

// The freshest drift audit of the family decides (the candidate rule: a
// name stamp, else the mtime): a newer stamped file that fails beats a
// clean but older latest.json.
func TestParityGateFreshestDrift(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "reports/parity/latest.json", `{"ts_utc":"2026-02-26T01:55:00Z","status":"pass","active_bots":["bot1"]}`)
	latest := writeFile(t, root, "reports/parity/drift_audit_latest.json", `{"ts_utc":"2026-02-26T01:50:00Z","bots":[{"bot":"bot1","pass":true}]}`)
	at := fixedNow.Add(-10 * time.Minute)
	require.NoError(t, os.Chtimes(latest, at, at))
	writeFile(t, root, "reports/parity/20260226/drift_audit_20260226T015800Z.json", `{"ts_utc":"2026-02-26T01:58:00Z","bots":[{"bot":"bot1","pass":false}]}`)
	r := runOne(t, root, parityCheck(t, false))
	assert.Equal(t, VerdictFail, r.Verdict)
	assert.Equal(t, "parity drift audit failing for active bots: bot1", r.Reason)
	assert.Contains(t, r.Detail, "drift_audit_20260226T015800Z.json")
}
