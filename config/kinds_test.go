package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every kind's block is a declared block, and every block belongs to a kind.
func TestKindsAndBlocksAgree(t *testing.T) {
	used := map[string]bool{}
	for name, k := range kinds {
		if k.block == "" {
			assert.Nil(t, k.reads, "%s reads without a block", name)
			continue
		}
		found := false
		for _, b := range blocks {
			found = found || b.name == k.block
		}
		assert.True(t, found, "kind %s: block %q is not declared", name, k.block)
		used[k.block] = true
	}
	for _, b := range blocks {
		assert.True(t, used[b.name], "block %q belongs to no kind", b.name)
	}
}

// Watch paths come from the kind's block, then the evidence files.
func TestWatchPaths(t *testing.T) {
	c, err := LoadContract("hbot-day28")
	require.NoError(t, err)
	got := map[string][]string{}
	for i := range c.Checks {
		got[c.Checks[i].Name] = c.Checks[i].WatchPaths()
	}
	// hbot-day28 reads latest.json only, as the Day-28 runner did.
	assert.Equal(t, []string{"reports/reconciliation/latest.json"}, got["reconciliation_status"])
	assert.Equal(t, []string{"reports/event_store/integrity_*.json"}, got["event_store_integrity_freshness"])
	assert.Equal(t, []string{"reports/event_store/day2_gate_eval_latest.json", "reports/event_store/source_compare_*.json"},
		got["day2_event_store_gate"])
	ck := Check{Kind: KindFilesPresent, Files: []string{"a"}, Evidence: []string{"e"}}
	assert.Equal(t, []string{"a", "e"}, ck.WatchPaths())
	ck = Check{Kind: KindRedisPing, Evidence: []string{"e"}}
	assert.Equal(t, []string{"e"}, ck.WatchPaths())
	ck = Check{Kind: KindReport, Evidence: []string{"e"}}
	assert.Equal(t, []string{"e"}, ck.WatchPaths(), "no block: evidence only")
}
