package simstack

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// day28Now is the gate tests' --now (2026-02-26T02:00:00Z).
var day28Now = time.Date(2026, 2, 26, 2, 0, 0, 0, time.UTC)

// readTree returns every regular file under root by slash path.
func readTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	}))
	return out
}

// TestWriteDay28Tree: the reports are where the contract reads them, each
// stamped (ts_utc and file mtime) at Now minus its Day28Ages age, with
// older stamped siblings; the same Now gives the same bytes.
func TestWriteDay28Tree(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	require.NoError(t, WriteDay28(a, Day28Options{Now: day28Now}))
	require.NoError(t, WriteDay28(b, Day28Options{Now: day28Now}))
	ta := readTree(t, a)
	assert.Equal(t, ta, readTree(t, b), "reproducible for a fixed Now")

	stamps := map[string]time.Duration{
		"reports/policy/latest.json":                                  3 * time.Minute,
		"reports/tests/latest.json":                                   4 * time.Minute,
		"reports/security/latest.json":                                5 * time.Minute,
		"reports/replay_regression/latest.json":                       6 * time.Minute,
		"reports/backtest_regression/latest.json":                     7 * time.Minute,
		"reports/reconciliation/latest.json":                          9*time.Minute + 30*time.Second,
		"reports/reconciliation/reconciliation_20260226T014530Z.json": 14*time.Minute + 30*time.Second,
		"reports/reconciliation/reconciliation_20260226T014030Z.json": 19*time.Minute + 30*time.Second,
		"reports/parity/latest.json":                                  11 * time.Minute,
		"reports/parity/20260226/parity_20260226T014400Z.json":        16 * time.Minute,
		"reports/portfolio_risk/latest.json":                          10 * time.Minute,
		"reports/portfolio_risk/portfolio_risk_20260226T014500Z.json": 15 * time.Minute,
		"reports/reconciliation/last_webhook_sent.json":               2 * time.Hour,
		"reports/event_store/integrity_20260226.json":                 9 * time.Minute,
		"reports/event_store/integrity_20260225.json":                 24*time.Hour + 9*time.Minute,
		"reports/event_store/day2_gate_eval_latest.json":              8 * time.Minute,
		"reports/event_store/source_compare_20260226T015100Z.json":    9 * time.Minute,
		"reports/event_store/source_compare_20260226T014600Z.json":    14 * time.Minute,
		"reports/exchange_snapshots/latest.json":                      time.Hour,
	}
	for rel, age := range stamps {
		body, ok := ta[rel]
		require.True(t, ok, rel)
		var m struct {
			TsUTC string `json:"ts_utc"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &m), rel)
		want := day28Now.Add(-age)
		assert.Equal(t, want.Format(tsLayout), m.TsUTC, rel)
		st, err := os.Stat(filepath.Join(a, filepath.FromSlash(rel)))
		require.NoError(t, err)
		assert.True(t, st.ModTime().Equal(want), "%s mtime %s", rel, st.ModTime())
	}
	var sc map[string]any
	require.NoError(t, json.Unmarshal([]byte(ta["reports/event_store/source_compare_20260226T015100Z.json"]), &sc))
	assert.Equal(t, float64(DefaultDay2Lag), sc["lag_produced_minus_ingested_since_baseline"].(map[string]any)["hb.audit.v1"])
	assert.NotContains(t, ta, "reports/promotion_gates/latest.json", "no gate output is generated")
}

func TestWriteDay28Variants(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, WriteDay28(root, Day28Options{Now: day28Now,
		Stale:   []string{CheckReconciliation, CheckAlerting},
		Ages:    map[string]time.Duration{CheckReconciliation: 30 * time.Minute},
		Failing: []string{CheckPortfolioRisk, CheckDay2},
		Missing: []string{CheckSmoke, CheckParity},
		Day2Lag: 9,
	}))
	tree := readTree(t, root)
	field := func(rel, key string) any {
		t.Helper()
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(tree[rel]), &m), rel)
		return m[key]
	}
	assert.Equal(t, day28Now.Add(-30*time.Minute).Format(tsLayout), field("reports/reconciliation/latest.json", "ts_utc"), "Ages wins over Stale")
	assert.Equal(t, day28Now.Add(-26*time.Hour).Format(tsLayout), field("reports/reconciliation/last_webhook_sent.json", "ts_utc"))
	assert.Equal(t, "critical", field("reports/portfolio_risk/latest.json", "status"))
	assert.Equal(t, float64(1), field("reports/portfolio_risk/latest.json", "critical_count"))
	assert.Equal(t, false, field("reports/event_store/day2_gate_eval_latest.json", "go"))
	lag := field("reports/event_store/source_compare_20260226T015100Z.json", "lag_produced_minus_ingested_since_baseline").(map[string]any)
	assert.Equal(t, float64(9), lag["hb.audit.v1"])
	assert.NotContains(t, tree, "data/bot4/logs/epp_v24/bot4_d/minute.csv")
	assert.NotContains(t, tree, "reports/parity/latest.json")
	assert.Equal(t, "ok", field("reports/reconciliation/latest.json", "status"), "only the named checks are broken")
}

func TestWriteDay28Errors(t *testing.T) {
	root := filepath.Join(t.TempDir(), "hbot")
	require.EqualError(t, WriteDay28(root, Day28Options{}), `write day28 root "`+root+`": Now is not set`)
	err := WriteDay28(root, Day28Options{Now: day28Now, Stale: []string{CheckSmoke}, Failing: []string{CheckAlerting},
		Missing: []string{"nope"}, Ages: map[string]time.Duration{CheckPreflight: time.Minute}})
	require.Error(t, err)
	for _, want := range []string{`stale "smoke_checks": not a timed Day-28 check`, `age of "preflight_checks": not a timed Day-28 check`,
		`failing "alerting_health": no failing form`, `missing "nope": not a Day-28 check`} {
		assert.Contains(t, err.Error(), want)
	}
	assert.NoDirExists(t, root, "nothing written on a bad request")
}
