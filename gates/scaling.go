package gates

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
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

// familyDirs are the three report families of the hbot tree that grow
// without bound on a live stack: one stamped file per producer cycle.
var familyDirs = []struct{ dir, prefix string }{
	{"reports/reconciliation", "reconciliation_"},
	{"reports/parity/20260226", "parity_"},
	{"reports/portfolio_risk", "portfolio_risk_"},
}

var tsUTCRE = regexp.MustCompile(`"ts_utc":\s*"[^"]*"`)

// WriteFamilyFiles adds n stamped reports to each of the three families of
// an hbot-shaped tree under root (reconciliation, parity, portfolio risk),
// as a live stack accumulates them: copies of the family's newest stamped
// report, stamped (name and ts_utc) one minute apart, all older than the
// existing files, so the tree's verdicts do not change. The family-scaling
// benchmark measures on it.
func WriteFamilyFiles(root string, n int) error {
	for _, f := range familyDirs {
		dir := filepath.Join(root, filepath.FromSlash(f.dir))
		matches, err := filepath.Glob(filepath.Join(dir, f.prefix+"*.json"))
		if err != nil || len(matches) == 0 {
			return fmt.Errorf("write family files: no %s*.json in %s", f.prefix, f.dir)
		}
		sort.Strings(matches)
		tmpl, err := os.ReadFile(matches[0])
		if err != nil {
			return fmt.Errorf("write family files: %w", err)
		}
		oldest, ok := nameStamp(filepath.Base(matches[0]))
		if !ok {
			return fmt.Errorf("write family files: %s has no stamp", matches[0])
		}
		for i := 1; i <= n; i++ {
			t := oldest.Truncate(time.Second).Add(-time.Duration(i) * time.Minute)
			body := tsUTCRE.ReplaceAll(tmpl, []byte(`"ts_utc": "`+t.Format("2006-01-02T15:04:05.000000+00:00")+`"`))
			p := filepath.Join(dir, f.prefix+t.Format("20060102T150405Z")+".json")
			if err := os.WriteFile(p, body, 0o644); err != nil {
				return fmt.Errorf("write family files: %w", err)
			}
		}
	}
	return nil
}
