//go:build dockere2e

package dockere2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.uber.org/zap"
	"gopkg.in/yaml.v3"

	"github.com/strictcycle/strictcycle/activities"
	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/devserver"
	"github.com/strictcycle/strictcycle/gates"
	"github.com/strictcycle/strictcycle/redistest"
	"github.com/strictcycle/strictcycle/simstack"
	"github.com/strictcycle/strictcycle/temporalclient"
	"github.com/strictcycle/strictcycle/worker/workerapp"
	"github.com/strictcycle/strictcycle/workflows"
)

// The images deploy/build-images builds; the compose file of the simulated
// stack; the service the tests make stale and the check its report feeds.
const (
	producerImage = "strictcycle-hbotsim:scratch"
	workerImage   = "strictcycle:scratch"
	composeFile   = "../deploy/hbotsim-compose.yml"
	target        = simstack.Reconciliation
	targetCheck   = "reconciliation_status"
	targetReport  = "reports/reconciliation/latest.json"
)

var (
	// socket is the Engine API socket the drivers use; binDir holds the
	// static worker, starter and hbotsim binaries.
	socket, binDir string
)

// TestMain finds the engine (STRICTCYCLE_DOCKER_SOCKET, else DOCKER_HOST,
// else the default socket), the compose plugin and the images, and builds
// the static binaries when STRICTCYCLE_BIN does not name them. Without an
// engine the suite fails under CI=true and is skipped otherwise.
func TestMain(m *testing.M) {
	if err := setup(); err != nil {
		if os.Getenv("CI") == "true" {
			fmt.Fprintf(os.Stderr, "dockere2e: %v (make test-docker starts an engine)\n", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "dockere2e: skipped: %v (make test-docker starts an engine)\n", err)
		os.Exit(0)
	}
	code := m.Run()
	if binDir != os.Getenv("STRICTCYCLE_BIN") {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func setup() error {
	socket = os.Getenv("STRICTCYCLE_DOCKER_SOCKET")
	if socket == "" {
		socket = strings.TrimPrefix(os.Getenv("DOCKER_HOST"), "unix://")
	}
	if socket == "" {
		socket = activities.DefaultDockerSocket
	}
	os.Setenv("DOCKER_HOST", "unix://"+socket)
	if out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		return fmt.Errorf("no Docker Engine at %s: %v: %s", socket, err, bytes.TrimSpace(out))
	}
	if out, err := exec.Command("docker", "compose", "version").CombinedOutput(); err != nil {
		return fmt.Errorf("no docker compose plugin: %v: %s", err, bytes.TrimSpace(out))
	}
	binDir = os.Getenv("STRICTCYCLE_BIN")
	if binDir == "" {
		dir, err := os.MkdirTemp("", "dockere2e-bin")
		if err != nil {
			return err
		}
		binDir = dir
		build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", dir+"/", "../worker", "../starter", "../dev/hbotsim")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("build the static binaries: %v: %s", err, out)
		}
		if out, err := exec.Command("bash", "../deploy/build-images", dir).CombinedOutput(); err != nil {
			return fmt.Errorf("build the images: %v: %s", err, out)
		}
	}
	for _, img := range []string{producerImage, workerImage} {
		if out, err := exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", img).CombinedOutput(); err != nil {
			return fmt.Errorf("image %s missing (deploy/build-images builds it): %s", img, bytes.TrimSpace(out))
		}
	}
	return nil
}

func testRedisURL() string {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// stackOptions shape one test's stack.
type stackOptions struct {
	// env adds compose variables (RECON_INTERVAL, RECON_START_DELAY, ...).
	env map[string]string
	// contract edits the contract document after the docker driver is set.
	contract func(s *stack, doc map[string]any)
	// noWait: do not wait for every container to be healthy after up.
	noWait bool
	// noWorker: the test runs its own worker (in a container).
	noWorker bool
}

// stack is a compose project of simulated producers on the real engine, a
// real in-process Temporal server, the real Redis, and a worker.
type stack struct {
	t        *testing.T
	root     string
	contract string
	project  string
	envFile  string
	cfg      config.Config
	srv      *devserver.Server
	cl       client.Client
	t0       time.Time
}

func newStack(t *testing.T, o stackOptions) *stack {
	t.Helper()
	s := &stack{t: t, root: t.TempDir(), t0: time.Now()}
	require.NoError(t, simstack.Seed(s.root))
	s.project = fmt.Sprintf("sct%d", time.Now().UnixNano()%1_000_000_000)
	s.writeEnvFile(o.env)
	s.writeContract(o.contract)
	t.Cleanup(func() { _, _ = s.composeOut("down", "--timeout", "1", "--remove-orphans") })
	args := []string{"up", "-d"}
	if !o.noWait {
		args = append(args, "--wait", "--wait-timeout", "90")
	}
	s.compose(args...)

	srv, err := devserver.Start(context.Background(), devserver.Options{
		DBFile: filepath.Join(t.TempDir(), "temporal.db"), Namespace: "default",
		SearchAttributes: workflows.SearchAttributeKeys(), Logger: zap.NewNop(),
	})
	require.NoError(t, err)
	t.Cleanup(srv.Stop)
	s.srv = srv
	cfg := config.Default()
	cfg.Environment = "docker_" + s.project
	cfg.Root, cfg.Contract = s.root, s.contract
	cfg.Temporal.Address = srv.FrontendAddr()
	cfg.Redis.URL = testRedisURL()
	cfg.Redis.KeyPrefix = "strictcycle-test-docker-" + s.project
	cfg.Redis.ScopeStreams()
	t.Cleanup(func() { redistest.DropPrefix(t, cfg.Redis.URL, cfg.Redis.KeyPrefix) })
	cfg.MetricsAddr = ""
	s.cfg = cfg
	cl, err := workerapp.Dial(context.Background(), cfg, zap.NewNop())
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	s.cl = cl
	if !o.noWorker {
		s.startWorker()
	}
	return s
}

// writeEnvFile writes the compose --env-file: the project, the root, short
// health intervals, then the test's variables.
func (s *stack) writeEnvFile(extra map[string]string) {
	env := map[string]string{
		"COMPOSE_PROJECT_NAME": s.project, "HBOT_ROOT": s.root, "HBOTSIM_IMAGE": producerImage,
		"HBOTSIM_INTERVAL": "1s", "RECON_INTERVAL": "1s",
		"HBOTSIM_HEALTH_INTERVAL": "1s", "HBOTSIM_HEALTH_RETRIES": "2", "HBOTSIM_HEALTH_START_PERIOD": "1s",
	}
	for k, v := range extra {
		env[k] = v
	}
	var b strings.Builder
	for k, v := range env {
		fmt.Fprintf(&b, "%s=%s\n", k, v)
	}
	s.envFile = filepath.Join(s.t.TempDir(), "compose.env")
	require.NoError(s.t, os.WriteFile(s.envFile, []byte(b.String()), 0o600))
}

// writeContract is the simulated stack's demo contract with the docker
// driver on this project, the replay run by the static hbotsim binary.
func (s *stack) writeContract(edit func(*stack, map[string]any)) {
	raw, err := simstack.Contract([]string{filepath.Join(binDir, "hbotsim")})
	require.NoError(s.t, err)
	var doc map[string]any
	require.NoError(s.t, yaml.Unmarshal(raw, &doc))
	rec := doc["recovery"].(map[string]any)
	delete(rec, "exec")
	rec["driver"] = "docker"
	rec["wait_first"] = "1s"
	rec["docker"] = map[string]any{"socket": socket, "project": s.project, "timeout": "2s", "health_timeout": "30s"}
	if edit != nil {
		edit(s, doc)
	}
	raw, err = yaml.Marshal(doc)
	require.NoError(s.t, err)
	s.contract = filepath.Join(s.root, "contract.yaml")
	require.NoError(s.t, os.WriteFile(s.contract, raw, 0o644))
}

func (s *stack) composeArgs(args ...string) []string {
	abs, err := filepath.Abs(composeFile)
	require.NoError(s.t, err)
	return append([]string{"compose", "--env-file", s.envFile, "-f", abs, "--profile", "hbotsim"}, args...)
}

func (s *stack) composeOut(args ...string) (string, error) {
	out, err := exec.Command("docker", s.composeArgs(args...)...).CombinedOutput()
	return string(out), err
}

func (s *stack) compose(args ...string) {
	s.t.Helper()
	out, err := s.composeOut(args...)
	require.NoError(s.t, err, "docker compose %s: %s", strings.Join(args, " "), out)
}

// container is the compose container name of a service.
func (s *stack) container(service string) string { return s.project + "-" + service + "-1" }

// docker runs the docker CLI and returns its trimmed output.
func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	require.NoError(t, err, "docker %s: %s", strings.Join(args, " "), out)
	return strings.TrimSpace(string(out))
}

// state is the container's state as the engine reports it.
type state struct {
	Status       string
	Running      bool
	RestartCount int
	Health       string
}

func (s *stack) state(name string) state {
	out := docker(s.t, "inspect", "--format",
		`{{json .State.Status}} {{json .State.Running}} {{json .RestartCount}} {{if .State.Health}}{{json .State.Health.Status}}{{else}}""{{end}}`, name)
	var st state
	f := strings.Fields(out)
	require.Len(s.t, f, 4, out)
	require.NoError(s.t, json.Unmarshal([]byte(f[0]), &st.Status))
	require.NoError(s.t, json.Unmarshal([]byte(f[1]), &st.Running))
	require.NoError(s.t, json.Unmarshal([]byte(f[2]), &st.RestartCount))
	require.NoError(s.t, json.Unmarshal([]byte(f[3]), &st.Health))
	return st
}

// waitHealth waits until the container's health status is want.
func (s *stack) waitHealth(name, want string, within time.Duration) {
	s.t.Helper()
	require.Eventually(s.t, func() bool { return s.state(name).Health == want }, within, 200*time.Millisecond,
		"%s never turned %s", name, want)
}

// events counts the engine's events of one action (start, restart, die,
// kill, stop) for the container since t: the real container starts.
func (s *stack) events(name, action string, since time.Time) int {
	out := docker(s.t, "events", "--since", unixArg(since), "--until", unixArg(time.Now()),
		"--filter", "type=container", "--filter", "container="+name, "--filter", "event="+action, "--format", "{{.Action}}")
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.TrimSpace(l) == action {
			n++
		}
	}
	return n
}

func unixArg(t time.Time) string {
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}

// backdate makes the report stale: its timestamps and its mtime two hours
// old (a producer that hangs without writing).
func (s *stack) backdate(rel string) {
	path := filepath.Join(s.root, filepath.FromSlash(rel))
	b, err := os.ReadFile(path)
	require.NoError(s.t, err)
	var doc map[string]any
	require.NoError(s.t, json.Unmarshal(b, &doc))
	old := time.Now().Add(-2 * time.Hour)
	for _, k := range []string{"ts_utc", "last_update_utc"} {
		if _, ok := doc[k]; ok {
			doc[k] = gates.FormatPyISO(old.UTC())
		}
	}
	b, err = json.Marshal(doc)
	require.NoError(s.t, err)
	require.NoError(s.t, os.WriteFile(path, b, 0o644))
	require.NoError(s.t, os.Chtimes(path, old, old))
}

// startWorker runs the worker code the binary runs until the test ends.
func (s *stack) startWorker() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- workerapp.Run(ctx, s.cl, s.cfg, zap.NewNop(), workerapp.RunOptions{}) }()
	s.t.Cleanup(func() {
		cancel()
		require.NoError(s.t, <-done)
	})
}

func (s *stack) input() *workflows.StrictCycleInput {
	return &workflows.StrictCycleInput{Target: activities.Target{
		Environment: s.cfg.Environment, Root: s.root, Contract: s.contract, CI: true}}
}

// startCycle starts one strict cycle of the stack's environment.
func (s *stack) startCycle(ctx context.Context) client.WorkflowRun {
	run, err := s.cl.ExecuteWorkflow(ctx, workflows.CycleStartOptions(s.cfg.Environment, s.cfg.TaskQueue), workflows.StrictCycleName, s.input())
	require.NoError(s.t, err)
	return run
}

// cycle runs one strict cycle to its decision.
func (s *stack) cycle(ctx context.Context) (client.WorkflowRun, workflows.StrictCycleResult, time.Duration) {
	start := time.Now()
	run := s.startCycle(ctx)
	var res workflows.StrictCycleResult
	require.NoError(s.t, run.Get(ctx, &res))
	return run, res, time.Since(start)
}

// timeline is `strictcycle show` of the run, from the operator CLI binary.
func (s *stack) timeline(run client.WorkflowRun) string {
	cmd := exec.Command(filepath.Join(binDir, "starter"), "show", "--workflow-id", run.GetID(), "--run-id", run.GetRunID())
	cmd.Env = append(os.Environ(), "TEMPORAL_ADDRESS="+s.srv.FrontendAddr(), "TEMPORAL_NAMESPACE=default",
		"STRICTCYCLE_ENVIRONMENT="+s.cfg.Environment)
	out, err := cmd.CombinedOutput()
	require.NoError(s.t, err, "strictcycle show: %s", out)
	s.t.Logf("timeline:\n%s", out)
	return string(out)
}

// restartResults are the RestartService results in the run's history.
func (s *stack) restartResults(ctx context.Context, run client.WorkflowRun) []activities.RestartServiceResult {
	events, err := temporalclient.History(ctx, s.cl, run.GetID(), run.GetRunID())
	require.NoError(s.t, err)
	scheduled := map[int64]string{}
	var out []activities.RestartServiceResult
	dc := converter.GetDefaultDataConverter()
	for _, e := range events {
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
			scheduled[e.GetEventId()] = a.GetActivityType().GetName()
		}
		if a := e.GetActivityTaskCompletedEventAttributes(); a != nil && scheduled[a.GetScheduledEventId()] == activities.RestartServiceName {
			var r activities.RestartServiceResult
			require.NoError(s.t, dc.FromPayloads(a.GetResult(), &r))
			out = append(out, r)
		}
	}
	return out
}

// producerStarts counts the producer's own start lines in the container's
// log: the starts of its process, which survive a daemon restart (the
// engine's event log does not).
func (s *stack) producerStarts(name string) int {
	out := docker(s.t, "logs", name)
	return strings.Count(out, "simstack producer started service=")
}

// freePort is a loopback TCP port nothing listens on now.
func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// writeReport writes the service's reports once, as its producer would.
func writeReport(t *testing.T, root, service string) {
	p, err := simstack.NewProducer(root, service, simstack.ProducerOptions{})
	require.NoError(t, err)
	require.NoError(t, p.WriteOnce(context.Background()))
}

// execOut runs a command and returns its combined output.
func execOut(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}
