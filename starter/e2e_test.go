package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"google.golang.org/protobuf/encoding/protojson"
	"gopkg.in/yaml.v3"

	"github.com/strictcycle/strictcycle/activities"
	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/devserver"
	"github.com/strictcycle/strictcycle/redistest"
	"github.com/strictcycle/strictcycle/simstack"
	"github.com/strictcycle/strictcycle/temporalclient"
	"github.com/strictcycle/strictcycle/worker/workerapp"
	"github.com/strictcycle/strictcycle/workflows"
)

// TestMain lets the test binary stand in for the simulated stack's binary
// (go run ./dev sim): the producers, the replay and the exec restart driver
// run `<test binary> sim …`.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "sim" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := simstack.Command(ctx, os.Args[2:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

func testRedisURL() string {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// e2eStack is a real in-process Temporal server, a real Redis, and a
// simulated hbot stack whose producers are real processes.
type e2eStack struct {
	t    *testing.T
	root string
	cfg  config.Config
	srv  *devserver.Server
	cl   client.Client
}

func newE2EStack(t *testing.T, mutate func(map[string]any)) *e2eStack {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: skipped with -short")
	}
	root := t.TempDir()
	self := []string{os.Args[0]}
	require.NoError(t, simstack.Seed(root))
	require.NoError(t, simstack.WriteStaleIntegrity(root, time.Now().Add(-2*time.Hour)))
	raw, err := simstack.Contract(self)
	require.NoError(t, err)
	if mutate != nil {
		var doc map[string]any
		require.NoError(t, yaml.Unmarshal(raw, &doc))
		mutate(doc)
		raw, err = yaml.Marshal(doc)
		require.NoError(t, err)
	}
	contract := filepath.Join(root, "contract.yaml")
	require.NoError(t, os.WriteFile(contract, raw, 0o644))
	t.Cleanup(func() { _ = simstack.StopAll(root) })
	opts := simstack.Options{Self: append(self, "sim", "run"), Interval: 500 * time.Millisecond}
	var started []string
	for _, svc := range simstack.Services() {
		if svc == DemoService {
			continue
		}
		require.NoError(t, simstack.Start(context.Background(), root, svc, opts))
		started = append(started, svc)
	}
	require.NoError(t, waitReports(context.Background(), root, started))

	srv, err := devserver.Start(context.Background(), devserver.Options{
		DBFile: filepath.Join(t.TempDir(), "temporal.db"), Namespace: "default",
		SearchAttributes: workflows.SearchAttributeKeys(), Logger: zap.NewNop(),
	})
	require.NoError(t, err)
	t.Cleanup(srv.Stop)

	cfg := config.Default()
	cfg.Environment = "e2e" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "_"))
	if len(cfg.Environment) > 60 {
		cfg.Environment = cfg.Environment[:60]
	}
	cfg.Root, cfg.Contract = root, contract
	cfg.Temporal.Address = srv.FrontendAddr()
	cfg.Redis.URL = testRedisURL()
	cfg.Redis.KeyPrefix = "strictcycle-test-" + cfg.Environment + "-" + time.Now().Format("150405.000000")
	cfg.Redis.ScopeStreams()
	// Registered before the worker starts, so it runs after the worker has
	// stopped: the shared Redis keeps no key of the test.
	t.Cleanup(func() { redistest.DropPrefix(t, cfg.Redis.URL, cfg.Redis.KeyPrefix) })
	cfg.MetricsAddr = ""
	cl, err := workerapp.Dial(context.Background(), cfg, zap.NewNop())
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return &e2eStack{t: t, root: root, cfg: cfg, srv: srv, cl: cl}
}

// startWorker runs the same worker code the binary runs until stop is
// called; stop waits for it to return.
func (s *e2eStack) startWorker() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- workerapp.Run(ctx, s.cl, s.cfg, zap.NewNop(), workerapp.RunOptions{}) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		require.NoError(s.t, <-done)
	}
	s.t.Cleanup(stop)
	return stop
}

func (s *e2eStack) input() *workflows.StrictCycleInput {
	return &workflows.StrictCycleInput{Target: activities.Target{
		Environment: s.cfg.Environment, Root: s.root, Contract: s.cfg.Contract, CI: true}}
}

func (s *e2eStack) restartsInRedis() []string {
	opts, err := redis.ParseURL(s.cfg.Redis.URL)
	require.NoError(s.t, err)
	rc := redis.NewClient(opts)
	defer rc.Close()
	raw, err := rc.Get(context.Background(), s.cfg.Redis.KeyPrefix+":"+s.cfg.Environment+":promotion_gate:latest").Result()
	require.NoError(s.t, err)
	var latest struct {
		Status   string   `json:"status"`
		Restarts []string `json:"restarts"`
	}
	require.NoError(s.t, json.Unmarshal([]byte(raw), &latest))
	return latest.Restarts
}

// A stale integrity report leads to a restart of its producer, a wait until
// the report is fresh, a recheck, and PASS — through the real server,
// Redis, files and processes.
func TestE2EStaleIntegrityRestartsAndPasses(t *testing.T) {
	s := newE2EStack(t, nil)
	s.startWorker()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run, err := startCycle(ctx, s.cl, s.cfg.TaskQueue, s.input())
	require.NoError(t, err)
	var res workflows.StrictCycleResult
	require.NoError(t, run.Get(ctx, &res))

	require.Equal(t, "PASS", string(res.Status), res.Reason)
	require.Len(t, res.Restarts, 1)
	require.Equal(t, DemoService, res.Restarts[0].Service)
	require.Equal(t, activities.RestartDone, res.Restarts[0].Outcome)
	require.Positive(t, res.Restarts[0].FreshAfterMS)
	require.True(t, simstack.Running(s.root, DemoService), "the exec driver started the producer")
	require.FileExists(t, res.ArtifactPath)
	require.FileExists(t, filepath.Join(s.root, "reports", "promotion_gates", "strict_cycle_latest.json"))
	require.Equal(t, []string{"1:" + DemoService + ":restarted"}, s.restartsInRedis())

	// A second start while none runs is allowed; while one runs it is refused.
	events, err := temporalclient.History(ctx, s.cl, run.GetID(), run.GetRunID())
	require.NoError(t, err)
	tl := strings.Join(Timeline(events), "\n")
	require.Contains(t, tl, "RestartService")
	require.Contains(t, tl, DemoService+" restarted via exec")
	require.Contains(t, tl, "decision PASS")
	saveHistory(t, s.cl, run.GetID(), run.GetRunID(), "strict_cycle_restart_pass")
}

// A worker stopped while the cycle waits on WatchUntilFresh, and a new one
// started: the cycle still completes, with exactly one restart.
func TestE2EWorkerStoppedDuringWatch(t *testing.T) {
	s := newE2EStack(t, func(doc map[string]any) {
		doc["recovery"].(map[string]any)["wait_first"] = "6s"
	})
	stop1 := s.startWorker()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run, err := startCycle(ctx, s.cl, s.cfg.TaskQueue, s.input())
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		st, err := queryStatus(ctx, s.cl, run.GetID(), run.GetRunID())
		return err == nil && st.Phase == workflows.PhaseWaitFirst
	}, time.Minute, 20*time.Millisecond)
	stop1()
	s.startWorker()

	var res workflows.StrictCycleResult
	require.NoError(t, run.Get(ctx, &res))
	require.Equal(t, "PASS", string(res.Status), res.Reason)
	require.Len(t, res.Restarts, 1, "exactly one restart")
	require.Equal(t, activities.RestartDone, res.Restarts[0].Outcome)
	saveHistory(t, s.cl, run.GetID(), run.GetRunID(), "strict_cycle_worker_stopped")
}

// saveHistory writes a run's history to workflows/testdata when
// STRICTCYCLE_UPDATE_HISTORIES=1, for the replay tests there.
func saveHistory(t *testing.T, cl client.Client, id, runID, name string) {
	t.Helper()
	if os.Getenv("STRICTCYCLE_UPDATE_HISTORIES") != "1" {
		return
	}
	events, err := temporalclient.History(context.Background(), cl, id, runID)
	require.NoError(t, err)
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&historypb.History{Events: events})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join("..", "workflows", "testdata", name+".json"), b, 0o644))
}

// A recovery drill on the real stack: stop the event store, the gate fails
// closed on its integrity check, start it, fresh again, PASS.
func TestE2ERecoveryDrill(t *testing.T) {
	// A 5s window turns the stopped producer stale in seconds.
	s := newE2EStack(t, func(doc map[string]any) {
		f := doc["freshness"].(map[string]any)
		f["window"], f["ci_window"] = "5s", "5s"
	})
	require.NoError(t, simstack.RunReplay(s.root))
	s.startWorker()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// Bring the event store up first so the drill starts from PASS (the
	// stale report goes, so waitReports sees the producer's own).
	for _, p := range simstack.ReportPaths(DemoService, time.Now()) {
		require.NoError(t, os.Remove(filepath.Join(s.root, p)))
	}
	require.NoError(t, simstack.Start(ctx, s.root, DemoService, simstack.Options{Self: []string{os.Args[0], "sim", "run"}, Interval: 500 * time.Millisecond}))
	require.NoError(t, waitReports(ctx, s.root, []string{DemoService}))
	in := &workflows.RecoveryDrillInput{
		Target:  activities.Target{Environment: s.cfg.Environment, Root: s.root, Contract: s.cfg.Contract, CI: true},
		Service: DemoService, Check: DemoCheck, StaleTimeout: time.Minute,
	}
	run, err := s.cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.WorkflowID(s.cfg.Environment, "drill-"+DemoService), TaskQueue: s.cfg.TaskQueue,
	}, workflows.RecoveryDrillName, in)
	require.NoError(t, err)
	var res workflows.RecoveryDrillResult
	require.NoError(t, run.Get(ctx, &res))
	for _, st := range res.Steps {
		require.True(t, st.OK, "%s: %s", st.Name, st.Detail)
	}
	require.Equal(t, "pass", string(res.Status))
	require.Len(t, res.Steps, 7)
	require.FileExists(t, filepath.Join(s.root, "reports", "recovery", "latest.json"))
	require.True(t, simstack.Running(s.root, DemoService), "the drill leaves the service running")
	saveHistory(t, s.cl, run.GetID(), run.GetRunID(), "recovery_drill_pass")
}

// A failure no restart can cure fails closed at once: no restart at all.
func TestE2ENonRecoverableFailsClosed(t *testing.T) {
	s := newE2EStack(t, nil)
	s.startWorker()
	// The strategy catalog names a controller file that no longer exists.
	require.NoError(t, os.Remove(filepath.Join(s.root, "controllers", "epp_v2_4.py")))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run, err := startCycle(ctx, s.cl, s.cfg.TaskQueue, s.input())
	require.NoError(t, err)
	var res workflows.StrictCycleResult
	require.NoError(t, run.Get(ctx, &res))
	require.Equal(t, "FAIL", string(res.Status))
	require.Contains(t, res.Reason, "non-recoverable critical failure: strategy_catalog_consistency (fail)")
	require.Empty(t, res.Restarts)
	require.False(t, simstack.Running(s.root, DemoService), "nothing was restarted")
	saveHistory(t, s.cl, run.GetID(), run.GetRunID(), "strict_cycle_fail_closed")
}

// The producer the test stack leaves down (its integrity report is stale),
// and the check that report feeds.
const (
	DemoService = "event-store-service"
	DemoCheck   = "event_store_integrity_freshness"
)

// waitReports waits (30s at most) until every started producer has written
// its reports.
func waitReports(ctx context.Context, root string, services []string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		missing := ""
		for _, svc := range services {
			for _, p := range simstack.ReportPaths(svc, time.Now()) {
				if _, err := os.Stat(filepath.Join(root, p)); err != nil {
					missing = filepath.Join(root, p)
				}
			}
		}
		if missing == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", missing, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
