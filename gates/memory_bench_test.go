package gates

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
)

// writeBigReport streams a report of about size bytes to root/rel: a fresh,
// passing object whose bulk is an array of small objects with a 200-byte
// note each (about 1 value per 80 bytes, so 8 MB stays under
// maxReportValues and is decoded in full).
func writeBigReport(tb testing.TB, root, rel string, size int) {
	tb.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	require.NoError(tb, os.MkdirAll(filepath.Dir(p), 0o755))
	f, err := os.Create(p)
	require.NoError(tb, err)
	w := bufio.NewWriter(f)
	n, _ := fmt.Fprint(w, `{"ts_utc":"2026-02-26T01:59:00Z","status":"ok","critical_count":0,"rows":[`)
	for i := 0; n < size-64; i++ {
		if i > 0 {
			k, _ := w.WriteString(",")
			n += k
		}
		k, _ := fmt.Fprintf(w, `{"stream":"s%d","n":%d,"note":"%0200d"}`, i%97, i, i)
		n += k
	}
	_, _ = w.WriteString("]}")
	require.NoError(tb, w.Flush())
	require.NoError(tb, f.Close())
}

// BenchmarkLargeReport measures one report check over a large report: its
// allocations per run (-benchmem) and, run alone under /usr/bin/time -v, the
// process's peak RSS. Sizes: 60 MB (under the old 64 MiB cap; refused by
// size now) and just under the 8 MiB cap (decoded in full). No figure is
// asserted.
//
//	go test ./gates/ -run '^$' -bench LargeReport -benchmem -benchtime 3x
func BenchmarkLargeReport(b *testing.B) {
	for _, size := range []int{60_000_000, 8_000_000} {
		b.Run(fmt.Sprintf("%dMB", size/1_000_000), func(b *testing.B) {
			root := b.TempDir()
			writeBigReport(b, root, "reports/big/latest.json", size)
			c := oneCheckContract(config.Check{Name: "r", Kind: config.KindReport, Report: &config.ReportSpec{
				Path: "reports/big/latest.json", Condition: `status == "ok" and critical_count == 0`}})
			e, err := New(c, Options{Root: root, Now: func() time.Time { return fixedNow }})
			require.NoError(b, err)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				rep, err := e.Run(context.Background(), RunOptions{RunID: "big"})
				if err != nil {
					b.Fatal(err)
				}
				if rep.Checks[0].Verdict == "" {
					b.Fatal("no verdict")
				}
			}
		})
	}
}

// BenchmarkLargeFamily: a freshest-of family of 8 reports of 7 MB each;
// only the decider is decoded, so the cost is about one report's, not
// eight.
//
//	go test ./gates/ -run '^$' -bench LargeFamily -benchmem -benchtime 3x
func BenchmarkLargeFamily(b *testing.B) {
	root := b.TempDir()
	for i := range 8 {
		writeBigReport(b, root, fmt.Sprintf("reports/big/big_%d.json", i), 7_000_000)
	}
	c := oneCheckContract(config.Check{Name: "r", Kind: config.KindReport, Report: &config.ReportSpec{
		Globs: []string{"reports/big/big_*.json"}, Condition: `status == "ok" and critical_count == 0`}})
	e, err := New(c, Options{Root: root, Now: func() time.Time { return fixedNow }})
	require.NoError(b, err)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.Run(context.Background(), RunOptions{RunID: "family"}); err != nil {
			b.Fatal(err)
		}
	}
}
