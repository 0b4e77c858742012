package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/strictcycle/strictcycle/cycletypes"
)

func TestPublishDecision(t *testing.T) {
	stream := fmt.Sprintf("sctest.%d.promotion_gate.v1", time.Now().UnixNano())
	transitions := stream + ".transitions"
	store, rdb, prefix := testStore(t, stream, transitions)
	now := time.Date(2026, 2, 24, 1, 28, 51, 174807000, time.UTC)
	a := New(Options{Store: store, Stream: stream, TransitionStream: transitions, Now: func() time.Time { return now }})
	env := activityEnv(a)
	ctx := context.Background()

	publish := func(in PublishDecisionInput) *PublishDecisionResult {
		t.Helper()
		v, err := env.ExecuteActivity(PublishDecisionName, &in)
		require.NoError(t, err)
		var res PublishDecisionResult
		require.NoError(t, v.Get(&res))
		return &res
	}
	fail := PublishDecisionInput{Environment: "prod", WorkflowID: "strict-cycle/prod", RunID: "run-1", Status: "FAIL",
		CriticalFailures: []string{"day2_event_store_gate"}, EvidenceBundleID: "abc", Rounds: 1}

	first := publish(fail)
	require.NotEmpty(t, first.StreamID)
	require.Equal(t, "", first.PreviousStatus)
	require.True(t, first.Transitioned, "no previous status: a transition from UNKNOWN")

	entries, err := rdb.XRange(ctx, stream, "-", "+").Result()
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, first.StreamID, entries[0].ID)
	require.Len(t, entries[0].Values, 1, "one field: payload")
	var payload map[string]any
	require.NoError(t, json.Unmarshal([]byte(entries[0].Values["payload"].(string)), &payload))
	require.Equal(t, "promotion_gate_decision", payload["event_type"])
	require.Equal(t, "strictcycle", payload["producer"])
	require.Equal(t, "2026-02-24T01:28:51.174807+00:00", payload["ts_utc"])
	require.Equal(t, "FAIL", payload["status"])
	require.Equal(t, []any{"day2_event_store_gate"}, payload["critical_failures"])
	require.Equal(t, []any{}, payload["restarts"])

	latest, err := rdb.Get(ctx, prefix+":prod:promotion_gate:latest").Result()
	require.NoError(t, err)
	var l map[string]any
	require.NoError(t, json.Unmarshal([]byte(latest), &l))
	require.Equal(t, "run-1", l["run_id"])
	require.Equal(t, first.StreamID, l["stream_id"])
	require.Equal(t, "FAIL", l["status"])

	tr, err := rdb.XRange(ctx, transitions, "-", "+").Result()
	require.NoError(t, err)
	require.Len(t, tr, 1)
	var tp map[string]any
	require.NoError(t, json.Unmarshal([]byte(tr[0].Values["payload"].(string)), &tp))
	require.Equal(t, "UNKNOWN", tp["from_status"])
	require.Equal(t, "FAIL", tp["to_status"])
	require.Equal(t, []any{"day2_event_store_gate"}, tp["critical_failures"])

	// A retry of the same run: nothing added, the stored id returned.
	again := publish(fail)
	require.Equal(t, first, again)
	require.Equal(t, int64(1), rdb.XLen(ctx, stream).Val())
	require.Equal(t, int64(1), rdb.XLen(ctx, transitions).Val())

	// The same status from a new run: a decision, no transition.
	fail.RunID = "run-2"
	second := publish(fail)
	require.Equal(t, "FAIL", second.PreviousStatus)
	require.False(t, second.Transitioned)
	require.Equal(t, int64(2), rdb.XLen(ctx, stream).Val())
	require.Equal(t, int64(1), rdb.XLen(ctx, transitions).Val())

	// FAIL -> PASS: a transition.
	pass := PublishDecisionInput{Environment: "prod", WorkflowID: "strict-cycle/prod", RunID: "run-3", Status: "PASS"}
	third := publish(pass)
	require.Equal(t, "FAIL", third.PreviousStatus)
	require.True(t, third.Transitioned)
	tr, err = rdb.XRange(ctx, transitions, "-", "+").Result()
	require.NoError(t, err)
	require.Len(t, tr, 2)
	require.NoError(t, json.Unmarshal([]byte(tr[1].Values["payload"].(string)), &tp))
	require.Equal(t, "FAIL", tp["from_status"])
	require.Equal(t, "PASS", tp["to_status"])
	require.Equal(t, []any{}, tp["critical_failures"])

	// Environments are independent.
	other := publish(PublishDecisionInput{Environment: "staging", RunID: "run-3", Status: "PASS"})
	require.True(t, other.Transitioned)
	require.Equal(t, "", other.PreviousStatus)
}

func TestPublishDecisionRedisDown(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", Password: "s3cret-pass", MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { rdb.Close() })
	a := New(Options{Store: NewRedisStore(rdb, "sctest")})
	_, err := activityEnv(a).ExecuteActivity(PublishDecisionName, &PublishDecisionInput{Environment: "prod", RunID: "r", Status: "PASS"})
	require.Error(t, err)
	require.Contains(t, err.Error(), `publish decision to "hb.promotion_gate.v1": dial tcp 127.0.0.1:1`)
	require.Contains(t, err.Error(), "connection refused")
	require.NotContains(t, err.Error(), "s3cret-pass")
	var ae *temporal.ApplicationError
	require.ErrorAs(t, err, &ae)
	require.False(t, ae.NonRetryable(), "redis down is retryable")
}

func TestPublishDecisionBadInput(t *testing.T) {
	a := New(Options{})
	_, err := activityEnv(a).ExecuteActivity(PublishDecisionName, &PublishDecisionInput{Environment: "prod"})
	var ae *temporal.ApplicationError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, ErrTypeBadInput, ae.Type())
	require.Equal(t, `publish decision to "hb.promotion_gate.v1": run_id and status are required`, ae.Message())
}

func TestWriteDrillReport(t *testing.T) {
	root := t.TempDir()
	now := time.Date(2026, 2, 22, 13, 21, 51, 0, time.UTC)
	a := New(Options{Now: func() time.Time { return now }})
	env := activityEnv(a)
	in := &DrillReport{Environment: "prod", WorkflowID: "drill/prod/event-store-service", Service: "event-store-service",
		Check: "event_store_integrity_freshness", Status: "pass", Root: root,
		Steps: []DrillStep{{Name: "stop", OK: true, Detail: "stopped", At: now}}}
	var paths []string
	for range 2 {
		v, err := env.ExecuteActivity(WriteDrillReportName, in)
		require.NoError(t, err)
		var res WriteDrillReportResult
		require.NoError(t, v.Get(&res))
		require.Equal(t, filepath.Join(root, "reports/recovery/latest.json"), res.Latest)
		paths = append(paths, res.Path)
	}
	require.Equal(t, []string{
		filepath.Join(root, "reports/recovery/recovery_drill_20260222T132151Z.json"),
		filepath.Join(root, "reports/recovery/recovery_drill_20260222T132151Z-1.json"),
	}, paths, "stamps never collide")
	b, err := os.ReadFile(filepath.Join(root, "reports/recovery/latest.json"))
	require.NoError(t, err)
	var got DrillReport
	require.NoError(t, json.Unmarshal(b, &got))
	// Python's isoformat: no fraction when the microseconds are zero.
	require.Equal(t, "2026-02-22T13:21:51+00:00", got.TsUTC)
	require.Equal(t, cycletypes.DrillStatusPass, got.Status)
	require.Len(t, got.Steps, 1)
	entries, err := os.ReadDir(filepath.Join(root, "reports/recovery"))
	require.NoError(t, err)
	require.Len(t, entries, 3, "no temp files left behind")

	_, err = env.ExecuteActivity(WriteDrillReportName, &DrillReport{})
	require.ErrorContains(t, err, "write drill report: no root")
}

// The decision also lands as reports/promotion_gates/strict_cycle_latest.json
// in the Python strict cycle's shape, before Redis is touched: with Redis
// down the file is still written.
func TestPublishDecisionWritesStrictCycleLatest(t *testing.T) {
	root := t.TempDir()
	now := time.Date(2026, 2, 24, 1, 28, 51, 174807000, time.UTC)
	a := New(Options{Store: NewRedisStore(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), "x"), Now: func() time.Time { return now }})
	env := activityEnv(a)
	_, err := env.ExecuteActivity(PublishDecisionName, &PublishDecisionInput{
		Environment: "prod", WorkflowID: "strictcycle-prod-cycle", RunID: "run-1", Status: "FAIL",
		CriticalFailures: []string{"day2_event_store_gate"}, ArtifactPath: "/r/reports/promotion_gates/promotion_gates_x.json",
		Rounds: 1, Restarts: []string{"1:ops-scheduler:restarted"}, Reason: "still failing", Root: root,
	})
	require.Error(t, err, "redis is down")
	b, err := os.ReadFile(filepath.Join(root, "reports", "promotion_gates", "strict_cycle_latest.json"))
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(b, &got))
	require.Equal(t, "2026-02-24T01:28:51.174807+00:00", got["ts_utc"])
	require.Equal(t, float64(2), got["strict_gate_rc"])
	require.Equal(t, "FAIL", got["strict_gate_status"])
	require.Equal(t, []any{"day2_event_store_gate"}, got["critical_failures"])
	require.Equal(t, filepath.Join(root, "reports", "promotion_gates", "latest.json"), got["gate_latest_path"])
	require.Equal(t, "[promotion-gates] status=FAIL\n[promotion-gates] critical_failures=day2_event_store_gate\n[promotion-gates] evidence=/r/reports/promotion_gates/promotion_gates_x.json\n", got["stdout"])
	require.Equal(t, "strictcycle-prod-cycle", got["workflow_id"])
}

// TestPublishMarkedDecisions: a PASS that relied on waivers and a dry-run
// decision carry waived and dry_run in the stream payload, the latest key,
// the transition and strict_cycle_latest.json; an unmarked decision says
// so with an empty list and false.
func TestPublishMarkedDecisions(t *testing.T) {
	stream := fmt.Sprintf("sctest.%d.marked.v1", time.Now().UnixNano())
	transitions := stream + ".transitions"
	store, rdb, prefix := testStore(t, stream, transitions)
	a := New(Options{Store: store, Stream: stream, TransitionStream: transitions})
	env := activityEnv(a)
	ctx := context.Background()
	decode := func(s string) map[string]any {
		t.Helper()
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(s), &m))
		return m
	}
	lastOf := func(s string) map[string]any {
		t.Helper()
		e, err := rdb.XRevRangeN(ctx, s, "+", "-", 1).Result()
		require.NoError(t, err)
		require.Len(t, e, 1)
		return decode(e[0].Values["payload"].(string))
	}
	tests := []struct {
		name   string
		in     PublishDecisionInput
		waived []any
		dryRun bool
	}{
		{"waived pass", PublishDecisionInput{RunID: "run-1", Status: "PASS", Waived: []string{"event_store_integrity_freshness"}, Root: t.TempDir()},
			[]any{"event_store_integrity_freshness"}, false},
		{"dry run", PublishDecisionInput{RunID: "run-2", Status: "FAIL", DryRun: true}, []any{}, true},
		{"plain", PublishDecisionInput{RunID: "run-3", Status: "PASS", Root: t.TempDir()}, []any{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Environment = "marked"
			_, err := env.ExecuteActivity(PublishDecisionName, &tt.in)
			require.NoError(t, err)
			payload := lastOf(stream)
			require.Equal(t, tt.in.RunID, payload["run_id"])
			require.Equal(t, tt.waived, payload["waived"])
			require.Equal(t, tt.dryRun, payload["dry_run"])
			tr := lastOf(transitions)
			require.Equal(t, tt.in.RunID, tr["run_id"], "every decision here changes the status")
			require.Equal(t, tt.waived, tr["waived"])
			require.Equal(t, tt.dryRun, tr["dry_run"])
			l, err := rdb.Get(ctx, prefix+":marked:promotion_gate:latest").Result()
			require.NoError(t, err)
			latest := decode(l)
			require.Equal(t, tt.waived, latest["waived"])
			require.Equal(t, tt.dryRun, latest["dry_run"])

			if tt.in.Root == "" {
				return
			}
			b, err := os.ReadFile(filepath.Join(tt.in.Root, "reports", "promotion_gates", "strict_cycle_latest.json"))
			require.NoError(t, err)
			file := decode(string(b))
			require.Equal(t, tt.waived, file["waived"])
			require.Equal(t, tt.dryRun, file["dry_run"])
			if len(tt.waived) > 0 {
				require.Contains(t, file["stdout"], "[promotion-gates] waived=event_store_integrity_freshness\n")
			} else {
				require.NotContains(t, file["stdout"], "waived=")
			}
		})
	}
}

// TestStrictCycleLatestStdoutCannotBeForged: names and paths with a newline
// stay on their line in the stdout field consumers print.
func TestStrictCycleLatestStdoutCannotBeForged(t *testing.T) {
	root := t.TempDir()
	d := &PublishDecisionInput{Status: "FAIL", CriticalFailures: []string{"c\n[promotion-gates] status=PASS"},
		Waived: []string{"w\r\n[promotion-gates] status=PASS"}, ArtifactPath: "/r/x\n[promotion-gates] status=PASS"}
	require.NoError(t, writeStrictCycleLatest(root, "2026-02-24T01:28:51+00:00", d))
	b, err := os.ReadFile(filepath.Join(root, "reports", "promotion_gates", "strict_cycle_latest.json"))
	require.NoError(t, err)
	var got struct {
		Stdout string `json:"stdout"`
	}
	require.NoError(t, json.Unmarshal(b, &got))
	require.Equal(t, "[promotion-gates] status=FAIL\n"+
		`[promotion-gates] critical_failures=c\n[promotion-gates] status=PASS`+"\n"+
		`[promotion-gates] waived=w\r\n[promotion-gates] status=PASS`+"\n"+
		`[promotion-gates] evidence=/r/x\n[promotion-gates] status=PASS`+"\n", got.Stdout)
}
