package gates

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
)

// BenchmarkGateScaling measures how a gate run grows with the number of
// report checks; ns/check is the figure to compare across sizes.
//
//	go test ./gates/ -run '^$' -bench GateScaling -benchmem
func BenchmarkGateScaling(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			root := b.TempDir()
			c, err := WriteScalingTree(root, n, fixedNow)
			require.NoError(b, err)
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

// copyTree copies the regular files and directories of src to dst, writable.
func copyTree(tb testing.TB, src, dst string) {
	tb.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, data, 0o644)
	})
	require.NoError(tb, err)
}

// BenchmarkFamilies runs the hbot-day28 checks on a generated Day-28 tree,
// plain and with 1 000 extra stamped reports in each of three families:
// the ratio of the two is the cost of a real-size tree. The shipped
// hbot-day28 reads latest.json only (as the Day-28 runner did), so the
// three report checks read their families here as hbot-head reads them
// (familyContract); the benchmark fails if they do not see the extra
// files. "warm" reuses one engine (its caches serve unchanged files and
// directories); "shared" builds a new engine for every run on one shared
// Cache (a worker that builds an engine per activity call and shares a
// Cache); "cold" builds a new engine with nothing cached for every run (a
// one-shot `starter gates`).
//
//	go test ./gates/ -run '^$' -bench Families -benchmem
func BenchmarkFamilies(b *testing.B) {
	for _, mode := range []string{"warm", "shared", "cold"} {
		for _, extra := range []int{0, 1000} {
			b.Run(fmt.Sprintf("%s/extra=%d", mode, extra), func(b *testing.B) {
				root := day28Root(b)
				if extra > 0 {
					require.NoError(b, WriteFamilyFiles(root, extra))
				}
				c := familyContract(b)
				shared := NewCache()
				engine := func() *Engine {
					opts := Options{Root: root, CI: true, NoCommands: true, Now: func() time.Time { return fixedNow }}
					if mode == "shared" {
						opts.Cache = shared
					}
					e, err := New(c, opts)
					require.NoError(b, err)
					// The copy was just written; on a live stack all but the
					// newest reports are older than the caches' racy window.
					// Their clocks run ahead so the copy counts as old.
					ahead := func() time.Time { return time.Now().Add(time.Hour) }
					e.cache.parsed.now, e.dirs.Now = ahead, ahead
					return e
				}
				e := engine()
				ctx := context.Background()
				rep, err := e.Run(ctx, RunOptions{RunID: "bench"})
				require.NoError(b, err)
				requireFamiliesRead(b, rep, extra)
				b.ReportAllocs()
				b.ResetTimer()
				cpu0, sys0 := cpuTime(), sysTime()
				for b.Loop() {
					if mode != "warm" {
						e = engine()
					}
					if _, err := e.Run(ctx, RunOptions{RunID: "bench"}); err != nil {
						b.Fatal(err)
					}
				}
				// CPU time per run: on a shared, loaded machine it varies
				// far less than wall time. sys-ns/op is the kernel's part
				// of it (directory reads, opens, stats).
				b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
				b.ReportMetric(float64((sysTime()-sys0).Nanoseconds())/float64(b.N), "sys-ns/op")
			})
		}
	}
}

// familyChecks are the checks of hbot-day28 that judge the freshest of a
// report family, with the family's glob (as hbot-head reads them).
var familyChecks = map[string]string{
	"reconciliation_status": "reports/reconciliation/reconciliation_*.json",
	"parity_thresholds":     "reports/parity/**/parity_*.json",
	"portfolio_risk_status": "reports/portfolio_risk/portfolio_risk_*.json",
}

// familyContract is hbot-day28 with its three family checks reading
// latest.json and every stamped report of the family, newest decides.
func familyContract(tb testing.TB) *config.Contract {
	tb.Helper()
	c, err := config.LoadContract("hbot-day28")
	require.NoError(tb, err)
	n := 0
	for i := range c.Checks {
		glob, ok := familyChecks[c.Checks[i].Name]
		if !ok {
			continue
		}
		r := *c.Checks[i].Report
		r.Paths, r.Path = []string{r.Path}, ""
		r.Globs = []string{glob}
		r.TimestampKeys = []string{"ts_utc", "last_update_utc"}
		c.Checks[i].Report = &r
		n++
	}
	require.Equal(tb, len(familyChecks), n)
	return c
}

// requireFamiliesRead fails unless every family check passed and chose
// among more than extra candidates: a benchmark whose contract no longer
// lists the families would measure nothing.
func requireFamiliesRead(tb testing.TB, rep *Report, extra int) {
	tb.Helper()
	require.Equal(tb, StatusPass, rep.Status, rep.CriticalFailures)
	seen := 0
	for _, r := range rep.Checks {
		if _, ok := familyChecks[r.Name]; !ok {
			continue
		}
		seen++
		m := candidatesRE.FindStringSubmatch(r.Chosen)
		require.NotNil(tb, m, "%s chose %q", r.Name, r.Chosen)
		n, err := strconv.Atoi(m[1])
		require.NoError(tb, err)
		require.Greater(tb, n, extra, "%s chose %q", r.Name, r.Chosen)
	}
	require.Equal(tb, len(familyChecks), seen)
}

var candidatesRE = regexp.MustCompile(` of (\d+) candidates`)

// sysTime is the system CPU time of this process so far.
func sysTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Stime.Nano())
}

// cpuTime is the user and system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
