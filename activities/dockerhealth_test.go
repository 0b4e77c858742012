package activities

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
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

// A restart that leaves the container unhealthy is a result, not an error:
// outcome unhealthy with the last probe line, the restart recorded (a retry
// or a second call does not restart again), one start.
func TestRestartServiceUnhealthyIsRecordedNotRetried(t *testing.T) {
	fe := newFakeEngine(t, fakeContainer{ID: "abc123", Labels: composeLabels("desk", "risk-service"), Running: true, Health: "unhealthy"})
	store, _, _ := testStore(t)
	c := &config.Contract{Name: "docker-unhealthy", Services: map[string]config.Service{"risk-service": {}},
		Recovery: config.Recovery{Driver: config.DriverDocker, Docker: config.DockerDriver{Socket: fe.socket, Project: "desk", Timeout: time.Second, HealthTimeout: 5 * time.Second}}}
	env := activityEnv(New(Options{Store: store, LoadContract: staticContract(c)}))
	in := &RestartServiceInput{Target: Target{Environment: "e2e", Root: t.TempDir(), Contract: c.Name}, Service: "risk-service", RunID: "run-1", Round: 1}
	var results []RestartServiceResult
	for range 2 {
		v, err := env.ExecuteActivity(RestartServiceName, in)
		require.NoError(t, err)
		var res RestartServiceResult
		require.NoError(t, v.Get(&res))
		results = append(results, res)
	}
	require.Equal(t, RestartUnhealthy, results[0].Outcome)
	require.Equal(t, HealthUnhealthy, results[0].Health)
	require.Contains(t, results[0].Detail, "abc123 unhealthy (last health probe exit 1: report is 7200s old > RECON_HEALTH_MAX_SEC=20)")
	require.Equal(t, RestartAlreadyDone, results[1].Outcome)
	_, state := fe.snapshot()
	require.Equal(t, 1, state[0].Starts)
}
