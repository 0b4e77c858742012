package gates

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
)

const malformedRule = `(status == "ok" or status == "warning") and critical_count == 0`

type malformedWant struct {
	verdict Verdict
	reason  string // exact, or a prefix when it ends with "…"
}

// malformedReports maps every file of testdata/malformed to the verdict and
// reason of a critical report check over it (condition malformedRule,
// ts_utc, 15m window, clock 2026-02-26T02:00:00Z); day2_* files are judged
// by a day2 gate with require_go. A file without an entry fails the test.
var malformedReports = map[string]malformedWant{
	"array.json":                 {VerdictError, "bad: reports/r.json: not a JSON object (got array)"},
	"array_count.json":           {VerdictFail, "bad: condition false (critical_count=[0], status=\"ok\"; rule: (status == \"ok\" or status == \"warning\") and critical_count == 0)"},
	"bom.json":                   {VerdictError, "bad: reports/r.json: invalid JSON: invalid character 'ï' looking for beginning of value"},
	"bool_count.json":            {VerdictFail, "bad: condition false (critical_count=false, status=\"ok\"; rule: (status == \"ok\" or status == \"warning\") and critical_count == 0)"},
	"comment.json":               {VerdictError, "bad: reports/r.json: invalid JSON: invalid character '/' looking for beginning of object key string"},
	"day2_go_missing.json":       {VerdictError, "bad: reports/r.json: go is not a JSON boolean (got null)"},
	"day2_go_null.json":          {VerdictError, "bad: reports/r.json: go is not a JSON boolean (got null)"},
	"day2_go_number.json":        {VerdictError, "bad: reports/r.json: go is not a JSON boolean (got 1)"},
	"day2_go_string.json":        {VerdictError, "bad: reports/r.json: go is not a JSON boolean (got \"false\")"},
	"day2_go_string_true.json":   {VerdictError, "bad: reports/r.json: go is not a JSON boolean (got \"true\")"},
	"deeply_nested.json":         {VerdictError, "bad: reports/r.json: invalid JSON: invalid character '[' exceeded max depth"},
	"duplicate_escaped_key.json": {VerdictError, "bad: reports/r.json: invalid JSON: duplicate key \"status\""},
	"duplicate_keys.json":        {VerdictError, "bad: reports/r.json: invalid JSON: duplicate key \"status\""},
	"duplicate_ts.json":          {VerdictError, "bad: reports/r.json: invalid JSON: duplicate key \"ts_utc\""},
	"empty.json":                 {VerdictError, "bad: reports/r.json: invalid JSON: unexpected end of JSON input"},
	"far_future_ts.json":         {VerdictStale, "bad: stale: ts_utc 9999-12-31T23:59:59Z is in the future by 4193837160.0m (skew allowed 2m)"},
	"huge_exponent.json":         {VerdictError, "bad: reports/r.json: number 1e400 is out of range at critical_count"},
	"huge_integer.json":          {VerdictFail, "bad: condition false (critical_count=123456789012345678901234567890, status=\"ok\"; rule: (status == \"ok\" or status == \"warning\") and critical_count == 0)"},
	"infinity_literal.json":      {VerdictError, "bad: reports/r.json: invalid JSON: invalid character 'I' in numeric literal"},
	"invalid_utf8.json":          {VerdictFail, "bad: condition false (critical_count=0, status=\"ok�\"; rule: (status == \"ok\" or status == \"warning\") and critical_count == 0)"},
	"naive_ts.json":              {VerdictError, "bad: reports/r.json: ts_utc \"2026-02-26T01:59:00\" has no UTC offset"},
	"nan_literal.json":           {VerdictError, "bad: reports/r.json: invalid JSON: invalid character 'N' looking for beginning of value"},
	"nan_string_count.json":      {VerdictFail, "bad: condition false (critical_count=\"NaN\", status=\"ok\"; rule: (status == \"ok\" or status == \"warning\") and critical_count == 0)"},
	"nan_ts.json":                {VerdictError, "bad: reports/r.json: ts_utc \"NaN\" is not an ISO-8601 timestamp"},
	"nul_in_status.json":         {VerdictFail, "bad: condition false (critical_count=0, status=\"ok\\u0000\"; rule: (status == \"ok\" or status == \"warning\") and critical_count == 0)"},
	"null.json":                  {VerdictError, "bad: reports/r.json: not a JSON object (got null)"},
	"number_ts.json":             {VerdictError, "bad: reports/r.json: ts_utc is not a string (got number 1772071140)"},
	"object_status.json":         {VerdictFail, "bad: condition false (critical_count=0, status={\"ok\":true}; rule: (status == \"ok\" or status == \"warning\") and critical_count == 0)"},
	"object_ts.json":             {VerdictError, "bad: reports/r.json: ts_utc is not a string (got object {\"$date\":\"2026-02-26T01:59:00Z\"})"},
	"single_quotes.json":         {VerdictError, "bad: reports/r.json: invalid JSON: invalid character '\\'' looking for beginning of object key string"},
	"status_true.json":           {VerdictFail, "bad: condition false (critical_count=0, status=true; rule: (status == \"ok\" or status == \"warning\") and critical_count == 0)"},
	"string.json":                {VerdictError, "bad: reports/r.json: not a JSON object (got string)"},
	"string_count.json":          {VerdictFail, "bad: condition false (critical_count=\"0\", status=\"ok\"; rule: (status == \"ok\" or status == \"warning\") and critical_count == 0)"},
	"trailing_data.json":         {VerdictError, "bad: reports/r.json: invalid JSON: invalid character '{' after top-level value"},
	"truncated.json":             {VerdictError, "bad: reports/r.json: invalid JSON: unexpected end of JSON input"},
	"upper_status.json":          {VerdictFail, "bad: condition false (critical_count=0, status=\"OK\"; rule: (status == \"ok\" or status == \"warning\") and critical_count == 0)"},
	"whitespace.json":            {VerdictError, "bad: reports/r.json: invalid JSON: unexpected end of JSON input"},
	"year_zero_ts.json":          {VerdictStale, "bad: stale: age 1065654840.0m > 15m (ts_utc 0000-01-01T00:00:00Z)"},
}

func TestMalformedReportCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "malformed")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	require.NotEmpty(t, names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			want, ok := malformedReports[name]
			require.True(t, ok, "no expectation for %s", name)
			data, err := os.ReadFile(filepath.Join(dir, name))
			require.NoError(t, err)
			root := t.TempDir()
			writeFile(t, root, "reports/r.json", string(data))
			ck := config.Check{Name: "r", Kind: config.KindReport, Report: &config.ReportSpec{Path: "reports/r.json", Condition: malformedRule}}
			if strings.HasPrefix(name, "day2_") {
				ck = config.Check{Name: "r", Kind: config.KindDay2Gate, Day2: &config.Day2Spec{Eval: "reports/r.json", RequireGo: true, RequireFresh: true}}
			}
			r := runOne(t, root, ck)
			require.NotEqual(t, VerdictPass, r.Verdict)
			require.False(t, r.Pass)
			require.Equal(t, want.verdict, r.Verdict, r.Text())
			if p, isPrefix := strings.CutSuffix(want.reason, "…"); isPrefix {
				require.True(t, strings.HasPrefix(r.Text(), p), "reason %q", r.Text())
			} else {
				require.Equal(t, want.reason, r.Text())
			}
		})
	}
}
