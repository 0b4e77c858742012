package rootfs

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMatchPath(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"reports/risk_service/latest.json", "reports/risk_service/latest.json", true},
		{"reports/risk_service/latest.json", "reports/risk_service/.latest.json.tmp-1", false},
		{"reports/event_store/integrity_*.json", "reports/event_store/integrity_20260222.json", true},
		{"reports/event_store/integrity_*.json", "reports/event_store/sub/integrity_1.json", false},
		{"reports/parity/**/parity_*.json", "reports/parity/parity_1.json", true},
		{"reports/parity/**/parity_*.json", "reports/parity/a/b/parity_1.json", true},
		{"reports/parity/**/parity_*.json", "reports/other/parity_1.json", false},
		{"./reports/*.json", "reports/a.json", true},
		{"reports/[", "reports/[", false}, // a bad pattern matches nothing
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, MatchPath(tt.pattern, tt.name), "%s ~ %s", tt.pattern, tt.name)
	}
}

// TestMatchAgreesWithGlob: every file Glob returns matches its pattern, and
// every file it leaves out does not.
func TestMatchAgreesWithGlob(t *testing.T) {
	dir := t.TempDir()
	files := []string{"reports/parity/parity_1.json", "reports/parity/a/b/parity_2.json", "reports/parity/a/other.json", "reports/x/parity_3.json"}
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte("{}"), 0o644))
	}
	r, err := Open(dir)
	require.NoError(t, err)
	defer r.Close()
	const pattern = "reports/parity/**/parity_*.json"
	got, err := r.Glob(pattern)
	require.NoError(t, err)
	require.Equal(t, []string{"reports/parity/a/b/parity_2.json", "reports/parity/parity_1.json"}, got)
	for _, f := range files {
		require.Equal(t, slices.Contains(got, f), MatchPath(pattern, f), f)
	}
}
