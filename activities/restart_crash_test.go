package activities

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/strictcycle/strictcycle/config"
)

// Kill points of a restart, in order. The lock and the intent mark are
// taken in one step, so "after the lock" and "after the mark" are one point.
const (
	killAfterClaim   = "claimed" // lock, budget entry and intent mark written
	killInDriver     = "driver"  // the driver restarted the service and never returned
	killBeforeFinish = "finish"  // the driver returned; done mark and release not yet run
)

// pausingStore stops the process (until it is killed) right after a claim
// was taken, or right before the finish step.
type pausingStore struct {
	Store
	point string
}

func pauseHere(point string) {
	fmt.Println("paused " + point)
	time.Sleep(time.Hour) // the parent kills the process here
}

func (s *pausingStore) ClaimRestart(ctx context.Context, c RestartClaim) (*RestartClaimResult, error) {
	res, err := s.Store.ClaimRestart(ctx, c)
	if err == nil && res.Outcome == ClaimTaken && s.point == killAfterClaim {
		pauseHere(s.point)
	}
	return res, err
}

func (s *pausingStore) FinishRestart(ctx context.Context, lockKey, markKey, holder, done string, ttl time.Duration) error {
	if s.point == killBeforeFinish {
		pauseHere(s.point)
	}
	return s.Store.FinishRestart(ctx, lockKey, markKey, holder, done, ttl)
}

// fileDriver records each restart as a line of a file (the restarts of a
// process that is then killed stay countable), and stops the process in
// the driver call at the "driver" point.
type fileDriver struct {
	log   string
	pause bool
}

func (d *fileDriver) Restart(_ context.Context, svc ServiceRef) error {
	f, err := os.OpenFile(d.log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	_, werr := f.WriteString(svc.Name + "\n")
	if err := f.Close(); err != nil || werr != nil {
		return fmt.Errorf("record restart: %v %v", werr, err)
	}
	if d.pause {
		pauseHere(killInDriver)
	}
	return nil
}
func (d *fileDriver) Stop(context.Context, ServiceRef) error  { return nil }
func (d *fileDriver) Start(context.Context, ServiceRef) error { return nil }
func (d *fileDriver) Name() string                            { return "fake" }

// restartCrashMain is the child process of TestRestartKilledAtEachPoint:
// args are the Redis URL, key prefix, kill point, driver log, run id,
// round, clock (RFC 3339) and lock ttl. It runs RestartService on the real
// Redis and is killed at the point.
func restartCrashMain(args []string) int {
	if len(args) != 8 {
		fmt.Fprintln(os.Stderr, "restart-crash: want 8 arguments")
		return 2
	}
	opts, err := redis.ParseURL(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	point, runID := args[2], args[4]
	var round int
	fmt.Sscan(args[5], &round)
	now, err := time.Parse(time.RFC3339Nano, args[6])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ttl, err := time.ParseDuration(args[7])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	c := restartContract(3)
	c.Recovery.LockTTL = ttl
	drv := &fileDriver{log: args[3], pause: point == killInDriver}
	a := New(Options{
		Store:        &pausingStore{Store: NewRedisStore(rdb, args[1]), point: point},
		LoadContract: staticContract(c),
		Now:          func() time.Time { return now },
		Drivers:      func(config.Recovery, config.Service, string) (Driver, error) { return drv, nil },
	})
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	_, err = env.ExecuteActivity(RestartServiceName, &RestartServiceInput{
		Target:  Target{Environment: "test", Root: os.TempDir(), Contract: "restart-test"},
		Service: "risk-service", RunID: runID, Round: round,
	})
	fmt.Fprintf(os.Stderr, "restart-crash: the activity returned (%v) instead of stopping at %s\n", err, point)
	return 3
}

// killRestartAt runs RestartService in a child process on the fixture's
// Redis keys and SIGKILLs it at point. It returns how many restarts the
// child's driver performed.
func killRestartAt(t *testing.T, prefix, point, runID string, round int, now time.Time, lockTTL time.Duration) int {
	t.Helper()
	url := os.Getenv("REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	log := filepath.Join(t.TempDir(), "restarts.log")
	cmd := exec.Command(os.Args[0], "helper:restart-crash", url, prefix, point, log, runID, fmt.Sprint(round),
		now.Format(time.RFC3339Nano), lockTTL.String())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var once sync.Once
	kill := func() { once.Do(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }) }
	t.Cleanup(kill)
	sc := bufio.NewScanner(out)
	paused := false
	for sc.Scan() {
		if sc.Text() == "paused "+point {
			paused = true
			break
		}
	}
	kill()
	require.True(t, paused, "the child never reached %s: %s", point, stderr.String())
	b, err := os.ReadFile(log)
	if os.IsNotExist(err) {
		return 0
	}
	require.NoError(t, err)
	return strings.Count(string(b), "\n")
}

// TestRestartKilledAtEachPoint kills a worker (SIGKILL of a real process on
// the real Redis) at each point of a restart and proves that the killed
// restart blocks neither the retry, nor the next round, nor the next cycle
// beyond the lock's ttl, and that no round restarts twice.
func TestRestartKilledAtEachPoint(t *testing.T) {
	for _, point := range []string{killAfterClaim, killInDriver, killBeforeFinish} {
		wantChildRestarts := 1
		if point == killAfterClaim {
			wantChildRestarts = 0
		}
		t.Run(point+"/retry then next round", func(t *testing.T) {
			f := newRestartFixture(t, 3)
			f.now = time.Now().UTC().Truncate(time.Millisecond)
			ctx := context.Background()
			require.Equal(t, wantChildRestarts, killRestartAt(t, f.store.prefix, point, "run-1", 1, f.now, time.Minute))

			// What the killed worker left: its run's lock and an intent mark.
			lock, held, err := f.store.Get(ctx, lockKey("test", "risk-service"))
			require.NoError(t, err)
			require.True(t, held)
			require.True(t, strings.HasPrefix(lock, lockOwner("test", "run-1", "risk-service")), lock)
			var m restartMark
			v, ok, err := f.store.Get(ctx, markKey("test", "run-1", "risk-service", 1))
			require.NoError(t, err)
			require.True(t, ok, "the intent mark was written with the lock")
			require.NoError(t, json.Unmarshal([]byte(v), &m))
			require.Equal(t, "intent", m.State)

			// Another cycle meanwhile sees the lock (until its ttl).
			other, err := f.restart(t, RestartServiceInput{Service: "risk-service", RunID: "run-9", Round: 1})
			require.NoError(t, err)
			require.Equal(t, RestartLockHeld, other.Outcome)

			// The retry of the killed attempt: recorded, not restarted twice,
			// and the lock its run left is gone.
			retry, err := f.restart(t, RestartServiceInput{Service: "risk-service", RunID: "run-1", Round: 1})
			require.NoError(t, err)
			require.Equal(t, RestartAlreadyDone, retry.Outcome)
			require.Contains(t, retry.Detail, "state intent")
			require.Zero(t, f.drv.count(), "the retry never calls the driver")
			_, held, err = f.store.Get(ctx, lockKey("test", "risk-service"))
			require.NoError(t, err)
			require.False(t, held, "the retry released the lock its run left")

			// The next round restarts at once, then another cycle does.
			next, err := f.restart(t, RestartServiceInput{Service: "risk-service", RunID: "run-1", Round: 2})
			require.NoError(t, err)
			require.Equal(t, RestartDone, next.Outcome)
			require.Equal(t, 2, next.BudgetUsed, "the killed claim's budget entry counts once")
			nextCycle, err := f.restart(t, RestartServiceInput{Service: "risk-service", RunID: "run-2", Round: 1})
			require.NoError(t, err)
			require.Equal(t, RestartDone, nextCycle.Outcome)
			require.Equal(t, 2, f.drv.count())
		})
		t.Run(point+"/next round without a retry", func(t *testing.T) {
			f := newRestartFixture(t, 3)
			f.now = time.Now().UTC().Truncate(time.Millisecond)
			killRestartAt(t, f.store.prefix, point, "run-1", 1, f.now, time.Minute)
			// The workflow gave up on the killed attempt: its next round
			// takes over the lock its run left instead of waiting for it.
			next, err := f.restart(t, RestartServiceInput{Service: "risk-service", RunID: "run-1", Round: 2})
			require.NoError(t, err)
			require.Equal(t, RestartDone, next.Outcome, next.Detail)
			require.Equal(t, 1, f.drv.count())
			_, held, err := f.store.Get(context.Background(), lockKey("test", "risk-service"))
			require.NoError(t, err)
			require.False(t, held, "released after the restart")
		})
	}
}

// TestRestartKilledNextCycleAfterTTL: a restart killed in a run that never
// comes back blocks another cycle for the lock's ttl at most.
func TestRestartKilledNextCycleAfterTTL(t *testing.T) {
	f := newRestartFixture(t, 3)
	f.now = time.Now().UTC().Truncate(time.Millisecond)
	ttl := 300 * time.Millisecond
	killRestartAt(t, f.store.prefix, killInDriver, "run-1", 1, f.now, ttl)
	var last *RestartServiceResult
	require.Eventually(t, func() bool {
		res, err := f.restart(t, RestartServiceInput{Service: "risk-service", RunID: "run-2", Round: 1})
		require.NoError(t, err)
		last = res
		return res.Outcome == RestartDone
	}, 10*time.Second, 50*time.Millisecond)
	require.Equal(t, RestartDone, last.Outcome)
	require.Equal(t, 1, f.drv.count())
}

// TestRestartClaimAtomic checks the claim script's states directly.
func TestRestartClaimAtomic(t *testing.T) {
	store, _, _ := testStore(t)
	ctx := context.Background()
	now := time.Now().UTC()
	owner := lockOwner("e", "run-1", "svc")
	claim := func(runID, holderSuffix string, max int) *RestartClaimResult {
		t.Helper()
		o := lockOwner("e", runID, "svc")
		res, err := store.ClaimRestart(ctx, RestartClaim{LockKey: "lock", MarkKey: "mark:" + runID, BudgetKey: "budget",
			Owner: o, Holder: o + holderSuffix, LockTTL: time.Minute, Intent: `{"state":"intent"}`, MarkTTL: time.Hour,
			At: now, Window: time.Hour, Max: max, Member: runID})
		require.NoError(t, err)
		return res
	}
	first := claim("run-1", "a", 3)
	require.Equal(t, ClaimTaken, first.Outcome)
	require.Equal(t, 1, first.BudgetUsed)
	require.Empty(t, first.TookOver)

	// "ab" is not a prefix owner of "abc": the owner ends with "|".
	require.False(t, strings.HasPrefix(lockOwner("e", "run-10", "svc")+"x", owner))
	held := claim("run-10", "b", 3)
	require.Equal(t, ClaimHeld, held.Outcome)
	require.Equal(t, owner+"a", held.Holder)
	_, ok, err := store.Get(ctx, "mark:run-10")
	require.NoError(t, err)
	require.False(t, ok, "a refused claim writes no mark")

	marked := claim("run-1", "c", 3)
	require.Equal(t, ClaimMarked, marked.Outcome)
	require.Equal(t, `{"state":"intent"}`, marked.Mark)
	_, ok, err = store.Get(ctx, "lock")
	require.NoError(t, err)
	require.False(t, ok, "the mark's own run released its lock")

	// A budget refusal also drops the own run's stale lock.
	require.NoError(t, store.Set(ctx, "lock", lockOwner("e", "run-2", "svc")+"dead", time.Minute))
	full := claim("run-2", "d", 1)
	require.Equal(t, ClaimBudget, full.Outcome)
	require.Equal(t, 1, full.BudgetUsed)
	_, ok, err = store.Get(ctx, "lock")
	require.NoError(t, err)
	require.False(t, ok)

	// Finish marks done and releases only its own holder's lock.
	require.NoError(t, store.Set(ctx, "lock", "someone-else", time.Minute))
	require.NoError(t, store.FinishRestart(ctx, "lock", "mark:run-1", owner+"a", `{"state":"done"}`, time.Hour))
	v, _, err := store.Get(ctx, "lock")
	require.NoError(t, err)
	require.Equal(t, "someone-else", v)
	v, _, err = store.Get(ctx, "mark:run-1")
	require.NoError(t, err)
	require.Equal(t, `{"state":"done"}`, v)

	// Abort removes a mark only while it is the intent it wrote.
	require.NoError(t, store.AbortRestart(ctx, "lock", "mark:run-1", "budget", owner+"a", `{"state":"intent"}`, "run-1"))
	_, ok, err = store.Get(ctx, "mark:run-1")
	require.NoError(t, err)
	require.True(t, ok, "a done mark is never undone")
}

// TestRestartClaimRefusesBadClaims: a holder that does not start with its
// owner could never be recognised; a sub-millisecond ttl would be 0 in PX.
func TestRestartClaimRefusesBadClaims(t *testing.T) {
	store, _, _ := testStore(t)
	ok := RestartClaim{LockKey: "l", MarkKey: "m", BudgetKey: "b", Owner: "o|", Holder: "o|1", LockTTL: time.Minute,
		MarkTTL: time.Hour, At: time.Now(), Window: time.Hour, Max: 1, Member: "x"}
	for name, mod := range map[string]func(*RestartClaim){
		"no owner":        func(c *RestartClaim) { c.Owner = "" },
		"foreign holder":  func(c *RestartClaim) { c.Holder = "p|1" },
		"sub-ms lock ttl": func(c *RestartClaim) { c.LockTTL = time.Microsecond },
		"sub-ms mark ttl": func(c *RestartClaim) { c.MarkTTL = 0 },
		"sub-ms window":   func(c *RestartClaim) { c.Window = time.Microsecond },
	} {
		t.Run(name, func(t *testing.T) {
			c := ok
			mod(&c)
			_, err := store.ClaimRestart(context.Background(), c)
			require.ErrorContains(t, err, "owner, holder with the owner's prefix, and ttls and window of at least 1ms are required")
		})
	}
	res, err := store.ClaimRestart(context.Background(), ok)
	require.NoError(t, err)
	require.Equal(t, ClaimTaken, res.Outcome)
}
