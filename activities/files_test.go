package activities

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/strictcycle/strictcycle/gates"
)

// TestArtifactStatusHostile: the replay artifact is read through rootfs: a
// link to /dev/zero (OOM before), a FIFO (a hang before), a file outside
// the root, a directory, a file over the cap give a clear error naming the
// artifact, at once; a regular report gives its status.
func TestArtifactStatusHostile(t *testing.T) {
	const rel = "reports/replay_regression/latest.json"
	outside := t.TempDir()
	writeFile(t, outside, "secret.json", `{"status":"pass"}`)
	tests := []struct {
		name   string
		setup  func(t *testing.T, p string)
		status string
		err    string
	}{
		{"regular", func(t *testing.T, p string) {
			require.NoError(t, os.WriteFile(p, []byte(`{"status":"pass","n":1}`), 0o644))
		}, "pass", ""},
		{"link to /dev/zero", func(t *testing.T, p string) {
			require.NoError(t, os.Symlink("/dev/zero", p))
		}, "", `read replay artifact "` + rel + `": open ` + rel + `: path escapes from parent: a symlink on the way leads outside the stack root`},
		{"link outside the root", func(t *testing.T, p string) {
			require.NoError(t, os.Symlink(filepath.Join(outside, "secret.json"), p))
		}, "", `read replay artifact "` + rel + `": open ` + rel + `: path escapes from parent: a symlink on the way leads outside the stack root`},
		{"FIFO", func(t *testing.T, p string) {
			require.NoError(t, syscall.Mkfifo(p, 0o644))
		}, "", `read replay artifact "` + rel + `": ` + rel + `: a FIFO: not a regular file`},
		{"directory", func(t *testing.T, p string) {
			require.NoError(t, os.Mkdir(p, 0o755))
		}, "", `read replay artifact "` + rel + `": ` + rel + `: a directory: not a regular file`},
		{"over the cap", func(t *testing.T, p string) {
			require.NoError(t, os.WriteFile(p, []byte("{"), 0o644))
			require.NoError(t, os.Truncate(p, gates.MaxReportBytes+1))
		}, "", `read replay artifact "` + rel + `": ` + rel + `: 8388609 bytes: larger than the size cap of 8388608 bytes`},
		{"status not a string", func(t *testing.T, p string) {
			require.NoError(t, os.WriteFile(p, []byte(`{"status":1}`), 0o644))
		}, "", `decode replay artifact "` + rel + `": field status is float64, want a string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			p := filepath.Join(root, filepath.FromSlash(rel))
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			tt.setup(t, p)
			type result struct {
				status string
				err    error
			}
			done := make(chan result, 1)
			go func() {
				s, err := artifactStatus(root, rel)
				done <- result{s, err}
			}()
			var got result
			select {
			case got = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("reading the replay artifact hangs")
			}
			if tt.err != "" {
				require.EqualError(t, got.err, tt.err)
				return
			}
			require.NoError(t, got.err)
			require.Equal(t, tt.status, got.status)
		})
	}
}

// TestDecisionFilesRefuseSymlinkOut: reports/promotion_gates and
// reports/recovery symlinked out of the stack root are refused; nothing is
// written outside.
func TestDecisionFilesRefuseSymlinkOut(t *testing.T) {
	now := time.Date(2026, 2, 22, 13, 21, 51, 0, time.UTC)
	a := New(Options{Now: func() time.Time { return now }})
	env := activityEnv(a)

	t.Run("drill report", func(t *testing.T) {
		root, outside := t.TempDir(), t.TempDir()
		require.NoError(t, os.MkdirAll(filepath.Join(root, "reports"), 0o755))
		require.NoError(t, os.Symlink(outside, filepath.Join(root, "reports", "recovery")))
		_, err := env.ExecuteActivity(WriteDrillReportName, &DrillReport{Environment: "prod", Service: "s", Status: "pass", Root: root})
		require.Error(t, err)
		require.Contains(t, err.Error(), "leads outside the stack root")
		entries, err := os.ReadDir(outside)
		require.NoError(t, err)
		require.Empty(t, entries)
	})
	t.Run("strict cycle latest", func(t *testing.T) {
		root, outside := t.TempDir(), t.TempDir()
		require.NoError(t, os.Symlink(outside, filepath.Join(root, "reports")))
		err := writeStrictCycleLatest(root, "2026-02-22T13:21:51.000000+00:00", &PublishDecisionInput{RunID: "r", Status: "PASS"})
		require.Error(t, err)
		require.Contains(t, err.Error(), "leads outside the stack root")
		entries, err := os.ReadDir(outside)
		require.NoError(t, err)
		require.Empty(t, entries)
	})
	t.Run("gate artifacts", func(t *testing.T) {
		contract := loadTestContract(t, nil)
		root, outside := t.TempDir(), t.TempDir()
		require.NoError(t, os.MkdirAll(filepath.Join(root, "reports"), 0o755))
		require.NoError(t, os.Symlink(outside, filepath.Join(root, "reports", "promotion_gates")))
		_, err := env.ExecuteActivity(EvaluateGatesName, &EvaluateGatesInput{
			Target: Target{Environment: "test", Root: root, Contract: contract}, RunID: "run-1", WriteArtifacts: true})
		require.Error(t, err)
		require.Contains(t, err.Error(), "leads outside the stack root")
		entries, err := os.ReadDir(outside)
		require.NoError(t, err)
		require.Empty(t, entries)
	})
	t.Run("missing root is a bad input", func(t *testing.T) {
		_, err := env.ExecuteActivity(WriteDrillReportName, &DrillReport{Environment: "prod", Root: filepath.Join(t.TempDir(), "nope")})
		var ae *temporal.ApplicationError
		require.ErrorAs(t, err, &ae)
		require.Equal(t, ErrTypeBadInput, ae.Type())
	})
}
