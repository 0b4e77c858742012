package gates

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/simstack"
)

var fixedNow = time.Date(2026, 2, 26, 2, 0, 0, 0, time.UTC)

// day28Root generates a Day-28-shaped root aged against fixedNow
// (simstack.WriteDay28): with no options every check of hbot-day28 passes.
func day28Root(t testing.TB, mod ...func(*simstack.Day28Options)) string {
	t.Helper()
	o := simstack.Day28Options{Now: fixedNow}
	for _, m := range mod {
		m(&o)
	}
	root := t.TempDir()
	require.NoError(t, simstack.WriteDay28(root, o))
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
