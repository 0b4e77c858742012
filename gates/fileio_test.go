package gates

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
)

// hostile file kinds a test tree can hold in place of a report.
func mkfifo(t testing.TB, root, rel string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, syscall.Mkfifo(p, 0o644))
}

func symlink(t testing.TB, root, rel, target string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.Symlink(target, p))
}

func mkdir(t testing.TB, root, rel string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Join(root, filepath.FromSlash(rel)), 0o755))
}

// sparse makes a file of size bytes without writing them.
func sparse(t testing.TB, root, rel string, size int64) {
	t.Helper()
	p := writeFile(t, root, rel, "{")
	require.NoError(t, os.Truncate(p, size))
}

// age sets a file's mtime (not following a symlink is not needed here).
func age(t testing.TB, root, rel string, mt time.Time) {
	t.Helper()
	require.NoError(t, os.Chtimes(filepath.Join(root, filepath.FromSlash(rel)), mt, mt))
}

// lutime sets a symlink's own mtime (utimensat with AT_SYMLINK_NOFOLLOW).
func lutime(t testing.TB, p string, mt time.Time) {
	t.Helper()
	const atFDCWD, atSymlinkNoFollow = -100, 0x100
	ts := [2]syscall.Timespec{syscall.NsecToTimespec(mt.UnixNano()), syscall.NsecToTimespec(mt.UnixNano())}
	name, err := syscall.BytePtrFromString(p)
	require.NoError(t, err)
	fd := atFDCWD
	_, _, errno := syscall.Syscall6(syscall.SYS_UTIMENSAT, uintptr(fd), uintptr(unsafe.Pointer(name)), uintptr(unsafe.Pointer(&ts[0])), atSymlinkNoFollow, 0, 0)
	require.Zero(t, errno)
	fi, err := os.Lstat(p)
	require.NoError(t, err)
	require.True(t, fi.ModTime().Equal(mt))
}

// runBounded is runOne that fails fast instead of hanging (a FIFO opened
// for reading without O_NONBLOCK blocks forever).
func runBounded(t *testing.T, root string, ck config.Check, mod ...func(*Options)) Result {
	t.Helper()
	done := make(chan Result, 1)
	go func() { done <- runOne(t, root, ck, mod...) }()
	select {
	case r := <-done:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("the gate run hangs")
		return Result{}
	}
}

const (
	freshReport = `{"ts_utc":"2026-02-26T01:55:00Z","status":"ok","critical_count":0}`
	olderReport = `{"ts_utc":"2026-02-26T01:50:00Z","status":"ok","critical_count":0}`
)

var longAgo = time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)

// TestHostileFiles: every place the engine reads, a FIFO, a device link, a
// directory, a file over the cap, a torn or future newest candidate gives a
// not-pass verdict whose reason names the file, quickly; an older bad
// candidate beside a fresh good one is passed over (the rule is "the
// newest decides", not "any bad one fails").
func TestHostileFiles(t *testing.T) {
	const rule = `(status == "ok" or status == "warning") and critical_count == 0`
	family := func() config.Check {
		return config.Check{Name: "r", Kind: config.KindReport, Report: &config.ReportSpec{
			Paths: []string{"reports/x/latest.json"}, Globs: []string{"reports/x/x_*.json"},
			TimestampKeys: []string{"ts_utc", "last_update_utc"}, Condition: rule}}
	}
	single := config.Check{Name: "r", Kind: config.KindReport, Report: &config.ReportSpec{Path: "reports/x/latest.json", Condition: rule}}
	tests := []struct {
		name    string
		setup   func(t *testing.T, root string)
		ck      config.Check
		verdict Verdict
		reason  string // exact, or a prefix when it ends with "…"
		chosen  string
	}{
		{"report is a FIFO", func(t *testing.T, root string) {
			mkfifo(t, root, "reports/x/latest.json")
		}, single, VerdictError, "bad: reports/x/latest.json: a FIFO: not a regular file", ""},
		{"report links to /dev/zero", func(t *testing.T, root string) {
			symlink(t, root, "reports/x/latest.json", "/dev/zero")
		}, single, VerdictError, "bad: reports/x/latest.json: resolves outside the root", ""},
		{"report links to a FIFO inside the root", func(t *testing.T, root string) {
			mkfifo(t, root, "reports/pipe")
			symlink(t, root, "reports/x/latest.json", "../pipe")
		}, single, VerdictError, "bad: reports/x/latest.json: a FIFO: not a regular file", ""},
		{"report is a directory", func(t *testing.T, root string) {
			mkdir(t, root, "reports/x/latest.json")
		}, single, VerdictError, "bad: reports/x/latest.json: a directory: not a regular file", ""},
		{"report over the size cap", func(t *testing.T, root string) {
			sparse(t, root, "reports/x/latest.json", maxReportBytes+1)
		}, single, VerdictError, "bad: reports/x/latest.json: 8388609 bytes: larger than the size cap of 8388608 bytes", ""},
		{"newest glob match is a FIFO", func(t *testing.T, root string) {
			writeFile(t, root, "reports/x/latest.json", freshReport)
			age(t, root, "reports/x/latest.json", longAgo)
			mkfifo(t, root, "reports/x/x_20260226T015900Z.json")
		}, family(), VerdictError, "bad: reports/x/x_20260226T015900Z.json: a FIFO: not a regular file",
			"reports/x/x_20260226T015900Z.json (newest by name stamp of 2 candidates; cannot be judged)"},
		{"a directory named like the newest report", func(t *testing.T, root string) {
			writeFile(t, root, "reports/x/latest.json", freshReport)
			age(t, root, "reports/x/latest.json", longAgo)
			mkdir(t, root, "reports/x/x_20260226T015900Z.json")
		}, family(), VerdictError, "bad: reports/x/x_20260226T015900Z.json: a directory: not a regular file",
			"reports/x/x_20260226T015900Z.json (newest by name stamp of 2 candidates; cannot be judged)"},
		{"torn newest candidate is not passed over for an older one", func(t *testing.T, root string) {
			writeFile(t, root, "reports/x/x_20260226T015000Z.json", olderReport)
			writeFile(t, root, "reports/x/x_20260226T015900Z.json", `{"ts_utc":"2026-02-26T01:59:00Z","status":"ok","crit`)
			age(t, root, "reports/x/x_20260226T015000Z.json", longAgo)
			age(t, root, "reports/x/x_20260226T015900Z.json", longAgo)
		}, family(), VerdictError, "bad: reports/x/x_20260226T015900Z.json: invalid JSON: unexpected end of JSON input",
			"reports/x/x_20260226T015900Z.json (newest by name stamp of 2 candidates; cannot be judged)"},
		{"torn latest.json written last decides by its mtime", func(t *testing.T, root string) {
			writeFile(t, root, "reports/x/x_20260226T015500Z.json", freshReport)
			writeFile(t, root, "reports/x/latest.json", `{"ts_utc":"2026-02-26T01:59:00Z",`)
			age(t, root, "reports/x/x_20260226T015500Z.json", longAgo)
		}, family(), VerdictError, "bad: reports/x/latest.json: invalid JSON: unexpected end of JSON input",
			"reports/x/latest.json (newest by mtime of 2 candidates; cannot be judged)"},
		{"torn older candidate is passed over", func(t *testing.T, root string) {
			writeFile(t, root, "reports/x/x_20260226T015500Z.json", freshReport)
			writeFile(t, root, "reports/x/x_20260226T014000Z.json", `{"ts_utc":`)
			age(t, root, "reports/x/x_20260226T015500Z.json", longAgo)
			age(t, root, "reports/x/x_20260226T014000Z.json", longAgo)
		}, family(), VerdictPass, "ok", "reports/x/x_20260226T015500Z.json (newest by name stamp of 2 candidates)"},
		{"candidate without a timestamp, newest by name, decides", func(t *testing.T, root string) {
			writeFile(t, root, "reports/x/x_20260226T015500Z.json", freshReport)
			writeFile(t, root, "reports/x/x_20260226T015900Z.json", `{"status":"ok","critical_count":0}`)
			age(t, root, "reports/x/x_20260226T015500Z.json", longAgo)
			age(t, root, "reports/x/x_20260226T015900Z.json", longAgo)
		}, family(), VerdictError, "bad: reports/x/x_20260226T015900Z.json: no timestamp (ts_utc, last_update_utc absent) and mtime not allowed", ""},
		{"a year-9999 timestamp in the newest file is stale", func(t *testing.T, root string) {
			writeFile(t, root, "reports/x/latest.json", freshReport)
			age(t, root, "reports/x/latest.json", longAgo)
			writeFile(t, root, "reports/x/x_1.json", `{"ts_utc":"9999-12-31T23:59:59Z","status":"ok","critical_count":0}`)
		}, family(), VerdictStale, "bad: stale: ts_utc 9999-12-31T23:59:59Z is in the future by …",
			"reports/x/x_1.json (newest by mtime of 2 candidates)"},
		{"a year-9999 timestamp in an older file is passed over", func(t *testing.T, root string) {
			writeFile(t, root, "reports/x/latest.json", freshReport)
			writeFile(t, root, "reports/x/x_20260226T014000Z.json", `{"ts_utc":"9999-12-31T23:59:59Z","status":"ok","critical_count":0}`)
		}, family(), VerdictPass, "ok", "reports/x/latest.json (newest by mtime of 2 candidates)"},
		{"year-9999 name stamp on a torn file decides", func(t *testing.T, root string) {
			writeFile(t, root, "reports/x/latest.json", freshReport)
			writeFile(t, root, "reports/x/x_99991231T235959Z.json", `[`)
			age(t, root, "reports/x/x_99991231T235959Z.json", longAgo)
		}, family(), VerdictError, "bad: reports/x/x_99991231T235959Z.json: invalid JSON: unexpected end of JSON input",
			"reports/x/x_99991231T235959Z.json (newest by name stamp of 2 candidates; cannot be judged)"},
		{"a duplicate key in an older candidate is passed over", func(t *testing.T, root string) {
			writeFile(t, root, "reports/x/latest.json", freshReport)
			writeFile(t, root, "reports/x/x_20260226T014000Z.json", `{"ts_utc":"2026-02-26T01:40:00Z","ts_utc":"2026-02-26T01:41:00Z"}`)
			age(t, root, "reports/x/x_20260226T014000Z.json", longAgo)
		}, family(), VerdictPass, "ok", ""},
		{"a nested duplicate key in the decider is refused", func(t *testing.T, root string) {
			writeFile(t, root, "reports/x/latest.json", olderReport)
			writeFile(t, root, "reports/x/x_1.json", `{"ts_utc":"2026-02-26T01:59:00Z","status":"ok","critical_count":0,"a":{"b":1,"b":2}}`)
		}, family(), VerdictError, `bad: reports/x/x_1.json: invalid JSON: duplicate key "b"`, ""},
		{"ties between good candidates keep the earlier one", func(t *testing.T, root string) {
			writeFile(t, root, "reports/x/latest.json", freshReport)
			writeFile(t, root, "reports/x/x_1.json", `{"ts_utc":"2026-02-26T01:55:00Z","status":"critical","critical_count":1}`)
			age(t, root, "reports/x/latest.json", longAgo)
			age(t, root, "reports/x/x_1.json", longAgo)
		}, family(), VerdictPass, "ok", "reports/x/latest.json (newest by mtime of 2 candidates)"},
		{"a bad candidate wins a tie against a good one", func(t *testing.T, root string) {
			writeFile(t, root, "reports/x/latest.json", freshReport)
			writeFile(t, root, "reports/x/x_a.json", `{"ts_utc":`)
			age(t, root, "reports/x/latest.json", time.Date(2026, 2, 26, 1, 55, 0, 0, time.UTC))
			age(t, root, "reports/x/x_a.json", time.Date(2026, 2, 26, 1, 55, 0, 0, time.UTC))
		}, family(), VerdictError, "bad: reports/x/x_a.json: invalid JSON: unexpected end of JSON input",
			"reports/x/x_a.json (newest by mtime of 2 candidates; cannot be judged)"},
		{"a second stamp ranks to the end of its second", func(t *testing.T, root string) {
			writeFile(t, root, "reports/x/latest.json", `{"ts_utc":"2026-02-26T01:55:00.5Z","status":"ok","critical_count":0}`)
			age(t, root, "reports/x/latest.json", time.Date(2026, 2, 26, 1, 55, 0, 5e8, time.UTC))
			writeFile(t, root, "reports/x/x_20260226T015500Z.json", `{"ts_utc":`)
			age(t, root, "reports/x/x_20260226T015500Z.json", longAgo)
		}, family(), VerdictError, "bad: reports/x/x_20260226T015500Z.json: invalid JSON: unexpected end of JSON input",
			"reports/x/x_20260226T015500Z.json (newest by name stamp of 2 candidates; cannot be judged)"},
		{"a date stamp ranks to the end of its day", func(t *testing.T, root string) {
			writeFile(t, root, "reports/x/latest.json", freshReport)
			age(t, root, "reports/x/latest.json", time.Date(2026, 2, 26, 23, 59, 0, 0, time.UTC))
			writeFile(t, root, "reports/x/x_20260226.json", `{"ts_utc":`)
			age(t, root, "reports/x/x_20260226.json", longAgo)
		}, family(), VerdictError, "bad: reports/x/x_20260226.json: invalid JSON: unexpected end of JSON input",
			"reports/x/x_20260226.json (newest by name stamp of 2 candidates; cannot be judged)"},
		{"an old symlink out among the candidates is an error at once", func(t *testing.T, root string) {
			writeFile(t, root, "reports/x/latest.json", freshReport)
			symlink(t, root, "reports/x/x_20200101T000000Z.json", "/etc/passwd")
			lutime(t, filepath.Join(root, "reports/x/x_20200101T000000Z.json"), longAgo)
		}, family(), VerdictError, "bad: reports/x/x_20200101T000000Z.json: resolves outside the root", ""},
		{"without freshness the first existing candidate decides", func(t *testing.T, root string) {
			writeFile(t, root, "reports/x/b.json", `{"status":"critical","critical_count":1}`)
			writeFile(t, root, "reports/x/c.json", freshReport)
		}, config.Check{Name: "r", Kind: config.KindReport, Report: &config.ReportSpec{
			Paths: []string{"reports/x/a.json", "reports/x/b.json", "reports/x/c.json"}, NoFreshness: true, Condition: rule}},
			VerdictFail, `bad: condition false (critical_count=1, status="critical"; rule: ` + rule + `)`,
			"reports/x/b.json (first existing of 3 candidates)"},
		{"files_glob match is a FIFO", func(t *testing.T, root string) {
			writeFile(t, root, "logs/a/minute.csv", "ts\n")
			mkfifo(t, root, "logs/b/minute.csv")
		}, config.Check{Name: "g", Kind: config.KindFilesGlob, Glob: &config.GlobSpec{Pattern: "logs/*/minute.csv"}},
			VerdictError, "bad: logs/b/minute.csv: a FIFO: not a regular file", ""},
		{"files_present names a directory", func(t *testing.T, root string) {
			mkdir(t, root, "a.txt")
		}, config.Check{Name: "p", Kind: config.KindFilesPresent, Files: []string{"a.txt"}},
			VerdictError, "bad: a.txt: a directory: not a regular file", ""},
		{"evidence file is a FIFO", func(t *testing.T, root string) {
			writeFile(t, root, "reports/x/latest.json", freshReport)
			mkfifo(t, root, "scripts/ev.py")
		}, config.Check{Name: "r", Kind: config.KindReport, Evidence: []string{"scripts/ev.py"}, Report: single.Report},
			VerdictError, "bad: evidence scripts/ev.py: a FIFO: not a regular file", ""},
		{"day2 eval is a FIFO", func(t *testing.T, root string) {
			mkfifo(t, root, "reports/event_store/day2_gate_eval_latest.json")
		}, config.Check{Name: "d", Kind: config.KindDay2Gate, Day2: &config.Day2Spec{Eval: "reports/event_store/day2_gate_eval_latest.json", RequireGo: true}},
			VerdictError, "bad: reports/event_store/day2_gate_eval_latest.json: a FIFO: not a regular file", ""},
		{"catalog is a FIFO", func(t *testing.T, root string) {
			mkfifo(t, root, "catalog.json")
		}, config.Check{Name: "s", Kind: config.KindStrategyCatalog, StrategyCatalog: &config.StrategyCatalogSpec{
			Catalog: "catalog.json", ControllerTemplate: "c.yml", ScriptTemplate: "s.yml", ControllersDir: "controllers"}},
			VerdictError, "bad: catalog consistency exception: catalog.json: a FIFO: not a regular file", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			tt.setup(t, root)
			r := runBounded(t, root, tt.ck)
			require.Equal(t, tt.verdict, r.Verdict, r.Text())
			require.Equal(t, tt.verdict == VerdictPass, r.Pass)
			if p, isPrefix := strings.CutSuffix(tt.reason, "…"); isPrefix {
				require.True(t, strings.HasPrefix(r.Text(), p), "reason %q", r.Text())
			} else {
				require.Equal(t, tt.reason, r.Text())
			}
			if tt.chosen != "" {
				require.Equal(t, tt.chosen, r.Chosen)
			}
		})
	}
}

// TestManifestUnreadable: the newest release manifest by name is a FIFO (or
// a directory): the run fails with a critical error naming it instead of
// recording the manifest as absent.
func TestManifestUnreadable(t *testing.T) {
	for _, kind := range []string{"fifo", "dir"} {
		t.Run(kind, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, root, "a.txt", "a")
			writeFile(t, root, "docs/ops/release_manifest_20260101.md", "old")
			if kind == "fifo" {
				mkfifo(t, root, "docs/ops/release_manifest_20260221.md")
			} else {
				mkdir(t, root, "docs/ops/release_manifest_20260221.md")
			}
			e, err := New(oneCheckContract(config.Check{Name: "p", Kind: config.KindFilesPresent, Files: []string{"a.txt"}}),
				Options{Root: root, Now: func() time.Time { return fixedNow }})
			require.NoError(t, err)
			rep, err := e.Run(context.Background(), RunOptions{RunID: "m"})
			require.NoError(t, err)
			require.Equal(t, StatusFail, rep.Status)
			require.Equal(t, []string{manifestCheck}, rep.CriticalFailures)
			require.Len(t, rep.Checks, 2)
			require.Equal(t, VerdictPass, rep.Checks[0].Verdict)
			require.Contains(t, rep.Checks[1].Text(), "docs/ops/release_manifest_20260221.md: a ")
			require.False(t, rep.ReleaseManifestRef.Exists)
		})
	}
	// Readable: the newest by name is hashed.
	root := t.TempDir()
	writeFile(t, root, "a.txt", "a")
	writeFile(t, root, "docs/ops/release_manifest_20260101.md", "old")
	writeFile(t, root, "docs/ops/release_manifest_20260221.md", "new")
	e, err := New(oneCheckContract(config.Check{Name: "p", Kind: config.KindFilesPresent, Files: []string{"a.txt"}}),
		Options{Root: root, Now: func() time.Time { return fixedNow }})
	require.NoError(t, err)
	rep, err := e.Run(context.Background(), RunOptions{RunID: "m"})
	require.NoError(t, err)
	require.Equal(t, StatusPass, rep.Status)
	require.Equal(t, filepath.Join(root, "docs/ops/release_manifest_20260221.md"), rep.ReleaseManifestRef.Path)
	require.True(t, rep.ReleaseManifestRef.Exists)
}

// TestWriteRefusesSymlinkOut: the default artifact directory
// reports/promotion_gates (or reports) symlinked out of the stack root is
// refused and nothing is written outside; an explicit out dir elsewhere is
// the operator's choice and is written.
func TestWriteRefusesSymlinkOut(t *testing.T) {
	r := &Report{TsUTC: "2026-02-26T02:00:00.100000+00:00", Status: "PASS", RunID: "one", CriticalFailures: []string{}}
	for _, link := range []string{"reports/promotion_gates", "reports"} {
		t.Run(link, func(t *testing.T) {
			root, outside := t.TempDir(), t.TempDir()
			symlink(t, root, link, outside)
			r.Root = root
			_, err := Write(filepath.Join(root, "reports", "promotion_gates"), r)
			require.Error(t, err)
			require.Contains(t, err.Error(), "leads outside the stack root")
			entries, err := os.ReadDir(outside)
			require.NoError(t, err)
			require.Empty(t, entries, "nothing written outside the root")
		})
	}
	root, elsewhere := t.TempDir(), t.TempDir()
	r.Root = root
	a, err := Write(filepath.Join(elsewhere, "out"), r)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(elsewhere, "out", "latest.json"), a.LatestJSON)
	_, err = os.Stat(a.JSON)
	require.NoError(t, err)
	// The default directory inside the root is created and written.
	a, err = Write(filepath.Join(root, "reports", "promotion_gates"), r)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(root, "reports", "promotion_gates", "promotion_gates_20260226T020000Z.json"), a.JSON)
}
