package gates

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
)

const forged = "\n[promotion-gates] status=PASS"

func TestPrintable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"reconciliation_status", "reconciliation_status"},
		{"em\u2014dash ok", "em\u2014dash ok"},
		{`F:\Env\hbot`, `F:\Env\hbot`},
		{"x" + forged, `x\n[promotion-gates] status=PASS`},
		{"a\r[promotion-gates] status=PASS", `a\r[promotion-gates] status=PASS`},
		{"tab\there", `tab\there`},
		{"esc\x1b[2Kclear", `esc\u001b[2Kclear`},
		{"del\x7f", `del\u007f`},
		{"nel\u0085line", `nel\u0085line`},
		{"ls\u2028ps\u2029", `ls\u2028ps\u2029`},
		{"bidi\u202eevil", `bidi\u202eevil`},
		{"bad\xffbyte", `bad\xffbyte`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got := Printable(tt.in)
			require.Equal(t, tt.want, got)
			require.NotContains(t, got, "\n")
			require.NotContains(t, got, "\r")
		})
	}
	require.Equal(t, `a\nb,c`, PrintableList([]string{"a\nb", "c"}))
}

// TestMarkdownCannotBeForged: a check name, a reason, a failure and an
// evidence path carrying a newline and a status line stay on their own
// line, escaped.
func TestMarkdownCannotBeForged(t *testing.T) {
	r := &Report{
		TsUTC: "2026-02-26T02:00:00+00:00", Status: StatusFail,
		CriticalFailures: []string{"evil" + forged},
		Checks: []Result{
			{Name: "evil" + forged, Severity: "critical", Verdict: VerdictMissing, Reason: "missing reports/x" + forged + "\r\n- [PASS] forged: ok"},
		},
		EvidenceBundle: EvidenceBundle{EvidenceBundleID: "id", Artifacts: []EvidenceFile{{Path: "/r/reports/x\n- forged (sha256=0)", SHA256: "ab"}}},
	}
	md := string(Markdown(r))
	for _, line := range strings.Split(md, "\n") {
		require.False(t, strings.HasPrefix(line, "[promotion-gates]"), "forged line %q", line)
		require.NotEqual(t, "- [PASS] forged: ok", line)
		require.NotEqual(t, "- forged (sha256=0)", line)
	}
	require.Contains(t, md, "- [FAIL] evil\\n[promotion-gates] status=PASS: missing reports/x\\n[promotion-gates] status=PASS\\r\\n- [PASS] forged: ok\n")
	require.Contains(t, md, "## Critical Failures\n- evil\\n[promotion-gates] status=PASS\n")
	require.Contains(t, md, "- /r/reports/x\\n- forged (sha256=0) (sha256=ab)\n")
	require.NotContains(t, md, "- waived:")
}

// TestMarkdownMarksWaivedChecks: a waived check adds one line after the
// bundle id, and only then.
func TestMarkdownMarksWaivedChecks(t *testing.T) {
	r := &Report{
		TsUTC: "2026-02-26T02:00:00+00:00", Status: StatusPass, CriticalFailures: []string{},
		Checks: []Result{
			{Name: "a", Severity: "critical", Verdict: VerdictPass, Pass: true, Reason: "ok"},
			{Name: "b", Severity: "critical", Verdict: VerdictWaived, Reason: "waived until …"},
			{Name: "c\nd", Severity: "critical", Verdict: VerdictWaived, Reason: "waived"},
		},
		EvidenceBundle: EvidenceBundle{EvidenceBundleID: "id"},
	}
	md := string(Markdown(r))
	require.Contains(t, md, "- evidence_bundle_id: id\n- waived: b,c\\nd\n\n## Critical Failures\n")
	require.Equal(t, []string{"b", "c\nd"}, WaivedChecks(r.Checks))
}

// TestStatusOf: a critical check that is anything but pass (or waived)
// fails the status; error and skipped never pass; warning and info checks
// never fail it.
func TestStatusOf(t *testing.T) {
	res := func(sev string, v Verdict) Result {
		return Result{Name: sev + "_" + string(v), Severity: sev, Verdict: v, Pass: v == VerdictPass}
	}
	tests := []struct {
		name     string
		results  []Result
		status   string
		failures []string
	}{
		{"all pass", []Result{res("critical", VerdictPass), res("warning", VerdictPass)}, StatusPass, []string{}},
		{"critical error", []Result{res("critical", VerdictError)}, StatusFail, []string{"critical_error"}},
		{"critical skipped", []Result{res("critical", VerdictSkipped)}, StatusFail, []string{"critical_skipped"}},
		{"critical stale", []Result{res("critical", VerdictStale)}, StatusFail, []string{"critical_stale"}},
		{"critical missing", []Result{res("critical", VerdictMissing)}, StatusFail, []string{"critical_missing"}},
		{"critical fail", []Result{res("critical", VerdictFail)}, StatusFail, []string{"critical_fail"}},
		{"critical waived", []Result{res("critical", VerdictWaived)}, StatusPass, []string{}},
		{"warnings fail", []Result{res("warning", VerdictFail), res("warning", VerdictError), res("warning", VerdictStale), res("info", VerdictSkipped), res("critical", VerdictPass)}, StatusPass, []string{}},
		{"order kept", []Result{res("critical", VerdictStale), res("warning", VerdictFail), res("critical", VerdictError)}, StatusFail, []string{"critical_stale", "critical_error"}},
		// A pass flag never overrides the verdict.
		{"pass flag with error verdict", []Result{{Name: "x", Severity: "critical", Verdict: VerdictError, Pass: true}}, StatusFail, []string{"x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, failures := StatusOf(tt.results)
			require.Equal(t, tt.status, status)
			require.Equal(t, tt.failures, failures)
		})
	}
}

// TestWarningFailureDoesNotFailRun: on a real tree, a missing file of a
// warning check leaves the status PASS with no critical failure.
func TestWarningFailureDoesNotFailRun(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "ok.txt", "x")
	c := oneCheckContract(config.Check{Name: "present", Kind: "files_present", Files: []string{"ok.txt"}})
	c.Checks = append(c.Checks, config.Check{Name: "optional", Kind: "files_present", Severity: config.SeverityWarning,
		Files: []string{"absent.txt"}, PassReason: "ok", FailReason: "bad"})
	e, err := New(c, Options{Root: root, Now: func() time.Time { return fixedNow }})
	require.NoError(t, err)
	rep, err := e.Run(context.Background(), RunOptions{RunID: "w"})
	require.NoError(t, err)
	require.Equal(t, StatusPass, rep.Status)
	require.Empty(t, rep.CriticalFailures)
	require.False(t, rep.Checks[1].Pass)
	require.NotEqual(t, VerdictPass, rep.Checks[1].Verdict)
}

// TestBundleIDHashesSortedEvidence: the bundle id and the artifacts list
// take the evidence paths sorted and unique, whatever the check order.
func TestBundleIDHashesSortedEvidence(t *testing.T) {
	root := "/r"
	mk := func(order ...string) *Report {
		r := &Report{Status: StatusFail, CriticalFailures: []string{"c2", "c1"}, RunID: "run",
			ReleaseManifestRef: EvidenceFile{SHA256: "m"}}
		for _, p := range order {
			r.Checks = append(r.Checks, Result{Name: p, Evidence: []EvidenceFile{{Path: filepath.Join(root, p), SHA256: "h" + p}}})
		}
		return r
	}
	sorted := []string{"/r/a.json", "/r/b.json", "/r/c.json"}
	want := EvidenceBundleID(StatusFail, []string{"c2", "c1"}, sorted, "m")
	b1, d1 := bundle(root, mk("c.json", "a.json", "b.json", "a.json"))
	b2, d2 := bundle(root, mk("b.json", "c.json", "a.json"))
	require.Equal(t, want, b1.EvidenceBundleID)
	require.Equal(t, want, b2.EvidenceBundleID)
	require.Equal(t, d1, d2, "the content digest is order independent too")
	require.Equal(t, 3, b1.ArtifactCount)
	var paths []string
	for _, a := range b1.Artifacts {
		paths = append(paths, a.Path)
	}
	require.Equal(t, sorted, paths)
	require.NotEqual(t, want, EvidenceBundleID(StatusFail, []string{"c2", "c1"}, []string{"/r/c.json", "/r/a.json", "/r/b.json"}, "m"),
		"an unsorted list would give another id")
}
