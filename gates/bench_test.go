package gates

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
)

// scalingContract writes n report files under root and returns a contract
// of n report checks over them: every third with a pass condition, every
// fifth reading the freshest of a glob. `strictcycle bench` builds the same
// tree for its scaling figure.
func scalingContract(tb testing.TB, root string, n int, now time.Time) *config.Contract {
	tb.Helper()
	c := &config.Contract{
		Name:      fmt.Sprintf("scaling-%d", n),
		Freshness: config.Freshness{Window: 15 * time.Minute, FutureSkew: 2 * time.Minute},
		Services:  map[string]config.Service{"svc": {}},
	}
	for i := range n {
		dir := fmt.Sprintf("reports/gen_%03d", i/50)
		rel := fmt.Sprintf("%s/report_%04d.json", dir, i)
		body, err := json.Marshal(map[string]any{
			"ts_utc": now.UTC().Format("2006-01-02T15:04:05.000000+00:00"), "status": "ok",
			"critical_count": 0, "service": fmt.Sprintf("svc-%d", i), "latency_ms": 12.5,
			"counts": map[string]int{"a": i, "b": 2 * i},
		})
		require.NoError(tb, err)
		writeFile(tb, root, rel, string(body))
		spec := &config.ReportSpec{Path: rel, TimestampKeys: []string{"ts_utc", "last_update_utc"}}
		if i%5 == 4 {
			spec = &config.ReportSpec{Globs: []string{fmt.Sprintf("%s/report_%04d.js*", dir, i)}, TimestampKeys: []string{"ts_utc"}}
		}
		if i%3 == 0 {
			spec.Condition = `(status == "ok" or status == "warning") and critical_count == 0`
		}
		c.Checks = append(c.Checks, config.Check{
			Name: fmt.Sprintf("report_%04d", i), Severity: config.SeverityCritical, Kind: config.KindReport,
			Producer: "svc", PassReason: "ok", FailReason: "bad", Report: spec,
		})
	}
	return c
}

// BenchmarkGateScaling measures how a gate run grows with the number of
// report checks; ns/check is the figure to compare across sizes.
//
//	go test ./gates/ -run '^$' -bench GateScaling -benchmem
func BenchmarkGateScaling(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			root := b.TempDir()
			c := scalingContract(b, root, n, fixedNow)
			e, err := New(c, Options{Root: root, NoCommands: true, Now: func() time.Time { return fixedNow }})
			require.NoError(b, err)
			ctx := context.Background()
			rep, err := e.Run(ctx, RunOptions{RunID: "bench"})
			require.NoError(b, err)
			require.Equal(b, StatusPass, rep.Status, rep.CriticalFailures)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := e.Run(ctx, RunOptions{RunID: "bench"}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/check")
		})
	}
}
