package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.uber.org/zap"
	"gopkg.in/yaml.v3"

	"github.com/strictcycle/strictcycle/activities"
	"github.com/strictcycle/strictcycle/cycletypes"
	"github.com/strictcycle/strictcycle/devserver"
	"github.com/strictcycle/strictcycle/redistest"
	"github.com/strictcycle/strictcycle/simstack"
	"github.com/strictcycle/strictcycle/temporalclient"
	"github.com/strictcycle/strictcycle/workflows"
)

// staleService is the producer left down at the start of a cycle: its
// integrity report is two hours old, so every cycle needs one restart.
const (
	staleService = simstack.EventStore
	staleCheck   = "event_store_integrity_freshness"
	// tick is how often the test polls the server, files and Redis.
	tick = 20 * time.Millisecond
)

func sharedRedisURL() string {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// stackOptions shape one test's stack.
type stackOptions struct {
	// contract edits the demo contract (a YAML document as maps).
	contract func(doc map[string]any)
	// redisURL is the Redis of the worker; default the shared one.
	redisURL string
	// producers overrides how a service is started (nil: started with the
	// defaults); a service in down is not started at all.
	producers map[string]simstack.Options
	down      []string
	// freshIntegrity skips the stale integrity report (the skew tests
	// want only the skewed producer's report).
	freshIntegrity bool
}

// stack is one test's world: a stack root with running sim producers, an
// in-process Temporal server on a SQLite file, a client, and worker
// processes.
type stack struct {
	t        *testing.T
	root     string
	contract string
	env      string
	queue    string
	prefix   string
	stream   string
	redisURL string

	dbFile string
	port   int
	srv    *devserver.Server
	cl     client.Client

	workers int
}

func newStack(t *testing.T, o stackOptions) *stack {
	t.Helper()
	if testing.Short() {
		t.Skip("fault test: skipped with -short")
	}
	s := &stack{t: t, root: t.TempDir(), redisURL: o.redisURL}
	if s.redisURL == "" {
		s.redisURL = sharedRedisURL()
	}
	name := strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "_"))
	s.env = "faults_" + strings.TrimPrefix(name, "test")
	if len(s.env) > 48 {
		s.env = s.env[:48]
	}
	s.queue = "strictcycle-" + s.env
	s.prefix = fmt.Sprintf("strictcycle-faults-%s-%d", s.env, time.Now().UnixNano())
	s.stream = s.prefix + ":decisions"
	// Registered first, so it runs last (after the worker processes and
	// producers are stopped): the shared Redis keeps no key of the test.
	t.Cleanup(s.dropKeys)

	require.NoError(t, simstack.Seed(s.root))
	if !o.freshIntegrity {
		require.NoError(t, simstack.WriteStaleIntegrity(s.root, time.Now().Add(-2*time.Hour)))
	}
	raw, err := simstack.Contract([]string{binaries.sim})
	require.NoError(t, err)
	if o.contract != nil {
		var doc map[string]any
		require.NoError(t, yaml.Unmarshal(raw, &doc))
		o.contract(doc)
		raw, err = yaml.Marshal(doc)
		require.NoError(t, err)
	}
	s.contract = filepath.Join(s.root, "contract.yaml")
	require.NoError(t, os.WriteFile(s.contract, raw, 0o644))

	t.Cleanup(func() {
		if t.Failed() {
			s.dumpLogs()
		}
	})
	// Stop the producers with a short grace: a producer stuck in a held
	// torn write ignores SIGTERM until it is killed.
	t.Cleanup(func() {
		for _, svc := range simstack.Services() {
			_ = simstack.StopWithTimeout(s.root, svc, 2*time.Second)
		}
	})
	down := map[string]bool{staleService: true}
	for _, svc := range o.down {
		down[svc] = true
	}
	for svc := range o.producers {
		delete(down, svc)
	}
	var started []string
	for _, svc := range simstack.Services() {
		if down[svc] {
			continue
		}
		opts, ok := o.producers[svc]
		if !ok {
			opts = simstack.Options{Interval: 500 * time.Millisecond}
		}
		opts.Self = []string{binaries.sim, "sim", "run"}
		require.NoError(t, simstack.Start(context.Background(), s.root, svc, opts))
		started = append(started, svc)
	}
	require.Eventually(t, func() bool {
		for _, svc := range started {
			for _, p := range simstack.ReportPaths(svc, time.Now()) {
				if _, err := os.Stat(filepath.Join(s.root, p)); err != nil {
					return false
				}
			}
		}
		return true
	}, 30*time.Second, tick, "the producers write their reports")

	s.dbFile = filepath.Join(t.TempDir(), "temporal.db")
	s.startServer()
	t.Cleanup(func() { s.srv.Stop() })
	s.dial()
	t.Cleanup(func() { s.cl.Close() })
	return s
}

// startServer starts the in-process Temporal server on the stack's SQLite
// file, on the same frontend port as before when there was one.
func (s *stack) startServer() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := devserver.Start(ctx, devserver.Options{
		DBFile: s.dbFile, FrontendPort: s.port, Namespace: devserver.DefaultNamespace,
		SearchAttributes: workflows.SearchAttributeKeys(), Logger: zap.NewNop(),
	})
	require.NoError(s.t, err)
	s.srv = srv
	_, port, err := net.SplitHostPort(srv.FrontendAddr())
	require.NoError(s.t, err)
	s.port, err = strconv.Atoi(port)
	require.NoError(s.t, err)
}

func (s *stack) dial() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := client.DialContext(ctx, client.Options{HostPort: s.srv.FrontendAddr(), Namespace: devserver.DefaultNamespace})
	require.NoError(s.t, err)
	s.cl = cl
}

// workerProc is a worker binary running as its own process.
type workerProc struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// startWorker runs the worker binary against the stack's server and Redis,
// with this test's task queue, key prefix and decision stream.
func (s *stack) startWorker() *workerProc {
	s.t.Helper()
	s.workers++
	logPath := filepath.Join(s.root, ".sim", fmt.Sprintf("worker-%d.log", s.workers))
	logf, err := os.Create(logPath)
	require.NoError(s.t, err)
	defer logf.Close()
	cmd := exec.Command(binaries.worker)
	cmd.Dir = s.root
	cmd.Env = append(os.Environ(),
		"TEMPORAL_ADDRESS="+s.srv.FrontendAddr(),
		"TEMPORAL_NAMESPACE="+devserver.DefaultNamespace,
		"REDIS_URL="+s.redisURL,
		"STRICTCYCLE_REDIS_PREFIX="+s.prefix,
		"STRICTCYCLE_DECISION_STREAM="+s.stream,
		"STRICTCYCLE_TRANSITION_STREAM="+s.prefix+":transitions",
		"STRICTCYCLE_TASK_QUEUE="+s.queue,
		"STRICTCYCLE_ENVIRONMENT="+s.env,
		"STRICTCYCLE_ROOT="+s.root,
		"STRICTCYCLE_CONTRACT="+s.contract,
		"STRICTCYCLE_METRICS_ADDR=",
		"STRICTCYCLE_LOG_LEVEL=info",
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(s.t, cmd.Start())
	w := &workerProc{cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(w.done)
	}()
	s.t.Cleanup(func() { w.kill(s.t) })
	return w
}

// kill sends SIGKILL to the worker process only (not to the commands it
// started, which run in their own process groups, as after a real crash)
// and waits until it is gone.
func (w *workerProc) kill(t *testing.T) {
	select {
	case <-w.done:
		return
	default:
	}
	_ = w.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		t.Errorf("worker pid %d did not exit after SIGKILL", w.cmd.Process.Pid)
	}
}

func (s *stack) input() *workflows.StrictCycleInput {
	return &workflows.StrictCycleInput{Target: activities.Target{
		Environment: s.env, Root: s.root, Contract: s.contract, CI: true}}
}

func (s *stack) startCycle(ctx context.Context) client.WorkflowRun {
	s.t.Helper()
	run, err := s.cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflows.WorkflowID(s.env, "cycle"),
		TaskQueue:                s.queue,
		WorkflowExecutionTimeout: 15 * time.Minute,
	}, workflows.StrictCycleName, s.input())
	require.NoError(s.t, err)
	return run
}

// result waits for the cycle's result (through the current client, which
// may have been re-dialled after a server restart).
func (s *stack) result(ctx context.Context, run client.WorkflowRun) *workflows.StrictCycleResult {
	s.t.Helper()
	var res workflows.StrictCycleResult
	require.NoError(s.t, s.cl.GetWorkflow(ctx, run.GetID(), run.GetRunID()).Get(ctx, &res))
	s.t.Logf("decision %s reason=%q restarts=%+v publish_error=%q", res.Status, res.Reason, res.Restarts, res.PublishError)
	return &res
}

// phase is the cycle's phase from the status query ("" when no worker
// answers).
func (s *stack) phase(ctx context.Context, run client.WorkflowRun) cycletypes.Phase {
	qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	v, err := s.cl.QueryWorkflow(qctx, run.GetID(), run.GetRunID(), workflows.QueryStatus)
	if err != nil {
		return ""
	}
	var st workflows.CycleStatus
	if err := v.Get(&st); err != nil {
		return ""
	}
	return st.Phase
}

// pending is the server's view of a pending activity of the given type.
func (s *stack) pending(ctx context.Context, run client.WorkflowRun, activityType string) (state enumspb.PendingActivityState, attempt int32, lastFailure string, ok bool) {
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	d, err := s.cl.DescribeWorkflowExecution(dctx, run.GetID(), run.GetRunID())
	if err != nil {
		return 0, 0, "", false
	}
	for _, p := range d.GetPendingActivities() {
		if p.GetActivityType().GetName() == activityType {
			return p.GetState(), p.GetAttempt(), p.GetLastFailure().GetMessage(), true
		}
	}
	return 0, 0, "", false
}

// awaitStarted waits until the cycle is in phase and a worker has started
// an attempt of activityType in it (the server holds it as STARTED): a kill
// from then on can only end that attempt by a timeout.
func (s *stack) awaitStarted(ctx context.Context, run client.WorkflowRun, phase cycletypes.Phase, activityType string) {
	s.t.Helper()
	require.Eventually(s.t, func() bool {
		if s.phase(ctx, run) != phase {
			return false
		}
		st, _, _, ok := s.pending(ctx, run, activityType)
		return ok && st == enumspb.PENDING_ACTIVITY_STATE_STARTED
	}, 2*time.Minute, tick, "phase %s with %s started", phase, activityType)
}

// activityRun is one activity of the history: its type, the attempt that
// ended it, the failure of the attempt before (when retried) and how it
// ended.
type activityRun struct {
	Type        string
	Attempt     int32
	LastFailure string
	Outcome     string // completed | failed | timed_out
	Failure     string
	result      []byte // JSON of the first result payload
}

func (a activityRun) decode(t *testing.T, v any) {
	t.Helper()
	require.NotEmpty(t, a.result, "%s has no result", a.Type)
	require.NoError(t, json.Unmarshal(a.result, v))
}

// history returns the activities of a run in schedule order.
func (s *stack) history(ctx context.Context, run client.WorkflowRun) []*activityRun {
	s.t.Helper()
	events, err := temporalclient.History(ctx, s.cl, run.GetID(), run.GetRunID())
	require.NoError(s.t, err)
	byID := map[int64]*activityRun{}
	var out []*activityRun
	for _, ev := range events {
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			a := &activityRun{Type: ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()}
			byID[ev.GetEventId()] = a
			out = append(out, a)
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			at := ev.GetActivityTaskStartedEventAttributes()
			if a := byID[at.GetScheduledEventId()]; a != nil {
				a.Attempt = at.GetAttempt()
				a.LastFailure = failureText(at.GetLastFailure().GetMessage(), at.GetLastFailure().GetTimeoutFailureInfo().GetTimeoutType())
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			at := ev.GetActivityTaskCompletedEventAttributes()
			if a := byID[at.GetScheduledEventId()]; a != nil {
				a.Outcome = "completed"
				if p := at.GetResult().GetPayloads(); len(p) > 0 {
					var raw json.RawMessage
					if err := converter.GetDefaultDataConverter().FromPayload(p[0], &raw); err == nil {
						a.result = raw
					}
				}
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED:
			at := ev.GetActivityTaskFailedEventAttributes()
			if a := byID[at.GetScheduledEventId()]; a != nil {
				a.Outcome, a.Failure = "failed", at.GetFailure().GetMessage()
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
			at := ev.GetActivityTaskTimedOutEventAttributes()
			if a := byID[at.GetScheduledEventId()]; a != nil {
				a.Outcome = "timed_out"
				a.Failure = failureText(at.GetFailure().GetMessage(), at.GetFailure().GetTimeoutFailureInfo().GetTimeoutType())
			}
		}
	}
	for _, a := range out {
		s.t.Logf("history: %-16s attempt %d %-9s last_failure=%q failure=%q", a.Type, a.Attempt, a.Outcome, a.LastFailure, a.Failure)
	}
	return out
}

func failureText(msg string, tt enumspb.TimeoutType) string {
	if tt != enumspb.TIMEOUT_TYPE_UNSPECIFIED {
		return msg + " (" + tt.String() + ")"
	}
	return msg
}

// only returns the activities of one type.
func only(runs []*activityRun, activityType string) []*activityRun {
	var out []*activityRun
	for _, a := range runs {
		if a.Type == activityType {
			out = append(out, a)
		}
	}
	return out
}

// producerStarts counts the real starts of a producer process: each one
// logs a "simstack producer started" line.
func (s *stack) producerStarts(service string) int {
	b, err := os.ReadFile(simstack.LogFile(s.root, service))
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	require.NoError(s.t, err)
	return bytes.Count(b, []byte("simstack producer started service="+service+" "))
}

// redis returns a client of the stack's Redis.
func (s *stack) redis() *redis.Client {
	opts, err := redis.ParseURL(s.redisURL)
	require.NoError(s.t, err)
	rc := redis.NewClient(opts)
	s.t.Cleanup(func() { _ = rc.Close() })
	return rc
}

// decisionsOf returns the decision stream entries of a run.
func (s *stack) decisionsOf(ctx context.Context, runID string) []string {
	s.t.Helper()
	msgs, err := s.redis().XRange(ctx, s.stream, "-", "+").Result()
	require.NoError(s.t, err)
	var out []string
	for _, m := range msgs {
		if p, _ := m.Values["payload"].(string); strings.Contains(p, runID) {
			out = append(out, p)
		}
	}
	return out
}

// requireOneRestartPerRound checks the cycle's restarts against the real
// producer starts: every round restarted the stale service at most once,
// and the process was started exactly as often as a driver call happened.
func (s *stack) requireOneRestartPerRound(res *workflows.StrictCycleResult, wantStarts int) {
	s.t.Helper()
	seen := map[string]bool{}
	for _, r := range res.Restarts {
		key := fmt.Sprintf("%d/%s", r.Round, r.Service)
		require.False(s.t, seen[key], "two restarts of %s in round %d: %+v", r.Service, r.Round, res.Restarts)
		seen[key] = true
	}
	require.Equal(s.t, wantStarts, s.producerStarts(staleService), "real starts of the %s process", staleService)
}

// setExecRestart replaces the exec driver's restart argv; extra flags go
// between `sim restart` and the root.
func setExecRestart(doc map[string]any, extra ...string) {
	argv := []any{binaries.sim, "sim", "restart"}
	for _, e := range extra {
		argv = append(argv, e)
	}
	argv = append(argv, "--root", "{root}", "{service}")
	recovery(doc)["exec"].(map[string]any)["restart"] = argv
}

func recovery(doc map[string]any) map[string]any { return doc["recovery"].(map[string]any) }

// procWith reports whether a live process has every one of args in its
// argv (Linux /proc).
func procWith(args ...string) bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		argv := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		all := true
		for _, want := range args {
			found := false
			for _, a := range argv {
				if a == want {
					found = true
					break
				}
			}
			if !found {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func (s *stack) dumpLogs() {
	logs, _ := filepath.Glob(filepath.Join(s.root, ".sim", "*.log"))
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err != nil {
			continue
		}
		if len(b) > 4000 {
			b = b[len(b)-4000:]
		}
		s.t.Logf("--- %s (tail) ---\n%s", filepath.Base(l), b)
	}
}

// simOptions keeps the default interval for a producer started by a test.
func simOptions(o simstack.Options) simstack.Options {
	if o.Interval == 0 {
		o.Interval = 500 * time.Millisecond
	}
	return o
}

// dropKeys deletes every key under the test's prefix (decisions stream,
// latest decision, restart budgets, marks and locks).
func (s *stack) dropKeys() { redistest.DropPrefix(s.t, s.redisURL, s.prefix) }
