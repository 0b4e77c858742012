package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
)

const fuzzContract = `name: fuzz
freshness: {window: 15m, ci_window: 15m, future_skew: 2m}
checks:
  - name: r
    severity: critical
    kind: report
    report: {path: reports/r.json, condition: status == "pass"}
`

// pathFlags are the flags the fuzzer may not set: their values are chosen
// from the fixtures below, so that a run never reads or writes outside the
// test's temporary directories.
var pathFlags = map[string]bool{"root": true, "out": true, "contract": true}

func isPathFlag(arg string) bool {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	return strings.HasPrefix(arg, "-") && pathFlags[name]
}

// FuzzGatesFlags runs `strictcycle gates` with fuzzed flags over a choice of
// roots (valid, missing, a file, a dangling symlink, an empty one, one
// whose report is a symlink to /etc/passwd) and contracts (valid, invalid,
// missing, fuzzed YAML). It must not panic, must exit 0, 1 or 2, and must
// never exit 0 unless the contract is valid and, for a gate run, the root
// is valid and its report passes.
func FuzzGatesFlags(f *testing.F) {
	base := f.TempDir()
	mk := func(rel, body string) string {
		p := filepath.Join(base, rel)
		require.NoError(f, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(f, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	now := time.Now().UTC()
	good := filepath.Dir(filepath.Dir(mk("good/reports/r.json", fmt.Sprintf(`{"ts_utc":%q,"status":"pass"}`, now.Format(time.RFC3339)))))
	empty := filepath.Join(base, "empty")
	require.NoError(f, os.MkdirAll(empty, 0o755))
	escape := filepath.Join(base, "escape")
	require.NoError(f, os.MkdirAll(filepath.Join(escape, "reports"), 0o755))
	require.NoError(f, os.Symlink("/etc/passwd", filepath.Join(escape, "reports", "r.json")))
	dangling := filepath.Join(base, "dangling")
	require.NoError(f, os.Symlink(filepath.Join(base, "nowhere"), dangling))
	type rootFix struct {
		path string
		ok   bool // a valid root whose report passes
		dir  bool // a usable directory (the engine starts)
	}
	roots := []rootFix{
		{good, true, true}, {filepath.Join(base, "missing"), false, false}, {mk("file", "x"), false, false},
		{dangling, false, false}, {empty, false, true}, {escape, false, true}, {"", false, false},
	}
	contracts := []string{
		mk("c.yaml", fuzzContract), mk("broken.yaml", strings.Replace(fuzzContract, "kind: report", "kind: reprot", 1)),
		filepath.Join(base, "missing.yaml"), filepath.Join(base, "fuzzed.yaml"), "no-such-shipped", "",
	}

	f.Add("", uint8(0), uint8(0), []byte(nil))
	f.Add("--ci\x00--json", uint8(0), uint8(0), []byte(nil))
	f.Add("--now\x002026-02-26T02:00:00Z", uint8(0), uint8(0), []byte(nil))
	f.Add("--check-config", uint8(1), uint8(0), []byte(nil))
	f.Add("--check-config", uint8(0), uint8(1), []byte(nil))
	f.Add("-h", uint8(2), uint8(2), []byte(nil))
	f.Add("--no-commands\x00extra", uint8(4), uint8(0), []byte(nil))
	f.Add("--now=yesterday", uint8(5), uint8(0), []byte(nil))
	f.Add("", uint8(5), uint8(3), []byte(fuzzContract))
	f.Add("--json=maybe", uint8(3), uint8(4), []byte("name: x\nchecks: []\n"))
	f.Fuzz(func(t *testing.T, flags string, rootSel, contractSel uint8, body []byte) {
		root := roots[int(rootSel)%len(roots)]
		contract := contracts[int(contractSel)%len(contracts)]
		if contract == filepath.Join(base, "fuzzed.yaml") {
			// A fuzzed contract that validates may hold a command check:
			// never let the fuzzer choose what runs.
			if c, err := config.ParseContract(body); err == nil {
				for _, ck := range c.Checks {
					if ck.Kind == config.KindCommand {
						return
					}
				}
			}
			require.NoError(t, os.WriteFile(contract, body, 0o644))
		}
		args := []string{"--root", root.path, "--contract", contract, "--out", t.TempDir()}
		for _, a := range strings.Split(flags, "\x00") {
			if a != "" && !isPathFlag(a) {
				args = append(args, a)
			}
		}
		var stdout, stderr bytes.Buffer
		code := gatesCmd(context.Background(), args, &stdout, &stderr)
		require.Contains(t, []int{exitPass, exitError, exitFail}, code, "args %q", args)

		_, contractErr := config.LoadContract(contract)
		help := code == exitPass && strings.Contains(stderr.String(), "Usage of gates")
		checkConfig := strings.Contains(stdout.String(), "[promotion-gates] contract ")
		switch {
		case help:
		case contractErr != nil:
			require.Equal(t, exitError, code, "broken contract %q, args %q: %s", contract, args, stderr.String())
		case checkConfig:
			require.Equal(t, exitPass, code)
		case !root.dir:
			require.Equal(t, exitError, code, "broken root %q, args %q: %s", root.path, args, stderr.String())
		case code == exitPass:
			require.Contains(t, stdout.String(), "[promotion-gates] status=PASS")
			if contractSel%uint8(len(contracts)) == 0 {
				require.True(t, root.ok, "PASS on a root whose report does not pass: %q, args %q", root.path, args)
			}
		}
	})
}
