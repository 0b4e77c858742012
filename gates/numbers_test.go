package gates

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
)

// TestDay2LagNumbers: a lag that is not an exact integer is a
// failure with the value in the reason: out of int64 (1e300, 9.3e18,
// 2^63), fractional, spelled as a string, or absurd (a negative one counts
// as 0, as the original). Before, a
// float64 converted to int64 out of range read as GO.
func TestDay2LagNumbers(t *testing.T) {
	const fail = "day2 gate not yet GO: "
	const okEval = `{"ts_utc":"2026-02-26T01:58:00Z","go":true}`
	const file = "reports/event_store/source_compare_20260226T010000Z.json"
	tests := []struct {
		lag    string
		v      Verdict
		reason string
	}{
		{`0`, VerdictPass, "day2 gate GO"},
		{`6`, VerdictPass, "day2 gate GO"},
		{`6.0`, VerdictPass, "day2 gate GO"},
		{`7`, VerdictFail, fail + "lag max_delta=7 > 6 worst_stream=a offending=a=7 (" + file + ", lag_produced_minus_ingested_since_baseline)"},
		{`9223372036854775807`, VerdictFail, fail + "lag max_delta=9223372036854775807 > 6 worst_stream=a offending=a=9223372036854775807 (" + file + ", lag_produced_minus_ingested_since_baseline)"},
		{`9223372036854775808`, VerdictFail, fail + "lag values not integers in " + file + ": a=9223372036854775808"},
		{`1e300`, VerdictFail, fail + "lag values not integers in " + file + ": a=1e+300"},
		{`9.3e18`, VerdictFail, fail + "lag values not integers in " + file + ": a=9300000000000000000"},
		{`-1`, VerdictPass, "day2 gate GO"}, // max(0, signed), as the original
		{`-9.3e18`, VerdictFail, fail + "lag values not integers in " + file + ": a=-9300000000000000000"},
		{`1.5`, VerdictFail, fail + "lag values not integers in " + file + ": a=1.5"},
		{`"NaN"`, VerdictFail, fail + "lag values not integers in " + file + `: a="NaN"`},
		{`"3"`, VerdictFail, fail + "lag values not integers in " + file + `: a="3"`},
		{`null`, VerdictFail, fail + "lag values not integers in " + file + ": a=null"},
		{`1e400`, VerdictFail, fail + "lag unknown: newest source compare file (by name stamp of 1) cannot be judged: " + file +
			": number 1e400 is out of range at lag_produced_minus_ingested_since_baseline.a"},
	}
	for _, tt := range tests {
		t.Run(tt.lag, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, root, "reports/event_store/day2_gate_eval_latest.json", okEval)
			writeFile(t, root, file, `{"ts_utc":"2026-02-26T01:00:00Z","lag_produced_minus_ingested_since_baseline":{"a":`+tt.lag+`}}`)
			if strings.Contains(tt.lag, "e400") {
				age(t, root, file, longAgo)
			}
			r := runOne(t, root, day28Check(t, "day2_event_store_gate"))
			require.Equal(t, tt.v, r.Verdict, r.Text())
			require.Equal(t, tt.reason, r.Text())
		})
	}
}

// TestDay2SourceCompareChoice: the candidate rule applies to day2's source
// compare files: a torn newest file or a year-9999 one decides (fail, named)
// instead of an older file that reads GO.
func TestDay2SourceCompareChoice(t *testing.T) {
	const fail = "day2 gate not yet GO: "
	const okEval = `{"ts_utc":"2026-02-26T01:58:00Z","go":true}`
	const goodOld = `{"ts_utc":"2026-02-26T01:00:00Z","lag_produced_minus_ingested_since_baseline":{"a":0}}`
	tests := []struct {
		name   string
		files  map[string]string
		v      Verdict
		reason string
	}{
		{"torn newest", map[string]string{
			"source_compare_20260226T010000Z.json": goodOld,
			"source_compare_20260226T015000Z.json": `{"ts_utc":"2026-02-26T01:50:00Z","lag_produced_minus_ingested_since_baseline":{"a":10`,
		}, VerdictFail, fail + "lag unknown: newest source compare file (by name stamp of 2) cannot be judged: " +
			"reports/event_store/source_compare_20260226T015000Z.json: invalid JSON: unexpected end of JSON input"},
		{"year 9999 in the newest", map[string]string{
			"source_compare_20260226T010000Z.json": goodOld,
			"source_compare_20260226T015000Z.json": `{"ts_utc":"9999-01-01T00:00:00Z","lag_produced_minus_ingested_since_baseline":{"a":0}}`,
		}, VerdictFail, fail + "lag unknown: newest source compare file reports/event_store/source_compare_20260226T015000Z.json has ts_utc 9999-01-01T00:00:00Z, beyond now + 2m"},
		{"year 9999 in an older file is passed over", map[string]string{
			"source_compare_20260226T010000Z.json": goodOld,
			"source_compare_x.json":                `{"ts_utc":"9999-01-01T00:00:00Z","lag_produced_minus_ingested_since_baseline":{"a":0}}`,
		}, VerdictPass, "day2 gate GO"},
		{"torn older is passed over", map[string]string{
			"source_compare_20260226T010000Z.json": goodOld,
			"source_compare_20260225T010000Z.json": `{`,
		}, VerdictPass, "day2 gate GO"},
		{"directory named like the newest", map[string]string{
			"source_compare_20260226T010000Z.json": goodOld,
			"source_compare_20260226T015000Z.json": "<dir>",
		}, VerdictFail, fail + "lag unknown: newest source compare file (by name stamp of 2) cannot be judged: " +
			"reports/event_store/source_compare_20260226T015000Z.json: a directory: not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, root, "reports/event_store/day2_gate_eval_latest.json", okEval)
			for name, body := range tt.files {
				rel := "reports/event_store/" + name
				if body == "<dir>" {
					mkdir(t, root, rel)
				} else {
					writeFile(t, root, rel, body)
				}
				age(t, root, rel, longAgo)
			}
			r := runOne(t, root, day28Check(t, "day2_event_store_gate"))
			require.Equal(t, tt.v, r.Verdict, r.Text())
			require.Equal(t, tt.reason, r.Text())
		})
	}
}

// TestConditionNumbers: conditions of the shipped contracts keep working
// over exactly decoded numbers (an int64, a float64), and a number no
// float64 holds is an error naming the field, never a pass.
func TestConditionNumbers(t *testing.T) {
	const rule = `(status == "ok" or status == "warning") and critical_count == 0`
	tests := []struct {
		count  string
		v      Verdict
		reason string
	}{
		{`0`, VerdictPass, "ok"},
		{`0.0`, VerdictPass, "ok"},
		{`-0`, VerdictPass, "ok"},
		{`0e5`, VerdictPass, "ok"},
		{`1`, VerdictFail, `bad: condition false (critical_count=1, status="ok"; rule: ` + rule + `)`},
		{`9007199254740993`, VerdictFail, `bad: condition false (critical_count=9007199254740993, status="ok"; rule: ` + rule + `)`},
		{`1e-400`, VerdictError, `bad: reports/r.json: number 1e-400 is out of range at critical_count`}, // not 0, but reads as 0 in a float64
		{`-0.0e-999`, VerdictPass, "ok"}, // a zero spelled with an exponent is 0
		{`-1e400`, VerdictError, `bad: reports/r.json: number -1e400 is out of range at critical_count`},
		{`1e300`, VerdictFail, `bad: condition false (critical_count=1e+300, status="ok"; rule: ` + rule + `)`},
		{`123456789012345678901234567890`, VerdictFail, `bad: condition false (critical_count=123456789012345678901234567890, status="ok"; rule: ` + rule + `)`},
	}
	for _, tt := range tests {
		t.Run(tt.count, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, root, "reports/r.json", `{"ts_utc":"2026-02-26T01:59:00Z","status":"ok","critical_count":`+tt.count+`}`)
			r := runOne(t, root, config.Check{Name: "r", Kind: config.KindReport, Report: &config.ReportSpec{Path: "reports/r.json", Condition: rule}})
			require.Equal(t, tt.v, r.Verdict, r.Text())
			require.Equal(t, tt.reason, r.Text())
		})
	}
}

func TestExactNumber(t *testing.T) {
	tests := []struct {
		in   string
		want any
		err  string
	}{
		{"0", int64(0), ""},
		{"-9223372036854775808", int64(math.MinInt64), ""},
		{"9223372036854775807", int64(math.MaxInt64), ""},
		{"9223372036854775808", json.Number("9223372036854775808"), ""},
		{"-123456789012345678901", json.Number("-123456789012345678901"), ""},
		{"1.5", 1.5, ""},
		{"1e2", 100.0, ""},
		{"1e400", nil, "number 1e400 is out of range"},
	}
	for _, tt := range tests {
		got, err := exactNumber(json.Number(tt.in))
		if tt.err != "" {
			require.EqualError(t, err, tt.err)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tt.want, got, tt.in)
	}
	for _, tt := range []struct {
		v  any
		ok bool
	}{
		{int64(5), true}, {5.0, true}, {5.5, false}, {float64(1 << 63), false}, {-float64(1 << 63), true},
		{1e300, false}, {math.NaN(), false}, {math.Inf(1), false}, {"5", false}, {nil, false}, {json.Number("5"), false},
	} {
		_, ok := asInt64(tt.v)
		require.Equal(t, tt.ok, ok, "%v", tt.v)
	}
}

// TestConditionHugeIntegerOrdering: an integer literal beyond int64 is kept
// exact; an ordering comparison over it is an error naming the field, never
// a pass (a float64 rounding or an int64 wrap could make `n < 10` true).
func TestConditionHugeIntegerOrdering(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "reports/r.json", `{"ts_utc":"2026-02-26T01:59:00Z","n":18446744073709551626}`)
	r := runOne(t, root, config.Check{Name: "r", Kind: config.KindReport, Report: &config.ReportSpec{Path: "reports/r.json", Condition: `n < 10`}})
	require.Equal(t, VerdictError, r.Verdict, r.Text())
	require.Contains(t, r.Text(), `bad: reports/r.json: condition "n < 10" failed (n=18446744073709551626)`)
}

// TestDecodeLimitsAndScan: the structural walk bounds depth and values, and
// a scan keeps exactly the top-level keys asked for, whatever precedes them.
func TestDecodeLimitsAndScan(t *testing.T) {
	deep := strings.Repeat(`{"a":`, maxReportDepth+1) + "1" + strings.Repeat("}", maxReportDepth+1)
	_, err := decodeJSONObject(strings.NewReader(deep), nil)
	require.ErrorContains(t, err, "invalid JSON: nesting deeper than 512 at a.a.a")
	require.True(t, isBadContent(err))

	many := `{"rows":[` + strings.Repeat("0,", maxReportValues) + `0]}`
	_, err = decodeJSONObject(strings.NewReader(many), nil)
	require.EqualError(t, err, "invalid JSON: more than 262144 values")

	body := `{"a":{"ts_utc":"nested","b":[1,{"c":"}"}]},"n":-1.5e3 ,"ts_utc":"2026-02-26T01:55:00Z","t":true,"last_update_utc":null,"z":"x"}`
	obj, err := decodeJSONObject(strings.NewReader(body), func(k string) bool { return k == "ts_utc" || k == "last_update_utc" || k == "n" })
	require.NoError(t, err)
	require.Equal(t, map[string]any{"ts_utc": "2026-02-26T01:55:00Z", "last_update_utc": nil, "n": -1500.0}, obj)

	_, err = decodeJSONObject(strings.NewReader(`{"a":1,"b":{"x":1e999}}`), func(k string) bool { return k == "a" })
	require.NoError(t, err, "a value not kept is checked for syntax, not converted")
	_, err = decodeJSONObject(strings.NewReader(`{"a":1,"b":{"x":1,"x":2}}`), func(k string) bool { return k == "a" })
	require.EqualError(t, err, `invalid JSON: duplicate key "x"`, "duplicates are refused in values not kept too")
	_, err = decodeJSONObject(strings.NewReader(`{"a":{"k\u0022":1,"k\"":2}}`), nil)
	require.EqualError(t, err, `invalid JSON: duplicate key "k\""`)
}
