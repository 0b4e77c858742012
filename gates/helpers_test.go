package gates

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
)

var fixedNow = time.Date(2026, 2, 26, 2, 0, 0, 0, time.UTC)

// fixtureRoot is ../shared/fixtures/hbot-day28 relative to the repo root,
// computed from this file's location.
func fixtureRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	require.True(t, ok)
	root, err := filepath.Abs(filepath.Join(filepath.Dir(file), "..", "..", "shared", "fixtures", "hbot-day28"))
	require.NoError(t, err)
	return root
}

func writeFile(t testing.TB, root, rel, content string) string {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

func oneCheckContract(ck config.Check) *config.Contract {
	if ck.Severity == "" {
		ck.Severity = config.SeverityCritical
	}
	if ck.PassReason == "" {
		ck.PassReason = "ok"
	}
	if ck.FailReason == "" {
		ck.FailReason = "bad"
	}
	return &config.Contract{
		Name:      "test",
		Freshness: config.Freshness{Window: 15 * time.Minute, FutureSkew: 2 * time.Minute},
		Checks:    []config.Check{ck},
		Services:  map[string]config.Service{"svc": {}},
	}
}

func runOne(t testing.TB, root string, ck config.Check, mod ...func(*Options)) Result {
	t.Helper()
	opts := Options{Root: root, Now: func() time.Time { return fixedNow }}
	for _, m := range mod {
		m(&opts)
	}
	e, err := New(oneCheckContract(ck), opts)
	require.NoError(t, err)
	rep, err := e.Run(context.Background(), RunOptions{RunID: "test"})
	require.NoError(t, err)
	require.Len(t, rep.Checks, 1)
	return rep.Checks[0]
}

type stringsBuilder struct{ strings.Builder }
