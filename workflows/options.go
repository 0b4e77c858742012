package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/strictcycle/strictcycle/cycletypes"
)

// Activity options per kind of step. Every call has a start-to-close
// timeout and a bounded retry policy; long waits heartbeat so a dead worker
// is noticed in seconds, not at the end of the wait.
var (
	nonRetryable = cycletypes.NonRetryableErrorTypes()

	planOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         retry(time.Second, 3),
	}
	replayOptions = workflow.ActivityOptions{
		HeartbeatTimeout: 30 * time.Second,
		RetryPolicy:      retry(5*time.Second, 2),
	}
	// Gate runs may include command checks (tests, replays) that take
	// minutes; the engine bounds each command with its own timeout. The
	// activity heartbeats while it runs, so a worker killed mid-run is
	// retried after the heartbeat timeout, not after half an hour.
	evaluateOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    stepHeartbeatTimeout,
		RetryPolicy:         retry(2*time.Second, 3),
	}
	// Restarts heartbeat during the driver call for the same reason; the
	// retry finds the restart mark and never restarts twice.
	restartOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		HeartbeatTimeout:    stepHeartbeatTimeout,
		RetryPolicy:         retry(2*time.Second, 5),
	}
	watchOptions = workflow.ActivityOptions{
		HeartbeatTimeout: 10 * time.Second,
		RetryPolicy:      retry(time.Second, 5),
	}
	publishOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		HeartbeatTimeout:    stepHeartbeatTimeout,
		RetryPolicy:         retry(time.Second, 8),
	}
	drillOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         retry(2*time.Second, 5),
	}
)

// stepHeartbeatTimeout is the heartbeat timeout of gate runs, restarts and
// publication: four missed beats at the activities' default 5s period.
const stepHeartbeatTimeout = 20 * time.Second

func retry(initial time.Duration, attempts int32) *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        initial,
		BackoffCoefficient:     2,
		MaximumInterval:        time.Minute,
		MaximumAttempts:        attempts,
		NonRetryableErrorTypes: nonRetryable,
	}
}

// withOptions applies o with a one-line summary that the Web UI shows for
// the activity in the history timeline (user metadata: not part of the
// command's identity, so it does not affect replay).
func withOptions(ctx workflow.Context, o workflow.ActivityOptions, summary string) workflow.Context {
	o.Summary = summary
	return workflow.WithActivityOptions(ctx, o)
}
