//go:build hbotfixture

package gates

// The real-data suite: the engine against the real Day-28 hbot report tree
// named by HBOT_FIXTURE (make test-hbot). It fails, never skips, when the
// tree is not there.

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
)

// hbotFixture is the real Day-28 tree named by HBOT_FIXTURE.
func hbotFixture(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("HBOT_FIXTURE")
	if dir == "" {
		t.Fatal("HBOT_FIXTURE is not set: run make test-hbot HBOT_FIXTURE=DIR (a real hbot-day28 report tree)")
	}
	abs, err := filepath.Abs(dir)
	require.NoError(t, err)
	st, err := os.Stat(filepath.Join(abs, "reports", "promotion_gates"))
	if err != nil || !st.IsDir() {
		t.Fatalf("HBOT_FIXTURE=%s is not an hbot-day28 report tree (no reports/promotion_gates): %v", dir, err)
	}
	return abs
}

func loadDay28Output(t *testing.T) (*Report, []byte) {
	t.Helper()
	dir := filepath.Join(hbotFixture(t), "reports", "promotion_gates")
	data, err := os.ReadFile(filepath.Join(dir, "promotion_gates_20260222T131109Z.json"))
	require.NoError(t, err)
	var r Report
	require.NoError(t, json.Unmarshal(data, &r))
	md, err := os.ReadFile(filepath.Join(dir, "promotion_gates_20260222T131109Z.md"))
	require.NoError(t, err)
	return &r, md
}

func TestHbotFixtureEvidenceBundleIDOfDay28File(t *testing.T) {
	r, _ := loadDay28Output(t)
	set := map[string]bool{}
	for _, c := range r.Checks {
		for _, p := range c.EvidencePaths {
			set[p] = true
		}
	}
	paths := make([]string, 0, len(set))
	for p := range set {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	got := EvidenceBundleID(r.Status, r.CriticalFailures, paths, r.ReleaseManifestRef.SHA256)
	assert.Equal(t, "aaf948c18881235ebd628fe110ae1a947292ff8a73b9c0b8f4be8448eb2bea53", got)
	assert.Equal(t, r.EvidenceBundle.EvidenceBundleID, got)
}

func TestHbotFixtureMarkdownMatchesDay28File(t *testing.T) {
	r, md := loadDay28Output(t)
	assert.Equal(t, string(md), string(Markdown(r)))
	// The literal vectors of the default suite are this file's figures.
	assert.Equal(t, string(md), day28Markdown)
	assert.Equal(t, r.ReleaseManifestRef.SHA256, day28ManifestSHA256)
}

func TestHbotFixtureDay28(t *testing.T) {
	c, err := config.LoadContract("hbot-day28")
	require.NoError(t, err)
	root := hbotFixture(t)
	e, err := New(c, Options{Root: root, CI: true, NoCommands: true, Now: func() time.Time { return fixedNow }})
	require.NoError(t, err)
	assert.Equal(t, 15*time.Minute, e.Window())
	rep, err := e.Run(context.Background(), RunOptions{RunID: "golden"})
	require.NoError(t, err)
	byName := map[string]Result{}
	for _, r := range rep.Checks {
		byName[r.Name] = r
	}
	recon := byName["reconciliation_status"]
	assert.Equal(t, VerdictPass, recon.Verdict)
	assert.InDelta(t, 9.53, *recon.AgeMinutes, 0.005)
	assert.Equal(t, []string{filepath.Join(root, "reports/reconciliation/latest.json")}, recon.EvidencePaths)
	integ := byName["event_store_integrity_freshness"]
	assert.Equal(t, VerdictPass, integ.Verdict)
	assert.Equal(t, "last_update_utc", integ.TSSource)
	assert.InDelta(t, 8.87, *integ.AgeMinutes, 0.005)
	assert.Equal(t, []string{filepath.Join(root, "reports/event_store/integrity_20260226.json")}, integ.EvidencePaths)
	assert.InDelta(t, 11.30, *byName["parity_thresholds"].AgeMinutes, 0.005)
	assert.Equal(t, StatusFail, rep.Status)
	assert.Equal(t, rep.EvidenceBundle.ArtifactCount, len(rep.EvidenceBundle.Artifacts))
	for _, a := range rep.EvidenceBundle.Artifacts {
		assert.NotEqual(t, "None", a.Path)
		assert.True(t, a.Exists, a.Path)
		assert.Len(t, a.SHA256, 64, a.Path)
	}
	assert.False(t, rep.ReleaseManifestRef.Exists)
	// Day 28 named its manifest; the path is recorded though absent.
	assert.Equal(t, filepath.Join(root, "docs/ops/release_manifest_20260221.md"), rep.ReleaseManifestRef.Path)
	assert.Len(t, rep.ContentDigest, 64)

	watch := e.WatchPaths("event_store_integrity_freshness")
	assert.Equal(t, []string{"reports/event_store/integrity_*.json"}, watch)
	assert.Nil(t, e.WatchPaths("nope"))

	_, err = e.Run(context.Background(), RunOptions{Only: []string{"nope"}})
	require.EqualError(t, err, `run contract "hbot-day28": unknown checks nope`)
	only, err := e.Run(context.Background(), RunOptions{Only: []string{"reconciliation_status"}})
	require.NoError(t, err)
	assert.Equal(t, StatusPass, only.Status)
	assert.Len(t, only.Checks, 1)
}

// TestHbotFixtureDay28EvidenceBundleID: the fixture put back in the Day-28
// run's file state (the integrity files of the days after the run removed,
// the second bot4 smoke log the run recorded restored from the first) and
// judged at the run's instant with its 15-minute window. Every check
// records exactly the paths the original recorded, so the path set, with
// the run's status and failures and its manifest hash, gives the run's
// evidence_bundle_id; the integrity check fails as it did, on the same
// file, with the original's reason. The fixture's other reports are those
// of 24-26 February (in the future at the run's instant, and some
// unhealthy), so the rest of the verdicts differ by content, not by rule.
func TestHbotFixtureDay28EvidenceBundleID(t *testing.T) {
	root := t.TempDir()
	copyTree(t, hbotFixture(t), root)
	for _, day := range []string{"20260224", "20260225", "20260226"} {
		require.NoError(t, os.Remove(filepath.Join(root, "reports/event_store/integrity_"+day+".json")))
	}
	smoke, err := os.ReadFile(filepath.Join(root, "data/bot4/logs/epp_v24/bot4_d/minute.csv"))
	require.NoError(t, err)
	writeFile(t, root, "data/bot4/logs/epp_v24/bot4_a/minute.csv", string(smoke))

	c, err := config.LoadContract("hbot-day28")
	require.NoError(t, err)
	e, err := New(c, Options{Root: root, CI: true, NoCommands: true, Now: func() time.Time { return day28Instant }})
	require.NoError(t, err)
	rep, err := e.Run(context.Background(), RunOptions{RunID: "day28"})
	require.NoError(t, err)
	require.Len(t, rep.Checks, len(day28RunChecks))
	for i, want := range day28RunChecks {
		got := rep.Checks[i]
		require.Equal(t, want.name, got.Name)
		var rel []string
		for _, p := range got.EvidencePaths {
			rel = append(rel, strings.TrimPrefix(asDay28Root(t, root, p), day28WinRoot))
		}
		assert.Equal(t, want.evidence, rel, got.Name)
		if got.Pass == want.pass {
			assert.Equal(t, want.reason, got.Reason, got.Name)
		}
	}
	integ := rep.Checks[14]
	assert.Equal(t, VerdictStale, integ.Verdict)
	assert.Equal(t, "event store integrity missing/stale or missing correlations detected", integ.Reason)
	// The fixture's integrity_20260222.json was rewritten on 25 February:
	// at the run's instant its time is in the future (W7b), where the run
	// saw 08:15 (296 minutes old); both are not fresh.
	assert.Contains(t, integ.Detail, "last_update_utc 2026-02-25T00:10:30Z is in the future")
	assert.Contains(t, rep.CriticalFailures, "event_store_integrity_freshness")

	_, paths := day28EvidenceIDOf(t, root, rep)
	want := make([]string, 0, len(day28Artifacts))
	for _, a := range day28Artifacts {
		want = append(want, day28WinRoot+a[0])
	}
	assert.Equal(t, want, paths)
	day28, _ := loadDay28Output(t)
	assert.Equal(t, day28BundleID, EvidenceBundleID(day28.Status, day28.CriticalFailures, paths, day28.ReleaseManifestRef.SHA256))
	assert.Equal(t, day28.ReleaseManifestRef.Path, asDay28Root(t, root, rep.ReleaseManifestRef.Path))
}

// TestHbotFixtureBuiltins: the built-in checks pass on the real configs,
// not only on the trimmed copies the generator embeds.
func TestHbotFixtureBuiltins(t *testing.T) {
	root := hbotFixture(t)
	for _, name := range []string{"strategy_catalog_consistency", "coordination_policy_scope", "preflight_checks", "smoke_checks", "paper_smoke_matrix"} {
		r := runOne(t, root, day28Check(t, name))
		assert.Equal(t, VerdictPass, r.Verdict, "%s: %s", name, r.Text())
	}
}

func BenchmarkHbotFixtureDay28(b *testing.B) {
	c, err := config.LoadContract("hbot-day28")
	require.NoError(b, err)
	e, err := New(c, Options{Root: hbotFixture(b), CI: true, NoCommands: true, Now: func() time.Time { return fixedNow }})
	require.NoError(b, err)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Run(ctx, RunOptions{RunID: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
}
