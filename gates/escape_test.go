package gates

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
)

// TestPathEscapesRefusedAtReadTime: paths that leave the root through a
// symlink (a file symlink to /etc/passwd, a directory symlink in the middle
// of a path, a glob match through either) make the check an error, even
// when a valid passing report sits beside them. Nothing outside the root
// is read, so its content cannot leak into a reason or an artifact.
func TestPathEscapesRefusedAtReadTime(t *testing.T) {
	const fresh = `{"ts_utc":"2026-02-26T01:59:00Z","status":"pass"}`
	outside := t.TempDir()
	writeFile(t, outside, "r.json", fresh)
	writeFile(t, outside, "sub/r.json", fresh)

	root := t.TempDir()
	writeFile(t, root, "reports/a.json", fresh)
	writeFile(t, root, "reports/deep/ok/r.json", fresh)
	link := func(target, rel string) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.Symlink(target, p))
	}
	link("/etc/passwd", "reports/passwd.json")
	link(outside, "reports/dirlink")                                // a directory symlink out of the root
	link(filepath.Join(outside, "r.json"), "reports/deep/x/r.json") // found by a ** walk

	report := func(spec config.ReportSpec) config.Check {
		spec.Condition = `status == "pass"`
		return config.Check{Name: "r", Kind: config.KindReport, Report: &spec}
	}
	tests := []struct {
		name   string
		ck     config.Check
		reason string
	}{
		{"report path is a symlink to /etc/passwd", report(config.ReportSpec{Path: "reports/passwd.json"}),
			"bad: reports/passwd.json: resolves outside the root"},
		{"directory symlink in the middle of a path", report(config.ReportSpec{Path: "reports/dirlink/r.json"}),
			"bad: reports/dirlink/r.json: resolves outside the root"},
		{"directory symlink deeper", report(config.ReportSpec{Path: "reports/dirlink/sub/r.json"}),
			"bad: reports/dirlink/sub/r.json: resolves outside the root"},
		{"glob matches a symlink out beside a valid report", report(config.ReportSpec{Globs: []string{"reports/*.json"}}),
			"bad: reports/passwd.json: resolves outside the root"},
		{"** glob finds a file symlink out", report(config.ReportSpec{Globs: []string{"reports/deep/**/r.json"}}),
			"bad: reports/deep/x/r.json: resolves outside the root"},
		{"paths list with a valid one first", report(config.ReportSpec{Paths: []string{"reports/a.json", "reports/dirlink/r.json"}}),
			"bad: reports/dirlink/r.json: resolves outside the root"},
		{"files_present through a directory symlink", config.Check{Name: "r", Kind: config.KindFilesPresent, Files: []string{"reports/a.json", "reports/dirlink/r.json"}},
			"bad: reports/dirlink/r.json: resolves outside the root"},
		{"files_glob matching a symlink out", config.Check{Name: "r", Kind: config.KindFilesGlob, Glob: &config.GlobSpec{Pattern: "reports/*.json"}},
			"bad: reports/passwd.json: resolves outside the root"},
		{"command artifact is a symlink out (--no-commands)", config.Check{Name: "r", Kind: config.KindCommand, Command: &config.CommandSpec{
			Argv: []string{"/bin/false"}, Report: &config.ReportSpec{Path: "reports/passwd.json"}}},
			"bad: command not run (--no-commands); judged on reports/passwd.json: reports/passwd.json: resolves outside the root"},
		{"day2 eval is a symlink out", config.Check{Name: "r", Kind: config.KindDay2Gate, Day2: &config.Day2Spec{Eval: "reports/dirlink/r.json", RequireGo: true}},
			"bad: reports/dirlink/r.json: resolves outside the root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runOne(t, root, tt.ck, func(o *Options) { o.NoCommands = true })
			require.Equal(t, VerdictError, r.Verdict, r.Text())
			require.False(t, r.Pass)
			require.Equal(t, tt.reason, r.Text())
			require.NotContains(t, r.Text(), "root:x:0:0", "content of /etc/passwd")
		})
	}

	// A glob does not descend into a directory symlink, nor skip it (what
	// it holds could be the newest report): nothing outside is read, and
	// the family is an error naming the symlink.
	miss := runOne(t, root, report(config.ReportSpec{Globs: []string{"reports/*/r.json"}}))
	require.Equal(t, VerdictError, miss.Verdict, miss.Text())
	require.Equal(t, "bad: reports/dirlink: resolves outside the root", miss.Text())

	// The same checks without the escaping entries pass: the refusal is
	// about the symlink, not the layout.
	ok := runOne(t, root, report(config.ReportSpec{Globs: []string{"reports/deep/ok/*.json"}}))
	require.Equal(t, VerdictPass, ok.Verdict, ok.Text())
}

// TestEscapingEvidenceNotHashed: an evidence file that is a symlink out of
// the root is never read or hashed, and the check is an error naming it
// (it exists, so recording it as absent would hide it).
func TestEscapingEvidenceNotHashed(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "a.txt", "a")
	require.NoError(t, os.Symlink("/etc/passwd", filepath.Join(root, "ev.txt")))
	r := runOne(t, root, config.Check{Name: "p", Kind: config.KindFilesPresent, Files: []string{"a.txt"}, Evidence: []string{"ev.txt", "absent.txt"}})
	require.Equal(t, VerdictError, r.Verdict)
	require.Equal(t, "bad: evidence ev.txt: resolves outside the root", r.Text())
	require.Len(t, r.Evidence, 2)
	require.Equal(t, filepath.Join(root, "a.txt"), r.Evidence[0].Path)
	ev := r.Evidence[1]
	require.Equal(t, filepath.Join(root, "absent.txt"), ev.Path, "a missing evidence file is recorded as absent")
	require.False(t, ev.Exists)
	require.Empty(t, ev.SHA256)
}

// TestSymlinkedDayDirCannotHideNewest: a family's newest day directory that
// is a symlink (out of the root, or to another directory inside it) is an
// error, never skipped so that an older passing report decides. Found
// attacking: the symlinked newest day held a failing report and the family
// passed on the day before.
func TestSymlinkedDayDirCannotHideNewest(t *testing.T) {
	ck := config.Check{Name: "p", Kind: config.KindReport, Report: &config.ReportSpec{
		Globs: []string{"reports/parity/*/parity_*.json"}, Condition: `status == "pass"`}}
	for _, tt := range []struct{ name, target, want string }{
		{"out of the root", "", "bad: reports/parity/20260226: resolves outside the root"},
		{"inside the root", "../elsewhere", "bad: reports/parity/20260226: is a symlinked directory on a glob's path (not followed)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, root, "reports/parity/20260225/parity_20260226T015000Z.json", `{"status":"pass","ts_utc":"2026-02-26T01:50:00+00:00"}`)
			newest := `{"status":"fail","ts_utc":"2026-02-26T01:55:00+00:00"}`
			target := tt.target
			if target == "" {
				target = t.TempDir()
				writeFile(t, target, "parity_20260226T015500Z.json", newest)
			} else {
				writeFile(t, root, "reports/elsewhere/parity_20260226T015500Z.json", newest)
			}
			require.NoError(t, os.Symlink(target, filepath.Join(root, "reports/parity/20260226")))
			r := runOne(t, root, ck)
			require.Equal(t, VerdictError, r.Verdict, r.Text())
			require.Equal(t, tt.want, r.Text())
		})
	}
}
