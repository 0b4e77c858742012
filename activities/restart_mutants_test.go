package activities

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/strictcycle/strictcycle/config"
)

// These tests pin what the restart path leaves in Redis and hands to the
// driver, where statement mutants of restart.go survived the older suite.

// refDriver records the ServiceRef of each call and, during a restart, what
// the restart lock looks like in Redis.
type refDriver struct {
	mu      sync.Mutex
	refs    []ServiceRef
	lockTTL time.Duration
	lockVal string
	during  func() (string, time.Duration)
	err     error
}

func (d *refDriver) Restart(_ context.Context, svc ServiceRef) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.refs = append(d.refs, svc)
	if d.during != nil {
		d.lockVal, d.lockTTL = d.during()
	}
	return d.err
}

func (d *refDriver) Stop(_ context.Context, svc ServiceRef) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.refs = append(d.refs, svc)
	return d.err
}

func (d *refDriver) Start(_ context.Context, svc ServiceRef) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.refs = append(d.refs, svc)
	return d.err
}

func (d *refDriver) Name() string { return "ref" }

// refFixture is a restart fixture whose driver records refs, over contract c.
func refFixture(t *testing.T, c *config.Contract) (*Activities, *RedisStore, *refDriver, time.Time) {
	store, rdb, prefix := testStore(t)
	now := time.Date(2026, 2, 22, 13, 0, 0, 0, time.UTC)
	drv := &refDriver{}
	drv.during = func() (string, time.Duration) {
		ctx := context.Background()
		k := prefix + ":" + lockKey("test", "risk-service")
		return rdb.Get(ctx, k).Val(), rdb.PTTL(ctx, k).Val()
	}
	a := New(Options{
		Store:        store,
		LoadContract: staticContract(c),
		Now:          func() time.Time { return now },
		Drivers:      func(config.Recovery, config.Service, string) (Driver, error) { return drv, nil },
	})
	return a, store, drv, now
}

func restartWith(t *testing.T, a *Activities, in RestartServiceInput) (*RestartServiceResult, error) {
	t.Helper()
	in.Environment, in.Contract = "test", "restart-test"
	v, err := activityEnv(a).ExecuteActivity(RestartServiceName, &in)
	if err != nil {
		return nil, err
	}
	var res RestartServiceResult
	require.NoError(t, v.Get(&res))
	return &res, nil
}

// The driver is told which service, under which root, with the contract's
// spec of it; the lock it runs under has the contract's ttl and names this
// run; the mark left after it records the run, service, round, driver and
// holder, in state done.
func TestRestartHandsTheDriverTheServiceAndMarksIt(t *testing.T) {
	c := restartContract(3)
	c.Services["risk-service"] = config.Service{Container: "hbot-risk-1", Profiles: []string{"risk"}}
	c.Recovery.LockTTL = 7 * time.Minute
	a, store, drv, now := refFixture(t, c)
	root := t.TempDir()
	res, err := restartWith(t, a, RestartServiceInput{Target: Target{Root: root}, Service: "risk-service", RunID: "run-9", Round: 2})
	require.NoError(t, err)
	require.Equal(t, RestartDone, res.Outcome)
	require.Equal(t, "risk-service", res.Service)
	require.Equal(t, "ref", res.Driver)
	require.Equal(t, "restarted with the ref driver (round 2)", res.Detail)

	require.Len(t, drv.refs, 1)
	require.Equal(t, ServiceRef{Name: "risk-service", Root: root, Spec: c.Services["risk-service"]}, drv.refs[0])

	require.Greater(t, drv.lockTTL, 6*time.Minute, "the contract's lock_ttl, not the default")
	require.LessOrEqual(t, drv.lockTTL, 7*time.Minute)
	require.Contains(t, drv.lockVal, lockOwner("test", "run-9", "risk-service")+"round-2/attempt-1/")

	v, ok, err := store.Get(context.Background(), markKey("test", "run-9", "risk-service", 2))
	require.NoError(t, err)
	require.True(t, ok)
	var m restartMark
	require.NoError(t, json.Unmarshal([]byte(v), &m))
	require.Equal(t, "run-9", m.RunID)
	require.Equal(t, "risk-service", m.Service)
	require.Equal(t, 2, m.Round)
	require.Equal(t, "done", m.State)
	require.Equal(t, "ref", m.Driver)
	require.True(t, now.Equal(m.At))
	require.Equal(t, drv.lockVal, m.Holder, "the mark names the lock holder")
}

// A contract without a budget or lock ttl gets the defaults.
func TestRestartBudgetDefaults(t *testing.T) {
	c := restartContract(0)
	c.Recovery.BudgetWindow, c.Recovery.LockTTL = 0, 0
	a, _, drv, _ := refFixture(t, c)
	var last *RestartServiceResult
	for round := 1; round <= defaultMaxRestarts+1; round++ {
		res, err := restartWith(t, a, RestartServiceInput{Target: Target{Root: t.TempDir()}, Service: "risk-service", RunID: "run-1", Round: round})
		require.NoError(t, err)
		require.Equal(t, defaultMaxRestarts, res.BudgetMax)
		last = res
		if round == 1 {
			require.Greater(t, drv.lockTTL, defaultLockTTL-time.Minute, "the default lock ttl")
			require.LessOrEqual(t, drv.lockTTL, defaultLockTTL)
		}
	}
	require.Equal(t, RestartBudgetExhausted, last.Outcome, "the default budget applies")
	require.Contains(t, last.Detail, "within "+defaultBudgetWindow.String())
	require.Len(t, drv.refs, defaultMaxRestarts)
}

// A dry run reports the budget already used.
func TestRestartDryRunReportsBudget(t *testing.T) {
	f := newRestartFixture(t, 3)
	_, err := f.restart(t, RestartServiceInput{Service: "risk-service", RunID: "run-1", Round: 1})
	require.NoError(t, err)
	res, err := f.restart(t, RestartServiceInput{Service: "risk-service", RunID: "run-1", Round: 2, DryRun: true})
	require.NoError(t, err)
	require.Equal(t, RestartDryRun, res.Outcome)
	require.Equal(t, 1, res.BudgetUsed)
	require.Equal(t, 3, res.BudgetMax)
	require.True(t, f.now.Equal(res.At))
	require.Equal(t, 1, f.drv.count())
}

// A lock held by another cycle is reported with the time of the attempt.
func TestRestartLockHeldHasItsTime(t *testing.T) {
	f := newRestartFixture(t, 3)
	ok, err := f.store.SetNX(context.Background(), lockKey("test", "risk-service"), "other", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	res, err := f.restart(t, RestartServiceInput{Service: "risk-service", RunID: "run-1", Round: 1})
	require.NoError(t, err)
	require.Equal(t, RestartLockHeld, res.Outcome)
	require.True(t, f.now.Equal(res.At))
	require.Zero(t, res.BudgetUsed, "no budget taken while the lock is held")
}

// A mark that does not decode is an error, never a restart or a pass.
func TestRestartBadMarkIsAnError(t *testing.T) {
	f := newRestartFixture(t, 3)
	ok, err := f.store.SetNX(context.Background(), markKey("test", "run-1", "risk-service", 1), "{not json", time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
	_, err = f.restart(t, RestartServiceInput{Service: "risk-service", RunID: "run-1", Round: 1})
	require.ErrorContains(t, err, `decode restart mark "test:restart:mark:run-1:risk-service:1"`)
	require.Zero(t, f.drv.count())
}

// The drill's stop and start hand the driver the service under its root
// and spec, and a failed stop leaves no drill lock behind.
func TestStopStartServiceRefAndFailedStop(t *testing.T) {
	c := restartContract(3)
	c.Services["risk-service"] = config.Service{Container: "risk-1"}
	a, store, drv, _ := refFixture(t, c)
	env := activityEnv(a)
	root := t.TempDir()
	in := &ServiceActionInput{Target: Target{Environment: "test", Root: root, Contract: "restart-test"}, Service: "risk-service", RunID: "d1"}

	drv.err = errors.New("daemon down")
	_, err := env.ExecuteActivity(StopServiceName, in)
	require.ErrorContains(t, err, `stop service "risk-service": daemon down`)
	_, held, err := store.Get(context.Background(), lockKey("test", "risk-service"))
	require.NoError(t, err)
	require.False(t, held, "a stop that failed keeps no cycle off the service")

	drv.err = nil
	v, err := env.ExecuteActivity(StopServiceName, in)
	require.NoError(t, err)
	var res ServiceActionResult
	require.NoError(t, v.Get(&res))
	require.Equal(t, "ref", res.Driver)
	require.Equal(t, "stop with the ref driver", res.Detail)
	require.False(t, res.At.IsZero())
	lock, held, err := store.Get(context.Background(), lockKey("test", "risk-service"))
	require.NoError(t, err)
	require.True(t, held)
	require.Equal(t, "drill/d1", lock)

	_, err = env.ExecuteActivity(StartServiceName, in)
	require.NoError(t, err)
	_, held, err = store.Get(context.Background(), lockKey("test", "risk-service"))
	require.NoError(t, err)
	require.False(t, held, "the start releases the drill lock")
	for _, r := range drv.refs {
		require.Equal(t, ServiceRef{Name: "risk-service", Root: root, Spec: c.Services["risk-service"]}, r)
	}
	require.Len(t, drv.refs, 3)
}

// A driver the contract cannot build is a non-retryable driver error, with
// no lock, mark or budget taken.
func TestRestartDriverConfigErrorTakesNothing(t *testing.T) {
	store, _, _ := testStore(t)
	a := New(Options{
		Store:        store,
		LoadContract: staticContract(restartContract(3)),
		Drivers: func(config.Recovery, config.Service, string) (Driver, error) {
			return nil, &DriverConfigError{Err: errors.New("no restart template configured")}
		},
	})
	_, err := restartWith(t, a, RestartServiceInput{Target: Target{Root: t.TempDir()}, Service: "risk-service", RunID: "run-1", Round: 1})
	var ae *temporal.ApplicationError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, ErrTypeDriver, ae.Type())
	require.True(t, ae.NonRetryable())
	require.Contains(t, ae.Message(), `restart service "risk-service": no restart template configured`)
	keys, err := store.rdb.Keys(context.Background(), store.prefix+":*").Result()
	require.NoError(t, err)
	require.Empty(t, keys)
}

// A contract that changed since the plan is refused before any restart,
// with the type that tells the workflow not to retry.
func TestRestartRefusesChangedContract(t *testing.T) {
	f := newRestartFixture(t, 3)
	_, err := f.restart(t, RestartServiceInput{Target: Target{ContractSHA256: "not-the-planned-hash"}, Service: "risk-service", RunID: "run-1", Round: 1})
	var ae *temporal.ApplicationError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, ErrTypeContractChanged, ae.Type())
	require.True(t, ae.NonRetryable())
	require.Zero(t, f.drv.count())
}

// A protected service without approval is a result that says why, with the
// driver the contract names and the budget, and the time of the refusal.
func TestRestartProtectedResultSaysWhy(t *testing.T) {
	f := newRestartFixture(t, 3)
	res, err := f.restart(t, RestartServiceInput{Service: "ops-db-writer", RunID: "run-1", Round: 1})
	require.NoError(t, err)
	require.Equal(t, RestartServiceResult{
		Service: "ops-db-writer", Outcome: RestartProtected, At: f.now, Driver: "exec", BudgetMax: 3,
		Detail: "protected service: an operator approval is required",
	}, *res)
}

// The drill's stop and start refuse a changed contract and a driver the
// contract cannot build, and a start whose lock release fails is an error:
// the drill must not report a service back while cycles stay locked out.
func TestStopStartServiceErrors(t *testing.T) {
	in := func(root string) *ServiceActionInput {
		return &ServiceActionInput{Target: Target{Environment: "test", Root: root, Contract: "restart-test"}, Service: "risk-service", RunID: "d1"}
	}
	t.Run("changed contract", func(t *testing.T) {
		a, _, drv, _ := refFixture(t, restartContract(3))
		i := in(t.TempDir())
		i.ContractSHA256 = "not-the-planned-hash"
		_, err := activityEnv(a).ExecuteActivity(StopServiceName, i)
		var ae *temporal.ApplicationError
		require.ErrorAs(t, err, &ae)
		require.Equal(t, ErrTypeContractChanged, ae.Type())
		require.Empty(t, drv.refs)
	})
	t.Run("driver config", func(t *testing.T) {
		a := New(Options{LoadContract: staticContract(restartContract(3)), Drivers: func(config.Recovery, config.Service, string) (Driver, error) {
			return nil, &DriverConfigError{Err: errors.New("no stop template configured")}
		}})
		_, err := activityEnv(a).ExecuteActivity(StopServiceName, in(t.TempDir()))
		var ae *temporal.ApplicationError
		require.ErrorAs(t, err, &ae)
		require.Equal(t, ErrTypeDriver, ae.Type())
		require.True(t, ae.NonRetryable())
		require.Contains(t, ae.Message(), `stop service "risk-service": no stop template configured`)
	})
	t.Run("lock release fails", func(t *testing.T) {
		rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
		t.Cleanup(func() { rdb.Close() })
		drv := &refDriver{}
		a := New(Options{Store: NewRedisStore(rdb, "sctest-down"), LoadContract: staticContract(restartContract(3)),
			Drivers: func(config.Recovery, config.Service, string) (Driver, error) { return drv, nil }})
		_, err := activityEnv(a).ExecuteActivity(StartServiceName, in(t.TempDir()))
		require.ErrorContains(t, err, `start service "risk-service": release restart lock`)
	})
	t.Run("result names the service", func(t *testing.T) {
		a, _, _, _ := refFixture(t, restartContract(3))
		v, err := activityEnv(a).ExecuteActivity(StopServiceName, in(t.TempDir()))
		require.NoError(t, err)
		var res ServiceActionResult
		require.NoError(t, v.Get(&res))
		require.Equal(t, "risk-service", res.Service)
		require.Equal(t, "stop", res.Action)
	})
}
