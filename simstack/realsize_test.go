package simstack

import (
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The real-size tree has the 959d6cc shape: ~5 300 files the secrets scan
// reads, ~900/900/1 300 in the reconciliation, parity and portfolio-risk
// families.
func TestWriteRealSize(t *testing.T) {
	root := t.TempDir()
	now := time.Date(2026, 2, 26, 2, 0, 0, 0, time.UTC)
	st, err := WriteRealSize(root, now)
	require.NoError(t, err)
	text := map[string]bool{".md": true, ".txt": true, ".log": true, ".json": true, ".jsonl": true, ".csv": true, ".yaml": true, ".yml": true, ".env": true}
	scannable, families := 0, map[string]int{}
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		top, _, _ := strings.Cut(rel, "/")
		inLogs := top == "data" && strings.Contains("/"+rel, "/logs/")
		if (top == "docs" || top == "reports" || inLogs) && text[strings.ToLower(filepath.Ext(rel))] {
			scannable++
		}
		for _, fam := range []string{"reconciliation/reconciliation_", "parity/", "portfolio_risk/portfolio_risk_"} {
			if strings.HasPrefix(rel, "reports/"+fam) {
				families[fam]++
			}
		}
		return nil
	}))
	assert.InDelta(t, 5300, scannable, 100, "scannable files")
	assert.InDelta(t, 900, families["reconciliation/reconciliation_"], 30)
	assert.InDelta(t, 900, families["parity/"], 30)
	assert.InDelta(t, 1300, families["portfolio_risk/portfolio_risk_"], 50)
	assert.Greater(t, st.Bytes, int64(16<<20))
	t.Logf("%d scannable files, %d added (%.1f MiB)", scannable, st.Files, float64(st.Bytes)/(1<<20))

	again := t.TempDir()
	st2, err := WriteRealSize(again, now)
	require.NoError(t, err)
	assert.Equal(t, st, st2, "deterministic")
}
