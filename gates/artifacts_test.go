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

func TestEvidenceBundleIDVectors(t *testing.T) {
	tests := []struct {
		name     string
		status   string
		failures []string
		paths    []string
		manifest string
		want     string
	}{
		{"spec vector 1", "FAIL", []string{"event_store_integrity_freshness"}, []string{"/r/a.json", "/r/b.json"}, "",
			"51207ffe4a0be4370af082c48c6249eacdff6753794bc6ebbd5de16e685c0030"},
		{"spec vector 2", "PASS", []string{}, []string{}, "",
			"ff62f63965dfa442c28517acb4ddbc05a33c42b95ab1e6e9468c0c896b2230d9"},
		{"nil lists equal empty", "PASS", nil, nil, "",
			"ff62f63965dfa442c28517acb4ddbc05a33c42b95ab1e6e9468c0c896b2230d9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, EvidenceBundleID(tt.status, tt.failures, tt.paths, tt.manifest))
		})
	}
}

func TestPyStringEscapes(t *testing.T) {
	tests := []struct{ in, want string }{
		{`a"b\c`, `"a\"b\\c"`},
		{"\n\r\t\b\f\x01\x7f", `"\n\r\t\b\f\u0001\u007f"`},
		{"em\u2014dash", `"em\u2014dash"`},
		{"\U0001F600", `"\ud83d\ude00"`},
		{`F:\Env\hbot`, `"F:\\Env\\hbot"`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			var b stringsBuilder
			pyString(&b.Builder, tt.in)
			assert.Equal(t, tt.want, b.String())
		})
	}
}

func TestMarshalReportEnsureASCII(t *testing.T) {
	r := &Report{Status: "FAIL", CriticalFailures: []string{}, Checks: []Result{{Name: "x", Reason: "paper soak not PASS or missing \u2014 Level 3 <a&b>", EvidencePaths: []string{}}}}
	js, err := MarshalReport(r)
	require.NoError(t, err)
	assert.Contains(t, string(js), `"reason": "paper soak not PASS or missing \u2014 Level 3 <a&b>"`)
	assert.Contains(t, string(js), "{\n  \"ts_utc\": \"\",\n  \"status\": \"FAIL\",\n  \"validation_level\": 0,\n  \"critical_failures\": [],\n  \"checks\": [\n    {\n      \"name\": \"x\",")
	var back map[string]any
	require.NoError(t, json.Unmarshal(js, &back))
}

func TestWriteTwiceWithinOneSecond(t *testing.T) {
	out := t.TempDir()
	r1 := &Report{TsUTC: "2026-02-26T02:00:00.100000+00:00", Status: "FAIL", RunID: "one", CriticalFailures: []string{"a"}}
	r2 := &Report{TsUTC: "2026-02-26T02:00:00.900000+00:00", Status: "PASS", RunID: "two", CriticalFailures: []string{}}
	a1, err := Write(out, r1)
	require.NoError(t, err)
	a2, err := Write(out, r2)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(out, "promotion_gates_20260226T020000Z.json"), a1.JSON)
	assert.Equal(t, filepath.Join(out, "promotion_gates_20260226T020000Z_2.json"), a2.JSON)
	assert.Equal(t, filepath.Join(out, "promotion_gates_20260226T020000Z_2.md"), a2.Markdown)
	first, err := os.ReadFile(a1.JSON)
	require.NoError(t, err)
	assert.Contains(t, string(first), `"run_id": "one"`)
	latest, err := os.ReadFile(a2.LatestJSON)
	require.NoError(t, err)
	second, err := os.ReadFile(a2.JSON)
	require.NoError(t, err)
	assert.Equal(t, string(second), string(latest))
	latestMD, err := os.ReadFile(a2.LatestMD)
	require.NoError(t, err)
	assert.Contains(t, string(latestMD), "- status: PASS\n")
	entries, err := os.ReadDir(out)
	require.NoError(t, err)
	assert.Len(t, entries, 6, "no temp files left behind")
}

func TestNewErrors(t *testing.T) {
	c, err := config.LoadContract("hbot-day28")
	require.NoError(t, err)
	bad := *c
	bad.Checks = append([]config.Check{}, c.Checks...)
	bad.Checks[7].Report = &config.ReportSpec{Path: "x.json", Condition: "status =="}
	tests := []struct {
		name string
		c    *config.Contract
		root string
		want string
	}{
		{"empty root", c, "", "new engine: empty root"},
		{"missing root", c, "/nonexistent/root", `new engine: root "/nonexistent/root": stat /nonexistent/root: no such file or directory`},
		{"bad condition", &bad, t.TempDir(), `new engine for contract "hbot-day28": validate contract: checks[7] (paper_smoke_matrix): report.condition: compile "status ==": unexpected token EOF (1:9)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.c, Options{Root: tt.root})
			require.EqualError(t, err, tt.want)
		})
	}
}

func BenchmarkDay28(b *testing.B) {
	c, err := config.LoadContract("hbot-day28")
	require.NoError(b, err)
	e, err := New(c, Options{Root: day28Root(b), CI: true, NoCommands: true, Now: func() time.Time { return fixedNow }})
	require.NoError(b, err)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Run(ctx, RunOptions{RunID: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzReportCheck(f *testing.F) {
	f.Add([]byte(`{"ts_utc":"2026-02-26T01:59:00Z","status":"ok","critical_count":0}`))
	f.Add([]byte(`{"ts_utc":"2026-02-26T01:59:00","status":"ok","critical_count":null}`))
	f.Add([]byte(`not json`))
	f.Add([]byte(`[]`))
	root := f.TempDir()
	c := oneCheckContract(config.Check{Name: "r", Kind: config.KindReport, Report: &config.ReportSpec{
		Path: "r.json", TimestampKeys: []string{"ts_utc", "last_update_utc"},
		Condition: `(status == "ok" or status == "warning") and critical_count == 0`}})
	e, err := New(c, Options{Root: root, Now: func() time.Time { return fixedNow }})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(root, "r.json")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		rep, err := e.Run(context.Background(), RunOptions{RunID: "fuzz"})
		if err != nil {
			t.Fatal(err)
		}
		var obj map[string]any
		if json.Unmarshal(data, &obj) != nil && rep.Checks[0].Pass {
			t.Fatalf("non-JSON-object input passed: %q", data)
		}
	})
}
