package cycletypes_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/cycletypes"
	"github.com/strictcycle/strictcycle/gates"
)

// TestOneSpelling: the engine's untyped status constants and its verdicts
// are the wire spellings, so a report's status and a cycle's decision
// compare equal.
func TestOneSpelling(t *testing.T) {
	require.Equal(t, gates.StatusPass, string(cycletypes.StatusPass))
	require.Equal(t, gates.StatusFail, string(cycletypes.StatusFail))
	require.Equal(t, cycletypes.VerdictStale, gates.VerdictStale)
	require.True(t, cycletypes.VerdictStale.Recoverable())
	require.True(t, cycletypes.VerdictMissing.Recoverable())
	for _, v := range []cycletypes.Verdict{cycletypes.VerdictPass, cycletypes.VerdictFail, cycletypes.VerdictError, cycletypes.VerdictSkipped, cycletypes.VerdictWaived} {
		require.False(t, v.Recoverable(), v)
	}
	require.True(t, cycletypes.RestartDone.Restarted())
	require.True(t, cycletypes.RestartAlreadyDone.Restarted())
	require.False(t, cycletypes.RestartLockHeld.Restarted())
	require.False(t, cycletypes.RestartDryRun.Restarted())
}

// TestWireJSON pins the JSON of payloads that workflow histories hold: a
// renamed field or enum value would break the replay of runs in flight.
func TestWireJSON(t *testing.T) {
	at := time.Date(2026, 2, 22, 13, 21, 51, 0, time.UTC)
	age := 1.5
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"gate summary", cycletypes.GateSummary{
			Status: cycletypes.StatusFail, CriticalFailures: []string{"a"}, EvidenceBundleID: "e", ContentDigest: "d", ArtifactPath: "p", TsUTC: "t", WindowMinutes: 15, DurationMS: 2,
			Checks: []cycletypes.CheckSummary{{Name: "a", Severity: cycletypes.SeverityCritical, Kind: "report", Verdict: cycletypes.VerdictStale, Reason: "old", Producer: "svc", TSSource: "ts_utc", ReportTime: &at, AgeMinutes: &age}},
		}, `{"status":"FAIL","critical_failures":["a"],"checks":[{"name":"a","severity":"critical","kind":"report","verdict":"stale","pass":false,"reason":"old","producer":"svc","ts_source":"ts_utc","report_time":"2026-02-22T13:21:51Z","age_min":1.5}],"evidence_bundle_id":"e","content_digest":"d","artifact_path":"p","ts_utc":"t","window_min":15,"duration_ms":2}`},
		{"restart input", cycletypes.RestartServiceInput{Target: cycletypes.Target{Environment: "prod", Root: "/r", Contract: "c", ContractSHA256: "h"}, Service: "s", RunID: "r", Round: 1},
			`{"environment":"prod","root":"/r","contract":"c","ci":false,"contract_sha256":"h","service":"s","run_id":"r","round":1,"approved":false,"dry_run":false}`},
		{"target of a recorded run", cycletypes.Target{Environment: "prod", Root: "/r", Contract: "c"},
			`{"environment":"prod","root":"/r","contract":"c","ci":false}`},
		{"restart result", cycletypes.RestartServiceResult{Service: "s", Outcome: cycletypes.RestartAlreadyDone, Driver: "exec", At: at, BudgetUsed: 1, BudgetMax: 3},
			`{"service":"s","outcome":"already_restarted","driver":"exec","at":"2026-02-22T13:21:51Z","budget_used":1,"budget_max":3}`},
		{"plan", cycletypes.Plan{Contract: "c", Checks: []cycletypes.PlanCheck{{Name: "a", Severity: cycletypes.SeverityWarning, Kind: "report"}}, Services: map[string]cycletypes.PlanService{"s": {Driver: "exec"}},
			WaitFirst: time.Second, WatchTimeout: time.Minute, MaxRounds: 2, Window: 20 * time.Minute, ContractSHA256: "h"},
			`{"contract":"c","checks":[{"name":"a","severity":"warning","kind":"report"}],"services":{"s":{"protected":false,"driver":"exec"}},"wait_first":1000000000,"watch_timeout":60000000000,"max_rounds":2,"max_restarts":0,"window":1200000000000,"contract_sha256":"h"}`},
		{"drill report", cycletypes.DrillReport{TsUTC: "t", Environment: "e", WorkflowID: "w", Service: "s", Check: "c", Status: cycletypes.DrillStatusPass, Steps: []cycletypes.DrillStep{}, Root: "/r"},
			`{"ts_utc":"t","environment":"e","workflow_id":"w","service":"s","check":"c","status":"pass","steps":[],"root":"/r"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.v)
			require.NoError(t, err)
			require.JSONEq(t, tt.want, string(b))
			require.Equal(t, tt.want, string(b), "field order too")
		})
	}
}
