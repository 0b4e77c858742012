package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The bench at tiny sizes prints every figure and, with --json, ends with
// one JSON object holding each promised figure (the figures themselves are
// not judged). The cycles run on the production worker binary.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("bench smoke test: starts a Temporal server, skipped with -short")
	}
	o := benchOptions{
		GateTime: 20 * time.Millisecond,
		Cycles:   1, Watches: 1, Envs: 2, Rounds: 1,
		Scaling: []int{10},
		Process: true,
		Sim:     []string{testBins.sim},
		Dir:     t.TempDir(),
		Bins:    testBins.bins,
		JSON:    true,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	require.NoError(t, runBench(ctx, o, &out), out.String())
	for _, want := range []string{
		"machine: ", "1. gate evaluation of hbot-day28 on a generated tree", "allocs/op",
		"6. gate time by number of report checks", "3. report written -> WatchUntilFresh returns",
		"2. PASS cycle end to end", "where the time goes (p50 per cycle, by history events): start ", "4. 2 environments cycling at once", "cycles/s", "schedule-to-start",
		"5. worker resident memory", "worker: worker process (" + testBins.worker,
	} {
		require.Contains(t, out.String(), want)
	}

	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	var fig map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &fig), "last line: %s", lines[len(lines)-1])
	for _, k := range []string{
		"pass_cycle_p50_ms", "pass_cycle_p95_ms", "watch_p50_ms", "cycles_per_s_50env",
		"s2s_p95_ms_50env", "worker_rss_idle_mib", "gate_day28_ms",
	} {
		v, ok := fig[k].(float64)
		require.True(t, ok, "%s: %v in %s", k, fig[k], lines[len(lines)-1])
		require.Positive(t, v, k)
	}
	require.Equal(t, float64(2), fig["envs"])
	require.Equal(t, true, fig["worker_process"])
}

// Without --json no JSON line is printed; a section left out is null.
func TestBenchJSONOnlyWhenAsked(t *testing.T) {
	var out bytes.Buffer
	o := benchOptions{GateTime: time.Millisecond, Dir: t.TempDir(), Only: "gate"}
	require.NoError(t, runBench(context.Background(), o, &out))
	require.NotContains(t, out.String(), "{")

	out.Reset()
	o.JSON = true
	require.NoError(t, runBench(context.Background(), o, &out))
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	var fig map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &fig))
	require.Positive(t, fig["gate_day28_ms"])
	require.Contains(t, fig, "pass_cycle_p50_ms")
	require.Nil(t, fig["pass_cycle_p50_ms"])
}

func TestBenchBadFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, exitError, benchCmd(context.Background(), []string{"--scaling", "ten"}, &out, &errOut))
	require.Contains(t, errOut.String(), `--scaling "ten": not a positive count`)
}

// historyGaps charges each gap between two events to the first one's kind,
// and the time before the first event and after the last to start and
// result; the parts add up to the whole cycle.
func TestHistoryGaps(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ev := func(typ enumspb.EventType, ms int) *historypb.HistoryEvent {
		return &historypb.HistoryEvent{EventType: typ, EventTime: timestamppb.New(at(ms))}
	}
	events := []*historypb.HistoryEvent{
		ev(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, 2),
		ev(enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, 3),
		ev(enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED, 13),        // queued 10
		ev(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, 17),      // run 4
		ev(enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, 18),      // other 1
		ev(enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED, 18),        // activity queued 0
		ev(enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, 48),      // activity run 30
		ev(enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, 48),      // other 0
		ev(enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED, 88),        // queued 40
		ev(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, 93),      // run 5
		ev(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, 93), // other 0
	}
	got := historyGaps(t0, at(96), events)
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	require.Equal(t, map[string]time.Duration{
		"start": ms(2), "workflow task queued": ms(50), "workflow task run": ms(9),
		"activity queued": 0, "activity run": ms(30), "other": ms(2), "result": ms(3),
	}, got)
	var sum time.Duration
	for _, d := range got {
		sum += d
	}
	require.Equal(t, ms(96), sum)
	require.Empty(t, historyGaps(t0, at(1), nil))
}
