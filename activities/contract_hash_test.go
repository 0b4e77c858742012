package activities

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
)

// TestContractChangedMidCycle: the plan returns the sha256 of the contract
// bytes it loaded; an activity that carries it and loads other bytes fails
// non-retryably with ErrTypeContractChanged, naming both hashes, and one
// that carries the right hash (or none, as recorded runs) runs.
func TestContractChangedMidCycle(t *testing.T) {
	path := loadTestContract(t, nil)
	root := t.TempDir()
	now := time.Now().UTC()
	writeReport(t, root, "reports/risk_service/latest.json", now.Add(-time.Minute), "ok")
	writeReport(t, root, "reports/parity/bot1/parity_1.json", now.Add(-time.Minute), "ok")
	writeReport(t, root, "reports/replay_regression/latest.json", now.Add(-time.Minute), "pass")
	env := activityEnv(New(Options{}))
	target := Target{Environment: "test", Root: root, Contract: path}

	v, err := env.ExecuteActivity(DescribeContractName, &target)
	require.NoError(t, err)
	var plan Plan
	require.NoError(t, v.Get(&plan))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	planned := hex.EncodeToString(sum[:])
	require.Equal(t, planned, plan.ContractSHA256, "the plan carries the sha256 of the contract bytes")

	target.ContractSHA256 = planned
	_, err = env.ExecuteActivity(EvaluateGatesName, &EvaluateGatesInput{Target: target, Only: []string{"risk_service_fresh"}, RunID: "run-1"})
	require.NoError(t, err, "same bytes, same hash")

	// The contract changes between the plan and a later step.
	changed := strings.Replace(string(b), "critical", "warning", 1)
	require.NotEqual(t, string(b), changed)
	require.NoError(t, os.WriteFile(path, []byte(changed), 0o644))
	sum = sha256.Sum256([]byte(changed))
	now256 := hex.EncodeToString(sum[:])

	inputs := map[string]any{
		EvaluateGatesName:   &EvaluateGatesInput{Target: target, RunID: "run-1"},
		WatchUntilFreshName: &WatchUntilFreshInput{Target: target, Checks: []string{"risk_service_fresh"}, Timeout: time.Second},
		RunReplayName:       &RunReplayInput{Target: target, RunID: "run-1"},
		RestartServiceName:  &RestartServiceInput{Target: target, Service: "risk-service", RunID: "run-1", Round: 1},
		StopServiceName:     &ServiceActionInput{Target: target, Service: "risk-service", RunID: "run-1"},
	}
	for name, in := range inputs {
		_, err = env.ExecuteActivity(name, in)
		var ae *temporal.ApplicationError
		require.ErrorAs(t, err, &ae, name)
		require.Equal(t, ErrTypeContractChanged, ae.Type(), name)
		require.True(t, ae.NonRetryable(), name)
		require.Contains(t, ae.Error(), now256, name)
		require.Contains(t, ae.Error(), planned, name)
	}

	// A target without a hash (a run recorded before it was carried)
	// judges the contract it finds.
	target.ContractSHA256 = ""
	_, err = env.ExecuteActivity(EvaluateGatesName, &EvaluateGatesInput{Target: target, Only: []string{"risk_service_fresh"}, RunID: "run-1"})
	require.NoError(t, err)
}
