//go:build cluster

package cluster

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/strictcycle/strictcycle/temporalclient"
	"github.com/strictcycle/strictcycle/workflows"
)

// Namespace and TaskQueue are the cluster's: not "default", so the
// workers, the CLI and the schedules prove they follow TEMPORAL_NAMESPACE
// and STRICTCYCLE_TASK_QUEUE.
const (
	Namespace = "strictcycle"
	TaskQueue = "strictcycle-cluster"
	// workerCount is the number of worker processes the tests keep running.
	workerCount = 3
)

// cl is the cluster every test runs on, set up by TestMain.
var cl *cluster

// cluster is the server process, its client, the worker processes and
// the Redis keyspace of one `make test-cluster` run.
type cluster struct {
	state     string // STRICTCYCLE_CLUSTER_STATE: everything of the run lives under it
	bin       string // the binaries built for the run
	serverBin string // STRICTCYCLE_CLUSTER_SERVER
	server    *proc
	serverMu  sync.Mutex
	env       []string // the server's environment (ports, databases, config files)
	addr      string   // frontend host:port
	client    client.Client
	redisURL  string
	prefix    string // Redis key prefix of the run

	mu      sync.Mutex
	workers []*proc
	started int // worker processes started so far (log file names)
}

func TestMain(m *testing.M) {
	flag.Parse()
	c, err := setUp()
	code := 1
	if err != nil {
		fmt.Fprintf(os.Stderr, "cluster: %v\n", err)
	} else {
		cl = c
		code = m.Run()
	}
	if c != nil {
		if err := c.tearDown(); err != nil {
			fmt.Fprintf(os.Stderr, "cluster: tear down: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// need returns an environment variable .ci/cluster sets, or an error that
// names it.
func need(name string) (string, error) {
	v := os.Getenv(name)
	if v == "" {
		return "", fmt.Errorf("environment variable %s is not set: run the cluster tests with make test-cluster (.ci/cluster)", name)
	}
	return v, nil
}

// setUp builds the binaries, starts the server on free ports, registers the
// namespace and the search attributes, and starts the worker processes.
// Whatever it started is in the returned cluster even on error, for
// tearDown.
func setUp() (*cluster, error) {
	vars := map[string]string{}
	for _, name := range []string{"STRICTCYCLE_CLUSTER_STATE", "STRICTCYCLE_CLUSTER_SERVER", "STRICTCYCLE_CLUSTER_REDIS_PREFIX", "DBNAME", "VISIBILITY_DBNAME"} {
		v, err := need(name)
		if err != nil {
			return nil, err
		}
		vars[name] = v
	}
	c := &cluster{state: vars["STRICTCYCLE_CLUSTER_STATE"], serverBin: vars["STRICTCYCLE_CLUSTER_SERVER"], redisURL: "redis://127.0.0.1:6379/0"}
	if u := os.Getenv("REDIS_URL"); u != "" {
		c.redisURL = u
	}
	c.bin = filepath.Join(c.state, "bin")
	c.prefix = vars["STRICTCYCLE_CLUSTER_REDIS_PREFIX"]
	if err := build(c.bin); err != nil {
		return c, err
	}
	env, addr, err := serverEnv(c.state)
	if err != nil {
		return c, err
	}
	c.env, c.addr = env, addr
	if err := c.startServer(); err != nil {
		return c, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := c.register(ctx); err != nil {
		return c, err
	}
	for range workerCount {
		if _, err := c.startWorker(ctx); err != nil {
			return c, err
		}
	}
	return c, nil
}

// build compiles the production worker, the operator CLI and the simulated
// stack into dir.
func build(dir string) error {
	root, err := filepath.Abs("..")
	if err != nil {
		return fmt.Errorf("resolve module root: %w", err)
	}
	cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "-ldflags=-s -w", "./worker", "./starter", "./dev/hbotsim")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build worker, starter and hbotsim: %w\n%s", err, out)
	}
	return nil
}

// serverPorts are the variables of deploy/temporal-server.yaml that name a
// port.
var serverPorts = []string{
	"FRONTEND_GRPC_PORT", "FRONTEND_MEMBERSHIP_PORT", "FRONTEND_HTTP_PORT",
	"MATCHING_GRPC_PORT", "MATCHING_MEMBERSHIP_PORT",
	"HISTORY_GRPC_PORT", "HISTORY_MEMBERSHIP_PORT",
	"WORKER_GRPC_PORT", "WORKER_MEMBERSHIP_PORT",
	"TEMPORAL_METRICS_PORT",
}

// serverEnv picks free loopback ports (all held open at once, so they are
// distinct) and returns the server's environment and frontend address. The
// ports stay the same across a server restart, as a real deployment's do.
func serverEnv(state string) ([]string, string, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	ports := map[string]string{}
	for _, name := range serverPorts {
		ln, err := listenBelow32768()
		if err != nil {
			return nil, "", fmt.Errorf("pick a free port for %s: %w", name, err)
		}
		lns = append(lns, ln)
		ports[name] = strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		return nil, "", err
	}
	env := append(os.Environ(),
		"TEMPORAL_BIND_ON_IP=127.0.0.1",
		"TEMPORAL_BROADCAST_ADDRESS=127.0.0.1",
		"TEMPORAL_DYNAMIC_CONFIG_FILE="+filepath.Join(root, "deploy", "temporal-dynamicconfig.yaml"),
		"TEMPORAL_METRICS_ADDR=127.0.0.1:"+ports["TEMPORAL_METRICS_PORT"],
	)
	for _, name := range serverPorts[:len(serverPorts)-1] {
		env = append(env, name+"="+ports[name])
	}
	return env, "127.0.0.1:" + ports["FRONTEND_GRPC_PORT"], nil
}

// listenBelow32768 listens on a free loopback port below 32768: the SQL
// schema keeps a service's membership port in a smallint column, so an
// ephemeral port from the kernel (32768 and up) makes the server fail at
// start ("value ... is out of range for type smallint").
func listenBelow32768() (net.Listener, error) {
	var last error
	for range 200 {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(12000)))
		if err == nil {
			return ln, nil
		}
		last = err
	}
	return nil, fmt.Errorf("no free port in 20000-31999: %w", last)
}

// serverConfig is the shipped server configuration.
func serverConfig() string {
	p, _ := filepath.Abs(filepath.Join("..", "deploy", "temporal-server.yaml"))
	return p
}

// startServer starts the server binary with deploy/temporal-server.yaml
// and waits until its frontend answers a health check.
func (c *cluster) startServer() error {
	c.serverMu.Lock()
	defer c.serverMu.Unlock()
	p, err := startProc("temporal-server", c.serverBin,
		[]string{"--config-file", serverConfig(), "--allow-no-auth", "start"},
		c.env, filepath.Join(c.state, "temporal-server.log"), false)
	if err != nil {
		return err
	}
	c.server = p
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		hc, err := client.NewLazyClient(client.Options{HostPort: c.addr, Namespace: "temporal-system"})
		if err == nil {
			hctx, hcancel := context.WithTimeout(ctx, 2*time.Second)
			_, err = hc.CheckHealth(hctx, &client.CheckHealthRequest{})
			hcancel()
			hc.Close()
		}
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("temporal server exited at start: %v (log %s:\n%s)", p.err, p.log, tail(p.log, 3000))
		case <-ctx.Done():
			return fmt.Errorf("temporal server %s not healthy within 2m: %v (log %s:\n%s)", c.addr, err, p.log, tail(p.log, 3000))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// stopServer stops the server with SIGTERM (SIGKILL after 30s) and waits
// until it has exited.
func (c *cluster) stopServer() error {
	c.serverMu.Lock()
	defer c.serverMu.Unlock()
	if c.server == nil {
		return nil
	}
	err := c.server.stop(30 * time.Second)
	c.server = nil
	return err
}

// register creates the namespace (the workflow service's RegisterNamespace)
// and strictcycle's search attributes (the operator service), and waits
// until the frontend serves the namespace from its cache: a worker polling
// an unknown namespace stops with a fatal error.
func (c *cluster) register(ctx context.Context) error {
	nc, err := client.NewNamespaceClient(client.Options{HostPort: c.addr})
	if err != nil {
		return fmt.Errorf("namespace client %s: %w", c.addr, err)
	}
	defer nc.Close()
	err = nc.Register(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace:                        Namespace,
		WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("register namespace %q: %w", Namespace, err)
	}
	c.client, err = client.DialContext(ctx, client.Options{HostPort: c.addr, Namespace: Namespace})
	if err != nil {
		return fmt.Errorf("dial %s namespace %q: %w", c.addr, Namespace, err)
	}
	if err := temporalclient.EnsureSearchAttributes(ctx, c.client.OperatorService(), Namespace, workflows.SearchAttributeKeys()); err != nil {
		return err
	}
	for {
		_, err := c.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: Namespace, Query: "StrictCycleEnvironment = 'none'"})
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("namespace %q with its search attributes not usable: %w", Namespace, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// workerEnv is the environment of a worker process and of the CLI: the
// cluster's server, namespace and queue, and this run's Redis keyspace
// (its own key prefix and streams under it, so no shared stream gets an
// entry).
func (c *cluster) workerEnv() []string {
	return append(os.Environ(),
		"TEMPORAL_ADDRESS="+c.addr,
		"TEMPORAL_NAMESPACE="+Namespace,
		"STRICTCYCLE_TASK_QUEUE="+TaskQueue,
		"STRICTCYCLE_ENVIRONMENT=cluster",
		"STRICTCYCLE_ROOT="+c.state,
		"REDIS_URL="+c.redisURL,
		"STRICTCYCLE_REDIS_PREFIX="+c.prefix,
		"STRICTCYCLE_DECISION_STREAM="+c.prefix+":decisions",
		"STRICTCYCLE_TRANSITION_STREAM="+c.prefix+":transitions",
		"STRICTCYCLE_METRICS_ADDR=127.0.0.1:0",
		"STRICTCYCLE_LOG_LEVEL=info",
	)
}

// metricsAddr is the /metrics address a worker logged at start ("" when
// none).
func (p *proc) metricsAddr() string {
	m := regexp.MustCompile(`"msg":"worker started".*?"metrics":"([^"]+)"`).FindStringSubmatch(tail(p.log, 1<<20))
	if m == nil {
		return ""
	}
	return m[1]
}

// startWorker starts one more production worker process and waits for its
// "worker started" line.
func (c *cluster) startWorker(ctx context.Context) (*proc, error) {
	c.mu.Lock()
	c.started++
	n := c.started
	c.mu.Unlock()
	p, err := startProc(fmt.Sprintf("worker-%d", n), filepath.Join(c.bin, "worker"), nil,
		c.workerEnv(), filepath.Join(c.state, fmt.Sprintf("worker-%d.log", n)), true)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.workers = append(c.workers, p)
	c.mu.Unlock()
	for !strings.Contains(tail(p.log, 1<<20), "worker started") {
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s exited at start: %v\n%s", p.name, p.err, tail(p.log, 3000))
		case <-ctx.Done():
			return nil, fmt.Errorf("%s not started: %w\n%s", p.name, ctx.Err(), tail(p.log, 3000))
		case <-time.After(50 * time.Millisecond):
		}
	}
	return p, nil
}

// liveWorkers returns the worker processes that run.
func (c *cluster) liveWorkers() []*proc {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*proc
	for _, w := range c.workers {
		if !w.exited() {
			out = append(out, w)
		}
	}
	return out
}

// tearDown stops the workers, then the server, and deletes the run's Redis
// keys. The databases are .ci/cluster's to drop.
func (c *cluster) tearDown() error {
	var errs []error
	c.mu.Lock()
	workers := c.workers
	c.mu.Unlock()
	for _, w := range workers {
		if err := w.stop(15 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	if c.client != nil {
		c.client.Close()
	}
	if err := c.stopServer(); err != nil {
		errs = append(errs, err)
	}
	if err := dropKeys(c.redisURL, c.prefix); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// dropKeys deletes every key under prefix.
func dropKeys(url, prefix string) error {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return fmt.Errorf("drop redis keys: parse REDIS_URL: %w", err)
	}
	rc := redis.NewClient(opts)
	defer rc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	it := rc.Scan(ctx, 0, prefix+":*", 500).Iterator()
	for it.Next(ctx) {
		if err := rc.Del(ctx, it.Val()).Err(); err != nil {
			return fmt.Errorf("drop redis key %s: %w", it.Val(), err)
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("drop redis keys under %s: %w", prefix, err)
	}
	return nil
}

// proc is a process the tests started, with its log file.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// startProc starts bin with its output in logPath (appended: a restarted
// server keeps one log). The process dies with the test binary
// (Pdeathsig); .ci/cluster also kills anything left that runs from the
// run's folder.
func startProc(name, bin string, args, env []string, logPath string, ownGroup bool) (*proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: log file: %w", name, err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: ownGroup}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL to the process alone (not to the commands it
// started, which run in their own process groups, as after a real crash)
// and waits until it is gone.
func (p *proc) kill() error {
	if p.exited() {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s pid %d did not exit after SIGKILL", p.name, p.pid())
	}
}

// stop sends SIGTERM, then SIGKILL after grace, and waits for the exit.
func (p *proc) stop(grace time.Duration) error {
	if p.exited() {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	if err := p.kill(); err != nil {
		return err
	}
	return fmt.Errorf("%s pid %d ignored SIGTERM for %s", p.name, p.pid(), grace)
}

// tail returns at most the last n bytes of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
