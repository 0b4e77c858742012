// Package workerapp is the wiring of the strictcycle worker process, kept
// importable so that tests run the same code as the binary: the Temporal
// client from TEMPORAL_* settings, the Redis client, the zap logger and its
// SDK adapter, Prometheus metrics, and the worker's run loop.
package workerapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/strictcycle/strictcycle/activities"
	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/gates"
	"github.com/strictcycle/strictcycle/temporalclient"
	"github.com/strictcycle/strictcycle/workflows"
)

// RunOptions adjusts Run and RunWorker. The zero value is the production
// worker.
type RunOptions struct {
	// Registry receives the worker's metrics; nil makes a new one. Give
	// the registry whose handler the client was dialed with (see
	// temporalclient.WithMetricsHandler) so that the SDK's metrics are in
	// it too.
	Registry *prometheus.Registry
	// Redis is used instead of a client built from cfg.Redis; Run does not
	// close a client it was given.
	Redis *redis.Client
	// Activities replaces the activities built from cfg (tests).
	Activities *activities.Activities
	// Register adds registrations to the worker (tests).
	Register func(worker.Registry)
	// Worker overrides worker options.
	Worker worker.Options
	// OnReady is called once the worker polls and /metrics listens, with
	// the resolved addresses (a MetricsAddr of port 0 becomes a real one).
	OnReady func(Ready)
}

// Ready describes a running worker.
type Ready struct {
	MetricsAddr  string // "" when metrics are disabled
	TemporalAddr string
}

// RunWorker is the whole worker process after flag parsing: the metrics
// registry, the Temporal and Redis clients, the search attributes, then Run
// until ctx is done.
func RunWorker(ctx context.Context, cfg config.Config, logger *zap.Logger, opts RunOptions) error {
	reg := opts.Registry
	if reg == nil {
		reg = NewRegistry()
		opts.Registry = reg
	}
	mh, err := NewMetricsHandler(reg)
	if err != nil {
		return fmt.Errorf("register sdk metrics: %w", err)
	}
	c, err := Dial(ctx, cfg, logger, temporalclient.WithMetricsHandler(mh))
	if err != nil {
		return err
	}
	defer c.Close()
	// The workflows upsert these attributes; a namespace without them
	// would fail every workflow task. Registering needs operator rights the
	// worker may lack (Temporal Cloud), so a failure is a warning and the
	// compose setup job registers them too.
	if err := temporalclient.EnsureSearchAttributes(ctx, c.OperatorService(), cfg.Temporal.Namespace, workflows.SearchAttributeKeys()); err != nil {
		logger.Warn("search attributes not registered; register them with `strictcycle schedule create --register-search-attributes` or your Temporal admin", zap.Error(err))
	}
	return Run(ctx, c, cfg, logger, opts)
}

// NewRegistry returns a registry with the Go runtime and process
// collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Run runs the strictcycle worker on c until ctx is done, or until the
// worker fails (e.g. its namespace does not exist): it builds the
// activities on Redis, registers workflows and activities on
// cfg.TaskQueue, and serves /metrics and /healthz on cfg.MetricsAddr
// (empty disables). It returns nil after a clean stop by ctx.
func Run(ctx context.Context, c client.Client, cfg config.Config, logger *zap.Logger, opts RunOptions) error {
	reg := opts.Registry
	if reg == nil {
		reg = NewRegistry()
	}
	up := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "strictcycle_worker_up",
		Help:        "1 while the strictcycle worker polls its task queue.",
		ConstLabels: prometheus.Labels{"task_queue": cfg.TaskQueue, "namespace": cfg.Temporal.Namespace},
	})
	if err := reg.Register(up); err != nil {
		return fmt.Errorf("register worker metrics: %w", err)
	}
	defer reg.Unregister(up)

	rdb := opts.Redis
	if rdb == nil {
		var err error
		if rdb, err = NewRedis(cfg); err != nil {
			return err
		}
		defer func() { _ = rdb.Close() }()
	}
	acts := opts.Activities
	if acts == nil {
		acts = NewActivities(cfg, rdb)
	}

	wopts := withWorkerDefaults(opts.Worker)
	fatal := make(chan error, 1)
	wopts.OnFatalError = func(err error) {
		select {
		case fatal <- err:
		default:
		}
	}
	w := worker.New(c, cfg.TaskQueue, wopts)
	workflows.Register(w)
	activities.Register(w, acts)
	if opts.Register != nil {
		opts.Register(w)
	}

	// Listen before starting the worker, so that a taken port fails the
	// start instead of leaving a worker without metrics.
	var ln net.Listener
	if cfg.MetricsAddr != "" {
		var err error
		if ln, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			return fmt.Errorf("listen metrics %s: %w", cfg.MetricsAddr, err)
		}
	}

	if err := w.Start(); err != nil {
		if ln != nil {
			_ = ln.Close()
		}
		return fmt.Errorf("start worker on task queue %q: %w", cfg.TaskQueue, err)
	}
	up.Set(1)
	logger.Info("worker started",
		zap.String("task_queue", cfg.TaskQueue),
		zap.String("namespace", cfg.Temporal.Namespace),
		zap.String("temporal", cfg.Temporal.Address),
		zap.String("redis", RedactURL(cfg.Redis.URL)),
		zap.String("metrics", listenAddr(ln)))

	g, gctx := errgroup.WithContext(ctx)
	if ln != nil {
		srv := &http.Server{
			Handler:           metricsMux(reg, c, rdb),
			ReadHeaderTimeout: 5 * time.Second,
		}
		g.Go(func() error {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("serve metrics %s: %w", ln.Addr(), err)
			}
			return nil
		})
		g.Go(func() error {
			<-gctx.Done()
			shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return srv.Shutdown(shutdownCtx)
		})
	}
	g.Go(func() error {
		select {
		case <-gctx.Done():
			return nil
		case err := <-fatal:
			return fmt.Errorf("run worker on task queue %q: %w", cfg.TaskQueue, err)
		}
	})
	if opts.OnReady != nil {
		opts.OnReady(Ready{MetricsAddr: listenAddr(ln), TemporalAddr: cfg.Temporal.Address})
	}

	err := g.Wait()
	up.Set(0)
	// Stop waits for running activities up to WorkerStopTimeout; the
	// workflows themselves are durable and resume on the next worker.
	w.Stop()
	logger.Info("worker stopped", zap.String("task_queue", cfg.TaskQueue))
	return err
}

// withWorkerDefaults fills what o leaves unset. Workflow-task pollers
// autoscale (the SDK's autoscaling behaviour: 5 at start, 1 to 100, led by
// the server's poller hints) instead of the SDK's fixed 2: with 50
// environments cycling at once, two pollers left workflow tasks queued at
// the server for seconds (schedule-to-start p95 2.0-5.7 s in the bench,
// under 1 s with autoscaling; docs/PERFORMANCE.md). On a CPU-bound machine
// the wait moves into the tasks themselves rather than going away.
func withWorkerDefaults(o worker.Options) worker.Options {
	if o.WorkflowTaskPollerBehavior == nil && o.MaxConcurrentWorkflowTaskPollers == 0 {
		o.WorkflowTaskPollerBehavior = worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{})
	}
	return o
}

// NewActivities builds the production activities on a Redis client; what
// their child processes print is masked against Secrets(cfg).
func NewActivities(cfg config.Config, rdb *redis.Client) *activities.Activities {
	return activities.New(activities.Options{
		Store:            activities.NewRedisStore(rdb, cfg.Redis.KeyPrefix),
		GatesRedis:       gates.NewRedisClient(rdb),
		Secrets:          Secrets(cfg),
		Stream:           cfg.Redis.Stream,
		TransitionStream: cfg.Redis.TransitionStream,
		StreamMaxLen:     cfg.Redis.StreamMaxLen,
	})
}

func listenAddr(ln net.Listener) string {
	if ln == nil {
		return ""
	}
	return ln.Addr().String()
}

// healthTimeout bounds each dependency check of /healthz.
const healthTimeout = 2 * time.Second

// metricsMux serves /metrics and /healthz. /healthz is 200 while Temporal
// answers (the worker cannot make progress otherwise) and reports Redis in
// its body without failing on it: a restart of the worker would not bring
// Redis back, and activities fail closed on their own.
func metricsMux(reg *prometheus.Registry, c client.Client, rdb *redis.Client) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
		defer cancel()
		body := map[string]string{"status": "ok", "temporal": "ok", "redis": "ok"}
		code := http.StatusOK
		if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			body["status"], body["temporal"] = "unavailable", err.Error()
			code = http.StatusServiceUnavailable
		}
		if err := rdb.Ping(ctx).Err(); err != nil {
			body["redis"] = err.Error()
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(body)
	})
	return mux
}
