package activities

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/strictcycle/strictcycle/cycletypes"
	"github.com/strictcycle/strictcycle/gates"
	"github.com/strictcycle/strictcycle/procrun"
)

func TestEvaluateGates(t *testing.T) {
	contract := loadTestContract(t, nil)
	root := t.TempDir()
	now := time.Now().UTC()
	writeReport(t, root, "reports/risk_service/latest.json", now.Add(-time.Minute), "ok")
	writeReport(t, root, "reports/parity/bot1/parity_1.json", now.Add(-time.Hour), "ok")
	writeReport(t, root, "reports/replay_regression/latest.json", now.Add(-time.Minute), "pass")
	env := activityEnv(New(Options{}))

	v, err := env.ExecuteActivity(EvaluateGatesName, &EvaluateGatesInput{
		Target: Target{Environment: "test", Root: root, Contract: contract}, RunID: "run-1", WriteArtifacts: true})
	require.NoError(t, err)
	var sum GateSummary
	require.NoError(t, v.Get(&sum))
	require.Equal(t, cycletypes.StatusFail, sum.Status)
	require.Equal(t, []string{"parity_thresholds"}, sum.CriticalFailures)
	require.Len(t, sum.Checks, 3)
	byName := map[string]CheckSummary{}
	for _, c := range sum.Checks {
		byName[c.Name] = c
	}
	require.Equal(t, cycletypes.VerdictPass, byName["risk_service_fresh"].Verdict)
	require.Equal(t, "risk-service", byName["risk_service_fresh"].Producer)
	require.Equal(t, "ts_utc", byName["risk_service_fresh"].TSSource)
	require.NotNil(t, byName["risk_service_fresh"].ReportTime)
	require.Equal(t, cycletypes.VerdictStale, byName["parity_thresholds"].Verdict)
	require.Equal(t, "shadow-parity-service", byName["parity_thresholds"].Producer)
	require.NotEmpty(t, sum.EvidenceBundleID)
	require.NotEmpty(t, sum.ContentDigest)
	require.Equal(t, 20.0, sum.WindowMinutes)
	require.Equal(t, filepath.Join(root, "reports/promotion_gates"), filepath.Dir(sum.ArtifactPath))
	b, err := os.ReadFile(filepath.Join(root, "reports/promotion_gates/latest.json"))
	require.NoError(t, err)
	var latest map[string]any
	require.NoError(t, json.Unmarshal(b, &latest))
	require.Equal(t, "FAIL", latest["status"])

	// A recheck of one check, CI window, no artifacts.
	v, err = env.ExecuteActivity(EvaluateGatesName, &EvaluateGatesInput{
		Target: Target{Root: root, Contract: contract, CI: true}, Only: []string{"risk_service_fresh"}, RunID: "run-1"})
	require.NoError(t, err)
	sum = GateSummary{}
	require.NoError(t, v.Get(&sum))
	require.Equal(t, cycletypes.StatusPass, sum.Status)
	require.Len(t, sum.Checks, 1)
	require.Empty(t, sum.ArtifactPath)
	require.Equal(t, 15.0, sum.WindowMinutes)
}

func TestEvaluateGatesErrors(t *testing.T) {
	contract := loadTestContract(t, nil)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("name: x\nchecks:\n  - name: a\n    severity: critical\n    kind: nope\n"), 0o644))
	tests := []struct {
		name    string
		in      *EvaluateGatesInput
		errType string
		wantIn  string
	}{
		{"bad contract", &EvaluateGatesInput{Target: Target{Root: t.TempDir(), Contract: bad}}, ErrTypeBadContract, "bad.yaml"},
		{"missing contract", &EvaluateGatesInput{Target: Target{Root: t.TempDir(), Contract: filepath.Join(t.TempDir(), "none.yaml")}}, ErrTypeBadContract, "none.yaml"},
		{"unknown check", &EvaluateGatesInput{Target: Target{Root: t.TempDir(), Contract: contract}, Only: []string{"nope"}}, ErrTypeBadInput, `select check "nope": not in contract "activities-test"`},
	}
	env := activityEnv(New(Options{}))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.ExecuteActivity(EvaluateGatesName, tt.in)
			var ae *temporal.ApplicationError
			require.ErrorAs(t, err, &ae)
			require.Equal(t, tt.errType, ae.Type())
			require.True(t, ae.NonRetryable())
			require.Contains(t, ae.Message(), tt.wantIn)
		})
	}
}

func TestSummarize(t *testing.T) {
	require.Nil(t, Summarize(nil))
	age := 3.5
	rt := time.Date(2026, 2, 22, 13, 0, 0, 0, time.UTC)
	s := Summarize(&gates.Report{TsUTC: "t", Status: "FAIL", CriticalFailures: nil, WindowMinutes: 15, ContentDigest: "d",
		EvidenceBundle: gates.EvidenceBundle{EvidenceBundleID: "e"},
		Checks: []gates.Result{{Name: "a", Severity: "critical", Kind: "report", Verdict: gates.VerdictStale, Reason: "old",
			Producer: "p", TSSource: "ts_utc", ReportTime: &rt, AgeMinutes: &age, Evidence: []gates.EvidenceFile{{Path: "x"}}}}})
	require.Equal(t, &GateSummary{Status: "FAIL", CriticalFailures: []string{}, TsUTC: "t", WindowMinutes: 15, ContentDigest: "d", EvidenceBundleID: "e",
		Checks: []CheckSummary{{Name: "a", Severity: "critical", Kind: "report", Verdict: "stale", Reason: "old", Producer: "p", TSSource: "ts_utc", ReportTime: &rt, AgeMinutes: &age}}}, s)
}

func TestRunReplay(t *testing.T) {
	tests := []struct {
		name       string
		mutate     func(string) string
		wantRan    bool
		wantExit   int
		wantStatus string
		wantReason string
		setup      func(t *testing.T, root string)
	}{
		{name: "pass artifact", wantRan: true, wantStatus: "pass"},
		{name: "{root} expands in the argv", mutate: func(y string) string {
			return strings.Replace(y, `"helper:replay", reports/replay_regression/latest.json,`, `"helper:replay", "{root}/reports/replay_regression/latest.json",`, 1)
		}, wantRan: true, wantStatus: "pass"},
		{name: "failing command with a fail artifact", mutate: func(y string) string {
			return strings.Replace(y, "latest.json, pass]", `latest.json, fail, "2"]`, 1)
		}, wantRan: true, wantExit: 2, wantStatus: "fail"},
		{name: "timeout kills the command", mutate: func(y string) string {
			y = strings.Replace(y, `"helper:replay", reports/replay_regression/latest.json, pass]`, `"helper:sleep", 30s]`, 1)
			return strings.Replace(y, "timeout: 20s", "timeout: 200ms", 1)
		}, wantRan: true, wantExit: -1, wantReason: "timeout after 200ms"},
		{name: "python is the contract's interpreter", mutate: func(y string) string {
			self, err := os.Executable()
			if err != nil {
				panic(err)
			}
			if !strings.Contains(y, "  argv: ["+self+`, "helper:replay"`) {
				panic("the replay argv of the test contract changed")
			}
			y = strings.Replace(y, "  argv: ["+self+`, "helper:replay"`, `  argv: [python, "helper:replay"`, 1)
			return strings.Replace(y, "name: activities-test\n", "name: activities-test\ninterpreter: "+self+"\n", 1)
		}, wantRan: true, wantStatus: "pass"},
		// live_argv runs when an enabled bot is live (the original drops
		// --no-require-portfolio-risk-healthy then), argv otherwise.
		{name: "live bot: live_argv runs", mutate: liveReplay, setup: func(t *testing.T, root string) {
			writeTestFile(t, root, "config/exchange_account_map.json", `{"bots":{"bot1":{"account_mode":"live"}}}`)
		}, wantRan: true, wantExit: 3, wantStatus: "fail"},
		{name: "no live bot: argv runs", mutate: liveReplay, setup: func(t *testing.T, root string) {
			writeTestFile(t, root, "config/exchange_account_map.json", `{"bots":{"bot1":{"account_mode":"probe"}}}`)
		}, wantRan: true, wantStatus: "pass"},
		{name: "live bot disabled in the policy: argv runs", mutate: liveReplay, setup: func(t *testing.T, root string) {
			writeTestFile(t, root, "config/exchange_account_map.json", `{"bots":{"bot1":{"account_mode":"live"}}}`)
			writeTestFile(t, root, "config/multi_bot_policy_v1.json", `{"bots":{"bot1":{"enabled":false}}}`)
		}, wantRan: true, wantStatus: "pass"},
		{name: "unreadable account map: live assumed", mutate: liveReplay, setup: func(t *testing.T, root string) {
			writeTestFile(t, root, "config/exchange_account_map.json", `{"bots":`)
		}, wantRan: true, wantExit: 3, wantStatus: "fail"},
		{name: "no replay", mutate: func(y string) string {
			i, j := strings.Index(y, "replay:\n"), strings.Index(y, "checks:\n")
			return y[:i] + y[j:]
		}, wantReason: "no replay configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			contract := loadTestContract(t, tt.mutate)
			root := t.TempDir()
			if tt.setup != nil {
				tt.setup(t, root)
			}
			var beats atomic.Int64
			var s testsuite.WorkflowTestSuite
			env := s.NewTestActivityEnvironment()
			env.SetTestTimeout(time.Minute)
			env.SetOnActivityHeartbeatListener(func(*activity.Info, converter.EncodedValues) { beats.Add(1) })
			env.RegisterActivity(New(Options{HeartbeatEvery: 10 * time.Millisecond}))
			start := time.Now()
			v, err := env.ExecuteActivity(RunReplayName, &RunReplayInput{Target: Target{Root: root, Contract: contract}, RunID: "r"})
			require.NoError(t, err)
			var res RunReplayResult
			require.NoError(t, v.Get(&res))
			require.Equal(t, tt.wantRan, res.Ran)
			require.Equal(t, tt.wantExit, res.ExitCode)
			require.Equal(t, tt.wantStatus, res.Status)
			if tt.wantReason != "" {
				require.Contains(t, res.Reason, tt.wantReason)
			}
			if tt.wantStatus != "" {
				require.Equal(t, "reports/replay_regression/latest.json", res.Artifact)
				require.LessOrEqual(t, len(res.OutputTail), procrun.TailBytes)
				require.Contains(t, res.OutputTail, "replay done marker")
			}
			if tt.name == "timeout kills the command" {
				require.Less(t, time.Since(start), 10*time.Second)
				require.Positive(t, beats.Load(), "a running replay heartbeats")
			}
		})
	}
}

// liveReplay gives the test contract a live scope and a replay live_argv
// that writes a failing artifact and exits 3.
func liveReplay(y string) string {
	i := strings.Index(y, "  argv: [SELF")
	if i < 0 {
		i = strings.Index(y, "replay:\n")
		j := strings.Index(y[i:], "  argv: [")
		i += j
	}
	line := y[i : i+strings.Index(y[i:], "\n")+1]
	live := strings.Replace(strings.Replace(line, "  argv:", "  live_argv:", 1), "latest.json, pass]", `latest.json, fail, "3"]`, 1)
	y = strings.Replace(y, line, line+live, 1)
	return strings.Replace(y, "replay:\n", "live_scope: {}\nreplay:\n", 1)
}

func writeTestFile(t *testing.T, root, rel, body string) {
	t.Helper()
	p := filepath.Join(root, rel)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
}
