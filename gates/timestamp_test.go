package gates

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
)

func TestParseTimestamp(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want time.Time
		err  error
	}{
		{"Z", "2026-02-22T13:11:09Z", time.Date(2026, 2, 22, 13, 11, 9, 0, time.UTC), nil},
		{"plus zero", "2026-02-22T13:11:09+00:00", time.Date(2026, 2, 22, 13, 11, 9, 0, time.UTC), nil},
		{"minus five", "2026-02-22T08:11:09-05:00", time.Date(2026, 2, 22, 13, 11, 9, 0, time.UTC), nil},
		{"fractional", "2026-02-22T13:11:09.384578+00:00", time.Date(2026, 2, 22, 13, 11, 9, 384578000, time.UTC), nil},
		{"space separator", "2026-02-22 13:11:09+00:00", time.Date(2026, 2, 22, 13, 11, 9, 0, time.UTC), nil},
		{"compact offset", "2026-02-22T13:11:09+0000", time.Date(2026, 2, 22, 13, 11, 9, 0, time.UTC), nil},
		{"naive", "2026-02-22T13:11:09", time.Time{}, errNaive},
		{"naive fractional", "2026-02-22T13:11:09.5", time.Time{}, errNaive},
		{"date only", "2026-02-22", time.Time{}, errNaive},
		{"garbage", "yesterday", time.Time{}, errGarbage},
		{"empty", "", time.Time{}, errGarbage},
		{"bad month", "2026-13-22T13:11:09Z", time.Time{}, errGarbage},
		{"trailing space", "2026-02-22T13:11:09+00:00 ", time.Time{}, errGarbage},
		{"leading space", " 2026-02-22T13:11:09+00:00", time.Time{}, errGarbage},
		{"trailing newline", "2026-02-22T13:11:09Z\n", time.Time{}, errGarbage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTimestamp(tt.in)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.True(t, tt.want.Equal(got), "got %s", got)
		})
	}
}

// TestReportTimestamps runs one report check over a report whose timestamp
// varies, with the clock fixed at 2026-02-26T02:00:00Z and a 15m window.
func TestReportTimestamps(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		keys       []string
		allowMtime bool
		mtime      time.Time
		verdict    Verdict
		reason     string
		source     string
		age        float64
	}{
		{name: "Z", body: `{"ts_utc":"2026-02-26T01:50:00Z"}`, verdict: VerdictPass, reason: "ok", source: "ts_utc", age: 10},
		{name: "plus zero offset", body: `{"ts_utc":"2026-02-26T01:50:00+00:00"}`, verdict: VerdictPass, reason: "ok", source: "ts_utc", age: 10},
		{name: "minus five offset", body: `{"ts_utc":"2026-02-25T20:50:00-05:00"}`, verdict: VerdictPass, reason: "ok", source: "ts_utc", age: 10},
		{name: "fractional", body: `{"ts_utc":"2026-02-26T01:50:28.284514+00:00"}`, verdict: VerdictPass, reason: "ok", source: "ts_utc", age: 9.53},
		{name: "naive", body: `{"ts_utc":"2026-02-26T01:50:00"}`, verdict: VerdictError,
			reason: `bad: reports/r.json: ts_utc "2026-02-26T01:50:00" has no UTC offset`},
		{name: "future beyond skew", body: `{"ts_utc":"2026-02-26T03:13:57.337492+00:00"}`, verdict: VerdictStale,
			reason: "bad: stale: ts_utc 2026-02-26T03:13:57Z is in the future by 74.0m (skew allowed 2m)", source: "ts_utc", age: -73.96},
		{name: "future within skew", body: `{"ts_utc":"2026-02-26T02:01:00Z"}`, verdict: VerdictPass, reason: "ok", source: "ts_utc", age: -1},
		{name: "stale", body: `{"ts_utc":"2026-02-26T01:00:00Z"}`, verdict: VerdictStale,
			reason: "bad: stale: age 60.0m > 15m (ts_utc 2026-02-26T01:00:00Z)", source: "ts_utc", age: 60},
		{name: "garbage", body: `{"ts_utc":"yesterday"}`, verdict: VerdictError,
			reason: `bad: reports/r.json: ts_utc "yesterday" is not an ISO-8601 timestamp`},
		{name: "non-string number", body: `{"ts_utc":1772070000}`, verdict: VerdictError,
			reason: "bad: reports/r.json: ts_utc is not a string (got number 1772070000)"},
		{name: "missing key, mtime not allowed", body: `{"status":"pass"}`, verdict: VerdictError,
			reason: "bad: reports/r.json: no timestamp (ts_utc absent) and mtime not allowed"},
		{name: "missing key, mtime allowed", body: `{"status":"pass"}`, allowMtime: true, mtime: fixedNow.Add(-5 * time.Minute),
			verdict: VerdictPass, reason: "ok", source: "mtime", age: 5},
		{name: "mtime allowed but old", body: `{}`, allowMtime: true, mtime: fixedNow.Add(-time.Hour), verdict: VerdictStale,
			reason: "bad: stale: age 60.0m > 15m (mtime 2026-02-26T01:00:00Z)", source: "mtime", age: 60},
		{name: "present key wins over mtime", body: `{"ts_utc":"2026-02-26T01:00:00Z"}`, allowMtime: true, mtime: fixedNow, verdict: VerdictStale,
			reason: "bad: stale: age 60.0m > 15m (ts_utc 2026-02-26T01:00:00Z)", source: "ts_utc", age: 60},
		{name: "empty ts falls to next key", body: `{"ts_utc":"","last_update_utc":"2026-02-26T01:51:08.052868+00:00"}`,
			keys: []string{"ts_utc", "last_update_utc"}, verdict: VerdictPass, reason: "ok", source: "last_update_utc", age: 8.87},
		{name: "null ts falls to next key", body: `{"ts_utc":null,"last_update_utc":"2026-02-22T08:15:00Z"}`,
			keys: []string{"ts_utc", "last_update_utc"}, verdict: VerdictStale,
			reason: "bad: stale: age 5385.0m > 15m (last_update_utc 2026-02-22T08:15:00Z)", source: "last_update_utc", age: 5385},
		{name: "not an object", body: `[1,2]`, verdict: VerdictError, reason: "bad: reports/r.json: not a JSON object (got array)"},
		{name: "not JSON", body: `{"ts_utc":`, verdict: VerdictError, reason: "bad: reports/r.json: invalid JSON: unexpected end of JSON input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			p := writeFile(t, root, "reports/r.json", tt.body)
			if !tt.mtime.IsZero() {
				require.NoError(t, os.Chtimes(p, tt.mtime, tt.mtime))
			}
			r := runOne(t, root, config.Check{Name: "r", Kind: config.KindReport, Report: &config.ReportSpec{
				Path: "reports/r.json", TimestampKeys: tt.keys, AllowMtime: tt.allowMtime}})
			assert.Equal(t, tt.verdict, r.Verdict)
			assert.Equal(t, tt.reason, r.Text())
			if tt.source != "" {
				assert.Equal(t, tt.source, r.TSSource)
				require.NotNil(t, r.AgeMinutes)
				assert.InDelta(t, tt.age, *r.AgeMinutes, 0.01)
			}
			assert.Equal(t, []string{filepath.Join(root, "reports", "r.json")}, r.EvidencePaths)
		})
	}
}

func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{"2026-02-22T13:11:09Z", "2026-02-22T13:11:09.384578+00:00", "2026-02-22T13:11:09", "", "x", "2026-02-22 13:11:09-05:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTimestamp(s)
		if err == nil && got.Location() != time.UTC {
			t.Fatalf("%q parsed to a non-UTC time", s)
		}
	})
}
