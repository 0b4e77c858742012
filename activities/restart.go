package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
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
// Crash consistency: the lock, the budget entry and the intent mark are
// taken in one atomic step (Store.ClaimRestart), and the done mark and the
// lock release in another (Store.FinishRestart), so a worker killed at any
// point leaves either nothing or a lock and a mark together. The lock's
// value names the cycle run and the service (lockOwner), so:
//   - a retry of a killed attempt finds the mark, returns already_restarted
//     and releases the lock its run left;
//   - the next round of the same run takes such a lock over;
//   - another cycle sees lock_held until the lock's ttl (LockTTL, 5m by
//     default) at worst, when the killed attempt's run never comes back.
//
// Idempotency trade-off: the mark is written before the driver is called,
// so a worker that dies during the call leaves a mark and the retried
// attempt returns already_restarted without calling the driver, even if the
// restart never happened. At-most-once is chosen over at-least-once because
// a restart storm on a trading desk costs more than a missed restart: the
// watch that follows then times out and the next round (a new mark)
// restarts again, within the budget. A driver error observed by this
// attempt (not a cancellation or timeout, whose outcome is unknown) removes
// the mark and the budget entry, so the retry may call the driver.
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

	now := a.now()
	mk, lk, bk := markKey(env, in.RunID, in.Service, in.Round), lockKey(env, in.Service), budgetKey(env, in.Service)
	owner := lockOwner(env, in.RunID, in.Service)
	holder := fmt.Sprintf("%sround-%d/attempt-%d/%d", owner, in.Round, activity.GetInfo(ctx).Attempt, now.UnixNano())
	member := in.RunID + "/" + in.Service + "/" + strconv.Itoa(in.Round)
	mark := restartMark{RunID: in.RunID, Service: in.Service, Round: in.Round, State: "intent", At: now, Driver: drv.Name(), Holder: holder}
	intent, _ := json.Marshal(mark)
	claim, err := a.store.ClaimRestart(ctx, RestartClaim{
		LockKey: lk, MarkKey: mk, BudgetKey: bk, Owner: owner, Holder: holder, LockTTL: lockTTL(rec),
		Intent: string(intent), MarkTTL: markTTL, At: now, Window: window, Max: maxRestarts, Member: member,
	})
	if err != nil {
		return nil, fmt.Errorf("restart service %q: %w", in.Service, err)
	}
	switch claim.Outcome {
	case ClaimMarked:
		if err := fillFromMark(mk, claim.Mark, res); err != nil {
			return nil, err
		}
		return res, nil
	case ClaimHeld:
		res.Outcome, res.At = RestartLockHeld, now
		res.Detail = fmt.Sprintf("restart lock %q held by %q", lk, claim.Holder)
		return res, nil
	case ClaimBudget:
		res.Outcome, res.At, res.BudgetUsed = RestartBudgetExhausted, now, claim.BudgetUsed
		res.Detail = fmt.Sprintf("restart budget exhausted: %d of %d restarts within %s (circuit open)", claim.BudgetUsed, maxRestarts, window)
		return res, nil
	}
	res.BudgetUsed = claim.BudgetUsed
	if claim.TookOver != "" {
		logger.Info("took over the restart lock an earlier attempt of this run left", "service", in.Service, "previous_holder", claim.TookOver)
	}

	logger.Info("restarting service", "service", in.Service, "driver", drv.Name(), "round", in.Round)
	// Heartbeat during the driver call (a compose restart can take its stop
	// grace period): a dead worker is noticed in seconds.
	stopBeat := a.heartbeatWhile(ctx)
	err = drv.Restart(ctx, ServiceRef{Name: in.Service, Root: in.Root, Spec: svc})
	stopBeat()
	if err != nil {
		bctx, cancel := background(ctx)
		defer cancel()
		if ctx.Err() == nil {
			// Observed failure: undo the mark and the budget entry so that
			// the retry may restart, and release the lock.
			if aerr := a.store.AbortRestart(bctx, lk, mk, bk, holder, string(intent), member); aerr != nil {
				logger.Warn("undo restart claim failed", "service", in.Service, "error", aerr)
			}
		} else if _, rerr := a.store.CompareAndDelete(bctx, lk, holder); rerr != nil {
			// Outcome unknown (cancelled or timed out): the intent mark
			// stays, so no retry restarts twice; only the lock goes.
			logger.Warn("release restart lock failed", "service", in.Service, "error", rerr)
		}
		return nil, driverError("restart service", in.Service, err)
	}
	mark.State = "done"
	doneJSON, _ := json.Marshal(mark)
	bctx, cancel := background(ctx)
	defer cancel()
	if err := a.store.FinishRestart(bctx, lk, mk, holder, string(doneJSON), markTTL); err != nil {
		// The intent mark still guards a retry, and the lock is this run's:
		// the next round takes it over, another cycle waits its ttl at most.
		logger.Warn("mark restart done failed", "service", in.Service, "error", err)
	}
	res.Outcome, res.At = RestartDone, now
	res.Detail = fmt.Sprintf("restarted with the %s driver (round %d)", drv.Name(), in.Round)
	return res, nil
}

// lockOwner is the prefix of the restart lock's value that names the cycle
// run and the service: any attempt of any round of that run recognises a
// lock its run left behind. The trailing "|" keeps run "ab" from matching
// run "abc".
func lockOwner(env, runID, service string) string {
	return "cycle/" + env + "/" + runID + "/" + service + "|"
}

// fillFromMark fills res with already_restarted from the mark found.
func fillFromMark(key, v string, res *RestartServiceResult) error {
	var m restartMark
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		return fmt.Errorf("restart service %q: decode restart mark %q: %w", res.Service, key, err)
	}
	res.Outcome, res.At = RestartAlreadyDone, m.At
	res.Detail = fmt.Sprintf("restart already recorded at %s (state %s)", m.At.UTC().Format(time.RFC3339Nano), m.State)
	if m.State != "done" {
		res.Detail += ": an earlier attempt stopped during the driver call; not restarting twice"
	}
	return nil
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
