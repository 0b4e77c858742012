package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/cycletypes"
)

// Every field of a decision reaches the transition stream, the decision
// stream and strict_cycle_latest.json; decided_at is the time stamped on
// all three, and strict_gate_rc follows the Python contract (0 PASS, 2 FAIL).
func TestPublishDecisionCarriesEveryField(t *testing.T) {
	stream := fmt.Sprintf("sctest.%d.promotion_gate.fields", time.Now().UnixNano())
	transitions := stream + ".transitions"
	store, rdb, _ := testStore(t, stream, transitions)
	decided := time.Date(2026, 2, 24, 1, 28, 51, 0, time.UTC)
	a := New(Options{Store: store, Stream: stream, TransitionStream: transitions,
		Now: func() time.Time { return decided.Add(time.Hour) }})
	env := activityEnv(a)
	ctx := context.Background()

	for _, tt := range []struct {
		status string
		rc     float64
	}{{"PASS", 0}, {"FAIL", 2}} {
		root := t.TempDir()
		in := PublishDecisionInput{Environment: "prod", WorkflowID: "strictcycle-prod-cycle", RunID: "run-" + tt.status,
			Status: cycletypes.Status(tt.status), CriticalFailures: []string{"c1"}, EvidenceBundleID: "bundle-1",
			ArtifactPath: "/r/reports/promotion_gates/latest.json", Rounds: 2, Restarts: []string{"1:svc:restarted"},
			Reason: "why " + tt.status, DecidedAt: decided, Waived: []string{"w1"}, Root: root}
		_, err := env.ExecuteActivity(PublishDecisionName, &in)
		require.NoError(t, err)

		tr, err := rdb.XRange(ctx, transitions, "-", "+").Result()
		require.NoError(t, err)
		var tp map[string]any
		require.NoError(t, json.Unmarshal([]byte(tr[len(tr)-1].Values["payload"].(string)), &tp))
		for k, want := range map[string]any{
			"event_type": "promotion_gate_transition", "producer": "strictcycle", "ts_utc": "2026-02-24T01:28:51+00:00",
			"environment": "prod", "workflow_id": "strictcycle-prod-cycle", "run_id": in.RunID, "to_status": tt.status,
			"critical_failures": []any{"c1"}, "evidence_bundle_id": "bundle-1", "artifact_path": in.ArtifactPath,
			"waived": []any{"w1"}, "dry_run": false,
		} {
			require.Equal(t, want, tp[k], "transition field %s", k)
		}

		ds, err := rdb.XRange(ctx, stream, "-", "+").Result()
		require.NoError(t, err)
		var dp map[string]any
		require.NoError(t, json.Unmarshal([]byte(ds[len(ds)-1].Values["payload"].(string)), &dp))
		for k, want := range map[string]any{
			"event_type": "promotion_gate_decision", "ts_utc": "2026-02-24T01:28:51+00:00", "run_id": in.RunID,
			"evidence_bundle_id": "bundle-1", "rounds": float64(2), "reason": in.Reason, "workflow_id": in.WorkflowID,
		} {
			require.Equal(t, want, dp[k], "decision field %s", k)
		}

		b, err := os.ReadFile(filepath.Join(root, "reports", "promotion_gates", "strict_cycle_latest.json"))
		require.NoError(t, err)
		var file map[string]any
		require.NoError(t, json.Unmarshal(b, &file))
		for k, want := range map[string]any{
			"ts_utc": "2026-02-24T01:28:51+00:00", "strict_gate_rc": tt.rc, "strict_gate_status": tt.status,
			"critical_failures": []any{"c1"}, "environment": "prod", "workflow_id": "strictcycle-prod-cycle",
			"run_id": in.RunID, "reason": in.Reason, "rounds": float64(2), "restarts": []any{"1:svc:restarted"},
			"evidence_bundle_id": "bundle-1", "artifact_path": in.ArtifactPath, "waived": []any{"w1"}, "dry_run": false,
			"gate_latest_path": filepath.Join(root, "reports", "promotion_gates", "latest.json"),
		} {
			require.Equal(t, want, file[k], "strict_cycle_latest.json field %s", k)
		}
	}
}

// Without decided_at the activity stamps its own clock.
func TestPublishDecisionStampsNowWithoutDecidedAt(t *testing.T) {
	stream := fmt.Sprintf("sctest.%d.promotion_gate.now", time.Now().UnixNano())
	store, rdb, _ := testStore(t, stream, stream+".transitions")
	now := time.Date(2026, 3, 1, 2, 3, 4, 0, time.UTC)
	a := New(Options{Store: store, Stream: stream, TransitionStream: stream + ".transitions", Now: func() time.Time { return now }})
	_, err := activityEnv(a).ExecuteActivity(PublishDecisionName, &PublishDecisionInput{Environment: "prod", RunID: "r", Status: "PASS"})
	require.NoError(t, err)
	ds, err := rdb.XRange(context.Background(), stream, "-", "+").Result()
	require.NoError(t, err)
	var dp map[string]any
	require.NoError(t, json.Unmarshal([]byte(ds[0].Values["payload"].(string)), &dp))
	require.Equal(t, "2026-03-01T02:03:04+00:00", dp["ts_utc"])
	require.Equal(t, []any{}, dp["waived"])
	require.Equal(t, []any{}, dp["critical_failures"])
}

// Without a store the decision is an error, never a silent success.
func TestPublishDecisionWithoutStoreFails(t *testing.T) {
	a := New(Options{})
	_, err := activityEnv(a).ExecuteActivity(PublishDecisionName, &PublishDecisionInput{Environment: "prod", RunID: "r", Status: "PASS"})
	require.ErrorContains(t, err, `publish decision to "hb.promotion_gate.v1"`)
}

// A drill report that cannot be written is an error: a file where the
// reports/recovery directory should be.
func TestWriteDrillReportUnwritableFails(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "reports/recovery", "not a directory")
	a := New(Options{})
	_, err := activityEnv(a).ExecuteActivity(WriteDrillReportName, &DrillReport{Environment: "prod", Service: "s", Check: "c", Status: "pass", Root: root})
	require.Error(t, err)
	b, err := os.ReadFile(filepath.Join(root, "reports/recovery"))
	require.NoError(t, err)
	require.Equal(t, "not a directory", string(b))
}

// A dry-run decision written to strict_cycle_latest.json says so in the
// stdout lines its consumers print, with the Python lines first.
func TestPublishStrictCycleLatestMarksDryRun(t *testing.T) {
	root := t.TempDir()
	d := &PublishDecisionInput{Status: "FAIL", CriticalFailures: []string{"c1"}, DryRun: true, ArtifactPath: "/r/latest.json"}
	require.NoError(t, writeStrictCycleLatest(root, "2026-02-24T01:28:51+00:00", d))
	b, err := os.ReadFile(filepath.Join(root, "reports", "promotion_gates", "strict_cycle_latest.json"))
	require.NoError(t, err)
	var got struct {
		Stdout string `json:"stdout"`
		DryRun bool   `json:"dry_run"`
	}
	require.NoError(t, json.Unmarshal(b, &got))
	require.True(t, got.DryRun)
	require.Equal(t, "[promotion-gates] status=FAIL\n[promotion-gates] critical_failures=c1\n"+
		"[promotion-gates] dry_run=true\n[promotion-gates] evidence=/r/latest.json\n", got.Stdout)
}

// A drill report without steps lists none ([]), never null, and is stamped
// with the activity's clock when the workflow gave no time.
func TestWriteDrillReportEmptySteps(t *testing.T) {
	root := t.TempDir()
	now := time.Date(2026, 2, 22, 13, 21, 51, 0, time.UTC)
	a := New(Options{Now: func() time.Time { return now }})
	_, err := activityEnv(a).ExecuteActivity(WriteDrillReportName, &DrillReport{Environment: "prod", Service: "s", Check: "c", Status: "fail", Root: root})
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(root, "reports", "recovery", "latest.json"))
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(b, &got))
	require.Equal(t, []any{}, got["steps"])
	require.Equal(t, "2026-02-22T13:21:51+00:00", got["ts_utc"])
}

// A decision file that cannot be written fails the publication before
// Redis; a root that does not exist is bad input.
func TestPublishDecisionFileErrors(t *testing.T) {
	stream := fmt.Sprintf("sctest.%d.promotion_gate.fileerr", time.Now().UnixNano())
	store, rdb, _ := testStore(t, stream, stream+".transitions")
	a := New(Options{Store: store, Stream: stream, TransitionStream: stream + ".transitions"})
	root := t.TempDir()
	writeFile(t, root, "reports/promotion_gates/strict_cycle_latest.json/x", "a directory where the file goes")
	_, err := activityEnv(a).ExecuteActivity(PublishDecisionName, &PublishDecisionInput{Environment: "prod", RunID: "r", Status: "PASS", Root: root})
	require.Error(t, err)
	require.Zero(t, rdb.Exists(context.Background(), stream).Val(), "nothing published when the file failed")

	_, err = activityEnv(a).ExecuteActivity(PublishDecisionName, &PublishDecisionInput{Environment: "prod", RunID: "r", Status: "PASS", Root: filepath.Join(root, "missing")})
	require.ErrorContains(t, err, "write strict cycle latest")
}

// A drill report ends with a newline; a missing root is bad input; a
// latest.json that cannot be replaced is an error.
func TestWriteDrillReportFileErrors(t *testing.T) {
	a := New(Options{})
	env := activityEnv(a)
	root := t.TempDir()
	_, err := env.ExecuteActivity(WriteDrillReportName, &DrillReport{Environment: "prod", Service: "s", Check: "c", Status: "pass", Root: root})
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(root, "reports", "recovery", "latest.json"))
	require.NoError(t, err)
	require.True(t, len(b) > 0 && b[len(b)-1] == '\n', "ends with a newline")

	_, err = env.ExecuteActivity(WriteDrillReportName, &DrillReport{Environment: "prod", Service: "s", Check: "c", Status: "pass", Root: filepath.Join(root, "missing")})
	require.ErrorContains(t, err, "write drill report")

	other := t.TempDir()
	writeFile(t, other, "reports/recovery/latest.json/x", "a directory where the file goes")
	_, err = env.ExecuteActivity(WriteDrillReportName, &DrillReport{Environment: "prod", Service: "s", Check: "c", Status: "pass", Root: other})
	require.Error(t, err)
}
