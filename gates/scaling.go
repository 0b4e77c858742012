package gates

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/strictcycle/strictcycle/config"
)

// WriteScalingTree writes n generated report files under root and returns a
// contract of n report checks over them: every third with a pass condition,
// every fifth reading the freshest of a glob. The gate-scaling benchmark and
// `strictcycle bench` measure on it.
func WriteScalingTree(root string, n int, now time.Time) (*config.Contract, error) {
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
		if err != nil {
			return nil, err
		}
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			return nil, err
		}
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
	return c, nil
}
