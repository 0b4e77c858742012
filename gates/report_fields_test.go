package gates

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
)

// presentCheck is a files_present check over one file; it passes when the
// file exists.
func presentCheck(name, file string, sev string) config.Check {
	return config.Check{Name: name, Severity: sev, Kind: config.KindFilesPresent, Files: []string{file},
		PassReason: name + " ok", FailReason: name + " bad"}
}

// The report's own fields, which latest.json carries to the Python
// contract's consumers: the evaluation time, the contract, the root, the
// CI mode, the window in force and a run id.
func TestReportHeaderFields(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "a.txt", "a")
	c := oneCheckContract(presentCheck("a", "a.txt", config.SeverityCritical))
	c.Freshness.CIWindow = 10 * time.Minute
	for _, ci := range []bool{false, true} {
		e, err := New(c, Options{Root: root, CI: ci, Now: func() time.Time { return fixedNow }})
		require.NoError(t, err)
		rep, err := e.Run(context.Background(), RunOptions{})
		require.NoError(t, err)
		require.Equal(t, "2026-02-26T02:00:00+00:00", rep.TsUTC)
		require.Equal(t, "test", rep.Contract)
		abs, err := filepath.Abs(root)
		require.NoError(t, err)
		require.Equal(t, abs, rep.Root)
		require.Equal(t, ci, rep.CI)
		want := 15.0
		if ci {
			want = 10
		}
		require.Equal(t, want, rep.WindowMinutes, "the window in force")
		require.NotEmpty(t, rep.RunID, "a generated run id when none is given")
		require.Equal(t, []string{filepath.Join(abs, "a.txt")}, rep.Checks[0].EvidencePaths)
	}
}

// validation_level (the original's HEAD field): 1 when the test suite check
// passed, 2 when the replay check passed (by the contract's replay check
// name or the original's), 0 when neither passed.
func TestValidationLevel(t *testing.T) {
	tests := []struct {
		name    string
		passing []string // of tests, replay_regression_cycle, my_replay
		want    int
	}{
		{"none", nil, 0},
		{"tests", []string{"unit_service_integration_tests"}, 1},
		{"original replay name", []string{"replay_regression_cycle"}, 2},
		{"contract replay name", []string{"my_replay"}, 2},
		{"both", []string{"unit_service_integration_tests", "my_replay"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			var checks []config.Check
			for _, n := range []string{"unit_service_integration_tests", "replay_regression_cycle", "my_replay"} {
				writeFile(t, root, n+".present", "x")
				file := n + ".missing"
				for _, p := range tt.passing {
					if p == n {
						file = n + ".present"
					}
				}
				checks = append(checks, presentCheck(n, file, config.SeverityCritical))
			}
			c := oneCheckContract(checks[0])
			c.Checks = checks
			c.Replay = &config.Replay{Check: "my_replay", Argv: []string{"true"}, Artifact: "r.json"}
			e, err := New(c, Options{Root: root, Now: func() time.Time { return fixedNow }})
			require.NoError(t, err)
			rep, err := e.Run(context.Background(), RunOptions{RunID: "x"})
			require.NoError(t, err)
			require.Equal(t, tt.want, rep.ValidationLevel)
		})
	}
}

// A waived critical check records the waiver and says so in its reason,
// with the verdict it had; an expired waiver waives nothing.
func TestWaiverRecorded(t *testing.T) {
	root := t.TempDir()
	c := oneCheckContract(presentCheck("a", "a.txt", config.SeverityCritical))
	e, err := New(c, Options{Root: root, Now: func() time.Time { return fixedNow }})
	require.NoError(t, err)
	w := Waiver{Check: "a", Reason: "vendor outage", By: "ops", Expires: fixedNow.Add(time.Hour)}
	rep, err := e.Run(context.Background(), RunOptions{RunID: "x", Waivers: []Waiver{w}})
	require.NoError(t, err)
	r := rep.Checks[0]
	require.Equal(t, VerdictWaived, r.Verdict)
	require.NotNil(t, r.Waiver)
	require.Equal(t, w, *r.Waiver)
	// The reason stays the original's; the waiver is in the detail.
	require.Equal(t, "a bad", r.Reason)
	require.True(t, strings.HasPrefix(r.Detail, "waived until 2026-02-26T03:00:00Z (vendor outage) [missing]: missing a.txt"), r.Detail)
	require.Equal(t, StatusPass, rep.Status)

	w.Expires = fixedNow
	rep, err = e.Run(context.Background(), RunOptions{RunID: "x", Waivers: []Waiver{w}})
	require.NoError(t, err)
	require.Equal(t, VerdictMissing, rep.Checks[0].Verdict, "an expired waiver waives nothing")
	require.Nil(t, rep.Checks[0].Waiver)
	require.Equal(t, StatusFail, rep.Status)
}

// A release manifest that cannot be read adds a critical error result
// named for it, with an empty (not null) evidence list as every result of
// the original's latest.json has.
func TestManifestResultFields(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "a.txt", "a")
	writeFile(t, root, "docs/ops/release_manifest_20260101.md", "old")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "docs/ops/release_manifest_20260220.md"), 0o755))
	e, err := New(oneCheckContract(presentCheck("a", "a.txt", config.SeverityCritical)), Options{Root: root, Now: func() time.Time { return fixedNow }})
	require.NoError(t, err)
	rep, err := e.Run(context.Background(), RunOptions{RunID: "x"})
	require.NoError(t, err)
	require.Len(t, rep.Checks, 2)
	m := rep.Checks[1]
	require.Equal(t, "release_manifest_ref", m.Name)
	require.Equal(t, "release_manifest_ref", m.Kind)
	require.Equal(t, VerdictError, m.Verdict)
	require.False(t, m.Pass)
	require.Equal(t, StatusFail, rep.Status)
	js, err := MarshalReport(rep)
	require.NoError(t, err)
	require.NotRegexp(t, `"evidence_paths":\s*null`, string(js))
}

// Evidence that cannot be read is named in the reason of a check that
// already fails (it does not replace the failure), and a result with no
// evidence lists none as [] in latest.json, never null.
func TestEvidenceErrorOnFailingCheck(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "ev.json"), 0o755))
	ck := presentCheck("a", "missing.txt", config.SeverityCritical)
	ck.Evidence = []string{"ev.json"}
	r := runOne(t, root, ck)
	require.Equal(t, VerdictMissing, r.Verdict)
	require.Contains(t, r.Text(), "; evidence ")
	require.Contains(t, r.Text(), "ev.json")

	r = runOne(t, root, config.Check{Name: "b", Kind: config.KindFilesGlob, Glob: &config.GlobSpec{Pattern: "none/*.txt"}})
	require.NotNil(t, r.EvidencePaths)
	require.Empty(t, r.EvidencePaths)
}

// A family member named for a time beyond now + future_skew (year 9999)
// outranks every report the producer writes: it decides, as not
// judgeable, even when its content reads healthy and fresh, so it cannot
// hide a newer critical report. A name within the skew is judged as usual.
func TestFutureNamedCandidateRefused(t *testing.T) {
	const healthy = `{"ts_utc":"2026-02-26T01:59:00Z","status":"ok","critical_count":0}`
	spec := &config.ReportSpec{Globs: []string{"reports/r/r_*.json"}, TimestampKeys: []string{"ts_utc"},
		Condition: `status == "ok" and critical_count == 0`}
	for _, tt := range []struct {
		name string
		v    Verdict
	}{
		{"r_99990101T000000Z.json", VerdictError},
		{"r_20260227.json", VerdictError},
		{"r_20260226T020100Z.json", VerdictPass}, // within the 2m skew
		{"r_20260226.json", VerdictPass},         // today
	} {
		root := t.TempDir()
		writeFile(t, root, "reports/r/"+tt.name, healthy)
		writeFile(t, root, "reports/r/r_20260226T015800Z.json", `{"ts_utc":"2026-02-26T01:58:00Z","status":"critical","critical_count":3}`)
		r := runOne(t, root, config.Check{Name: "r", Kind: config.KindReport, Report: spec})
		require.Equal(t, tt.v, r.Verdict, "%s: %s", tt.name, r.Text())
		if tt.v == VerdictError {
			require.Contains(t, r.Text(), "beyond now + 2m")
		}
	}
}
