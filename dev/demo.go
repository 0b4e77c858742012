package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/devserver"
	"github.com/strictcycle/strictcycle/simstack"
	"github.com/strictcycle/strictcycle/worker/workerapp"
	"github.com/strictcycle/strictcycle/workflows"
)

// DemoService is the producer the demo leaves down, so its report is stale.
const (
	DemoService = "event-store-service"
	DemoCheck   = "event_store_integrity_freshness"
)

// demoOptions are the knobs of the demo; the automated test sets them too.
type demoOptions struct {
	Root     string
	Keep     bool
	Sim      []string // argv prefix that runs the simulated stack (`<Sim> sim run …`)
	Starter  string   // the operator CLI binary the demo drives
	UIPort   int
	Port     int
	Interval time.Duration
}

func demoCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o demoOptions
	binDir := fs.String("bin", "", "folder of the built binaries (default: the user's cache folder)")
	fs.StringVar(&o.Root, "root", "", "stack root for the simulated stack (default: a new temporary folder)")
	fs.BoolVar(&o.Keep, "keep", false, "leave the server, UI, worker and producers running until Ctrl-C")
	fs.IntVar(&o.UIPort, "ui-port", 8233, "Web UI port (a free one is taken when busy)")
	fs.IntVar(&o.Port, "port", 7233, "Temporal frontend port (a free one is taken when busy)")
	fs.DurationVar(&o.Interval, "interval", time.Second, "report interval of the simulated producers")
	if err := fs.Parse(args); err != nil {
		return exitError
	}
	bins, err := newBinaries(*binDir)
	if err != nil {
		return fail(stderr, err)
	}
	// The operator CLI and the simulated stack: one go build, relinked only
	// when their source changed.
	fmt.Fprintf(stdout, "building the operator CLI and the simulated stack into %s\n", bins.dir)
	paths, err := bins.build(ctx, starterPkg, simPkg)
	if err != nil {
		return fail(stderr, err)
	}
	o.Starter, o.Sim = paths[0], paths[1:2]
	pass, err := runDemo(ctx, o, stdout)
	if err != nil {
		return fail(stderr, err)
	}
	if !pass {
		return exitFail
	}
	return exitPass
}

// runDemo runs the whole story on a simulated stack: an embedded Temporal
// server with its Web UI, a worker, the simulated producers with the event
// store down, and one strict cycle that recovers it, started and shown
// with the operator CLI as an operator would (`run --wait`, then `show`).
// It returns whether the cycle decided PASS.
func runDemo(ctx context.Context, o demoOptions, out io.Writer) (pass bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if o.Root == "" {
		if o.Root, err = os.MkdirTemp("", "strictcycle-demo-"); err != nil {
			return false, fmt.Errorf("make demo root: %w", err)
		}
		// Registered first, so it runs after everything else has
		// stopped: a root the demo made is removed unless --keep asked
		// for it, or the demo did not end PASS and the root is what
		// there is to look at.
		made := o.Root
		defer func() {
			if o.Keep || err != nil || !pass {
				fmt.Fprintf(out, "demo root kept: %s\n", made)
				return
			}
			if rmErr := os.RemoveAll(made); rmErr != nil {
				fmt.Fprintf(out, "remove demo root %s: %v\n", made, rmErr)
				return
			}
			fmt.Fprintf(out, "demo root %s removed (--keep keeps it, with the server and its history)\n", made)
		}()
	}
	if o.Root, err = filepath.Abs(o.Root); err != nil {
		return false, fmt.Errorf("resolve demo root: %w", err)
	}
	state := filepath.Join(o.Root, ".strictcycle")
	if err := os.MkdirAll(state, 0o755); err != nil {
		return false, fmt.Errorf("make %s: %w", state, err)
	}
	fmt.Fprintf(out, "demo root: %s\n", o.Root)

	cfg := config.Default()
	if err := cfg.FromEnv(os.LookupEnv); err != nil {
		return false, fmt.Errorf("load config: %w", err)
	}
	cfg.Environment = "demo"
	cfg.Root = o.Root
	// Each demo is a new simulated stack: its restart budgets and latest
	// decision must not carry over from an earlier demo in the same Redis
	// (a root's base name is no key: t.TempDir() repeats "001").
	cfg.Redis.KeyPrefix = "strictcycle-demo-" + time.Now().UTC().Format("20060102T150405.000000000")
	cfg.Redis.ScopeStreams()

	// Redis: the configured one, or an in-process stand-in for the demo only.
	redisURL, stopRedis, err := demoRedis(ctx, cfg.Redis.URL, out)
	if err != nil {
		return false, err
	}
	defer stopRedis()
	if !o.Keep {
		// Budgets, locks, marks and the latest decision belong to this
		// demo only.
		defer dropKeys(redisURL, cfg.Redis.KeyPrefix)
	}
	cfg.Redis.URL = redisURL

	// The simulated stack, with its own contract whose exec driver runs
	// the simulator's `sim restart`.
	if err := simstack.Seed(o.Root); err != nil {
		return false, fmt.Errorf("seed simulated stack: %w", err)
	}
	if err := simstack.WriteStaleIntegrity(o.Root, time.Now().Add(-2*time.Hour)); err != nil {
		return false, fmt.Errorf("write stale integrity report: %w", err)
	}
	contract, err := simstack.Contract(o.Sim)
	if err != nil {
		return false, err
	}
	cfg.Contract = filepath.Join(state, "demo-contract.yaml")
	if err := os.WriteFile(cfg.Contract, contract, 0o644); err != nil {
		return false, fmt.Errorf("write demo contract: %w", err)
	}
	simOpts := simstack.Options{Self: append(slices.Clone(o.Sim), "sim", "run"), Interval: o.Interval, RedisURL: redisURL}
	defer func() {
		if !o.Keep || err != nil {
			_ = simstack.StopAll(o.Root)
		}
	}()
	var started []string
	for _, svc := range simstack.Services() {
		if svc == DemoService {
			continue
		}
		if err := simstack.Start(ctx, o.Root, svc, simOpts); err != nil {
			return false, fmt.Errorf("start simulated %s: %w", svc, err)
		}
		started = append(started, svc)
	}
	fmt.Fprintf(out, "simulated stack: %d producers running, %s left down (its integrity report is 2h old)\n", len(started), DemoService)
	if err := waitReports(ctx, o.Root, started); err != nil {
		return false, err
	}

	// Embedded Temporal server with the Web UI, and a worker.
	logger := zap.NewNop()
	srv, err := devserver.Start(ctx, devserver.Options{
		DBFile:           filepath.Join(state, "temporal.db"),
		FrontendPort:     portOrFree(o.Port),
		UIPort:           portOrFree(o.UIPort),
		Namespace:        cfg.Temporal.Namespace,
		SearchAttributes: workflows.SearchAttributeKeys(),
		Logger:           logger,
	})
	if err != nil {
		return false, fmt.Errorf("start embedded temporal server: %w", err)
	}
	defer func() {
		if !o.Keep || err != nil {
			srv.Stop()
		}
	}()
	cfg.Temporal.Address = srv.FrontendAddr()
	fmt.Fprintf(out, "temporal: %s, web UI: %s\n", srv.FrontendAddr(), srv.UIURL())

	cl, err := workerapp.Dial(ctx, cfg, logger)
	if err != nil {
		return false, err
	}
	defer cl.Close()
	g, gctx := errgroup.WithContext(ctx)
	workerCtx, stopWorker := context.WithCancel(gctx)
	g.Go(func() error { return workerapp.Run(workerCtx, cl, cfg, logger, workerapp.RunOptions{}) })
	defer func() {
		if !o.Keep || err != nil {
			stopWorker()
			_ = g.Wait()
		}
	}()

	// The cycle, as an operator starts and inspects it.
	target := []string{"--env", cfg.Environment, "--address", cfg.Temporal.Address, "--namespace", cfg.Temporal.Namespace}
	runArgs := append(append([]string{"run"}, target...), "--root", o.Root, "--contract", cfg.Contract, "--wait")
	fmt.Fprintf(out, "\n$ strictcycle %s\n", strings.Join(runArgs, " "))
	var runOut bytes.Buffer
	code, err := operatorCLI(ctx, o.Starter, cfg, runArgs, io.MultiWriter(out, &runOut))
	if err != nil {
		return false, err
	}
	if code != exitPass && code != exitFail {
		return false, fmt.Errorf("strictcycle run: exit %d", code)
	}
	showArgs := append([]string{"show"}, target...)
	fmt.Fprintf(out, "\n$ strictcycle %s\ntimeline (from workflow history):\n", strings.Join(showArgs, " "))
	if code, err := operatorCLI(ctx, o.Starter, cfg, showArgs, out); err != nil {
		return false, err
	} else if code != exitPass {
		return false, fmt.Errorf("strictcycle show: exit %d", code)
	}
	// `run` prints "started <workflow id> run <run id>" first.
	link := fmt.Sprintf("%s/namespaces/%s/workflows/%s", srv.UIURL(), cfg.Temporal.Namespace, workflows.CycleID(cfg.Environment))
	if m := startedLine.FindStringSubmatch(runOut.String()); m != nil {
		link = fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s/history", srv.UIURL(), cfg.Temporal.Namespace, m[1], m[2])
	}
	fmt.Fprintf(out, "\nhistory in the web UI: %s\n", link)
	if o.Keep {
		fmt.Fprintf(out, "or: go run ./starter show --address %s --env %s\n", srv.FrontendAddr(), cfg.Environment)
		fmt.Fprintln(out, "--keep: server, UI, worker and producers keep running; Ctrl-C stops them")
		<-ctx.Done()
		stopWorker()
		_ = g.Wait()
		srv.Stop()
		_ = simstack.StopAll(o.Root)
	}
	return code == exitPass, nil
}

// startedLine is the first line `strictcycle run` prints.
var startedLine = regexp.MustCompile(`(?m)^started (\S+) run (\S+)$`)

// operatorCLI runs the operator CLI binary with args, its output going to
// out, on the demo's task queue; it returns the exit code.
func operatorCLI(ctx context.Context, bin string, cfg config.Config, args []string, out io.Writer) (int, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "STRICTCYCLE_TASK_QUEUE="+cfg.TaskQueue)
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() > 0 {
		return exit.ExitCode(), nil
	}
	if err != nil {
		return 0, fmt.Errorf("run strictcycle %s: %w", args[0], err)
	}
	return 0, nil
}

// demoRedis pings url; when nothing answers it starts an in-process
// Redis-compatible server for the demo only, and says so.
func demoRedis(ctx context.Context, url string, out io.Writer) (string, func(), error) {
	opts, err := redis.ParseURL(url)
	if err == nil {
		rc := redis.NewClient(opts)
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err = rc.Ping(pctx).Err()
		cancel()
		_ = rc.Close()
		if err == nil {
			fmt.Fprintf(out, "redis: %s\n", workerapp.RedactURL(url))
			return url, func() {}, nil
		}
	}
	mr, merr := miniredis.Run()
	if merr != nil {
		return "", nil, fmt.Errorf("no redis at %s (%v) and no in-process stand-in: %w", workerapp.RedactURL(url), err, merr)
	}
	fmt.Fprintf(out, "redis: nothing answered at %s; using an in-process Redis-compatible server at %s for this demo only\n", workerapp.RedactURL(url), mr.Addr())
	return "redis://" + mr.Addr() + "/0", mr.Close, nil
}

// dropKeys deletes the keys under prefix (best effort).
func dropKeys(url, prefix string) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return
	}
	rc := redis.NewClient(opts)
	defer rc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	it := rc.Scan(ctx, 0, prefix+":*", 100).Iterator()
	for it.Next(ctx) {
		rc.Del(ctx, it.Val())
	}
}

// waitReports waits until every started producer has written its reports.
func waitReports(ctx context.Context, root string, services []string) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		missing, path := "", ""
		for _, svc := range services {
			for _, p := range simstack.ReportPaths(svc, time.Now()) {
				if _, err := os.Stat(filepath.Join(root, p)); err != nil {
					missing, path = svc, p
				}
			}
		}
		if missing == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("simulated %s wrote no %s within 15s: see %s", missing, path, simstack.LogFile(root, missing))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// portOrFree returns port when it can be bound on loopback, else 0 (any).
func portOrFree(port int) int {
	if port == 0 {
		return 0
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return 0
	}
	_ = l.Close()
	return port
}
