// Package activities holds every side effect of the strictcycle workflows:
// the replay command, gate evaluation, service restarts (docker Engine API,
// docker compose, configured argv), the watch until a report is fresh, the
// Redis decision publication and the drill report.
package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/gates"
	"github.com/strictcycle/strictcycle/redact"
)

// Defaults of Options and of unset contract values.
const (
	DefaultStream           = "hb.promotion_gate.v1"
	DefaultTransitionStream = "hb.promotion_gate.transitions.v1"
	DefaultStreamMaxLen     = 10000
	DefaultKeyPrefix        = "strictcycle"

	defaultHeartbeatEvery = 5 * time.Second
	defaultDebounce       = 5 * time.Millisecond
	defaultPoll           = 2 * time.Second
	defaultMaxRestarts    = 3
	defaultBudgetWindow   = time.Hour
	defaultLockTTL        = 5 * time.Minute
	// markTTL keeps a restart mark far longer than any retry of the
	// activity can run, so a retry always finds it.
	markTTL = 7 * 24 * time.Hour
)

// ContractLoader loads a contract by shipped name or path and returns the
// sha256 (hex) of the bytes it decoded.
type ContractLoader func(nameOrPath string) (*config.Contract, string, error)

// Options are the dependencies of Activities. Zero values take defaults.
type Options struct {
	// Store is the Redis store for restart marks, locks, budgets and the
	// decision; nil makes RestartService and PublishDecision fail.
	Store Store
	// Drivers builds the restart driver of a service; nil means NewDriver.
	Drivers DriverFactory
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// LoadContract defaults to config.LoadContractDigest.
	LoadContract ContractLoader
	// GatesRedis serves the redis_* check kinds; nil makes them errors.
	GatesRedis gates.RedisClient
	// Secrets are the worker's secret values (Redis password, Temporal API
	// key, TLS key): masked in everything a child process prints (replay,
	// command checks, compose and exec restarts) before it is returned,
	// logged or stored.
	Secrets *redact.Redactor

	// Stream receives decisions (DefaultStream), TransitionStream the
	// status transitions (DefaultTransitionStream); both are trimmed with
	// MAXLEN ~ StreamMaxLen (DefaultStreamMaxLen).
	Stream           string
	TransitionStream string
	StreamMaxLen     int64

	// HeartbeatEvery is the heartbeat period of long commands (5s).
	HeartbeatEvery time.Duration
	// Debounce groups the file events of one write before a re-evaluation
	// in WatchUntilFresh (5ms).
	Debounce time.Duration
	// DisableFileEvents makes WatchUntilFresh poll only (for file systems
	// without inotify, and for tests of the fallback).
	DisableFileEvents bool
}

// Activities holds the dependencies of every activity. Build it with New.
type Activities struct {
	store        Store
	drivers      DriverFactory
	now          func() time.Time
	loadContract ContractLoader
	gatesRedis   gates.RedisClient
	secrets      *redact.Redactor
	// gateCache keeps decoded reports and directory listings across the
	// gate runs of this worker (keyed by file identity, so a changed file
	// is read again): a cycle's watch loop and later cycles read a family
	// of thousands of stamped reports without listing or decoding it anew.
	gateCache *gates.Cache

	stream           string
	transitionStream string
	streamMaxLen     int64

	heartbeatEvery    time.Duration
	debounce          time.Duration
	disableFileEvents bool

	// onEvaluate is a test hook called after each WatchUntilFresh
	// evaluation with the evaluation count.
	onEvaluate func(n int)
}

// New returns Activities with the options' dependencies and defaults.
func New(opts Options) *Activities {
	a := &Activities{
		gateCache:         gates.NewCache(),
		store:             opts.Store,
		drivers:           opts.Drivers,
		now:               opts.Now,
		loadContract:      opts.LoadContract,
		gatesRedis:        opts.GatesRedis,
		secrets:           opts.Secrets,
		stream:            opts.Stream,
		transitionStream:  opts.TransitionStream,
		streamMaxLen:      opts.StreamMaxLen,
		heartbeatEvery:    opts.HeartbeatEvery,
		debounce:          opts.Debounce,
		disableFileEvents: opts.DisableFileEvents,
	}
	if a.drivers == nil {
		a.drivers = driversWithSecrets(opts.Secrets)
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.loadContract == nil {
		a.loadContract = config.LoadContractDigest
	}
	if a.stream == "" {
		a.stream = DefaultStream
	}
	if a.transitionStream == "" {
		a.transitionStream = DefaultTransitionStream
	}
	if a.streamMaxLen <= 0 {
		a.streamMaxLen = DefaultStreamMaxLen
	}
	if a.heartbeatEvery <= 0 {
		a.heartbeatEvery = defaultHeartbeatEvery
	}
	if a.debounce <= 0 {
		a.debounce = defaultDebounce
	}
	return a
}

// Register registers the activities on a worker under their method names.
func Register(w worker.Registry, a *Activities) {
	w.RegisterActivityWithOptions(a.RunReplay, activity.RegisterOptions{Name: RunReplayName})
	w.RegisterActivityWithOptions(a.EvaluateGates, activity.RegisterOptions{Name: EvaluateGatesName})
	w.RegisterActivityWithOptions(a.RestartService, activity.RegisterOptions{Name: RestartServiceName})
	w.RegisterActivityWithOptions(a.StopService, activity.RegisterOptions{Name: StopServiceName})
	w.RegisterActivityWithOptions(a.StartService, activity.RegisterOptions{Name: StartServiceName})
	w.RegisterActivityWithOptions(a.WatchUntilFresh, activity.RegisterOptions{Name: WatchUntilFreshName})
	w.RegisterActivityWithOptions(a.PublishDecision, activity.RegisterOptions{Name: PublishDecisionName})
	w.RegisterActivityWithOptions(a.WriteDrillReport, activity.RegisterOptions{Name: WriteDrillReportName})
	w.RegisterActivityWithOptions(a.DescribeContract, activity.RegisterOptions{Name: DescribeContractName})
}

// contract loads the target's contract; a failure is non-retryable, and so
// is a contract whose bytes are not the ones the cycle planned with.
func (a *Activities) contract(t Target) (*config.Contract, error) {
	c, _, err := a.contractDigest(t)
	return c, err
}

// contractDigest loads the target's contract and returns the sha256 of its
// bytes. When the target carries the planned hash (t.ContractSHA256), a
// contract with another hash is refused: the file changed mid-cycle, and a
// cycle must judge, restart and recheck against one contract.
func (a *Activities) contractDigest(t Target) (*config.Contract, string, error) {
	if t.Contract == "" {
		return nil, "", nonRetryable(ErrTypeBadContract, errors.New("load contract: no contract named in the target"))
	}
	c, sum, err := a.loadContract(t.Contract)
	if err != nil {
		// config.LoadContractDigest names the contract and the field already.
		return nil, "", nonRetryable(ErrTypeBadContract, err)
	}
	if t.ContractSHA256 != "" && sum != t.ContractSHA256 {
		return nil, "", nonRetryable(ErrTypeContractChanged, fmt.Errorf(
			"load contract %q: sha256 %s is not %s the cycle planned with: the contract changed mid-cycle", t.Contract, sum, t.ContractSHA256))
	}
	return c, sum, nil
}

// engine loads the contract and builds its gate engine.
func (a *Activities) engine(t Target, noCommands bool) (*config.Contract, *gates.Engine, error) {
	c, err := a.contract(t)
	if err != nil {
		return nil, nil, err
	}
	if t.Root == "" {
		return nil, nil, nonRetryable(ErrTypeBadInput, fmt.Errorf("build gate engine for %q: no root in the target", t.Contract))
	}
	e, err := gates.New(c, gates.Options{
		Root:       t.Root,
		Now:        a.now,
		CI:         t.CI,
		NoCommands: noCommands,
		Redis:      a.gatesRedis,
		Secrets:    a.secrets,
		Cache:      a.gateCache,
	})
	if err != nil {
		return nil, nil, nonRetryable(ErrTypeBadContract, fmt.Errorf("build gate engine for %q: %w", t.Contract, err))
	}
	return c, e, nil
}

// checkNames refuses check names the contract does not declare.
func checkNames(c *config.Contract, names []string) error {
	for _, n := range names {
		if !slices.ContainsFunc(c.Checks, func(ch config.Check) bool { return ch.Name == n }) {
			return nonRetryable(ErrTypeBadInput, fmt.Errorf("select check %q: not in contract %q", n, c.Name))
		}
	}
	return nil
}

// requireStore fails (non-retryable: a worker wiring error) without a store.
func (a *Activities) requireStore(op string) error {
	if a.store == nil {
		return nonRetryable(ErrTypeNoStore, fmt.Errorf("%s: no redis store configured", op))
	}
	return nil
}

// envName is the environment part of Redis keys. A name outside
// config.ValidateEnvironment's grammar (a colon, a quote, none at all) is bad
// input: it could share a key with another environment's locks, budgets or
// decision.
func envName(env string) (string, error) {
	if err := config.ValidateEnvironment(env); err != nil {
		return "", nonRetryable(ErrTypeBadInput, fmt.Errorf("build redis keys: %w", err))
	}
	return env, nil
}

// nonRetryable wraps err as a non-retryable application error of type typ.
// The message is err's text; no cause is attached so the history does not
// repeat the text twice.
func nonRetryable(typ string, err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), typ, nil)
}

// background returns a short context that survives the activity's
// cancellation, for releasing a lock or undoing a mark on the way out.
func background(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
}
