package gates

// Tests that kill statement mutants of the gate's safety functions
// (docs/RELIABILITY.md, "Mutation testing"): each asserts what an operator
// reads of a run.

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
)

// A root removed between New and Run is an error of the run naming the
// contract, never a report: nothing under it can be judged.
func TestRunRootGone(t *testing.T) {
	root := filepath.Join(t.TempDir(), "stack")
	writeFile(t, root, "a.txt", "a")
	e, err := New(oneCheckContract(presentCheck("a", "a.txt", config.SeverityCritical)), Options{Root: root, Now: func() time.Time { return fixedNow }})
	require.NoError(t, err)
	require.NoError(t, os.RemoveAll(root))
	rep, err := e.Run(context.Background(), RunOptions{RunID: "x"})
	require.Error(t, err)
	require.Nil(t, rep)
	require.Contains(t, err.Error(), `run contract "test"`)
	require.Contains(t, err.Error(), "stack")
}

// openOn counts this process's descriptors open on dir (Linux /proc).
func openOn(t *testing.T, dir string) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	n := 0
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && target == dir {
			n++
		}
	}
	return n
}

// A run closes the root it opened: a worker runs the gate every few
// minutes for months, and a descriptor left to the garbage collector per
// run is a leak an operator meets as "too many open files".
func TestRunClosesItsRoot(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self/fd")
	}
	root := t.TempDir()
	writeFile(t, root, "a.txt", "a")
	abs, err := filepath.EvalSymlinks(root)
	require.NoError(t, err)
	e, err := New(oneCheckContract(presentCheck("a", "a.txt", config.SeverityCritical)), Options{Root: abs, Now: func() time.Time { return fixedNow }})
	require.NoError(t, err)
	// The garbage collector would close a forgotten descriptor; keep it
	// from running between the run and the count.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	before := openOn(t, abs)
	for range 3 {
		rep, err := e.Run(context.Background(), RunOptions{RunID: "x"})
		require.NoError(t, err)
		require.Equal(t, StatusPass, rep.Status)
		require.Equal(t, before, openOn(t, abs), "descriptors open on the root after a run")
	}
}

// cancellingRedis cancels the run's context from inside a check, as a
// worker shutdown or an abort does while the gate runs, and answers PONG.
type cancellingRedis struct{ cancel context.CancelFunc }

func (c cancellingRedis) Ping(context.Context) error { c.cancel(); return nil }
func (c cancellingRedis) NewestEntryTime(context.Context, string) (time.Time, bool, error) {
	return time.Time{}, false, nil
}
func (c cancellingRedis) GroupLag(context.Context, string, string) (int64, error) { return 0, nil }

// A run cancelled while its checks run is an error, never a report: a
// report without the checks that did not run would read PASS.
func TestRunCancelledDuringChecks(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "a.txt", "a")
	for _, checks := range [][]config.Check{
		{{Name: "ping", Severity: config.SeverityCritical, Kind: config.KindRedisPing, PassReason: "ok", FailReason: "bad"}},
		{{Name: "ping", Severity: config.SeverityCritical, Kind: config.KindRedisPing, PassReason: "ok", FailReason: "bad"},
			presentCheck("a", "a.txt", config.SeverityCritical)},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		c := oneCheckContract(checks[0])
		c.Checks = checks
		e, err := New(c, Options{Root: root, Now: func() time.Time { return fixedNow }, Redis: cancellingRedis{cancel}})
		require.NoError(t, err)
		rep, err := e.Run(ctx, RunOptions{RunID: "x"})
		require.ErrorIs(t, err, context.Canceled)
		require.Nil(t, rep)
		require.Contains(t, err.Error(), `run contract "test"`)
		cancel()
	}
}

// A release manifest glob the contract accepts but the reader cannot use
// (a "/" inside a character class splits the pattern across directories)
// fails the run with an error result naming the manifest, and the report's
// release_manifest_ref names the manifest path: the newest manifest is
// never silently replaced by the fallback file.
func TestManifestGlobErrorFailsRun(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "a.txt", "a")
	writeFile(t, root, "docs/ops/release_manifest.md", "fallback")
	// The glob's directory is a symlink out of the root: the reader refuses
	// the walk (a bad pattern is refused earlier, by the contract's load).
	// Skipping it would record the older fallback: the newest manifest
	// could be the one out of the root.
	outside := t.TempDir()
	writeFile(t, outside, "release_manifest_20260101.md", "outside")
	require.NoError(t, os.Symlink(outside, filepath.Join(root, "docs/ops/m")))
	c := oneCheckContract(presentCheck("a", "a.txt", config.SeverityCritical))
	c.ReleaseManifest = &config.ManifestSpec{Path: "docs/ops/release_manifest.md", Glob: "docs/ops/m/release_manifest_*.md"}
	e, err := New(c, Options{Root: root, Now: func() time.Time { return fixedNow }})
	require.NoError(t, err, "the contract accepts the pattern")
	rep, err := e.Run(context.Background(), RunOptions{RunID: "x"})
	require.NoError(t, err)
	require.Equal(t, StatusFail, rep.Status)
	require.Equal(t, []string{"release_manifest_ref"}, rep.CriticalFailures)
	require.Len(t, rep.Checks, 2)
	m := rep.Checks[1]
	require.Equal(t, VerdictError, m.Verdict)
	require.Contains(t, m.Reason, "release manifest unreadable: ")
	require.Contains(t, m.Reason, "docs/ops/m: resolves outside the root")
	abs, err := filepath.Abs(root)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(abs, "docs/ops/release_manifest.md"), rep.ReleaseManifestRef.Path)
	require.Empty(t, rep.ReleaseManifestRef.SHA256, "the fallback was not read in its place")
}

// The newest manifest by name that cannot be read (a directory) is the
// path release_manifest_ref names, with no digest.
func TestManifestRefNamesUnreadableManifest(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "a.txt", "a")
	writeFile(t, root, "docs/ops/release_manifest_20260101.md", "old")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "docs/ops/release_manifest_20260220.md"), 0o755))
	e, err := New(oneCheckContract(presentCheck("a", "a.txt", config.SeverityCritical)), Options{Root: root, Now: func() time.Time { return fixedNow }})
	require.NoError(t, err)
	rep, err := e.Run(context.Background(), RunOptions{RunID: "x"})
	require.NoError(t, err)
	abs, err := filepath.Abs(root)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(abs, "docs/ops/release_manifest_20260220.md"), rep.ReleaseManifestRef.Path)
	require.Empty(t, rep.ReleaseManifestRef.SHA256)
	require.Equal(t, StatusFail, rep.Status)
}

// A run with no evidence at all writes "artifacts": [] (the original's
// empty list), never null, and counts 0.
func TestEmptyBundleArtifactsList(t *testing.T) {
	root := t.TempDir()
	c := oneCheckContract(config.Check{Name: "b", Kind: config.KindFilesGlob, Glob: &config.GlobSpec{Pattern: "none/*.txt"}})
	e, err := New(c, Options{Root: root, Now: func() time.Time { return fixedNow }})
	require.NoError(t, err)
	rep, err := e.Run(context.Background(), RunOptions{RunID: "x"})
	require.NoError(t, err)
	require.Equal(t, 0, rep.EvidenceBundle.ArtifactCount)
	js, err := MarshalReport(rep)
	require.NoError(t, err)
	require.Regexp(t, `"artifacts":\s*\[\]`, string(js))
	require.NotRegexp(t, `"artifacts":\s*null`, string(js))
}

// A failed pre-step naming a check that already fails adds its failure to
// the check's text: the operator sees both causes, not only the first.
func TestPreStepFailureOnFailingCheck(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "reports/r.json", `{"ts_utc":"2026-02-26T01:59:00Z","status":"critical"}`)
	rep := runContract(t, preStepContract(config.PreStep{Name: "probe", Argv: sh("exit 2"), FailsChecks: []string{"alerting_health"}}), root)
	r := rep.Checks[0]
	require.Equal(t, VerdictFail, r.Verdict)
	require.Equal(t, StatusFail, rep.Status)
	require.Contains(t, r.Text(), "pre-step probe: exited 2", r.Text())
	require.Contains(t, r.Text(), "status", "the check's own failure is kept: %s", r.Text())
}

// A result does not keep the report or the command output its reason
// templates read: a worker holding many results (a recheck, a drill) would
// otherwise hold every report it judged.
func TestResultKeepsNoReport(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "reports/r.json", `{"ts_utc":"2026-02-26T01:59:00Z","status":"critical"}`)
	c := oneCheckContract(config.Check{Name: "r", Kind: config.KindReport, FailReason: "r is {status}",
		Report: &config.ReportSpec{Path: "reports/r.json", Condition: `status == "ok"`}})
	c.Checks = append(c.Checks, config.Check{Name: "cmd", Severity: config.SeverityWarning, Kind: config.KindCommand,
		PassReason: "ok", FailReason: "bad", Command: &config.CommandSpec{Argv: sh(`echo out; exit 3`)}})
	rep := runContract(t, c, root)
	require.Equal(t, "r is critical", rep.Checks[0].Reason, "the template read the report")
	for _, r := range rep.Checks {
		require.Nil(t, r.obj, r.Name)
		require.Empty(t, r.output, r.Name)
	}
}
