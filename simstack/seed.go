// Package simstack is a simulated hbot stack: producers that write the real
// report formats under reports/ (and, optionally, envelopes to the hb.*
// Redis streams), run as separate OS processes so that a recovery drill can
// stop, kill and restart them, plus a seeded stack root that satisfies the
// static checks of the Day-28 gate contract.
package simstack

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// seedFS holds the static part of a stack root: small copies of the Day-28
// fixture's config, bot configs, controllers, compose block, preflight
// scripts (stubs) and docs.
//
//go:embed all:seed
var seedFS embed.FS

// StaleAge is how old the integrity report written by Seed is: far outside
// any freshness window, so that event_store_integrity_freshness starts stale
// until event-store-service runs.
const StaleAge = 2 * time.Hour

// Seed lays out a stack root at root: the static tree plus an integrity
// report that is StaleAge old. Existing files are overwritten; reports the
// producers wrote are left alone.
func Seed(root string) error {
	return SeedAt(root, time.Now())
}

// SeedAt is Seed with an explicit clock.
func SeedAt(root string, now time.Time) error {
	if err := seedStatic(root); err != nil {
		return err
	}
	if err := WriteStaleIntegrity(root, now.Add(-StaleAge)); err != nil {
		return fmt.Errorf("seed root %q: %w", root, err)
	}
	return nil
}

// seedStatic lays out the static tree (no report) at root.
func seedStatic(root string) error {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fmt.Errorf("create root %q: %w", root, err)
	}
	err := fs.WalkDir(seedFS, "seed", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel("seed", path)
		if err != nil {
			return err
		}
		dst := filepath.Join(root, filepath.FromSlash(rel))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := seedFS.ReadFile(path)
		if err != nil {
			return err
		}
		return writeFileAtomic(dst, b)
	})
	if err != nil {
		return fmt.Errorf("seed root %q: %w", root, err)
	}
	for _, dir := range []string{"reports", ".sim"} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			return fmt.Errorf("seed root %q: %w", root, err)
		}
	}
	return nil
}

// WriteStaleIntegrity writes an integrity report stamped at ts (a report
// event-store-service wrote before it stopped), both timestamps set to ts
// and the file mtime set to ts too, so that no fallback makes it look fresh.
func WriteStaleIntegrity(root string, ts time.Time) error {
	ts = ts.UTC()
	counts := map[string]int64{}
	var total int64
	for i, s := range IntegrityStreams {
		counts[s] = int64(100 * (i + 1))
		total += counts[s]
	}
	body, err := marshalReport(map[string]any{
		"total_events":              total,
		"events_by_stream":          counts,
		"missing_correlation_count": 0,
		"last_update_utc":           formatTS(ts),
		"ts_utc":                    formatTS(ts),
		"ingest_duration_ms_last":   3.2,
		"last_batch_size":           15,
	})
	if err != nil {
		return err
	}
	path := filepath.Join(root, "reports", "event_store", "integrity_"+ts.Format("20060102")+".json")
	if err := writeFileAtomic(path, body); err != nil {
		return err
	}
	if err := os.Chtimes(path, ts, ts); err != nil {
		return fmt.Errorf("set mtime %q: %w", path, err)
	}
	return nil
}
