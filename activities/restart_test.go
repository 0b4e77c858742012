package activities

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/cycletypes"
)

// countingDriver is a fake Driver that counts its calls.
type countingDriver struct {
	mu       sync.Mutex
	restarts []string
	stops    int
	starts   int
	err      error
}

func (d *countingDriver) Restart(_ context.Context, svc ServiceRef) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return d.err
	}
	d.restarts = append(d.restarts, svc.Name)
	return nil
}
func (d *countingDriver) Stop(context.Context, ServiceRef) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stops++
	return d.err
}
func (d *countingDriver) Start(context.Context, ServiceRef) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.starts++
	return d.err
}
func (d *countingDriver) Name() string { return "fake" }

func (d *countingDriver) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.restarts)
}

func restartContract(maxRestarts int) *config.Contract {
	return &config.Contract{
		Name: "restart-test",
		Services: map[string]config.Service{
			"risk-service":   {},
			"ops-db-writer":  {Protected: true},
			"signal-service": {},
		},
		Recovery: config.Recovery{Driver: config.DriverExec, MaxRestarts: maxRestarts, BudgetWindow: time.Hour, LockTTL: time.Minute},
	}
}

type restartFixture struct {
	a     *Activities
	store *RedisStore
	drv   *countingDriver
	now   time.Time
}

func newRestartFixture(t *testing.T, maxRestarts int) *restartFixture {
	store, _, _ := testStore(t)
	f := &restartFixture{store: store, drv: &countingDriver{}, now: time.Date(2026, 2, 22, 13, 0, 0, 0, time.UTC)}
	f.a = New(Options{
		Store:        store,
		LoadContract: staticContract(restartContract(maxRestarts)),
		Now:          func() time.Time { return f.now },
		Drivers: func(config.Recovery, config.Service, string) (Driver, error) {
			return f.drv, nil
		},
	})
	return f
}

func (f *restartFixture) restart(t *testing.T, in RestartServiceInput) (*RestartServiceResult, error) {
	t.Helper()
	if in.Environment == "" {
		in.Environment = "test"
	}
	in.Root, in.Contract = t.TempDir(), "restart-test"
	env := activityEnv(f.a)
	v, err := env.ExecuteActivity(RestartServiceName, &in)
	if err != nil {
		return nil, err
	}
	var res RestartServiceResult
	require.NoError(t, v.Get(&res))
	return &res, nil
}

func TestRestartServiceIdempotent(t *testing.T) {
	f := newRestartFixture(t, 3)
	in := RestartServiceInput{Service: "risk-service", RunID: "run-1", Round: 1}
	first, err := f.restart(t, in)
	require.NoError(t, err)
	require.Equal(t, RestartDone, first.Outcome)
	require.Equal(t, "fake", first.Driver)
	require.Equal(t, 1, first.BudgetUsed)
	require.Equal(t, 3, first.BudgetMax)
	require.Equal(t, f.now, first.At)

	// A retried attempt (same run, service, round) at a later time.
	f.now = f.now.Add(30 * time.Second)
	second, err := f.restart(t, in)
	require.NoError(t, err)
	require.Equal(t, RestartAlreadyDone, second.Outcome)
	require.True(t, first.At.Equal(second.At), "the original time: %s", second.At)
	require.Contains(t, second.Detail, "state done")
	require.Equal(t, 1, f.drv.count(), "the driver is never called twice")

	// The next round restarts again, and the lock was released.
	in.Round = 2
	third, err := f.restart(t, in)
	require.NoError(t, err)
	require.Equal(t, RestartDone, third.Outcome)
	require.Equal(t, 2, third.BudgetUsed)
	require.Equal(t, 2, f.drv.count())
}

func TestRestartServiceCrashAfterMark(t *testing.T) {
	// A worker that died during the driver call left an intent mark: the
	// retry does not restart (at most once per round).
	f := newRestartFixture(t, 3)
	ctx := context.Background()
	mark := `{"run_id":"run-1","service":"risk-service","round":1,"state":"intent","at":"2026-02-22T12:59:00Z","driver":"fake","holder":"x"}`
	ok, err := f.store.SetNX(ctx, markKey("test", "run-1", "risk-service", 1), mark, time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
	res, err := f.restart(t, RestartServiceInput{Service: "risk-service", RunID: "run-1", Round: 1})
	require.NoError(t, err)
	require.Equal(t, RestartAlreadyDone, res.Outcome)
	require.Equal(t, time.Date(2026, 2, 22, 12, 59, 0, 0, time.UTC), res.At)
	require.Contains(t, res.Detail, "(state intent): an earlier attempt stopped during the driver call")
	require.Zero(t, f.drv.count())
}

func TestRestartServiceLockHeld(t *testing.T) {
	f := newRestartFixture(t, 3)
	ctx := context.Background()
	ok, err := f.store.SetNX(ctx, lockKey("test", "risk-service"), "other-run/1", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)

	res, err := f.restart(t, RestartServiceInput{Service: "risk-service", RunID: "run-1", Round: 1})
	require.NoError(t, err)
	require.Equal(t, RestartLockHeld, res.Outcome)
	require.Contains(t, res.Detail, `held by "other-run/1"`)
	require.Zero(t, f.drv.count())

	// The other holder's lock is untouched; once released, the restart runs.
	v, ok, err := f.store.Get(ctx, lockKey("test", "risk-service"))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "other-run/1", v)
	deleted, err := f.store.CompareAndDelete(ctx, lockKey("test", "risk-service"), "not-the-holder")
	require.NoError(t, err)
	require.False(t, deleted, "compare-and-delete refuses another holder's token")
	deleted, err = f.store.CompareAndDelete(ctx, lockKey("test", "risk-service"), "other-run/1")
	require.NoError(t, err)
	require.True(t, deleted)

	res, err = f.restart(t, RestartServiceInput{Service: "risk-service", RunID: "run-1", Round: 1})
	require.NoError(t, err)
	require.Equal(t, RestartDone, res.Outcome)
	_, held, err := f.store.Get(ctx, lockKey("test", "risk-service"))
	require.NoError(t, err)
	require.False(t, held, "the lock is released after the restart")
}

func TestRestartServiceBudget(t *testing.T) {
	f := newRestartFixture(t, 2)
	for round, want := range []cycletypes.RestartOutcome{RestartDone, RestartDone, RestartBudgetExhausted} {
		res, err := f.restart(t, RestartServiceInput{Service: "risk-service", RunID: "run-1", Round: round + 1})
		require.NoError(t, err)
		require.Equal(t, want, res.Outcome, "round %d", round+1)
		require.Equal(t, 2, res.BudgetMax)
		f.now = f.now.Add(time.Minute)
	}
	require.Equal(t, 2, f.drv.count())
	res, err := f.restart(t, RestartServiceInput{Service: "risk-service", RunID: "run-2", Round: 1})
	require.NoError(t, err)
	require.Equal(t, RestartBudgetExhausted, res.Outcome, "the budget is per service, across runs")
	require.Equal(t, 2, res.BudgetUsed)
	require.Contains(t, res.Detail, "2 of 2 restarts within 1h0m0s (circuit open)")

	// Another service has its own budget.
	res, err = f.restart(t, RestartServiceInput{Service: "signal-service", RunID: "run-2", Round: 1})
	require.NoError(t, err)
	require.Equal(t, RestartDone, res.Outcome)

	// Once the first restarts leave the window, the circuit closes.
	f.now = f.now.Add(time.Hour)
	res, err = f.restart(t, RestartServiceInput{Service: "risk-service", RunID: "run-3", Round: 1})
	require.NoError(t, err)
	require.Equal(t, RestartDone, res.Outcome)
	require.Equal(t, 1, res.BudgetUsed)
}

func TestRestartServiceProtectedDryRun(t *testing.T) {
	f := newRestartFixture(t, 3)
	res, err := f.restart(t, RestartServiceInput{Service: "ops-db-writer", RunID: "run-1", Round: 1})
	require.NoError(t, err)
	require.Equal(t, RestartProtected, res.Outcome)
	require.Zero(t, f.drv.count())

	res, err = f.restart(t, RestartServiceInput{Service: "ops-db-writer", RunID: "run-1", Round: 1, DryRun: true, Approved: true})
	require.NoError(t, err)
	require.Equal(t, RestartDryRun, res.Outcome)
	require.Zero(t, f.drv.count())

	res, err = f.restart(t, RestartServiceInput{Service: "ops-db-writer", RunID: "run-1", Round: 1, Approved: true})
	require.NoError(t, err)
	require.Equal(t, RestartDone, res.Outcome)
	require.Equal(t, []string{"ops-db-writer"}, f.drv.restarts)
}

func TestRestartServiceErrors(t *testing.T) {
	t.Run("unknown service is non-retryable bad input", func(t *testing.T) {
		f := newRestartFixture(t, 3)
		_, err := f.restart(t, RestartServiceInput{Service: "nope", RunID: "run-1", Round: 1})
		var ae *temporal.ApplicationError
		require.ErrorAs(t, err, &ae)
		require.Equal(t, ErrTypeBadInput, ae.Type())
		require.True(t, ae.NonRetryable())
		require.Contains(t, ae.Error(), `restart service "nope": not in the services of contract "restart-test"`)
	})
	t.Run("driver failure is retryable and undoes the mark", func(t *testing.T) {
		f := newRestartFixture(t, 3)
		f.drv.err = errors.New("engine API 500: boom")
		_, err := f.restart(t, RestartServiceInput{Service: "risk-service", RunID: "run-1", Round: 1})
		var ae *temporal.ApplicationError
		require.ErrorAs(t, err, &ae)
		require.False(t, ae.NonRetryable())
		require.Contains(t, ae.Error(), `restart service "risk-service": engine API 500: boom`)
		// The retry restarts (the failure was observed, not a crash).
		f.drv.err = nil
		res, err := f.restart(t, RestartServiceInput{Service: "risk-service", RunID: "run-1", Round: 1})
		require.NoError(t, err)
		require.Equal(t, RestartDone, res.Outcome)
		require.Equal(t, 1, res.BudgetUsed, "the failed attempt gave its budget back")
		require.Equal(t, 1, f.drv.count())
	})
	t.Run("driver failure releases the lock and removes the mark", func(t *testing.T) {
		f := newRestartFixture(t, 3)
		f.drv.err = errors.New("engine API 500: boom")
		_, err := f.restart(t, RestartServiceInput{Service: "risk-service", RunID: "run-1", Round: 1})
		require.Error(t, err)
		ctx := context.Background()
		_, held, err := f.store.Get(ctx, lockKey("test", "risk-service"))
		require.NoError(t, err)
		require.False(t, held, "the lock is released")
		_, marked, err := f.store.Get(ctx, markKey("test", "run-1", "risk-service", 1))
		require.NoError(t, err)
		require.False(t, marked, "the mark is removed")
		// Another cycle is not blocked either.
		f.drv.err = nil
		res, err := f.restart(t, RestartServiceInput{Service: "risk-service", RunID: "run-2", Round: 1})
		require.NoError(t, err)
		require.Equal(t, RestartDone, res.Outcome)
		require.Equal(t, 1, res.BudgetUsed)
	})
	t.Run("driver misconfiguration is non-retryable", func(t *testing.T) {
		f := newRestartFixture(t, 3)
		f.drv.err = &DriverConfigError{Err: errors.New(`exec restart "risk-service": no restart template configured`)}
		_, err := f.restart(t, RestartServiceInput{Service: "risk-service", RunID: "run-1", Round: 1})
		var ae *temporal.ApplicationError
		require.ErrorAs(t, err, &ae)
		require.Equal(t, ErrTypeDriver, ae.Type())
		require.True(t, ae.NonRetryable())
	})
	t.Run("no store", func(t *testing.T) {
		a := New(Options{LoadContract: staticContract(restartContract(3)), Drivers: func(config.Recovery, config.Service, string) (Driver, error) {
			return &countingDriver{}, nil
		}})
		_, err := activityEnv(a).ExecuteActivity(RestartServiceName, &RestartServiceInput{Target: Target{Contract: "x", Root: t.TempDir()}, Service: "risk-service"})
		var ae *temporal.ApplicationError
		require.ErrorAs(t, err, &ae)
		require.Equal(t, ErrTypeNoStore, ae.Type())
	})
}

func TestStopStartService(t *testing.T) {
	drv := &countingDriver{}
	a := New(Options{LoadContract: staticContract(restartContract(3)), Drivers: func(config.Recovery, config.Service, string) (Driver, error) {
		return drv, nil
	}})
	env := activityEnv(a)
	in := &ServiceActionInput{Target: Target{Environment: "test", Contract: "x", Root: t.TempDir()}, Service: "risk-service", RunID: "r"}
	v, err := env.ExecuteActivity(StopServiceName, in)
	require.NoError(t, err)
	var res ServiceActionResult
	require.NoError(t, v.Get(&res))
	require.Equal(t, "stop", res.Action)
	v, err = env.ExecuteActivity(StartServiceName, in)
	require.NoError(t, err)
	require.NoError(t, v.Get(&res))
	require.Equal(t, "start", res.Action)
	require.Equal(t, 1, drv.stops)
	require.Equal(t, 1, drv.starts)

	in.Service = "unknown"
	_, err = env.ExecuteActivity(StopServiceName, in)
	require.ErrorContains(t, err, `stop service "unknown": not in the services of contract "restart-test"`)
}

func TestRestartServiceTakesOverOwnLock(t *testing.T) {
	// A lock of this run with no mark (an older, non-atomic writer died
	// between lock and mark): any round of the run takes it over.
	f := newRestartFixture(t, 3)
	ctx := context.Background()
	ok, err := f.store.SetNX(ctx, lockKey("test", "risk-service"), lockOwner("test", "run-1", "risk-service")+"round-1/attempt-1/123", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	res, err := f.restart(t, RestartServiceInput{Service: "risk-service", RunID: "run-1", Round: 1})
	require.NoError(t, err)
	require.Equal(t, RestartDone, res.Outcome)
	require.Equal(t, 1, f.drv.count())

	// Another run's lock is another holder: lock_held, and it stays.
	other := lockOwner("test", "run-2", "risk-service") + "round-1/attempt-2/456"
	ok, err = f.store.SetNX(ctx, lockKey("test", "risk-service"), other, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	res, err = f.restart(t, RestartServiceInput{Service: "risk-service", RunID: "run-1", Round: 2})
	require.NoError(t, err)
	require.Equal(t, RestartLockHeld, res.Outcome)
	v, _, err := f.store.Get(ctx, lockKey("test", "risk-service"))
	require.NoError(t, err)
	require.Equal(t, other, v)
}

// A drill holds the restart lock from stop to start: a cycle meanwhile gets
// lock_held and never restarts what the drill took down; after the drill's
// start, restarts work again. A retried stop of the same drill is fine.
func TestDrillHoldsRestartLock(t *testing.T) {
	f := newRestartFixture(t, 3)
	env := activityEnv(f.a)
	act := func(name string, runID string) error {
		_, err := env.ExecuteActivity(name, &ServiceActionInput{Target: Target{Environment: "test", Root: t.TempDir(), Contract: "restart-test"},
			Service: "risk-service", RunID: runID})
		return err
	}
	require.NoError(t, act(StopServiceName, "drill-1"))
	require.NoError(t, act(StopServiceName, "drill-1"), "a retried stop of the same drill")
	require.ErrorContains(t, act(StopServiceName, "drill-2"), `restart lock "test:restart:lock:risk-service" held by "drill/drill-1"`)

	res, err := f.restart(t, RestartServiceInput{Service: "risk-service", RunID: "cycle-1", Round: 1})
	require.NoError(t, err)
	require.Equal(t, RestartLockHeld, res.Outcome)
	require.Contains(t, res.Detail, `held by "drill/drill-1"`)
	require.Zero(t, f.drv.count())

	require.NoError(t, act(StartServiceName, "drill-1"))
	res, err = f.restart(t, RestartServiceInput{Service: "risk-service", RunID: "cycle-1", Round: 2})
	require.NoError(t, err)
	require.Equal(t, RestartDone, res.Outcome)
	require.Equal(t, 2, f.drv.stops)
	require.Equal(t, 1, f.drv.starts)
}

// TestRestartServiceDryRunTouchesNothing: a dry run calls no driver and
// takes no lock, mark or budget entry, even when approved and with budget.
func TestRestartServiceDryRunTouchesNothing(t *testing.T) {
	f := newRestartFixture(t, 3)
	res, err := f.restart(t, RestartServiceInput{Service: "risk-service", RunID: "run-1", Round: 1, DryRun: true, Approved: true})
	require.NoError(t, err)
	require.Equal(t, RestartDryRun, res.Outcome)
	require.Equal(t, "dry run: would restart with the fake driver", res.Detail)
	require.Zero(t, f.drv.count())
	keys, err := f.store.rdb.Keys(context.Background(), f.store.prefix+":*").Result()
	require.NoError(t, err)
	require.Empty(t, keys, "a dry run writes nothing to Redis")

	// The real restart of the same round afterwards is not already done.
	res, err = f.restart(t, RestartServiceInput{Service: "risk-service", RunID: "run-1", Round: 1})
	require.NoError(t, err)
	require.Equal(t, RestartDone, res.Outcome)
	require.Equal(t, 1, res.BudgetUsed)
}
