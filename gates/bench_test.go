package gates

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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
