package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
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

// The health probe's default URL follows the worker's metrics address, so
// an image healthcheck needs no shell to expand it.
func TestDefaultHealthURL(t *testing.T) {
	require.Equal(t, "http://127.0.0.1:9464/healthz", defaultHealthURL(""))
	require.Equal(t, "http://127.0.0.1:9464/healthz", defaultHealthURL(":9464"))
	require.Equal(t, "http://127.0.0.1:9500/healthz", defaultHealthURL("0.0.0.0:9500"))
	require.Equal(t, "http://127.0.0.1:9464/healthz", defaultHealthURL("no-port"))
}
