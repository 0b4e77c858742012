package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/simstack"
)

// BenchmarkGatesRealSize is `strictcycle gates --ci` with commands (the
// hbot-day28 contract: its command checks run the tree's scripts, the
// native checkers scan it) on the real-size tree (simstack.WriteRealSize,
// the 959d6cc shape); the Python runner took ~7 s there on 2 cores. The
// method and figures are in docs/PERFORMANCE.md.
//
//	go test ./starter/ -run '^$' -bench GatesRealSize -benchtime 10x
func BenchmarkGatesRealSize(b *testing.B) {
	const now = "2026-02-26T02:00:00Z"
	t, err := time.Parse(time.RFC3339, now)
	require.NoError(b, err)
	root := b.TempDir()
	_, err = simstack.WriteRealSize(root, t)
	require.NoError(b, err)
	out := b.TempDir()
	args := []string{"--root", root, "--ci", "--now", now, "--out", out}
	ctx := context.Background()
	for b.Loop() {
		if code := gatesCmd(ctx, args, io.Discard, io.Discard); code != 0 {
			b.Fatalf("strictcycle gates exit %d", code)
		}
	}
}
