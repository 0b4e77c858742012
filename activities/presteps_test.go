package activities

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/cycletypes"
	"github.com/strictcycle/strictcycle/gates"
)

// The gate run's result in workflow history keeps each pre-step's outcome
// (not its output) and each check's detail beside the original reason.
func TestSummarizeKeepsPreStepsAndDetail(t *testing.T) {
	rc := 3
	rep := &gates.Report{Status: gates.StatusFail, CriticalFailures: []string{"alerting_health"},
		Checks: []gates.Result{{Name: "alerting_health", Severity: "critical", Verdict: gates.VerdictFail,
			Reason: "alert webhook evidence missing or stale", Detail: "pre-step alerting-probe: exited 3"}},
		PreSteps: []gates.PreStepResult{
			{Name: "parity-refresh", Reason: "not run (ci_only, not in CI mode)"},
			{Name: "alerting-probe", Ran: true, ExitCode: &rc, Reason: "exited 3", DurationMS: 12, OutputTail: "probe said no"},
		}}
	s := Summarize(rep)
	require.Equal(t, []cycletypes.PreStepSummary{
		{Name: "parity-refresh", Reason: "not run (ci_only, not in CI mode)"},
		{Name: "alerting-probe", Ran: true, ExitCode: &rc, Reason: "exited 3", DurationMS: 12},
	}, s.PreSteps)
	require.Equal(t, "alert webhook evidence missing or stale", s.Checks[0].Reason)
	require.Equal(t, "pre-step alerting-probe: exited 3", s.Checks[0].Detail)
}
