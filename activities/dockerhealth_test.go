package activities

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// judgeHealth ends the wait on healthy, on running without a healthcheck,
// and — closed — on unhealthy or exited, quoting the last probe; starting
// goes on waiting.
func TestJudgeHealth(t *testing.T) {
	inspect := func(raw string) *containerInfo {
		var c containerInfo
		require.NoError(t, json.Unmarshal([]byte(raw), &c))
		return &c
	}
	tests := []struct {
		name, raw, status, end string
		final                  bool
	}{
		{"healthy", `{"Name":"/p-svc-1","State":{"Running":true,"Health":{"Status":"healthy"}}}`, HealthHealthy, "p-svc-1 healthy", true},
		{"no healthcheck", `{"Name":"/p-svc-1","State":{"Running":true}}`, HealthRunning, "p-svc-1 running (no healthcheck)", true},
		{"starting", `{"Name":"/p-svc-1","State":{"Running":true,"Health":{"Status":"starting"}}}`, HealthStarting, "", false},
		{"unhealthy quotes the last probe", `{"Name":"/p-svc-1","State":{"Running":true,"Health":{"Status":"unhealthy","Log":[{"ExitCode":1,"Output":"old"},{"ExitCode":1,"Output":"report is 60s old\n> 20"}]}}}`,
			HealthUnhealthy, "p-svc-1 unhealthy (last health probe exit 1: report is 60s old > 20)", true},
		{"exited", `{"Id":"abc","State":{"Status":"exited","Running":false,"ExitCode":2,"Health":{"Status":"healthy"}}}`,
			HealthExited, "abc exited with code 2 after the restart (no health probe has run)", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, end, final := judgeHealth(inspect(tt.raw))
			require.Equal(t, tt.status, st)
			require.Equal(t, tt.end, end)
			require.Equal(t, tt.final, final)
		})
	}
}
