package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/strictcycle/strictcycle/config"
)

// Redis keys (before the store's prefix).
func markKey(env, runID, service string, round int) string {
	return env + ":restart:mark:" + runID + ":" + service + ":" + strconv.Itoa(round)
}
func lockKey(env, service string) string   { return env + ":restart:lock:" + service }
func budgetKey(env, service string) string { return env + ":restart:budget:" + service }

// restartMark is written before the driver is called. State is "intent"
// until the driver returned, then "done".
type restartMark struct {
	RunID   string    `json:"run_id"`
	Service string    `json:"service"`
	Round   int       `json:"round"`
	State   string    `json:"state"`
	At      time.Time `json:"at"`
	Driver  string    `json:"driver"`
	Holder  string    `json:"holder"`
}

// RestartService restarts one producing service at most once per
// (environment, run id, service, round), under a per-service lock and
// within the per-service restart budget.
//
// Idempotency trade-off: the mark is written (SET NX) before the driver is
// called, so a worker that dies during the call leaves a mark and the
// retried attempt returns already_restarted without calling the driver,
// even if the restart never happened. At-most-once is chosen over
// at-least-once because a restart storm on a trading desk costs more than a
// missed restart: the watch that follows then times out and the next round
// (a new mark) restarts again, within the budget. A driver error observed
// by this attempt (not a cancellation or timeout, whose outcome is unknown)
// removes the mark and the budget entry, so the retry may call the driver.
// A lock left by an earlier attempt of the same (run, round) is taken over.
func (a *Activities) RestartService(ctx context.Context, in *RestartServiceInput) (*RestartServiceResult, error) {
	c, err := a.contract(in.Target)
	if err != nil {
		return nil, err
	}
	svc, ok := c.Services[in.Service]
	if !ok {
		return nil, nonRetryable(ErrTypeBadInput, fmt.Errorf("restart service %q: not in the services of contract %q", in.Service, c.Name))
	}
	rec := c.Recovery
	maxRestarts, window := budgetOf(rec)
	res := &RestartServiceResult{Service: in.Service, Driver: driverKind(rec, svc), BudgetMax: maxRestarts}
	logger := activity.GetLogger(ctx)

	if svc.Protected && !in.Approved {
		res.Outcome, res.At = RestartProtected, a.now()
		res.Detail = "protected service: an operator approval is required"
		return res, nil
	}
	drv, err := a.drivers(rec, svc, in.Service)
	if err != nil {
		return nil, driverError("restart service", in.Service, err)
	}
	res.Driver = drv.Name()
	if err := a.requireStore(fmt.Sprintf("restart service %q", in.Service)); err != nil {
		return nil, err
	}
	env, err := envName(in.Environment)
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		used, err := a.store.BudgetUsed(ctx, budgetKey(env, in.Service), a.now(), window)
		if err != nil {
			return nil, fmt.Errorf("restart service %q: %w", in.Service, err)
		}
		res.Outcome, res.At, res.BudgetUsed = RestartDryRun, a.now(), used
		res.Detail = "dry run: would restart with the " + drv.Name() + " driver"
		return res, nil
	}

	mk := markKey(env, in.RunID, in.Service, in.Round)
	if done, err := a.findMark(ctx, mk, res); err != nil {
		return nil, err
	} else if done {
		return res, nil
	}

	// The lock serialises restarts of one service across runs and workers;
	// its holder token is unique to this attempt.
	ownPrefix := fmt.Sprintf("%s/%s/%d/attempt-", env, in.RunID, in.Round)
	holder := fmt.Sprintf("%s%d/%d", ownPrefix, activity.GetInfo(ctx).Attempt, a.now().UnixNano())
	lk := lockKey(env, in.Service)
	got, err := a.store.SetNX(ctx, lk, holder, lockTTL(rec))
	if err != nil {
		return nil, fmt.Errorf("restart service %q: take lock: %w", in.Service, err)
	}
	if !got {
		other, _, err := a.store.Get(ctx, lk)
		if err != nil {
			return nil, fmt.Errorf("restart service %q: read lock holder: %w", in.Service, err)
		}
		if !strings.HasPrefix(other, ownPrefix) {
			res.Outcome, res.At = RestartLockHeld, a.now()
			res.Detail = fmt.Sprintf("restart lock %q held by %q", lk, other)
			return res, nil
		}
		// An earlier attempt of this very restart died holding the lock
		// before it wrote the mark: take the lock over rather than wait for
		// its ttl. If that attempt is in fact alive, the mark's SET NX still
		// lets only one of the two call the driver.
		if _, err := a.store.CompareAndDelete(ctx, lk, other); err != nil {
			return nil, fmt.Errorf("restart service %q: take over lock: %w", in.Service, err)
		}
		if got, err = a.store.SetNX(ctx, lk, holder, lockTTL(rec)); err != nil {
			return nil, fmt.Errorf("restart service %q: take lock: %w", in.Service, err)
		}
		if !got {
			other, _, _ = a.store.Get(ctx, lk)
			res.Outcome, res.At = RestartLockHeld, a.now()
			res.Detail = fmt.Sprintf("restart lock %q held by %q", lk, other)
			return res, nil
		}
	}
	defer func() {
		bctx, cancel := background(ctx)
		defer cancel()
		if _, err := a.store.CompareAndDelete(bctx, lk, holder); err != nil {
			logger.Warn("release restart lock failed", "service", in.Service, "error", err)
		}
	}()
	// Under the lock, read the mark again: a previous attempt may have
	// written it between our first read and the lock.
	if done, err := a.findMark(ctx, mk, res); err != nil {
		return nil, err
	} else if done {
		return res, nil
	}

	now := a.now()
	bk, member := budgetKey(env, in.Service), in.RunID+"/"+in.Service+"/"+strconv.Itoa(in.Round)
	used, ok, err := a.store.ReserveBudget(ctx, bk, member, now, window, maxRestarts)
	if err != nil {
		return nil, fmt.Errorf("restart service %q: %w", in.Service, err)
	}
	res.BudgetUsed = used
	if !ok {
		res.Outcome, res.At = RestartBudgetExhausted, now
		res.Detail = fmt.Sprintf("restart budget exhausted: %d of %d restarts within %s (circuit open)", used, maxRestarts, window)
		return res, nil
	}

	mark := restartMark{RunID: in.RunID, Service: in.Service, Round: in.Round, State: "intent", At: now, Driver: drv.Name(), Holder: holder}
	intent, _ := json.Marshal(mark)
	set, err := a.store.SetNX(ctx, mk, string(intent), markTTL)
	if err != nil {
		a.releaseBudget(ctx, bk, member)
		return nil, fmt.Errorf("restart service %q: write restart mark: %w", in.Service, err)
	}
	if !set {
		a.releaseBudget(ctx, bk, member)
		if done, err := a.findMark(ctx, mk, res); err != nil {
			return nil, err
		} else if done {
			return res, nil
		}
		return nil, fmt.Errorf("restart service %q: restart mark %q vanished", in.Service, mk)
	}

	logger.Info("restarting service", "service", in.Service, "driver", drv.Name(), "round", in.Round)
	// Heartbeat during the driver call (a compose restart can take its stop
	// grace period): a dead worker is noticed in seconds.
	stopBeat := a.heartbeatWhile(ctx)
	err = drv.Restart(ctx, ServiceRef{Name: in.Service, Root: in.Root, Spec: svc})
	stopBeat()
	if err != nil {
		if ctx.Err() == nil {
			// Observed failure: undo the mark and the budget entry so that
			// the retry may restart.
			bctx, cancel := background(ctx)
			if _, derr := a.store.CompareAndDelete(bctx, mk, string(intent)); derr != nil {
				logger.Warn("remove restart mark failed", "service", in.Service, "error", derr)
			}
			cancel()
			a.releaseBudget(ctx, bk, member)
		}
		return nil, driverError("restart service", in.Service, err)
	}
	mark.State = "done"
	doneJSON, _ := json.Marshal(mark)
	if err := a.store.Set(ctx, mk, string(doneJSON), markTTL); err != nil {
		// The intent mark still guards the retry; only its state is stale.
		logger.Warn("mark restart done failed", "service", in.Service, "error", err)
	}
	res.Outcome, res.At = RestartDone, now
	res.Detail = fmt.Sprintf("restarted with the %s driver (round %d)", drv.Name(), in.Round)
	return res, nil
}

// findMark fills res with already_restarted when the mark exists.
func (a *Activities) findMark(ctx context.Context, key string, res *RestartServiceResult) (bool, error) {
	v, ok, err := a.store.Get(ctx, key)
	if err != nil {
		return false, fmt.Errorf("restart service %q: read restart mark: %w", res.Service, err)
	}
	if !ok {
		return false, nil
	}
	var m restartMark
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		return false, fmt.Errorf("restart service %q: decode restart mark %q: %w", res.Service, key, err)
	}
	res.Outcome, res.At = RestartAlreadyDone, m.At
	res.Detail = fmt.Sprintf("restart already recorded at %s (state %s)", m.At.UTC().Format(time.RFC3339Nano), m.State)
	if m.State != "done" {
		res.Detail += ": an earlier attempt stopped during the driver call; not restarting twice"
	}
	return true, nil
}

func (a *Activities) releaseBudget(ctx context.Context, key, member string) {
	bctx, cancel := background(ctx)
	defer cancel()
	if err := a.store.ReleaseBudget(bctx, key, member); err != nil {
		activity.GetLogger(ctx).Warn("release restart budget failed", "key", key, "error", err)
	}
}

func budgetOf(rec config.Recovery) (int, time.Duration) {
	n, w := rec.MaxRestarts, rec.BudgetWindow
	if n <= 0 {
		n = defaultMaxRestarts
	}
	if w <= 0 {
		w = defaultBudgetWindow
	}
	return n, w
}

// drillLockTTL bounds how long a drill that died between stop and start can
// keep cycles from restarting the service (a drill runs for at most the
// workflow timeout of its starter).
const drillLockTTL = 2 * time.Hour

func drillHolder(runID string) string { return "drill/" + runID }

func lockTTL(rec config.Recovery) time.Duration {
	if rec.LockTTL > 0 {
		return rec.LockTTL
	}
	return defaultLockTTL
}

// driverError makes a driver misconfiguration non-retryable; other driver
// errors are retryable.
func driverError(op, service string, err error) error {
	err = fmt.Errorf("%s %q: %w", op, service, err)
	var ce *DriverConfigError
	if errors.As(err, &ce) {
		return nonRetryable(ErrTypeDriver, err)
	}
	return err
}

// StopService stops a service (drills). No mark: stopping twice is harmless.
func (a *Activities) StopService(ctx context.Context, in *ServiceActionInput) (*ServiceActionResult, error) {
	return a.serviceAction(ctx, in, "stop")
}

// StartService starts a service (drills). Starting a running one is a no-op.
func (a *Activities) StartService(ctx context.Context, in *ServiceActionInput) (*ServiceActionResult, error) {
	return a.serviceAction(ctx, in, "start")
}

func (a *Activities) serviceAction(ctx context.Context, in *ServiceActionInput, action string) (*ServiceActionResult, error) {
	op := action + " service"
	c, err := a.contract(in.Target)
	if err != nil {
		return nil, err
	}
	svc, ok := c.Services[in.Service]
	if !ok {
		return nil, nonRetryable(ErrTypeBadInput, fmt.Errorf("%s %q: not in the services of contract %q", op, in.Service, c.Name))
	}
	drv, err := a.drivers(c.Recovery, svc, in.Service)
	if err != nil {
		return nil, driverError(op, in.Service, err)
	}
	ref := ServiceRef{Name: in.Service, Root: in.Root, Spec: svc}
	// A drill holds the service's restart lock from stop to start, so a
	// strict cycle running meanwhile sees lock_held and never restarts the
	// service the drill took down (its gate fails closed instead, which is
	// what the drill proves).
	env, err := envName(in.Environment)
	if err != nil {
		return nil, err
	}
	lk, holder := lockKey(env, in.Service), drillHolder(in.RunID)
	if action == "stop" && a.store != nil {
		got, err := a.store.SetNX(ctx, lk, holder, drillLockTTL)
		if err != nil {
			return nil, fmt.Errorf("%s %q: take restart lock: %w", op, in.Service, err)
		}
		if !got {
			other, _, err := a.store.Get(ctx, lk)
			if err != nil {
				return nil, fmt.Errorf("%s %q: read restart lock: %w", op, in.Service, err)
			}
			if other != holder {
				// Retryable: a restart in progress ends within its lock ttl.
				return nil, fmt.Errorf("%s %q: restart lock %q held by %q", op, in.Service, lk, other)
			}
		}
	}
	activity.GetLogger(ctx).Info("service action", "action", action, "service", in.Service, "driver", drv.Name())
	if action == "stop" {
		err = drv.Stop(ctx, ref)
	} else {
		err = drv.Start(ctx, ref)
	}
	if err != nil {
		if action == "stop" && a.store != nil {
			// The service was not taken down: do not keep cycles off it.
			bctx, cancel := background(ctx)
			_, _ = a.store.CompareAndDelete(bctx, lk, holder)
			cancel()
		}
		return nil, driverError(op, in.Service, err)
	}
	if action == "start" && a.store != nil {
		if _, err := a.store.CompareAndDelete(ctx, lk, holder); err != nil {
			return nil, fmt.Errorf("%s %q: release restart lock: %w", op, in.Service, err)
		}
	}
	return &ServiceActionResult{Service: in.Service, Action: action, Driver: drv.Name(), At: a.now(),
		Detail: fmt.Sprintf("%s with the %s driver", action, drv.Name())}, nil
}
