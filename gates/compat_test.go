package gates

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/simstack"
)

// day28Instant is the ts_utc of the Day-28 run (spec §3.4).
var day28Instant = time.Date(2026, 2, 22, 13, 11, 9, 384578000, time.UTC)

// asDay28Root renders one of our evidence paths under root as the Day-28
// run recorded it: under its Windows root, with backslashes. The original's
// evidence_bundle_id hashes absolute paths, so the same tree under another
// root has another id; this is the one substitution a comparison needs.
func asDay28Root(t testing.TB, root, p string) string {
	t.Helper()
	rel, err := filepath.Rel(root, p)
	require.NoError(t, err)
	require.False(t, strings.HasPrefix(rel, ".."), p)
	return day28WinRoot + strings.ReplaceAll(filepath.ToSlash(rel), "/", `\`)
}

// day28EvidenceIDOf is the evidence_bundle_id of rep with its paths moved to
// the Day-28 root and the Day-28 manifest hash (the manifest file itself is
// not part of any tree we have).
func day28EvidenceIDOf(t testing.TB, root string, rep *Report) (string, []string) {
	t.Helper()
	set := map[string]bool{}
	for _, c := range rep.Checks {
		for _, p := range c.EvidencePaths {
			set[asDay28Root(t, root, p)] = true
		}
	}
	paths := make([]string, 0, len(set))
	for p := range set {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return EvidenceBundleID(rep.Status, rep.CriticalFailures, paths, day28ManifestSHA256), paths
}

// TestDay28EvidenceBundleIDOnGeneratedTree: a generated tree in the Day-28
// run's state (its files; every check healthy but the event-store
// integrity, stale), judged at the run's instant with its 15-minute window:
// the same verdicts, the original's reasons byte for byte, each check's
// evidence paths exactly as the original recorded them, and so the run's
// evidence_bundle_id.
func TestDay28EvidenceBundleIDOnGeneratedTree(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, simstack.WriteDay28(root, simstack.Day28Options{Now: day28Instant, Stale: []string{simstack.CheckIntegrity}}))
	// The Day-28 tree had two bot4 smoke logs.
	writeFile(t, root, "data/bot4/logs/epp_v24/bot4_a/minute.csv", "ts\n")
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
		assert.Equal(t, want.pass, got.Pass, "%s: %s", got.Name, got.Text())
		// The Day-28 run passed day2 without --require-day2-go, with the
		// reason "day2 gate not yet GO"; the contract requires GO (the
		// strict cycle's flag), and the generated day2 is GO.
		if want.name != "day2_event_store_gate" {
			assert.Equal(t, want.reason, got.Reason, got.Name)
		}
		var rel []string
		for _, p := range got.EvidencePaths {
			rel = append(rel, strings.TrimPrefix(asDay28Root(t, root, p), day28WinRoot))
		}
		assert.Equal(t, want.evidence, rel, got.Name)
	}
	assert.Equal(t, StatusFail, rep.Status)
	assert.Equal(t, []string{"event_store_integrity_freshness"}, rep.CriticalFailures)
	assert.Equal(t, day28WinRoot+`docs\ops\release_manifest_20260221.md`, asDay28Root(t, root, rep.ReleaseManifestRef.Path))

	id, paths := day28EvidenceIDOf(t, root, rep)
	want := make([]string, 0, len(day28Artifacts))
	for _, a := range day28Artifacts {
		want = append(want, day28WinRoot+a[0])
	}
	assert.Equal(t, want, paths)
	assert.Equal(t, day28BundleID, id)

	// latest.md prints the original's reasons: the Checks section matches
	// the Day-28 markdown line for line but for day2 (GO here).
	md := string(Markdown(rep))
	for _, line := range strings.Split(day28Markdown, "\n") {
		if strings.HasPrefix(line, "- [") && !strings.Contains(line, "day2_event_store_gate") {
			assert.Contains(t, md, line+"\n")
		}
	}
	assert.NotContains(t, md, "stale: age", "the detail is not in latest.md")
}

// fails_first checks lead critical_failures, as the names the original
// appends while its checks run; the order feeds evidence_bundle_id.
func TestFailsFirstOrder(t *testing.T) {
	root := t.TempDir()
	c := oneCheckContract(presentCheck("a", "missing_a", config.SeverityCritical))
	b := presentCheck("b", "missing_b", config.SeverityCritical)
	b.FailsFirst = true
	w := presentCheck("w", "missing_w", config.SeverityWarning)
	w.FailsFirst = true
	c.Checks = append(c.Checks, b, w, presentCheck("d", "missing_d", config.SeverityCritical))
	rep := runContract(t, c, root)
	assert.Equal(t, []string{"b", "a", "d"}, rep.CriticalFailures)
	var paths []string
	for _, r := range rep.Checks {
		paths = append(paths, r.EvidencePaths...)
	}
	sort.Strings(paths)
	assert.Equal(t, EvidenceBundleID(StatusFail, []string{"b", "a", "d"}, paths, ""), rep.EvidenceBundle.EvidenceBundleID)
	assert.NotEqual(t, EvidenceBundleID(StatusFail, []string{"a", "b", "d"}, paths, ""), rep.EvidenceBundle.EvidenceBundleID)
}
