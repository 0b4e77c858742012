//go:build hbotfixture

package gates

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
)

// TestHbotFixtureNativeCheckers: on the real Day-28 tree the native
// multi_bot_policy_scope and secrets_hygiene checks of hbot-day28 record
// the original's evidence paths (spec §3.4) with its verdicts, and the
// multi-bot rules over the tree's real configs give the details of the
// report the script wrote there.
func TestHbotFixtureNativeCheckers(t *testing.T) {
	root := hbotFixture(t)
	c, err := config.LoadContract("hbot-day28")
	require.NoError(t, err)
	e, err := New(c, Options{Root: root, NoCommands: true, Now: func() time.Time { return time.Date(2026, 2, 24, 2, 40, 0, 0, time.UTC) }})
	require.NoError(t, err)
	rep, err := e.Run(context.Background(), RunOptions{Only: []string{"multi_bot_policy_scope", "secrets_hygiene"}})
	require.NoError(t, err)
	abs := func(rel string) string { return filepath.Join(root, rel) }
	want := map[string][]string{
		"multi_bot_policy_scope": {abs("reports/policy/latest.json"), abs("config/multi_bot_policy_v1.json")},
		"secrets_hygiene":        {abs("reports/security/latest.json"), abs("scripts/release/run_secrets_hygiene_check.py")},
	}
	for _, r := range rep.Checks {
		assert.Contains(t, []string{config.KindMultiBotPolicy, config.KindSecretsHygiene}, r.Kind, r.Name)
		assert.Equal(t, VerdictPass, r.Verdict, "%s: %s", r.Name, r.Reason)
		assert.Equal(t, want[r.Name], r.EvidencePaths, r.Name)
	}

	// Run for real (scanning and writing) on a copy of the tree: the same
	// verdicts and evidence paths.
	copyRoot := t.TempDir()
	copyTree(t, root, copyRoot)
	e, err = New(c, Options{Root: copyRoot, CI: true, Now: func() time.Time { return fixedNow }})
	require.NoError(t, err)
	rep, err = e.Run(context.Background(), RunOptions{Only: []string{"multi_bot_policy_scope", "secrets_hygiene"}})
	require.NoError(t, err)
	for _, r := range rep.Checks {
		assert.Equal(t, VerdictPass, r.Verdict, "%s: %s", r.Name, r.Reason)
		rel := make([]string, len(r.EvidencePaths))
		for i, p := range r.EvidencePaths {
			rel[i] = filepath.Join(root, p[len(copyRoot):])
		}
		assert.Equal(t, want[r.Name], rel, r.Name)
	}

	// The rules over a copy of the real configs.
	tmp := t.TempDir()
	for _, rel := range []string{"config/multi_bot_policy_v1.json", "config/exchange_account_map.json", "config/portfolio_limits_v1.json", "config/reconciliation_thresholds.json"} {
		data, err := os.ReadFile(abs(rel))
		require.NoError(t, err)
		writeFile(t, tmp, rel, string(data))
	}
	r := runOne(t, tmp, policyCheck())
	assert.Equal(t, VerdictPass, r.Verdict, r.Reason)
	var real, ours map[string]any
	readJSON(t, abs("reports/policy/latest.json"), &real)
	readJSON(t, filepath.Join(tmp, "reports/policy/latest.json"), &ours)
	for _, k := range []string{"policy_bots", "portfolio_action_scope_policy", "portfolio_action_scope_portfolio", "disabled_scope"} {
		assert.Equal(t, real["details"].(map[string]any)[k], ours["details"].(map[string]any)[k], k)
	}
	assert.Equal(t, real["errors"], ours["errors"])
	assert.Equal(t, real["status"], ours["status"])

	// The secrets report has the real one's fields, in its order.
	scan := t.TempDir()
	runOne(t, scan, secretsCheck(true))
	assert.Equal(t, keyOrder(t, abs("reports/security/latest.json")), keyOrder(t, filepath.Join(scan, "reports/security/latest.json")))
	assert.Equal(t, keyOrder(t, abs("reports/policy/latest.json")), keyOrder(t, filepath.Join(tmp, "reports/policy/latest.json")))
}

func readJSON(t *testing.T, p string, v any) {
	t.Helper()
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, v))
}

// keyOrder lists a JSON object's top-level keys in file order.
func keyOrder(t *testing.T, p string) []string {
	t.Helper()
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(data))
	_, err = dec.Token()
	require.NoError(t, err)
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		require.NoError(t, dec.Decode(&skip))
	}
	return keys
}
