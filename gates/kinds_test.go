package gates

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
)

func TestKindsRegistryMatchesConfig(t *testing.T) {
	for _, k := range config.Kinds() {
		assert.Contains(t, registry, k, "kind %q has no check function", k)
	}
	assert.Len(t, registry, len(config.Kinds()))
}

func TestReportConditions(t *testing.T) {
	const rule = `(status == "ok" or status == "warning") and critical_count == 0`
	tests := []struct {
		name    string
		body    string
		cond    string
		verdict Verdict
		reason  string
	}{
		{"pass", `{"ts_utc":"2026-02-26T01:50:00Z","status":"warning","critical_count":0}`, rule, VerdictPass, "ok"},
		{"condition false", `{"ts_utc":"2026-02-26T01:50:00Z","status":"critical","critical_count":1}`, rule, VerdictFail,
			`bad: condition false (critical_count=1, status="critical"; rule: ` + rule + `)`},
		{"null number fails", `{"ts_utc":"2026-02-26T01:50:00Z","status":"ok","critical_count":null}`, rule, VerdictFail,
			`bad: condition false (critical_count=null, status="ok"; rule: ` + rule + `)`},
		{"string number fails", `{"ts_utc":"2026-02-26T01:50:00Z","status":"ok","critical_count":"x"}`, rule, VerdictFail,
			`bad: condition false (critical_count="x", status="ok"; rule: ` + rule + `)`},
		{"missing keys fail", `{"ts_utc":"2026-02-26T01:50:00Z"}`, rule, VerdictFail,
			`bad: condition false (critical_count missing, status missing; rule: ` + rule + `)`},
		{"nested optional", `{"ts_utc":"2026-02-26T01:50:00Z","bots":{"bot3":{"source":"local_minute_proxy"}}}`,
			`bots?.bot3?.source == "local_minute_proxy"`, VerdictPass, "ok"},
		{"nested optional absent", `{"ts_utc":"2026-02-26T01:50:00Z"}`,
			`bots?.bot3?.source == "local_minute_proxy"`, VerdictFail,
			`bad: condition false (bots.bot3.source missing; rule: bots?.bot3?.source == "local_minute_proxy")`},
		{"runtime error names the field", `{"ts_utc":"2026-02-26T01:50:00Z","n":"x"}`, `int(n) > 0`, VerdictError,
			`bad: reports/r.json: condition "int(n) > 0" failed (n="x"): invalid operation: int(x) (1:1)`},
		{"stale and false", `{"ts_utc":"2026-02-26T01:00:00Z","status":"critical","critical_count":1}`, rule, VerdictStale,
			`bad: stale: age 60.0m > 15m (ts_utc 2026-02-26T01:00:00Z); condition false (critical_count=1, status="critical"; rule: ` + rule + `)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, root, "reports/r.json", tt.body)
			r := runOne(t, root, config.Check{Name: "r", Kind: config.KindReport, Report: &config.ReportSpec{Path: "reports/r.json", Condition: tt.cond}})
			assert.Equal(t, tt.verdict, r.Verdict)
			assert.Equal(t, tt.reason, r.Text())
		})
	}
}

func TestReportFreshestOf(t *testing.T) {
	tests := []struct {
		name   string
		files  map[string]string
		chosen string
		reason string
		v      Verdict
	}{
		{"newest by mtime wins over latest", map[string]string{
			"reports/x/latest.json":  `{"ts_utc":"2026-02-26T01:40:00Z"}`,
			"reports/x/x_1.json":     `{"ts_utc":"2026-02-26T01:55:00Z"}`,
			"reports/x/sub/x_2.json": `{"ts_utc":"2026-02-26T01:50:00Z"}`,
		}, "reports/x/x_1.json (newest by mtime of 3 candidates)", "ok", VerdictPass},
		{"tie keeps the earlier candidate", map[string]string{
			"reports/x/latest.json": `{"ts_utc":"2026-02-26T01:55:00Z"}`,
			"reports/x/x_1.json":    `{"ts_utc":"2026-02-26T01:55:00Z"}`,
		}, "reports/x/latest.json (newest by mtime of 2 candidates)", "ok", VerdictPass},
		{"a future file is the newest and is stale", map[string]string{
			"reports/x/latest.json": `{"ts_utc":"2026-02-26T01:55:00Z"}`,
			"reports/x/x_9.json":    `{"ts_utc":"2026-02-27T01:55:00Z"}`,
		}, "reports/x/x_9.json (newest by mtime of 2 candidates)",
			"bad: stale: ts_utc 2026-02-27T01:55:00Z is in the future by 1435.0m (skew allowed 2m)", VerdictStale},
		{"none present", map[string]string{"reports/other.json": `{}`}, "",
			"bad: missing: no file among reports/x/latest.json, reports/x/x_*.json, reports/x/**/x_*.json", VerdictMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for rel, body := range tt.files {
				writeFile(t, root, rel, body)
				// Each file's mtime is the time it holds: the rule ranks
				// unstamped names by mtime.
				var doc struct {
					TS time.Time `json:"ts_utc"`
				}
				if json.Unmarshal([]byte(body), &doc) == nil && !doc.TS.IsZero() {
					age(t, root, rel, doc.TS)
				}
			}
			r := runOne(t, root, config.Check{Name: "r", Kind: config.KindReport, Report: &config.ReportSpec{
				Paths: []string{"reports/x/latest.json"}, Globs: []string{"reports/x/x_*.json", "reports/x/**/x_*.json"}}})
			assert.Equal(t, tt.v, r.Verdict)
			assert.Equal(t, tt.reason, r.Text())
			assert.Equal(t, tt.chosen, r.Chosen)
			if tt.v == VerdictMissing {
				assert.Empty(t, r.EvidencePaths, "W6: no None/placeholder path")
			}
		})
	}
}

func TestFilesKinds(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "a.txt", "a")
	writeFile(t, root, "logs/x/minute.csv", "ts\n")
	tests := []struct {
		name   string
		ck     config.Check
		v      Verdict
		reason string
		nEv    int
	}{
		{"present", config.Check{Name: "p", Kind: config.KindFilesPresent, Files: []string{"a.txt"}}, VerdictPass, "ok", 1},
		{"one missing", config.Check{Name: "p", Kind: config.KindFilesPresent, Files: []string{"a.txt", "b.txt", "c/d.txt"}}, VerdictMissing, "bad: missing b.txt, c/d.txt", 3}, // the whole list, as the original records it
		{"glob match", config.Check{Name: "g", Kind: config.KindFilesGlob, Glob: &config.GlobSpec{Pattern: "logs/*/minute.csv"}}, VerdictPass, "ok", 1},
		{"glob none", config.Check{Name: "g", Kind: config.KindFilesGlob, Glob: &config.GlobSpec{Pattern: "data/*/minute.csv"}}, VerdictMissing, "bad: 0 file(s) match data/*/minute.csv, need 1", 0},
		{"glob none, recorded directory", config.Check{Name: "g", Kind: config.KindFilesGlob, Glob: &config.GlobSpec{Pattern: "data/*/minute.csv", NoneEvidence: "data"}}, VerdictMissing, "bad: 0 file(s) match data/*/minute.csv, need 1", 1},
		{"glob too few", config.Check{Name: "g", Kind: config.KindFilesGlob, Glob: &config.GlobSpec{Pattern: "logs/*/minute.csv", MinMatches: 2}}, VerdictMissing, "bad: 1 file(s) match logs/*/minute.csv, need 2", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runOne(t, root, tt.ck)
			assert.Equal(t, tt.v, r.Verdict)
			assert.Equal(t, tt.reason, r.Text())
			assert.Len(t, r.EvidencePaths, tt.nEv)
		})
	}
}

func TestCommandKind(t *testing.T) {
	const artifact = `{"ts_utc":"2026-02-26T01:59:00Z","status":"pass"}`
	tests := []struct {
		name       string
		argv       []string
		timeout    time.Duration
		noCommands bool
		pre        string // artifact present before the run
		v          Verdict
		reason     string
	}{
		{"writes a passing artifact", []string{"/bin/sh", "-c", `mkdir -p reports && printf '%s' "$ART" > reports/c.json`}, 0, false, "", VerdictPass, "ok"},
		{"non-zero exit", []string{"/bin/sh", "-c", "echo boom; exit 3"}, 0, false, "", VerdictFail, "bad: command exited 3"},
		{"timeout", []string{"/bin/sh", "-c", "exec sleep 30"}, 200 * time.Millisecond, false, "", VerdictError, "bad: command timed out after 200ms"},
		{"not found", []string{"/nonexistent/tool"}, 0, false, "", VerdictError, `bad: start "/nonexistent/tool": cannot start: fork/exec /nonexistent/tool: no such file or directory`},
		{"no-commands judges the artifact", []string{"/bin/false"}, 0, true, artifact, VerdictPass,
			"ok: command not run (--no-commands); judged on reports/c.json"},
		{"no-commands stale artifact", []string{"/bin/false"}, 0, true, `{"ts_utc":"2026-02-24T02:33:47Z","status":"pass"}`, VerdictStale,
			"bad: command not run (--no-commands); judged on reports/c.json: stale: age 2846.2m > 15m (ts_utc 2026-02-24T02:33:47Z)"},
		{"no-commands missing artifact", []string{"/bin/false"}, 0, true, "", VerdictMissing,
			"bad: command not run (--no-commands); judged on reports/c.json: missing reports/c.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if tt.pre != "" {
				writeFile(t, root, "reports/c.json", tt.pre)
			}
			ck := config.Check{Name: "c", Kind: config.KindCommand, Command: &config.CommandSpec{
				Argv: tt.argv, Timeout: tt.timeout, Env: map[string]string{"ART": artifact},
				Report: &config.ReportSpec{Path: "reports/c.json", Condition: `status == "pass"`}}}
			r := runOne(t, root, ck, func(o *Options) { o.NoCommands = tt.noCommands })
			assert.Equal(t, tt.v, r.Verdict)
			assert.Equal(t, tt.reason, r.Text())
		})
	}
}

func TestSymlinkEscapeRefused(t *testing.T) {
	outside := t.TempDir()
	writeFile(t, outside, "secret.json", `{"ts_utc":"2026-02-26T01:59:00Z","status":"pass"}`)
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "reports"), 0o755))
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret.json"), filepath.Join(root, "reports", "r.json")))
	tests := []struct {
		name string
		ck   config.Check
	}{
		{"report path", config.Check{Name: "r", Kind: config.KindReport, Report: &config.ReportSpec{Path: "reports/r.json"}}},
		{"report glob", config.Check{Name: "r", Kind: config.KindReport, Report: &config.ReportSpec{Globs: []string{"reports/*.json"}}}},
		{"files_present", config.Check{Name: "r", Kind: config.KindFilesPresent, Files: []string{"reports/r.json"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runOne(t, root, tt.ck)
			assert.Equal(t, VerdictError, r.Verdict)
			assert.Equal(t, "bad: reports/r.json: resolves outside the root", r.Text())
			assert.False(t, r.Pass)
		})
	}
	// A symlink that stays inside the root is fine.
	writeFile(t, root, "reports/real.json", `{"ts_utc":"2026-02-26T01:59:00Z"}`)
	require.NoError(t, os.Symlink("real.json", filepath.Join(root, "reports", "inside.json")))
	r := runOne(t, root, config.Check{Name: "r", Kind: config.KindReport, Report: &config.ReportSpec{Path: "reports/inside.json"}})
	assert.Equal(t, VerdictPass, r.Verdict)
}

func TestWaiver(t *testing.T) {
	root := t.TempDir()
	c := oneCheckContract(config.Check{Name: "p", Kind: config.KindFilesPresent, Files: []string{"nope"}})
	e, err := New(c, Options{Root: root, Now: func() time.Time { return fixedNow }})
	require.NoError(t, err)
	tests := []struct {
		name    string
		expires time.Time
		status  string
		verdict Verdict
	}{
		{"unexpired", fixedNow.Add(time.Hour), StatusPass, VerdictWaived},
		{"expired", fixedNow.Add(-time.Second), StatusFail, VerdictMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := e.Run(t.Context(), RunOptions{Waivers: []Waiver{{Check: "p", Reason: "known", Expires: tt.expires}}})
			require.NoError(t, err)
			assert.Equal(t, tt.status, rep.Status)
			assert.Equal(t, tt.verdict, rep.Checks[0].Verdict)
			assert.False(t, rep.Checks[0].Pass)
		})
	}
}
