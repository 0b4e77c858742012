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
	job, res, err := a.prepareRestart(ctx, in)
	if err != nil {
		return nil, err
	}
	if res.Outcome != "" {
		return res, nil
	}
	if in.DryRun {
		return a.dryRunRestart(ctx, job, res)
	}
	claimed, err := a.claimRestart(ctx, job, res)
	if err != nil {
		return nil, err
	}
	if !claimed {
		return res, nil
	}
	hw, err := a.callDriver(ctx, job)
	var nh *NotHealthyError
	if err != nil && !errors.As(err, &nh) {
		return nil, err
	}
	a.finishRestart(ctx, job)
	res.Outcome, res.At = RestartDone, job.now
	res.Detail = fmt.Sprintf("restarted with the %s driver (round %d)", job.drv.Name(), in.Round)
	if hw.Status != "" {
		res.Health, res.HealthWaitMS = hw.Status, float64(hw.Waited.Microseconds())/1000
		res.Detail += fmt.Sprintf("; %s after a %s health wait: %s", hw.Status, hw.Waited.Round(time.Millisecond), hw.Detail)
	}
	if nh != nil {
		// The restart happened: the done mark stays, so no retry and no
		// second restart in this round; the workflow fails the round.
		res.Outcome = RestartUnhealthy
	}
	return res, nil
}

// restartJob is one restart's inputs, resolved: the service, its driver,
// the budget, the Redis keys and the marks written for it.
type restartJob struct {
	in          *RestartServiceInput
	svc         config.Service
	rec         config.Recovery
	drv         Driver
	env         string
	maxRestarts int
	window      time.Duration
	now         time.Time
	// Keys of the mark, the lock and the budget; owner and holder of the
	// lock; member of the budget set.
	markKey, lockKey, budgetKey string
	owner, holder, member       string
	mark                        restartMark
	intent                      string
}

// prepareRestart resolves the contract's service and driver and the
// environment's keys. A protected service without approval is a result
// (Outcome set), not an error.
func (a *Activities) prepareRestart(ctx context.Context, in *RestartServiceInput) (*restartJob, *RestartServiceResult, error) {
	c, err := a.contract(in.Target)
	if err != nil {
		return nil, nil, err
	}
	svc, ok := c.Services[in.Service]
	if !ok {
		return nil, nil, nonRetryable(ErrTypeBadInput, fmt.Errorf("restart service %q: not in the services of contract %q", in.Service, c.Name))
	}
	job := &restartJob{in: in, svc: svc, rec: c.Recovery}
	job.maxRestarts, job.window = budgetOf(c.Recovery)
	res := &RestartServiceResult{Service: in.Service, Driver: driverKind(c.Recovery, svc), BudgetMax: job.maxRestarts}
	if svc.Protected && !in.Approved {
		res.Outcome, res.At = RestartProtected, a.now()
		res.Detail = "protected service: an operator approval is required"
		return nil, res, nil
	}
	if job.drv, err = a.drivers(c.Recovery, svc, in.Service); err != nil {
		return nil, nil, driverError("restart service", in.Service, err)
	}
	res.Driver = job.drv.Name()
	if err := a.requireStore(fmt.Sprintf("restart service %q", in.Service)); err != nil {
		return nil, nil, err
	}
	if job.env, err = envName(in.Environment); err != nil {
		return nil, nil, err
	}
	job.now = a.now()
	job.markKey = markKey(job.env, in.RunID, in.Service, in.Round)
	job.lockKey, job.budgetKey = lockKey(job.env, in.Service), budgetKey(job.env, in.Service)
	job.owner = lockOwner(job.env, in.RunID, in.Service)
	job.holder = fmt.Sprintf("%sround-%d/attempt-%d/%d", job.owner, in.Round, activity.GetInfo(ctx).Attempt, job.now.UnixNano())
	job.member = in.RunID + "/" + in.Service + "/" + strconv.Itoa(in.Round)
	job.mark = restartMark{RunID: in.RunID, Service: in.Service, Round: in.Round, State: "intent", At: job.now, Driver: job.drv.Name(), Holder: job.holder}
	intent, _ := json.Marshal(job.mark)
	job.intent = string(intent)
	return job, res, nil
}

// dryRunRestart reports the budget and the driver a restart would use.
func (a *Activities) dryRunRestart(ctx context.Context, job *restartJob, res *RestartServiceResult) (*RestartServiceResult, error) {
	used, err := a.store.BudgetUsed(ctx, job.budgetKey, a.now(), job.window)
	if err != nil {
		return nil, fmt.Errorf("restart service %q: %w", job.in.Service, err)
	}
	res.Outcome, res.At, res.BudgetUsed = RestartDryRun, a.now(), used
	res.Detail = "dry run: would restart with the " + job.drv.Name() + " driver"
	return res, nil
}

// claimRestart takes the lock, the budget entry and the intent mark in one
// step. It returns false with res filled when the restart must not happen
// now: already marked, lock held, budget exhausted.
func (a *Activities) claimRestart(ctx context.Context, job *restartJob, res *RestartServiceResult) (bool, error) {
	in := job.in
	claim, err := a.store.ClaimRestart(ctx, RestartClaim{
		LockKey: job.lockKey, MarkKey: job.markKey, BudgetKey: job.budgetKey, Owner: job.owner, Holder: job.holder,
		LockTTL: lockTTL(job.rec), Intent: job.intent, MarkTTL: markTTL, At: job.now, Window: job.window,
		Max: job.maxRestarts, Member: job.member,
	})
	if err != nil {
		return false, fmt.Errorf("restart service %q: %w", in.Service, err)
	}
	switch claim.Outcome {
	case ClaimMarked:
		return false, fillFromMark(job.markKey, claim.Mark, res)
	case ClaimHeld:
		res.Outcome, res.At = RestartLockHeld, job.now
		res.Detail = fmt.Sprintf("restart lock %q held by %q", job.lockKey, claim.Holder)
		return false, nil
	case ClaimBudget:
		res.Outcome, res.At, res.BudgetUsed = RestartBudgetExhausted, job.now, claim.BudgetUsed
		res.Detail = fmt.Sprintf("restart budget exhausted: %d of %d restarts within %s (circuit open)", claim.BudgetUsed, job.maxRestarts, job.window)
		return false, nil
	}
	res.BudgetUsed = claim.BudgetUsed
	if claim.TookOver != "" {
		activity.GetLogger(ctx).Info("took over the restart lock an earlier attempt of this run left", "service", in.Service, "previous_holder", claim.TookOver)
	}
	return true, nil
}

// callDriver restarts the service, heartbeating during the call (a compose
// restart can take its stop grace period: a dead worker is noticed in
// seconds). On an observed driver failure it undoes the claim so a retry
// may restart; on a cancellation or timeout (outcome unknown) the intent
// mark stays, so no retry restarts twice, and only the lock goes.
//
// A driver that waits for health (docker) returns what it saw; a restart
// that left the service unhealthy is a *NotHealthyError, returned as is:
// the restart happened, so the claim stays.
func (a *Activities) callDriver(ctx context.Context, job *restartJob) (HealthWait, error) {
	in := job.in
	logger := activity.GetLogger(ctx)
	logger.Info("restarting service", "service", in.Service, "driver", job.drv.Name(), "round", in.Round)
	stopBeat := a.heartbeatWhile(ctx)
	ref := ServiceRef{Name: in.Service, Root: in.Root, Spec: job.svc}
	var hw HealthWait
	var err error
	if hr, ok := job.drv.(healthRestarter); ok {
		hw, err = hr.RestartHealthy(ctx, ref)
	} else {
		err = job.drv.Restart(ctx, ref)
	}
	stopBeat()
	if err == nil || errors.As(err, new(*NotHealthyError)) {
		return hw, err
	}
	bctx, cancel := background(ctx)
	defer cancel()
	if ctx.Err() == nil {
		if aerr := a.store.AbortRestart(bctx, job.lockKey, job.markKey, job.budgetKey, job.holder, job.intent, job.member); aerr != nil {
			logger.Warn("undo restart claim failed", "service", in.Service, "error", aerr)
		}
	} else if _, rerr := a.store.CompareAndDelete(bctx, job.lockKey, job.holder); rerr != nil {
		logger.Warn("release restart lock failed", "service", in.Service, "error", rerr)
	}
	return hw, driverError("restart service", in.Service, err)
}

// finishRestart marks the restart done and releases the lock in one step.
// A failure is logged only: the intent mark still guards a retry, and the
// lock is this run's (the next round takes it over, another cycle waits
// its ttl at most).
func (a *Activities) finishRestart(ctx context.Context, job *restartJob) {
	done := job.mark
	done.State = "done"
	doneJSON, _ := json.Marshal(done)
	bctx, cancel := background(ctx)
	defer cancel()
	if err := a.store.FinishRestart(bctx, job.lockKey, job.markKey, job.holder, string(doneJSON), markTTL); err != nil {
		activity.GetLogger(ctx).Warn("mark restart done failed", "service", job.in.Service, "error", err)
	}
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
