package simstack

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The probe passes on a fresh report, fails on an old one with the file,
// age and limit named, and fails closed on a bad limit or a missing file.
func TestHealthProbe(t *testing.T) {
	root := t.TempDir()
	now := time.Now()
	p, err := NewProducer(root, Reconciliation, ProducerOptions{})
	require.NoError(t, err)
	require.NoError(t, p.WriteOnce(t.Context()))
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }

	msg, err := Health(root, Reconciliation, now, getenv)
	require.NoError(t, err)
	require.Contains(t, msg, "reports/reconciliation/latest.json")

	old := now.Add(-time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(root, "reports/reconciliation/latest.json"), old, old))
	env["RECON_HEALTH_MAX_SEC"] = "60"
	_, err = Health(root, Reconciliation, now, getenv)
	require.ErrorContains(t, err, "reports/reconciliation/latest.json is 3600.0s old > RECON_HEALTH_MAX_SEC=60")

	env["RECON_HEALTH_MAX_SEC"] = "soon"
	_, err = Health(root, Reconciliation, now, getenv)
	require.ErrorContains(t, err, `RECON_HEALTH_MAX_SEC="soon" is not a positive number`)

	_, err = Health(root, EventStore, now, getenv)
	require.ErrorContains(t, err, "no file matches reports/event_store/integrity_*.json")
	_, err = Health(root, "nope", now, getenv)
	require.ErrorContains(t, err, "unknown service")

	// ops-scheduler also needs alive_threads > 0.
	ops, err := NewProducer(root, OpsScheduler, ProducerOptions{})
	require.NoError(t, err)
	require.NoError(t, ops.WriteOnce(t.Context()))
	_, err = Health(root, OpsScheduler, time.Now(), getenv)
	require.NoError(t, err)
	hb := filepath.Join(root, "reports/ops_scheduler/heartbeat.json")
	require.NoError(t, os.WriteFile(hb, []byte(`{"alive_threads":0}`), 0o644))
	_, err = Health(root, OpsScheduler, time.Now(), getenv)
	require.ErrorContains(t, err, "alive_threads is missing or not above 0")
}
