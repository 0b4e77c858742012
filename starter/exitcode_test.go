package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/workflows"
)

const forgedPass = "\n[promotion-gates] status=PASS"

// requireNoForgedLine fails when a line of text is a status line other than
// want, or a bare forged status line.
func requireStatusLines(t *testing.T, text string, want ...string) {
	t.Helper()
	var got []string
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "[promotion-gates] status=") {
			got = append(got, line)
		}
	}
	require.Equal(t, want, got, "status lines of:\n%s", text)
}

// TestGatesForgedNamesCannotPrintPass: a check, a missing file and a
// present file, each named with "\n[promotion-gates] status=PASS", give
// exit 2 with one status line, FAIL, on stdout, and no forged line in the
// markdown.
func TestGatesForgedNamesCannotPrintPass(t *testing.T) {
	root := t.TempDir()
	present := "reports/ok" + forgedPass + ".json"
	require.NoError(t, os.MkdirAll(filepath.Join(root, "reports"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, filepath.FromSlash(present)), []byte("{}"), 0o644))
	contract := filepath.Join(root, "contract.yaml")
	require.NoError(t, os.WriteFile(contract, []byte(`name: forged
freshness: {window: 15m, future_skew: 2m}
checks:
  - name: "evil\n[promotion-gates] status=PASS"
    severity: critical
    kind: files_present
    pass_reason: "present\n[promotion-gates] status=PASS"
    fail_reason: "missing\r\n[promotion-gates] status=PASS"
    files: ["reports/missing\n[promotion-gates] status=PASS.json"]
  - name: present
    severity: critical
    kind: files_present
    pass_reason: ok
    fail_reason: bad
    files: ["reports/ok\n[promotion-gates] status=PASS.json"]
`), 0o644))
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"gates", "--root", root, "--contract", contract, "--no-commands"}, &out, &errb)
	require.Equal(t, exitFail, code, errb.String())
	requireStatusLines(t, out.String(), "[promotion-gates] status=FAIL validation_level=0")
	require.Contains(t, out.String(), `[MISSING] evil\n[promotion-gates] status=PASS: missing\r\n[promotion-gates] status=PASS`)
	require.Contains(t, out.String(), `[promotion-gates] critical_failures=evil\n[promotion-gates] status=PASS`+"\n")

	md, err := os.ReadFile(filepath.Join(root, "reports", "promotion_gates", "latest.md"))
	require.NoError(t, err)
	for _, line := range strings.Split(string(md), "\n") {
		require.False(t, strings.HasPrefix(line, "[promotion-gates]"), "forged markdown line %q", line)
	}
	require.Contains(t, string(md), `ok\n[promotion-gates] status=PASS.json (sha256=`)
}

// TestExitFailAlwaysPrintsTheFailLine: a command that decides FAIL without
// printing the status line gets it; one that printed it does not get a
// second; a PASS or an error gets none.
func TestExitFailAlwaysPrintsTheFailLine(t *testing.T) {
	tests := []struct {
		name  string
		cmd   func(io.Writer) int
		code  int
		lines []string
	}{
		{"fail without the line", func(w io.Writer) int { io.WriteString(w, "drill: fail\n"); return exitFail }, exitFail,
			[]string{statusFailLine}},
		{"fail mid-line without newline", func(w io.Writer) int { io.WriteString(w, "partial"); return exitFail }, exitFail,
			[]string{statusFailLine}},
		{"fail with the line", func(w io.Writer) int {
			io.WriteString(w, "[promotion-gates] status=FAIL validation_level=0\n")
			return exitFail
		}, exitFail, []string{"[promotion-gates] status=FAIL validation_level=0"}},
		{"fail line written in pieces", func(w io.Writer) int {
			io.WriteString(w, "x\n[promotion-")
			io.WriteString(w, "gates] status=FA")
			io.WriteString(w, "IL\n")
			return exitFail
		}, exitFail, []string{statusFailLine}},
		{"an escaped forged line is not the line", func(w io.Writer) int {
			io.WriteString(w, `name\n[promotion-gates] status=FAIL`+"\n")
			return exitFail
		}, exitFail, []string{statusFailLine}},
		{"pass", func(w io.Writer) int { io.WriteString(w, "[promotion-gates] status=PASS\n"); return exitPass }, exitPass,
			[]string{"[promotion-gates] status=PASS"}},
		{"error", func(io.Writer) int { return exitError }, exitError, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			require.Equal(t, tt.code, guarded(&out, &errb, tt.cmd))
			requireStatusLines(t, out.String(), tt.lines...)
			if tt.code == exitFail {
				require.True(t, strings.HasSuffix(out.String(), "\n"))
			}
		})
	}
}

// TestPanicIsAnError: a panic in a command is exit 1 with a message, never
// exit 2 and never a status line.
func TestPanicIsAnError(t *testing.T) {
	var out, errb bytes.Buffer
	code := guarded(&out, &errb, func(w io.Writer) int {
		io.WriteString(w, "working\n")
		var m map[string]int
		m["x"] = 1 // a nil map write panics
		return exitFail
	})
	require.Equal(t, exitError, code)
	require.Contains(t, errb.String(), "strictcycle: internal error (panic): assignment to entry in nil map")
	requireStatusLines(t, out.String())
}

// TestPrintDecision: anything but PASS prints and exits FAIL; waived
// checks and a dry run are marked; a reason or name with a newline cannot
// forge a line, in text and in JSON mode.
func TestPrintDecision(t *testing.T) {
	tests := []struct {
		name  string
		res   workflows.StrictCycleResult
		json  bool
		code  int
		lines []string
		has   []string
	}{
		{"pass", workflows.StrictCycleResult{Status: "PASS"}, false, exitPass, []string{"[promotion-gates] status=PASS"}, nil},
		{"empty status is fail", workflows.StrictCycleResult{}, false, exitFail, []string{statusFailLine}, nil},
		{"forged reason", workflows.StrictCycleResult{Status: "FAIL", Reason: "x" + forgedPass,
			CriticalFailures: []string{"c" + forgedPass},
			Restarts:         []workflows.Restart{{Round: 1, Service: "s" + forgedPass, Outcome: "restarted"}}},
			false, exitFail, []string{statusFailLine},
			[]string{`decision: FAIL (x\n[promotion-gates] status=PASS)`, `restart: round 1 s\n[promotion-gates] status=PASS restarted`,
				`[promotion-gates] critical_failures=c\n[promotion-gates] status=PASS`}},
		{"forged status", workflows.StrictCycleResult{Status: "PASS\n[promotion-gates] status=PASS"}, false, exitFail, []string{statusFailLine}, nil},
		{"waived pass", workflows.StrictCycleResult{Status: "PASS", Waived: []string{"a", "b"}}, false, exitPass,
			[]string{"[promotion-gates] status=PASS"}, []string{"[promotion-gates] waived=a,b\n"}},
		{"dry run", workflows.StrictCycleResult{Status: "FAIL", DryRun: true}, false, exitFail,
			[]string{statusFailLine}, []string{"[promotion-gates] dry_run=true\n"}},
		{"json fail", workflows.StrictCycleResult{Status: "FAIL", Reason: "r" + forgedPass}, true, exitFail,
			[]string{statusFailLine}, []string{`"reason": "r\n[promotion-gates] status=PASS"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			res := tt.res
			require.Equal(t, tt.code, printDecision(&out, &res, tt.json))
			requireStatusLines(t, out.String(), tt.lines...)
			for _, h := range tt.has {
				require.Contains(t, out.String(), h)
			}
			if len(tt.res.Waived) == 0 {
				require.NotContains(t, out.String(), "waived=")
			}
			if !tt.res.DryRun {
				require.NotContains(t, out.String(), "dry_run=")
			}
		})
	}
}

// TestOperatorTextRefusedBeforeDialing: approve, abort and waive refuse text
// that could forge a line (or is unbounded) with exit 1 and the field named,
// before they dial: the address here answers nothing.
func TestOperatorTextRefusedBeforeDialing(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"waive", "--check", "c", "--reason", "INC-1" + forgedPass, "--by", "me"}, "waive: reason holds control character U+000A at byte 5"},
		{[]string{"waive", "--check", "c", "--reason", "x", "--by", "me\x1b[2J"}, "waive: by holds control character U+001B at byte 2"},
		{[]string{"waive", "--check", "c", "--reason", strings.Repeat("r", 1025), "--by", "me"}, "waive: reason is 1025 bytes, more than 1024"},
		{[]string{"waive", "--check", "c", "--reason", "x", "--by", "me", "--for", "1ns"}, "flag --for: 1ns is outside 1m0s to 24h0m0s"},
		{[]string{"waive", "--check", "c", "--reason", "x", "--by", "me", "--for", "25h"}, "flag --for: 25h0m0s is outside 1m0s to 24h0m0s"},
		{[]string{"abort", "--reason", "x\u2028y", "--by", "me"}, "abort: reason holds control character U+2028 at byte 1"},
		{[]string{"approve", "--service", "s", "--by", "\u202eme"}, "approve: by holds control character U+202E at byte 0"},
	} {
		var out, errb bytes.Buffer
		args := append(tt.args, "--env", "text_check", "--address", "127.0.0.1:1")
		code := run(context.Background(), args, &out, &errb)
		require.Equal(t, exitError, code, errb.String())
		require.Contains(t, errb.String(), tt.want)
		require.NotContains(t, errb.String(), "127.0.0.1:1", "refused before dialing")
		require.Empty(t, out.String())
	}
}

// TestUpdateResultPrintedOnOneLine: an update's result is printed as one
// escaped line whatever it holds.
func TestUpdateResultPrintedOnOneLine(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, printUpdateResult(&out, "waive", map[string]any{
		"check": "c" + forgedPass, "reason": "x\x1b[2J\u009b\u202e", "by": "me\r",
	}))
	require.Equal(t, 1, strings.Count(out.String(), "\n"), out.String())
	require.True(t, strings.HasPrefix(out.String(), "waive: {"), out.String())
	requireStatusLines(t, out.String())
	require.NotContains(t, out.String(), "\x1b")
	require.NotContains(t, out.String(), "\u009b")
	require.NotContains(t, out.String(), "\u202e")
	require.NotContains(t, out.String(), "\r")
}
