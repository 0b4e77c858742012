package gates

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/simstack"
)

// realSizeRoot writes a real-size tree (simstack.WriteRealSize) at fixedNow.
func realSizeRoot(tb testing.TB) string {
	tb.Helper()
	root := tb.TempDir()
	_, err := simstack.WriteRealSize(root, fixedNow)
	require.NoError(tb, err)
	return root
}

// On the real-size tree the native checkers of hbot-day28 pass and the
// scan reads the tree's ~5 300 files (its reports included).
func TestNativeCheckersRealSize(t *testing.T) {
	root := realSizeRoot(t)
	c, err := config.LoadContract("hbot-day28")
	require.NoError(t, err)
	e, err := New(c, Options{Root: root, CI: true, Now: func() time.Time { return fixedNow }})
	require.NoError(t, err)
	start := time.Now()
	rep, err := e.Run(context.Background(), RunOptions{Only: []string{"multi_bot_policy_scope", "secrets_hygiene"}})
	require.NoError(t, err)
	t.Logf("both native checks: %s", time.Since(start))
	for _, r := range rep.Checks {
		assert.Equal(t, VerdictPass, r.Verdict, "%s: %s", r.Name, r.Reason)
	}
	sec := readSecretsReport(t, root)
	assert.InDelta(t, 5300, sec.ScannedFiles, 100)
	assert.Equal(t, 0, sec.FindingCount)
}

// BenchmarkSecretsHygieneRealSize is the native scan alone on the
// real-size tree (the original script: ~4.8 s on the 959d6cc tree).
//
//	go test ./gates/ -run '^$' -bench SecretsHygieneRealSize -benchtime 10x
func BenchmarkSecretsHygieneRealSize(b *testing.B) {
	root := realSizeRoot(b)
	c, err := config.LoadContract("hbot-day28")
	require.NoError(b, err)
	e, err := New(c, Options{Root: root, CI: true, Now: func() time.Time { return fixedNow }})
	require.NoError(b, err)
	ctx := context.Background()
	for b.Loop() {
		rep, err := e.Run(ctx, RunOptions{Only: []string{"secrets_hygiene"}})
		if err != nil || rep.Status != StatusPass {
			b.Fatalf("run: %v %v", err, rep.CriticalFailures)
		}
	}
}
