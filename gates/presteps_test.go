package gates

import (
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

// preStepContract is one report check on reports/r.json with the given
// pre-steps; the file the steps write decides the check.
func preStepContract(steps ...config.PreStep) *config.Contract {
	c := oneCheckContract(config.Check{Name: "alerting_health", Kind: config.KindReport,
		Report: &config.ReportSpec{Path: "reports/r.json", Condition: `status == "ok"`}})
	c.PreSteps = steps
	return c
}

func runContract(t *testing.T, c *config.Contract, root string, mod ...func(*Options)) *Report {
	t.Helper()
	opts := Options{Root: root, Now: func() time.Time { return fixedNow }}
	for _, m := range mod {
		m(&opts)
	}
	e, err := New(c, opts)
	require.NoError(t, err)
	rep, err := e.Run(context.Background(), RunOptions{RunID: "t"})
	require.NoError(t, err)
	return rep
}

func sh(script string) []string { return []string{"/bin/sh", "-c", script} }

// Pre-steps run in order, before any check reads, and are recorded.
func TestPreStepsRunInOrderBeforeChecks(t *testing.T) {
	root := t.TempDir()
	c := preStepContract(
		config.PreStep{Name: "first", Argv: sh(`mkdir -p reports && printf one > reports/order`)},
		config.PreStep{Name: "second", Argv: sh(`printf ',two' >> reports/order && printf '{"ts_utc":"2026-02-26T01:59:00Z","status":"ok"}' > reports/r.json`),
			Env: map[string]string{"X": "1"}},
	)
	rep := runContract(t, c, root)
	order, err := os.ReadFile(filepath.Join(root, "reports/order"))
	require.NoError(t, err)
	assert.Equal(t, "one,two", string(order))
	require.Len(t, rep.PreSteps, 2)
	for i, name := range []string{"first", "second"} {
		p := rep.PreSteps[i]
		assert.Equal(t, name, p.Name)
		assert.True(t, p.Ran && p.OK, name)
		require.NotNil(t, p.ExitCode)
		assert.Equal(t, 0, *p.ExitCode)
	}
	assert.Equal(t, VerdictPass, rep.Checks[0].Verdict, "the check read what the second step wrote")
	assert.Equal(t, StatusPass, rep.Status)
	js, err := MarshalReport(rep)
	require.NoError(t, err)
	assert.Contains(t, string(js), `"pre_steps": [`)
}

// ci_only steps run in CI mode only; with --no-commands nothing runs.
func TestPreStepsCIOnlyAndNoCommands(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "reports/r.json", `{"ts_utc":"2026-02-26T01:59:00Z","status":"ok"}`)
	c := preStepContract(config.PreStep{Name: "refresh", Argv: sh(`touch ran`), CIOnly: true})
	rep := runContract(t, c, root)
	assert.NoFileExists(t, filepath.Join(root, "ran"))
	assert.Equal(t, PreStepResult{Name: "refresh", Reason: "not run (ci_only, not in CI mode)"}, rep.PreSteps[0])

	rep = runContract(t, c, root, func(o *Options) { o.CI = true })
	assert.FileExists(t, filepath.Join(root, "ran"))
	assert.True(t, rep.PreSteps[0].Ran && rep.PreSteps[0].OK)
	require.NoError(t, os.Remove(filepath.Join(root, "ran")))

	rep = runContract(t, c, root, func(o *Options) { o.CI, o.NoCommands = true, true })
	assert.NoFileExists(t, filepath.Join(root, "ran"))
	assert.Equal(t, "not run (--no-commands)", rep.PreSteps[0].Reason)
}

// A failed pre-step fails the checks it names, fails the run when
// fail_closed, and is only recorded otherwise.
func TestPreStepFailures(t *testing.T) {
	healthy := `{"ts_utc":"2026-02-26T01:59:00Z","status":"ok"}`
	tests := []struct {
		name     string
		step     config.PreStep
		verdicts map[string]Verdict
		status   string
		reason   string
		detail   string
	}{
		{"recorded only", config.PreStep{Name: "refresh", Argv: sh("exit 4")},
			map[string]Verdict{"alerting_health": VerdictPass}, StatusPass, "", ""},
		{"fails a named check", config.PreStep{Name: "probe", Argv: sh("exit 2"), FailsChecks: []string{"alerting_health"}},
			map[string]Verdict{"alerting_health": VerdictFail}, StatusFail, "bad", "pre-step probe: exited 2"},
		{"fail closed", config.PreStep{Name: "probe", Argv: sh("exit 1"), FailClosed: true},
			map[string]Verdict{"alerting_health": VerdictPass, "pre_step:probe": VerdictError}, StatusFail, "", ""},
		{"timeout fails closed", config.PreStep{Name: "slow", Argv: sh("exec sleep 30"), Timeout: 200 * time.Millisecond, FailClosed: true},
			map[string]Verdict{"alerting_health": VerdictPass, "pre_step:slow": VerdictError}, StatusFail, "", ""},
		{"not startable", config.PreStep{Name: "gone", Argv: []string{"/nonexistent/probe"}, FailsChecks: []string{"alerting_health"}},
			map[string]Verdict{"alerting_health": VerdictFail}, StatusFail, "bad", `pre-step gone: start "/nonexistent/probe": cannot start: fork/exec /nonexistent/probe: no such file or directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, root, "reports/r.json", healthy)
			rep := runContract(t, preStepContract(tt.step), root)
			got := map[string]Verdict{}
			for _, r := range rep.Checks {
				got[r.Name] = r.Verdict
				if r.Name == "alerting_health" && tt.reason != "" {
					assert.Equal(t, tt.reason, r.Reason)
					assert.Equal(t, tt.detail, r.Detail)
				}
			}
			assert.Equal(t, tt.verdicts, got)
			assert.Equal(t, tt.status, rep.Status)
			require.Len(t, rep.PreSteps, 1)
			assert.True(t, rep.PreSteps[0].Ran)
			assert.False(t, rep.PreSteps[0].OK)
		})
	}
}

// writeExe writes an executable script.
func writeExe(t *testing.T, path, script string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte("#!/bin/sh\n"+script), 0o755))
}

// A command whose argv[0] is python runs with the contract's interpreter:
// a venv path under the root, a name in PATH, or python3 then python.
func TestInterpreter(t *testing.T) {
	const checker = `/bin/mkdir -p reports && printf '{"ts_utc":"2026-02-26T01:59:00Z","status":"pass","by":"%s"}' "$0" > reports/c.json`
	cmdContract := func(interp string) *config.Contract {
		c := oneCheckContract(config.Check{Name: "c", Kind: config.KindCommand, Command: &config.CommandSpec{
			Argv:   []string{"python", "checker.py"},
			Report: &config.ReportSpec{Path: "reports/c.json", Condition: `status == "pass"`}}})
		c.Interpreter = interp
		return c
	}
	by := func(t *testing.T, root string) string {
		data, err := os.ReadFile(filepath.Join(root, "reports/c.json"))
		require.NoError(t, err)
		var obj map[string]string
		require.NoError(t, json.Unmarshal(data, &obj))
		return obj["by"]
	}
	t.Run("venv path under the root", func(t *testing.T) {
		root := t.TempDir()
		writeExe(t, filepath.Join(root, ".venv/bin/python"), checker)
		rep := runContract(t, cmdContract(".venv/bin/python"), root)
		assert.Equal(t, VerdictPass, rep.Checks[0].Verdict, rep.Checks[0].Text())
		assert.Equal(t, filepath.Join(root, ".venv/bin/python"), by(t, root))
	})
	t.Run("python3 before python in PATH", func(t *testing.T) {
		bin := t.TempDir()
		writeExe(t, filepath.Join(bin, "python3"), checker)
		writeExe(t, filepath.Join(bin, "python"), "exit 9")
		t.Setenv("PATH", bin)
		root := t.TempDir()
		rep := runContract(t, cmdContract(""), root)
		assert.Equal(t, VerdictPass, rep.Checks[0].Verdict, rep.Checks[0].Text())
		assert.Equal(t, filepath.Join(bin, "python3"), by(t, root))
	})
	t.Run("python when there is no python3", func(t *testing.T) {
		bin := t.TempDir()
		writeExe(t, filepath.Join(bin, "python"), checker)
		t.Setenv("PATH", bin)
		root := t.TempDir()
		rep := runContract(t, cmdContract(""), root)
		assert.Equal(t, VerdictPass, rep.Checks[0].Verdict, rep.Checks[0].Text())
		assert.Equal(t, filepath.Join(bin, "python"), by(t, root))
	})
	t.Run("none: the check is an error naming the field", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		rep := runContract(t, cmdContract(""), t.TempDir())
		assert.Equal(t, VerdictError, rep.Checks[0].Verdict)
		assert.Equal(t, `contract "test": interpreter: neither python3 nor python is in PATH (set interpreter: to a program or a venv's bin/python)`, rep.Checks[0].Detail)
		assert.Equal(t, StatusFail, rep.Status)
	})
	t.Run("a named interpreter that is not there fails at load", func(t *testing.T) {
		_, err := New(cmdContract(".venv/bin/python"), Options{Root: t.TempDir()})
		require.ErrorContains(t, err, `new engine: contract "test": interpreter ".venv/bin/python": exec: `)
		// Without commands nothing needs it.
		_, err = New(cmdContract(".venv/bin/python"), Options{Root: t.TempDir(), NoCommands: true})
		require.NoError(t, err)
	})
	t.Run("other argv untouched", func(t *testing.T) {
		root := t.TempDir()
		c := oneCheckContract(config.Check{Name: "c", Kind: config.KindCommand, Command: &config.CommandSpec{
			Argv:   sh(`mkdir -p reports && printf '{"ts_utc":"2026-02-26T01:59:00Z","status":"pass"}' > reports/c.json`),
			Report: &config.ReportSpec{Path: "reports/c.json", Condition: `status == "pass"`}}})
		c.Interpreter = "definitely-not-installed-python"
		_, err := New(c, Options{Root: root})
		require.ErrorContains(t, err, `interpreter "definitely-not-installed-python"`, "a named interpreter is checked even when unused")
	})
}

// A failed command still records its report path, present or absent, as
// the original does.
func TestFailedCommandRecordsReport(t *testing.T) {
	root := t.TempDir()
	ck := config.Check{Name: "c", Kind: config.KindCommand, FailReason: "c failed (rc={rc})", Evidence: []string{"cfg.json"},
		Command: &config.CommandSpec{Argv: sh("exit 2"), Report: &config.ReportSpec{Path: "reports/c.json", Condition: `status == "pass"`}}}
	r := runOne(t, root, ck)
	assert.Equal(t, VerdictFail, r.Verdict)
	assert.Equal(t, "c failed (rc=2)", r.Reason)
	assert.Equal(t, "command exited 2", r.Detail)
	assert.Equal(t, []string{filepath.Join(root, "reports/c.json"), filepath.Join(root, "cfg.json")}, r.EvidencePaths)
	writeFile(t, root, "reports/c.json", `{"status":"pass"}`)
	r = runOne(t, root, ck)
	require.Len(t, r.Evidence, 2)
	assert.True(t, r.Evidence[0].Exists)
	assert.Len(t, r.Evidence[0].SHA256, 64)
}

// A recheck runs only the pre-steps that can fail it (their fails_checks
// name a rechecked check, or fail_closed): a failed probe still fails the
// recheck of its check, a refresh is not rerun.
func TestPreStepsOnRecheck(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "reports/r.json", `{"ts_utc":"2026-02-26T01:59:00Z","status":"ok"}`)
	writeFile(t, root, "reports/o.json", `{"ts_utc":"2026-02-26T01:59:00Z","status":"ok"}`)
	c := preStepContract(
		config.PreStep{Name: "refresh", Argv: sh(`touch refreshed`)},
		config.PreStep{Name: "probe", Argv: sh(`exit 2`), FailsChecks: []string{"alerting_health"}},
	)
	c.Checks = append(c.Checks, config.Check{Name: "other", Severity: config.SeverityCritical, Kind: config.KindReport,
		PassReason: "ok", FailReason: "bad", Report: &config.ReportSpec{Path: "reports/o.json", Condition: `status == "ok"`}})
	e, err := New(c, Options{Root: root, Now: func() time.Time { return fixedNow }})
	require.NoError(t, err)
	rep, err := e.Run(context.Background(), RunOptions{RunID: "t", Only: []string{"alerting_health"}})
	require.NoError(t, err)
	assert.NoFileExists(t, filepath.Join(root, "refreshed"))
	assert.Equal(t, "not run (recheck of other checks)", rep.PreSteps[0].Reason)
	assert.True(t, rep.PreSteps[1].Ran)
	assert.Equal(t, VerdictFail, rep.Checks[0].Verdict, "the probe still fails its check on a recheck")
	assert.Equal(t, StatusFail, rep.Status)

	rep, err = e.Run(context.Background(), RunOptions{RunID: "t", Only: []string{"other"}})
	require.NoError(t, err)
	assert.False(t, rep.PreSteps[1].Ran)
	assert.Equal(t, StatusPass, rep.Status)
}

// {today_utc} in a pre-step's argv is the evaluation day (UTC), as the
// original's fill backfill gets --day of today.
func TestPreStepToday(t *testing.T) {
	root := t.TempDir()
	c := preStepContract(config.PreStep{Name: "backfill", Argv: []string{"/bin/echo", "--day", "{today_utc}", "x{today_utc}y"}})
	late := time.Date(2026, 2, 27, 1, 0, 0, 0, time.FixedZone("east", 3*3600)) // 26 Feb 22:00 UTC
	rep := runContract(t, c, root, func(o *Options) { o.Now = func() time.Time { return late } })
	require.Len(t, rep.PreSteps, 1)
	assert.True(t, rep.PreSteps[0].OK)
	assert.Equal(t, "--day 20260226 x20260226y\n", rep.PreSteps[0].OutputTail)
	_, err := config.ParseContract([]byte("name: t\nfreshness: {window: 20m}\nchecks:\n  - {name: a, severity: critical, kind: files_present, files: [a]}\n" +
		"pre_steps:\n  - {name: s, argv: [echo, '{today}']}\n"))
	require.EqualError(t, err, "validate contract: pre_steps[0] (s): argv[1]: placeholder {today} is not {today_utc}")
}

// ci_argv replaces a pre-step's and a command check's argv in CI mode
// only (the original's --strict and --max-age-min 15 under --ci).
func TestCIArgv(t *testing.T) {
	for _, ci := range []bool{false, true} {
		root := t.TempDir()
		c := oneCheckContract(config.Check{Name: "cmd", Kind: config.KindCommand, Command: &config.CommandSpec{
			Argv:   sh(`printf "$0" > check.args`),
			CIArgv: []string{"/bin/sh", "-c", `printf "$0" > check.args`, "ci"},
		}})
		c.PreSteps = []config.PreStep{{Name: "probe", Argv: []string{"/bin/echo", "plain"}, CIArgv: []string{"/bin/echo", "--strict", "{today_utc}"}}}
		rep := runContract(t, c, root, func(o *Options) { o.CI = ci })
		args, err := os.ReadFile(filepath.Join(root, "check.args"))
		require.NoError(t, err)
		if ci {
			assert.Equal(t, "ci", string(args))
			assert.Equal(t, "--strict 20260226\n", rep.PreSteps[0].OutputTail)
		} else {
			assert.Equal(t, "/bin/sh", string(args))
			assert.Equal(t, "plain\n", rep.PreSteps[0].OutputTail)
		}
		assert.Equal(t, VerdictPass, rep.Checks[0].Verdict)
	}
}
