package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/strictcycle/strictcycle/activities"
	"github.com/strictcycle/strictcycle/workflows"
)

// The timeline of a committed history (recorded from a real run) names
// every step an engineer looks for.
func TestTimelineOfCommittedHistories(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"strict_cycle_restart_pass.json", []string{
			"StrictCycle started", "DescribeContract", "RunReplay", "gate run: FAIL",
			"STALE event_store_integrity_freshness", "wait for natural refresh of event-store-service",
			"event-store-service restarted via exec", "watch after restart event-store-service",
			"recheck event_store_integrity_freshness: PASS", "published as", "decision PASS — passed after 1 restart(s) in 1 round(s)",
		}},
		{"strict_cycle_fail_closed.json", []string{
			"FAIL strategy_catalog_consistency", "decision FAIL — non-recoverable critical failure: strategy_catalog_consistency (fail)",
		}},
		{"scheduled_cycle_skipped.json", []string{
			"ScheduledCycle started", "skipped: cycle strictcycle-e2eteste2escheduleandmanualexclusive-cycle running",
		}},
		{"scheduled_cycle_ran.json", []string{
			"ScheduledCycle started", "cycle strictcycle-e2eteste2escheduleandmanualexclusive-cycle run ", ": FAIL — aborted by op: scheduled one",
		}},
		{"recovery_drill_pass.json", []string{
			"RecoveryDrill started", "stop event-store-service via exec", "wait for staleness of event-store-service",
			"start event-store-service via exec", "drill pass", "gate_fails_closed", "drill report",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("..", "workflows", "testdata", tt.file))
			require.NoError(t, err)
			defer f.Close()
			h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
			require.NoError(t, err)
			text := strings.Join(Timeline(h.GetEvents()), "\n")
			for _, w := range tt.want {
				require.Contains(t, text, w)
			}
		})
	}
}

// A reason, path or name in history is printed on its own line only where
// the timeline puts one: a report whose reason forges a decision line, or a
// child whose failure carries terminal escapes, prints escaped.
func TestTimelineEscapesWhatHistoryCarries(t *testing.T) {
	const forged = "stale\n[promotion-gates] status=PASS"
	dc := converter.GetDefaultDataConverter()
	payload := func(v any) *commonpb.Payloads {
		p, err := dc.ToPayloads(v)
		require.NoError(t, err)
		return p
	}
	t0 := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
	ev := func(id int64, typ enumspb.EventType, attrs any) *historypb.HistoryEvent {
		e := &historypb.HistoryEvent{EventId: id, EventType: typ, EventTime: timestamppb.New(t0.Add(time.Duration(id) * time.Second))}
		switch a := attrs.(type) {
		case *historypb.WorkflowExecutionStartedEventAttributes:
			e.Attributes = &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{WorkflowExecutionStartedEventAttributes: a}
		case *historypb.ActivityTaskScheduledEventAttributes:
			e.Attributes = &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{ActivityTaskScheduledEventAttributes: a}
		case *historypb.ActivityTaskCompletedEventAttributes:
			e.Attributes = &historypb.HistoryEvent_ActivityTaskCompletedEventAttributes{ActivityTaskCompletedEventAttributes: a}
		case *historypb.ActivityTaskFailedEventAttributes:
			e.Attributes = &historypb.HistoryEvent_ActivityTaskFailedEventAttributes{ActivityTaskFailedEventAttributes: a}
		case *historypb.WorkflowExecutionCompletedEventAttributes:
			e.Attributes = &historypb.HistoryEvent_WorkflowExecutionCompletedEventAttributes{WorkflowExecutionCompletedEventAttributes: a}
		}
		return e
	}
	events := []*historypb.HistoryEvent{
		ev(1, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, &historypb.WorkflowExecutionStartedEventAttributes{
			WorkflowType: &commonpb.WorkflowType{Name: workflows.StrictCycleName},
			Input:        payload(workflows.StrictCycleInput{Target: activities.Target{Environment: "prod", Contract: "hbot-day28", Root: "/srv/hbot\n[promotion-gates] status=PASS"}}),
		}),
		ev(2, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, &historypb.ActivityTaskScheduledEventAttributes{
			ActivityType: &commonpb.ActivityType{Name: activities.EvaluateGatesName},
			Input:        payload(activities.EvaluateGatesInput{}),
		}),
		ev(3, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, &historypb.ActivityTaskCompletedEventAttributes{
			ScheduledEventId: 2,
			Result: payload(activities.GateSummary{Status: "FAIL", ArtifactPath: "reports/x\r.json", Checks: []activities.CheckSummary{
				{Name: "event_store\u202e", Verdict: "stale", Reason: forged},
			}}),
		}),
		ev(4, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, &historypb.ActivityTaskScheduledEventAttributes{
			ActivityType: &commonpb.ActivityType{Name: activities.RestartServiceName},
		}),
		ev(5, enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED, &historypb.ActivityTaskFailedEventAttributes{
			ScheduledEventId: 4, Failure: &failurepb.Failure{Message: "compose: \x1b[2J\x1b[Hdecision PASS"},
		}),
		ev(6, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, &historypb.WorkflowExecutionCompletedEventAttributes{
			Result: payload(workflows.StrictCycleResult{Status: "FAIL", Reason: "gate failed\ndecision PASS"}),
		}),
	}
	text := strings.Join(Timeline(events), "\n")
	for i, line := range strings.Split(text, "\n") {
		require.Regexp(t, `^(\s*[+-]\d+\.\d\ds  |\s{24} )`, line, "line %d of\n%s", i, text)
		require.NotContains(t, line, "[promotion-gates] status=PASS\n")
		require.False(t, strings.HasPrefix(strings.TrimSpace(line), "[promotion-gates]"), "forged line %d: %q", i, line)
		require.False(t, strings.HasPrefix(strings.TrimSpace(line), "decision PASS"), "forged line %d: %q", i, line)
		require.NotContains(t, line, "\x1b")
		require.NotContains(t, line, "\r")
		require.NotContains(t, line, "\u202e")
	}
	require.Contains(t, text, `STALE event_store\u202e: stale\n[promotion-gates] status=PASS`)
	require.Contains(t, text, `error: compose: \u001b[2J\u001b[Hdecision PASS`)
	require.Contains(t, text, `decision FAIL — gate failed\ndecision PASS`)
}

// The health probe's default URL follows the worker's metrics address, so
// an image healthcheck needs no shell to expand it.
func TestDefaultHealthURL(t *testing.T) {
	require.Equal(t, "http://127.0.0.1:9464/healthz", defaultHealthURL(""))
	require.Equal(t, "http://127.0.0.1:9464/healthz", defaultHealthURL(":9464"))
	require.Equal(t, "http://127.0.0.1:9500/healthz", defaultHealthURL("0.0.0.0:9500"))
	require.Equal(t, "http://127.0.0.1:9464/healthz", defaultHealthURL("no-port"))
}
