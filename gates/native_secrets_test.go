package gates

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
)

const (
	ruleKey    = `regex:(?i)\b(api[_-]?key|secret|passphrase|token|password)\s*[:=]\s*[^\s]{8,}`
	ruleBearer = `regex:(?i)\bauthorization\s*:\s*bearer\s+[a-z0-9\._\-]{8,}`
	ruleEnv    = "env_secret_value_match"
)

func secretsCheck(includeLogs bool) config.Check {
	return config.Check{Name: "secrets_hygiene", Kind: config.KindSecretsHygiene,
		PassReason: "no secret leakage markers in docs/reports/log artifacts", FailReason: "secrets hygiene check failed (rc={rc})",
		SecretsHygiene: &config.SecretsHygieneSpec{IncludeLogs: includeLogs}}
}

// secretsReport is the report the check wrote, decoded.
type secretsReport struct {
	TSUTC        string `json:"ts_utc"`
	Status       string `json:"status"`
	IncludeLogs  bool   `json:"include_logs"`
	ScannedFiles int    `json:"scanned_files"`
	FindingCount int    `json:"finding_count"`
	Findings     []struct {
		Path         string `json:"path"`
		Rule         string `json:"rule"`
		MatchExcerpt string `json:"match_excerpt"`
	} `json:"findings"`
	ScanErrors []string `json:"scan_errors"`
}

func readSecretsReport(t *testing.T, root string) secretsReport {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "reports/security/latest.json"))
	require.NoError(t, err)
	var rep secretsReport
	require.NoError(t, json.Unmarshal(data, &rep))
	return rep
}

// finding is a finding as the table writes it: root-relative path, rule,
// excerpt.
type finding struct{ path, rule, excerpt string }

// TestSecretsHygieneRules: each rule of the script (docs/COMPATIBILITY.md,
// "Native checkers"), case by case.
func TestSecretsHygieneRules(t *testing.T) {
	long := strings.Repeat("é", 300)
	cases := []struct {
		name     string
		files    map[string]string
		logs     bool
		scanned  int
		findings []finding
	}{
		{"clean", map[string]string{"docs/a.md": "nothing here\npassword policy: see wiki"}, false, 1, nil},
		{"key marker", map[string]string{"docs/a.md": "x password: hunter2hunter2 y"}, false, 1,
			[]finding{{"docs/a.md", ruleKey, "password: hunter2hunter2"}}},
		{"unicode case folding", map[string]string{"docs/a.md": "\u017fecret=abcdefghij api_\u212aey=abcdefghij"}, false, 1,
			[]finding{{"docs/a.md", ruleKey, "\u017fecret=abcdefghij"}, {"docs/a.md", ruleKey, "api_\u212aey=abcdefghij"}}},
		{"python's i folding", map[string]string{"docs/a.md": "ap\u0131key=abcdefghij AUTHOR\u0130ZATION: bearer abc\u0131defgh"}, false, 1,
			[]finding{{"docs/a.md", ruleKey, "ap\u0131key=abcdefghij"}, {"docs/a.md", ruleBearer, "AUTHOR\u0130ZATION: bearer abc\u0131defgh"}}},
		{"value of 7 is short", map[string]string{"docs/a.md": "token=abc1234 "}, false, 1, nil},
		{"keywords and case", map[string]string{"docs/a.md": "API_KEY=abcdefgh\nApi-Key = abcdefgh\napikey:abcdefgh\nPassPhrase=abcdefgh\nSECRET = abcdefgh\n"}, false, 1,
			[]finding{{"docs/a.md", ruleKey, "API_KEY=abcdefgh"}, {"docs/a.md", ruleKey, "Api-Key = abcdefgh"},
				{"docs/a.md", ruleKey, "apikey:abcdefgh"}, {"docs/a.md", ruleKey, "PassPhrase=abcdefgh"}, {"docs/a.md", ruleKey, "SECRET = abcdefgh"}}},
		{"word boundary", map[string]string{"docs/a.md": "mysecret=abcdefghij _token=abcdefghij étoken=abcdefghij (secret=abcdefghij"}, false, 1,
			[]finding{{"docs/a.md", ruleKey, "secret=abcdefghij"}}},
		{"whitespace spans lines", map[string]string{"docs/a.md": "password:\n\n   abcdefghij"}, false, 1,
			[]finding{{"docs/a.md", ruleKey, "password:\n\n   abcdefghij"}}},
		{"crlf read as lf", map[string]string{"docs/a.md": "password:\r\n  abcdefghij\r"}, false, 1,
			[]finding{{"docs/a.md", ruleKey, "password:\n  abcdefghij"}}},
		{"python whitespace", map[string]string{"docs/a.md": "password:\u00a0abcdefghij token=\x1cabcdefghij"}, false, 1,
			[]finding{{"docs/a.md", ruleKey, "password:\u00a0abcdefghij"}, {"docs/a.md", ruleKey, "token=\x1cabcdefghij"}}},
		{"value ends at python whitespace", map[string]string{"docs/a.md": "secret=abcdefgh\u3000tail"}, false, 1,
			[]finding{{"docs/a.md", ruleKey, "secret=abcdefgh"}}},
		{"invalid utf-8 dropped", map[string]string{"docs/a.md": "pass\xffword=abcdefghij"}, false, 1,
			[]finding{{"docs/a.md", ruleKey, "password=abcdefghij"}}},
		{"excerpt is 160 characters", map[string]string{"docs/a.md": "secret=" + long}, false, 1,
			[]finding{{"docs/a.md", ruleKey, ("secret=" + long)[:7+153*2]}}},
		{"bearer", map[string]string{"docs/a.md": "Authorization: Bearer abcdefgh.ij/x authorization:bearer abc"}, false, 1,
			[]finding{{"docs/a.md", ruleBearer, "Authorization: Bearer abcdefgh.ij"}}},
		{"rule order then file order", map[string]string{"docs/a.md": "authorization: bearer abcdefghij\ntoken=abcdefghij"}, false, 1,
			[]finding{{"docs/a.md", ruleKey, "token=abcdefghij"}, {"docs/a.md", ruleBearer, "authorization: bearer abcdefghij"}}},
		{"suffixes", map[string]string{"docs/a.py": "token=abcdefghij", "docs/.env": "token=abcdefghij", "docs/b.JSON": "token=abcdefghij",
			"docs/c.env": "token=abcdefghij", "docs/d.": "token=abcdefghij", "docs/e.jsonl": "x", "docs/f.yml": "x", "docs/g.yaml": "x",
			"docs/h.csv": "x", "docs/i.log": "x", "docs/j.txt": "x"}, false, 8,
			[]finding{{"docs/b.JSON", ruleKey, "token=abcdefghij"}, {"docs/c.env", ruleKey, "token=abcdefghij"}}},
		{"scope without logs", map[string]string{"config/a.md": "token=abcdefghij", "reports/x/a.json": `{"token": "x"}`,
			"data/bot1/logs/a.log": "token=abcdefghij"}, false, 1, nil},
		{"scope with logs", map[string]string{"data/bot1/logs/epp/a.log": "token=abcdefghij", "data/bot1/other/a.log": "token=abcdefghij",
			"data/logs": "token=abcdefghij", "reports/r.md": "ok"}, true, 2,
			[]finding{{"data/bot1/logs/epp/a.log", ruleKey, "token=abcdefghij"}}},
		{"env secret values", map[string]string{
			"env/.env":  "# c\nAPI_SECRET=supersecretvalue\nNAME=notsecretvalue1\nTOKEN=changeme\nPASSWORD=short\nexport X_TOKEN=\"quotedvalue1\"\n  MY_KEY = 'spacedvalue1'  \nPASSWORD=Example\n",
			"docs/a.md": "supersecretvalue notsecretvalue1 quotedvalue1 spacedvalue1 changeme"}, false, 1,
			[]finding{{"docs/a.md", ruleEnv, "***redacted-secret-value***"}, {"docs/a.md", ruleEnv, "***redacted-secret-value***"},
				{"docs/a.md", ruleEnv, "***redacted-secret-value***"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for rel, body := range tc.files {
				writeFile(t, root, rel, body)
			}
			r := runOne(t, root, secretsCheck(tc.logs))
			rep := readSecretsReport(t, root)
			assert.Equal(t, tc.scanned, rep.ScannedFiles)
			assert.Equal(t, tc.logs, rep.IncludeLogs)
			assert.Equal(t, len(tc.findings), rep.FindingCount)
			var got []finding
			for _, f := range rep.Findings {
				rel, err := filepath.Rel(root, f.Path)
				require.NoError(t, err)
				got = append(got, finding{filepath.ToSlash(rel), f.Rule, f.MatchExcerpt})
			}
			assert.Equal(t, tc.findings, got)
			assert.Equal(t, []string{filepath.Join(root, "reports/security/latest.json")}, r.EvidencePaths)
			if len(tc.findings) == 0 {
				assert.Equal(t, "pass", rep.Status)
				assert.Equal(t, VerdictPass, r.Verdict, r.Reason)
				assert.Equal(t, "no secret leakage markers in docs/reports/log artifacts", r.Reason)
				require.NotNil(t, r.ExitCode)
				assert.Equal(t, 0, *r.ExitCode)
			} else {
				assert.Equal(t, "fail", rep.Status)
				assert.Equal(t, VerdictFail, r.Verdict)
				assert.Equal(t, "secrets hygiene check failed (rc=2)", r.Reason)
				require.NotNil(t, r.ExitCode)
				assert.Equal(t, 2, *r.ExitCode)
				assert.Contains(t, r.OutputTail, "[secrets-hygiene] finding "+filepath.Join(root, tc.findings[0].path)+" "+tc.findings[0].rule)
				assert.NotContains(t, r.OutputTail, tc.findings[0].excerpt, "the tail never quotes what was found")
			}
		})
	}
}

// The report is the script's bytes: json.dumps(indent=2), ensure_ascii,
// fields in its order, written as latest.json and as the stamped file.
func TestSecretsHygieneReportBytes(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "docs/a.md", "token=\"é1234567\"")
	r := runOne(t, root, secretsCheck(true))
	assert.Equal(t, VerdictFail, r.Verdict)
	want := `{
  "ts_utc": "2026-02-26T02:00:00+00:00",
  "status": "fail",
  "include_logs": true,
  "scanned_files": 1,
  "finding_count": 1,
  "findings": [
    {
      "path": "` + strings.ReplaceAll(filepath.Join(root, "docs/a.md"), `\`, `\\`) + `",
      "rule": "regex:(?i)\\b(api[_-]?key|secret|passphrase|token|password)\\s*[:=]\\s*[^\\s]{8,}",
      "match_excerpt": "token=\"\u00e91234567\""
    }
  ]
}`
	for _, rel := range []string{"reports/security/latest.json", "reports/security/secrets_hygiene_20260226T020000Z.json"} {
		got, err := os.ReadFile(filepath.Join(root, rel))
		require.NoError(t, err)
		assert.Equal(t, want, string(got), rel)
	}
	clean := t.TempDir()
	runOne(t, clean, secretsCheck(false))
	got, err := os.ReadFile(filepath.Join(clean, "reports/security/latest.json"))
	require.NoError(t, err)
	assert.Equal(t, "{\n  \"ts_utc\": \"2026-02-26T02:00:00+00:00\",\n  \"status\": \"pass\",\n  \"include_logs\": false,\n  \"scanned_files\": 0,\n  \"finding_count\": 0,\n  \"findings\": []\n}", string(got))
}

// finding_count counts every finding; the report lists the first 200.
func TestSecretsHygieneFindingCap(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "docs/a.md", strings.Repeat("token=abcdefgh1\n", 250))
	runOne(t, root, secretsCheck(false))
	rep := readSecretsReport(t, root)
	assert.Equal(t, 250, rep.FindingCount)
	assert.Len(t, rep.Findings, 200)
}

// The report's own directory is scanned, as the script scanned it: a
// finding quoted in an earlier report is found again.
func TestSecretsHygieneScansItsOwnReports(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "docs/a.md", "password=abcdefghij")
	runOne(t, root, secretsCheck(false))
	require.NoError(t, os.Remove(filepath.Join(root, "docs/a.md")))
	r := runOne(t, root, secretsCheck(false))
	assert.Equal(t, VerdictFail, r.Verdict)
	rep := readSecretsReport(t, root)
	assert.Equal(t, 2, rep.ScannedFiles) // latest.json and the stamped copy
}

// Reading in chunks finds exactly what reading the whole text finds,
// wherever the chunk boundaries fall (matches, CRLF pairs, UTF-8
// sequences and secret values straddling them).
func TestSecretScannerChunkBoundaries(t *testing.T) {
	atoms := []string{"password", "token", "authorization", "bearer", "api_key", ":", "=", " ", "\n", "\r\n", "\r", "\u00a0",
		"abcdefgh", "xy", "é", "\u017f", "\u212a", "\u0131", "\u0130", "SECRET", "Token", "ApI-kEy", "\xff", "\xe2\x82", "_", "supersecretvalue", "mysecret", "(", "0123456789abcdef."}
	secrets := []string{"supersecretvalue", "0123456789abcdef"}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 400 {
		var b strings.Builder
		for range 5 + rng.IntN(400) {
			b.WriteString(atoms[rng.IntN(len(atoms))])
		}
		text := []byte(b.String())
		whole := newSecretScanner("p", secrets)
		whole.feed(text, true)
		want := whole.result()
		chunked := newSecretScanner("p", secrets)
		for rest := text; len(rest) > 0; {
			k := min(len(rest), 1+rng.IntN(17))
			chunked.feed(rest[:k], false)
			rest = rest[k:]
		}
		chunked.feed(nil, true)
		require.Equal(t, want, chunked.result(), "case %d: %q", n, text)
	}
}

// A file much larger than one read, with a match across the read size,
// is scanned without loading it whole: what is kept between reads stays
// small.
func TestSecretScannerStreamsBigFile(t *testing.T) {
	root := t.TempDir()
	var b strings.Builder
	for b.Len() < scanChunk-5 {
		b.WriteString("line of log text\n")
	}
	b.WriteString("password=abcdefghij\n")
	for b.Len() < 3*scanChunk {
		b.WriteString("line of log text\n")
	}
	writeFile(t, root, "data/bot1/logs/big.log", b.String())
	runOne(t, root, secretsCheck(true))
	rep := readSecretsReport(t, root)
	require.Equal(t, 1, rep.FindingCount)
	assert.Equal(t, "password=abcdefghij", rep.Findings[0].MatchExcerpt)

	sc := newSecretScanner("p", nil)
	line := []byte(strings.Repeat("ordinary log words here\n", 2000))
	for range 50 {
		sc.feed(line, false)
		assert.Less(t, len(sc.text), 256, "kept text grows with the file")
	}
}

// Hostile input fails closed, naming the file: a file over the cap (the
// script skipped it unread), a FIFO (never blocks), a symlink out of the
// root. A symlink to a directory or to nothing is no file, as is_file().
func TestSecretsHygieneFailsClosed(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "outside.md")
	require.NoError(t, os.WriteFile(outside, []byte("password=abcdefghij"), 0o644))
	cases := []struct {
		name, want string
		setup      func(t *testing.T, root string)
	}{
		{"over the cap", "docs/big.log: 2000 bytes: larger than the size cap of 1000 bytes", func(t *testing.T, root string) {
			writeFile(t, root, "docs/big.log", strings.Repeat("x", 2000))
		}},
		{"fifo", "docs/pipe.log: a FIFO: cannot be scanned", func(t *testing.T, root string) {
			require.NoError(t, os.MkdirAll(filepath.Join(root, "docs"), 0o755))
			require.NoError(t, syscall.Mkfifo(filepath.Join(root, "docs/pipe.log"), 0o644))
		}},
		{"symlink out of the root", "docs/out.md: resolves outside the root", func(t *testing.T, root string) {
			require.NoError(t, os.MkdirAll(filepath.Join(root, "docs"), 0o755))
			require.NoError(t, os.Symlink(outside, filepath.Join(root, "docs/out.md")))
		}},
		{"unreadable env file", "env file env/.env: a FIFO", func(t *testing.T, root string) {
			require.NoError(t, os.MkdirAll(filepath.Join(root, "env"), 0o755))
			require.NoError(t, syscall.Mkfifo(filepath.Join(root, "env/.env"), 0o644))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, root, "docs/ok.md", "fine")
			tc.setup(t, root)
			ck := secretsCheck(false)
			ck.SecretsHygiene.MaxFileBytes = 1000
			r := runOne(t, root, ck)
			assert.Equal(t, VerdictError, r.Verdict)
			assert.Equal(t, "secrets hygiene check failed (rc=?)", r.Reason, "no command exited")
			assert.Contains(t, r.Detail, tc.want)
			if !strings.HasPrefix(tc.name, "unreadable env") {
				rep := readSecretsReport(t, root)
				assert.Equal(t, "fail", rep.Status)
				require.Len(t, rep.ScanErrors, 1)
				assert.Contains(t, rep.ScanErrors[0], tc.want)
			}
		})
	}
	root := t.TempDir()
	writeFile(t, root, "docs/real/a.txt", "fine")
	require.NoError(t, os.Symlink("real", filepath.Join(root, "docs/dir.md")))
	require.NoError(t, os.Symlink("nowhere.md", filepath.Join(root, "docs/dangling.md")))
	require.NoError(t, os.Symlink("real/a.txt", filepath.Join(root, "docs/inside.md")))
	writeFile(t, root, "docs/real/b.md", "token=abcdefghij")
	r := runOne(t, root, secretsCheck(false))
	assert.Equal(t, VerdictFail, r.Verdict, r.Reason)
	rep := readSecretsReport(t, root)
	assert.Equal(t, 3, rep.ScannedFiles) // b.md, a.txt and inside.md: dir.md and dangling.md are no files
	assert.Equal(t, 1, rep.FindingCount)
}

// With --no-commands nothing is scanned or written: the check is judged on
// the report last written (missing, then as written).
func TestSecretsHygieneNoCommands(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "docs/a.md", "token=abcdefghij")
	noCmd := func(o *Options) { o.NoCommands = true }
	r := runOne(t, root, secretsCheck(false), noCmd)
	assert.Equal(t, VerdictMissing, r.Verdict)
	assert.Contains(t, r.Detail, "command not run (--no-commands); judged on reports/security/latest.json")
	_, err := os.Stat(filepath.Join(root, "reports"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	writeFile(t, root, "reports/security/latest.json", `{"ts_utc": "2026-02-26T01:55:00+00:00", "status": "pass"}`)
	r = runOne(t, root, secretsCheck(false), noCmd)
	assert.Equal(t, VerdictPass, r.Verdict, r.Reason)
	assert.Equal(t, []string{filepath.Join(root, "reports/security/latest.json")}, r.EvidencePaths)
}

func TestSecretsHygieneValidation(t *testing.T) {
	ck := secretsCheck(false)
	ck.SecretsHygiene.MaxFileBytes = -1
	ck.SecretsHygiene.ReportDir = "../x"
	_, err := New(oneCheckContract(ck), Options{Root: t.TempDir()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "secrets_hygiene.max_file_bytes -1 is negative")
	assert.Contains(t, err.Error(), `secrets_hygiene.report_dir: path "../x" escapes the root`)
	ck = secretsCheck(false)
	ck.SecretsHygiene = nil
	_, err = New(oneCheckContract(ck), Options{Root: t.TempDir()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `kind "secrets_hygiene" needs a "secrets_hygiene" block`)
}

// A native checker runs beside the commands but after the earlier ones
// that write where it reads: the scan sees what an earlier command wrote
// under reports/ (the command takes its time first, so a scan that did not
// wait would miss it).
func TestSecretsHygieneWaitsForEarlierCommands(t *testing.T) {
	root := t.TempDir()
	c := oneCheckContract(config.Check{Name: "writer", Kind: config.KindCommand, Command: &config.CommandSpec{
		Argv: []string{"sh", "-c", "sleep 0.3; mkdir -p reports/x && printf 'token=abcdefghij' > reports/x/a.md"}}})
	sec := secretsCheck(false)
	sec.Severity = config.SeverityCritical
	c.Checks = append(c.Checks, sec)
	e, err := New(c, Options{Root: root, Now: func() time.Time { return fixedNow }})
	require.NoError(t, err)
	rep, err := e.Run(context.Background(), RunOptions{RunID: "test"})
	require.NoError(t, err)
	require.Len(t, rep.Checks, 2)
	assert.Equal(t, VerdictPass, rep.Checks[0].Verdict, rep.Checks[0].Reason)
	assert.Equal(t, VerdictFail, rep.Checks[1].Verdict, rep.Checks[1].Reason)
	assert.Equal(t, 1, readSecretsReport(t, root).FindingCount)
}
