package activities

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
)

func requireBadEnvironment(t *testing.T, err error) {
	t.Helper()
	var ae *temporal.ApplicationError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, ErrTypeBadInput, ae.Type())
	require.True(t, ae.NonRetryable())
	require.Contains(t, ae.Message(), "build redis keys: environment name ")
}

// An environment name outside the grammar never becomes a Redis key: the
// restart, the drill's stop and the publication refuse it before touching
// Redis, the driver or the decision file.
func TestActivitiesRefuseBadEnvironment(t *testing.T) {
	for _, env := range []string{"", "ab-cycle", "a:b", "prod'", "Prod"} {
		t.Run(env, func(t *testing.T) {
			f := newRestartFixture(t, 3)
			_, err := activityEnv(f.a).ExecuteActivity(RestartServiceName, &RestartServiceInput{
				Target: Target{Environment: env, Root: t.TempDir(), Contract: "restart-test"}, Service: "risk-service", RunID: "run-1", Round: 1})
			requireBadEnvironment(t, err)
			require.Zero(t, f.drv.count(), "no restart")

			_, err = activityEnv(f.a).ExecuteActivity(StopServiceName, &ServiceActionInput{
				Target: Target{Environment: env, Root: t.TempDir(), Contract: "restart-test"}, Service: "risk-service", RunID: "run-1"})
			requireBadEnvironment(t, err)
			require.Zero(t, f.drv.stops, "no stop")

			root := t.TempDir()
			_, err = activityEnv(f.a).ExecuteActivity(PublishDecisionName, &PublishDecisionInput{
				Environment: env, RunID: "run-1", Status: "PASS", Root: root})
			requireBadEnvironment(t, err)
			require.NoFileExists(t, filepath.Join(root, "reports", "promotion_gates", "strict_cycle_latest.json"))

			keys, err := f.store.rdb.Keys(context.Background(), f.store.prefix+":*").Result()
			require.NoError(t, err)
			require.Empty(t, keys)
		})
	}
}
