package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/strictcycle/strictcycle/activities"
	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/devserver"
	"github.com/strictcycle/strictcycle/gates"
	"github.com/strictcycle/strictcycle/simstack"
	"github.com/strictcycle/strictcycle/worker/workerapp"
	"github.com/strictcycle/strictcycle/workflows"
)

// benchOptions are the knobs of `strictcycle bench`; the smoke test sets
// them to tiny sizes.
type benchOptions struct {
	Fixture     string        // hbot-day28 fixture tree
	GateTime    time.Duration // minimum measuring time per gate figure
	Cycles      int           // sequential PASS cycles
	Watches     int           // report-written -> WatchUntilFresh samples
	Envs        int           // environments cycling at once (with the worker process)
	EnvsSmall   int           // a second, smaller concurrent run (0: none)
	Rounds      int           // concurrent rounds per environment count
	Scaling     []int         // check counts of the scaling figure
	Process     bool          // run the load on a separate worker process (RSS)
	Self        []string      // argv of this binary (sim producers, replay, restarts)
	Dir         string        // work folder ("" = a new temporary one)
	Keep        bool          // keep Dir
	CPUProfile  string        // write a CPU profile of the whole run
	Only        string        // comma list of sections: gate,cycle,watch,load,scaling
	RepoRoot    string        // where ./worker is built from
	WorkerStart time.Duration // how long to wait for the worker process
}

func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	repo := repoRoot()
	var o benchOptions
	var scaling string
	fs.StringVar(&o.Fixture, "fixture", filepath.Join(repo, "..", "shared", "fixtures", "hbot-day28"), "hbot-day28 fixture tree (gate evaluation figure)")
	fs.DurationVar(&o.GateTime, "gate-time", 2*time.Second, "minimum measuring time of each gate evaluation figure")
	fs.IntVar(&o.Cycles, "cycles", 30, "sequential PASS cycles for the end-to-end latency")
	fs.IntVar(&o.Watches, "watches", 30, "samples of report written -> WatchUntilFresh returns")
	fs.IntVar(&o.Envs, "envs", 50, "environments cycling at once (throughput, schedule-to-start, worker RSS)")
	fs.IntVar(&o.EnvsSmall, "envs-small", 20, "a second concurrent run with this many environments (0: none)")
	fs.IntVar(&o.Rounds, "rounds", 3, "rounds of the concurrent runs (every environment cycles once per round)")
	fs.StringVar(&scaling, "scaling", "10,100,1000", "check counts of the gate scaling figure")
	fs.BoolVar(&o.Process, "worker-process", true, "run the concurrent load on a separate worker process (go build ./worker) to read its RSS")
	fs.StringVar(&o.Dir, "dir", "", "work folder (default: a new temporary folder, removed at the end)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the work folder")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the bench command to this file")
	fs.StringVar(&o.Only, "only", "", "run only these sections (comma list of gate, cycle, watch, load, scaling)")
	if err := fs.Parse(args); err != nil {
		return exitError
	}
	for _, s := range strings.Split(scaling, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return fail(stderr, fmt.Errorf("bench: --scaling %q: not a positive count", s))
		}
		o.Scaling = append(o.Scaling, n)
	}
	self, err := os.Executable()
	if err != nil {
		return fail(stderr, fmt.Errorf("find own executable: %w", err))
	}
	o.Self = []string{self}
	o.RepoRoot = repo
	if err := runBench(ctx, o, stdout); err != nil {
		return fail(stderr, err)
	}
	return exitPass
}

// repoRoot is the nearest folder above the working directory holding
// go.mod (the working directory itself when there is none).
func repoRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return wd
		}
	}
}

func (o benchOptions) want(section string) bool {
	if o.Only == "" {
		return true
	}
	return slices.Contains(strings.Split(o.Only, ","), section)
}

// runBench measures and prints every figure of docs/PERFORMANCE.md.
func runBench(ctx context.Context, o benchOptions, out io.Writer) (err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if o.Dir == "" {
		if o.Dir, err = os.MkdirTemp("", "strictcycle-bench-"); err != nil {
			return fmt.Errorf("make bench folder: %w", err)
		}
		if !o.Keep {
			defer os.RemoveAll(o.Dir)
		}
	}
	if o.CPUProfile != "" {
		stop, err := startCPUProfile(o.CPUProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	printMachine(out)
	begin := time.Now()

	if o.want("gate") {
		if err := benchGateDay28(ctx, o, out); err != nil {
			return err
		}
	}
	if o.want("scaling") && len(o.Scaling) > 0 {
		if err := benchGateScaling(ctx, o, out); err != nil {
			return err
		}
	}
	if o.want("watch") && o.Watches > 0 {
		if err := benchWatch(ctx, o, out); err != nil {
			return err
		}
	}
	if (o.want("cycle") && o.Cycles > 0) || (o.want("load") && o.Envs > 0) {
		if err := benchCluster(ctx, o, out); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "\ndone in %s; load average at the end: %s\n", time.Since(begin).Round(time.Second), loadAvg())
	return nil
}

// ---------------------------------------------------------------- machine

func printMachine(out io.Writer) {
	fmt.Fprintln(out, "strictcycle bench")
	fmt.Fprintf(out, "machine: %s, %d cores (GOMAXPROCS %d), %s memory\n", cpuModel(), runtime.NumCPU(), runtime.GOMAXPROCS(0), memTotal())
	fmt.Fprintf(out, "go: %s %s/%s; os: %s, kernel %s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, osName(), readTrim("/proc/sys/kernel/osrelease"))
	fmt.Fprintf(out, "load average at the start: %s (a shared machine: figures move with it)\n", loadAvg())
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func memTotal() string {
	kb := procField("/proc/meminfo", "MemTotal")
	if kb <= 0 {
		return "unknown"
	}
	return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
}

func osName() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return runtime.GOOS
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return runtime.GOOS
}

func loadAvg() string {
	f := strings.Fields(readTrim("/proc/loadavg"))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func readTrim(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// procField reads a "Name:   123 kB" line of a /proc file, in kB.
func procField(file, name string) int64 {
	b, err := os.ReadFile(file)
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+":"); ok {
			f := strings.Fields(v)
			if len(f) == 0 {
				return -1
			}
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}

func mib(kb int64) string {
	if kb < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MiB", float64(kb)/1024)
}

// ---------------------------------------------------------------- stats

type durations []time.Duration

// pct is the q-quantile (nearest rank) of ds.
func (ds durations) pct(q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func (ds durations) mean() time.Duration {
	if len(ds) == 0 {
		return 0
	}
	var t time.Duration
	for _, d := range ds {
		t += d
	}
	return t / time.Duration(len(ds))
}

func msf(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }

// ---------------------------------------------------------------- gates

// loopResult is a hand-rolled testing.Benchmark: mean ns/op and allocs/op
// over the whole loop, plus the median and minimum single run, which a
// loaded shared machine disturbs less than the mean.
type loopResult struct {
	N           int
	NsPerOp     float64
	AllocsPerOp float64
	BytesPerOp  float64
	Median, Min time.Duration
}

func measureLoop(ctx context.Context, minTime time.Duration, minN int, f func() error) (loopResult, error) {
	for range 3 { // warm caches (page cache, yaml cache, compiled programs)
		if err := f(); err != nil {
			return loopResult{}, err
		}
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var each durations
	start := time.Now()
	for len(each) < minN || time.Since(start) < minTime {
		if err := ctx.Err(); err != nil {
			return loopResult{}, err
		}
		t := time.Now()
		if err := f(); err != nil {
			return loopResult{}, err
		}
		each = append(each, time.Since(t))
	}
	total := time.Since(start)
	runtime.ReadMemStats(&after)
	n := len(each)
	return loopResult{
		N:           n,
		NsPerOp:     float64(total.Nanoseconds()) / float64(n),
		AllocsPerOp: float64(after.Mallocs-before.Mallocs) / float64(n),
		BytesPerOp:  float64(after.TotalAlloc-before.TotalAlloc) / float64(n),
		Median:      each.pct(0.5),
		Min:         slices.Min(each),
	}, nil
}

func benchGateDay28(ctx context.Context, o benchOptions, out io.Writer) error {
	fmt.Fprintf(out, "\n1. gate evaluation of hbot-day28 on the fixture tree (NoCommands, CI window)\n")
	c, err := config.LoadContract("hbot-day28")
	if err != nil {
		return err
	}
	e, err := gates.New(c, gates.Options{Root: o.Fixture, CI: true, NoCommands: true})
	if err != nil {
		return fmt.Errorf("gate figure: %w (set --fixture)", err)
	}
	r, err := measureLoop(ctx, o.GateTime, 10, func() error {
		_, err := e.Run(ctx, gates.RunOptions{RunID: "bench"})
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "   fixture: %s (%d checks)\n", o.Fixture, len(c.Checks))
	fmt.Fprintf(out, "   %d runs: %.0f ns/op (%s), median %s, min %s, %.0f allocs/op, %.0f B/op\n",
		r.N, r.NsPerOp, msf(time.Duration(r.NsPerOp)), msf(r.Median), msf(r.Min), r.AllocsPerOp, r.BytesPerOp)
	return nil
}

func benchGateScaling(ctx context.Context, o benchOptions, out io.Writer) error {
	fmt.Fprintf(out, "\n6. gate time by number of report checks (generated reports; 1/3 with a condition, 1/5 by glob)\n")
	fmt.Fprintf(out, "   %6s  %12s  %10s  %10s  %12s  %10s\n", "checks", "ns/op", "median", "median/chk", "allocs/op", "allocs/chk")
	var first float64
	for _, n := range o.Scaling {
		root := filepath.Join(o.Dir, fmt.Sprintf("scaling-%d", n))
		c, err := gates.WriteScalingTree(root, n, time.Now())
		if err != nil {
			return fmt.Errorf("scaling tree %d: %w", n, err)
		}
		e, err := gates.New(c, gates.Options{Root: root, NoCommands: true})
		if err != nil {
			return err
		}
		r, err := measureLoop(ctx, o.GateTime, 5, func() error {
			rep, err := e.Run(ctx, gates.RunOptions{RunID: "bench"})
			if err == nil && rep.Status != gates.StatusPass {
				err = fmt.Errorf("scaling %d: status %s, failures %v", n, rep.Status, rep.CriticalFailures)
			}
			return err
		})
		if err != nil {
			return err
		}
		// Per check from the median run: on a loaded machine the mean
		// carries the preemptions of a few runs.
		per := float64(r.Median.Nanoseconds()) / float64(n)
		if first == 0 {
			first = per
		}
		fmt.Fprintf(out, "   %6d  %12.0f  %10s  %8.1fµs  %12.0f  %10.1f   (per-check ratio to the first: %.2f)\n",
			n, r.NsPerOp, msf(r.Median), per/1e3, r.AllocsPerOp, r.AllocsPerOp/float64(n), per/first)
	}
	return nil
}

// ---------------------------------------------------------------- watch

// benchWatch runs WatchUntilFresh in the SDK's activity environment on a
// stale report and measures from just before the rename of a fresh report
// to the activity's return; a sample counts only when a file event (not
// the first evaluation, nor a poll) ended the wait.
func benchWatch(ctx context.Context, o benchOptions, out io.Writer) error {
	fmt.Fprintf(out, "\n3. report written -> WatchUntilFresh returns (activity environment, file events, poll 1h)\n")
	root := filepath.Join(o.Dir, "watch")
	if err := simstack.Seed(root); err != nil {
		return err
	}
	contract := filepath.Join(root, "contract.yaml")
	raw, err := simstack.Contract(o.Self)
	if err != nil {
		return err
	}
	if err := os.WriteFile(contract, raw, 0o644); err != nil {
		return err
	}
	const check = "portfolio_risk_status"
	rel := filepath.Join(root, "reports", "portfolio_risk", "latest.json")
	report := func(ts time.Time) []byte {
		b, _ := json.Marshal(map[string]any{"ts_utc": ts.UTC().Format("2006-01-02T15:04:05.000000+00:00"),
			"status": "ok", "critical_count": 0, "portfolio_action": "allow"})
		return b
	}
	a := activities.New(activities.Options{})
	var lat durations
	var events int
	for attempt := 0; len(lat) < o.Watches && attempt < 3*o.Watches; attempt++ {
		if err := os.MkdirAll(filepath.Dir(rel), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(rel, report(time.Now().Add(-2*time.Hour)), 0o644); err != nil {
			return err
		}
		var s testsuite.WorkflowTestSuite
		s.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)))
		env := s.NewTestActivityEnvironment()
		env.SetTestTimeout(time.Minute)
		env.RegisterActivityWithOptions(a.WatchUntilFresh, activity.RegisterOptions{Name: activities.WatchUntilFreshName})
		watching := make(chan struct{})
		var once sync.Once
		// The first heartbeat follows the first evaluation; the watches on
		// the report directories are in place before it.
		env.SetOnActivityHeartbeatListener(func(*activity.Info, converter.EncodedValues) { once.Do(func() { close(watching) }) })
		type call struct {
			res *activities.WatchUntilFreshResult
			err error
			at  time.Time
		}
		done := make(chan call, 1)
		go func() {
			v, err := env.ExecuteActivity(activities.WatchUntilFreshName, &activities.WatchUntilFreshInput{
				Target: activities.Target{Environment: "bench", Root: root, Contract: contract, CI: true},
				Checks: []string{check}, Timeout: 20 * time.Second, Poll: time.Hour,
			})
			at := time.Now()
			if err != nil {
				done <- call{err: err, at: at}
				return
			}
			var res activities.WatchUntilFreshResult
			err = v.Get(&res)
			done <- call{res: &res, err: err, at: at}
		}()
		select {
		case <-watching:
		case c := <-done:
			return fmt.Errorf("watch ended before the write: %+v %v", c.res, c.err)
		case <-ctx.Done():
			return ctx.Err()
		}
		// As an hbot service writes: a temp file, then a rename.
		tmp := rel + ".tmp"
		if err := os.WriteFile(tmp, report(time.Now()), 0o644); err != nil {
			return err
		}
		t0 := time.Now()
		if err := os.Rename(tmp, rel); err != nil {
			return err
		}
		c := <-done
		if c.err != nil {
			return fmt.Errorf("watch until fresh: %w", c.err)
		}
		if !c.res.Fresh || c.res.Events < 1 {
			continue
		}
		events += c.res.Events
		lat = append(lat, c.at.Sub(t0))
	}
	if len(lat) == 0 {
		return errors.New("watch: no sample ended by a file event")
	}
	fmt.Fprintf(out, "   %d samples: p50 %s, p95 %s, max %s (debounce 5ms included)\n", len(lat), msf(lat.pct(0.5)), msf(lat.pct(0.95)), msf(slices.Max(lat)))
	return nil
}

// ---------------------------------------------------------------- cluster

// benchCluster starts the embedded server (temporary SQLite file), Redis
// (the configured one, or an in-process stand-in), an in-process worker for
// the sequential PASS cycles, and the worker process for the concurrent
// load.
func benchCluster(ctx context.Context, o benchOptions, out io.Writer) error {
	logger := zap.NewNop()
	url := config.Default().Redis.URL
	if u := os.Getenv("REDIS_URL"); u != "" {
		url = u
	}
	redisURL, stopRedis, err := demoRedis(ctx, url, io.Discard)
	if err != nil {
		return err
	}
	defer stopRedis()
	srv, err := devserver.Start(ctx, devserver.Options{
		DBFile: filepath.Join(o.Dir, "temporal.db"), Namespace: "default",
		SearchAttributes: workflows.SearchAttributeKeys(), Logger: logger,
	})
	if err != nil {
		return fmt.Errorf("start embedded temporal server: %w", err)
	}
	defer srv.Stop()

	contract := filepath.Join(o.Dir, "contract.yaml")
	raw, err := simstack.Contract(o.Self)
	if err != nil {
		return err
	}
	if err := os.WriteFile(contract, raw, 0o644); err != nil {
		return err
	}
	cfg := config.Default()
	cfg.Root = o.Dir
	cfg.Contract = contract
	cfg.Temporal.Address = srv.FrontendAddr()
	cfg.Temporal.Namespace = "default"
	cfg.Redis.URL = redisURL
	cfg.Redis.KeyPrefix = "strictcycle-bench-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	cfg.MetricsAddr = ""
	cfg.TaskQueue = "strictcycle-bench-inproc"
	fmt.Fprintf(out, "\ncluster: embedded Temporal server %s (SQLite file), redis %s (prefix %s)\n", srv.FrontendAddr(), workerapp.RedactURL(redisURL), cfg.Redis.KeyPrefix)

	cl, err := workerapp.Dial(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer cl.Close()

	b := &clusterBench{o: o, cfg: cfg, cl: cl, out: out, contract: contract}
	if o.want("cycle") && o.Cycles > 0 {
		g, gctx := errgroup.WithContext(ctx)
		wctx, stopWorker := context.WithCancel(gctx)
		g.Go(func() error { return workerapp.Run(wctx, cl, cfg, logger, workerapp.RunOptions{}) })
		err := b.sequential(gctx)
		stopWorker()
		if werr := g.Wait(); err == nil {
			err = werr
		}
		if err != nil {
			return err
		}
	}
	if o.want("load") && o.Envs > 0 {
		return b.load(ctx)
	}
	return nil
}

type clusterBench struct {
	o        benchOptions
	cfg      config.Config
	cl       client.Client
	out      io.Writer
	contract string
	seeded   map[string]bool
}

// seedEnv lays out the stack root of env and has every simulated producer
// write its reports once (in-process, the real files and formats), so the
// first gate run of a cycle passes. Called before each cycle, untimed: the
// demo contract's window is 30s.
func (b *clusterBench) seedEnv(ctx context.Context, env string) (string, error) {
	root := filepath.Join(b.o.Dir, "envs", env)
	if b.seeded == nil {
		b.seeded = map[string]bool{}
	}
	if !b.seeded[root] {
		if err := simstack.Seed(root); err != nil {
			return "", err
		}
		b.seeded[root] = true
	}
	for _, svc := range simstack.Services() {
		p, err := simstack.NewProducer(root, svc, simstack.ProducerOptions{})
		if err != nil {
			return "", err
		}
		err = p.WriteOnce(ctx)
		_ = p.Close()
		if err != nil {
			return "", err
		}
	}
	return root, nil
}

func (b *clusterBench) input(env, root string) *workflows.StrictCycleInput {
	return &workflows.StrictCycleInput{Target: activities.Target{Environment: env, Root: root, Contract: b.contract, CI: true}}
}

// cycle starts one strict cycle on queue and waits for its PASS.
func (b *clusterBench) cycle(ctx context.Context, queue string, in *workflows.StrictCycleInput) (client.WorkflowRun, time.Duration, error) {
	t0 := time.Now()
	run, err := startCycle(ctx, b.cl, queue, in)
	if err != nil {
		return nil, 0, err
	}
	var res workflows.StrictCycleResult
	if err := run.Get(ctx, &res); err != nil {
		return nil, 0, fmt.Errorf("cycle %s: %w", run.GetID(), err)
	}
	d := time.Since(t0)
	if res.Status != gates.StatusPass {
		return nil, 0, fmt.Errorf("cycle %s decided %s: %s %v", run.GetID(), res.Status, res.Reason, res.CriticalFailures)
	}
	return run, d, nil
}

func (b *clusterBench) sequential(ctx context.Context) error {
	fmt.Fprintf(b.out, "\n2. PASS cycle end to end, in-process worker (workerapp.Run), one environment, %d cycles after 2 warm-up\n", b.o.Cycles)
	// The replay step runs `<this binary> sim replay` as a process: a
	// simulator cost (hbot runs a Python script there), so the cycle is
	// also measured without it (its check judged on the last artifact).
	for _, skipReplay := range []bool{false, true} {
		if err := b.sequentialMode(ctx, skipReplay); err != nil {
			return err
		}
	}
	return nil
}

func (b *clusterBench) sequentialMode(ctx context.Context, skipReplay bool) error {
	const env = "bench_seq"
	var lat durations
	steps := map[string]durations{}
	for i := -2; i < b.o.Cycles; i++ {
		root, err := b.seedEnv(ctx, env)
		if err != nil {
			return err
		}
		in := b.input(env, root)
		in.SkipReplay = skipReplay
		run, d, err := b.cycle(ctx, b.cfg.TaskQueue, in)
		if err != nil {
			return err
		}
		if i < 0 {
			continue
		}
		lat = append(lat, d)
		events, err := history(ctx, b.cl, run.GetID(), run.GetRunID())
		if err != nil {
			return err
		}
		if d > 3*time.Second {
			fmt.Fprintf(b.out, "   slow cycle %d: %s; %s\n", i+1, msf(d), slowCause(events))
		}
		for k, v := range activitySpans(events) {
			steps[k] = append(steps[k], v...)
		}
	}
	mode := "with the replay step (a process)"
	if skipReplay {
		mode = "without the replay step (SkipReplay)"
	}
	fmt.Fprintf(b.out, "   %s: start -> result p50 %s, p95 %s, mean %s, max %s\n", mode, msf(lat.pct(0.5)), msf(lat.pct(0.95)), msf(lat.mean()), msf(slices.Max(lat)))
	fmt.Fprintf(b.out, "     activity scheduled -> completed (p50): ")
	var names []string
	for k := range steps {
		names = append(names, k)
	}
	slices.Sort(names)
	for i, k := range names {
		if i > 0 {
			fmt.Fprint(b.out, ", ")
		}
		fmt.Fprintf(b.out, "%s %s", k, msf(steps[k].pct(0.5)))
	}
	fmt.Fprintln(b.out)
	return nil
}

// activitySpans is, per activity type, scheduled -> completed of each call.
func activitySpans(events []*historypb.HistoryEvent) map[string]durations {
	sched := map[int64]*historypb.HistoryEvent{}
	out := map[string]durations{}
	for _, ev := range events {
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			sched[ev.GetEventId()] = ev
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			a := ev.GetActivityTaskCompletedEventAttributes()
			if s, ok := sched[a.GetScheduledEventId()]; ok {
				name := s.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
				out[name] = append(out[name], ev.GetEventTime().AsTime().Sub(s.GetEventTime().AsTime()))
			}
		}
	}
	return out
}

// slowCause names the longest gap between two events of a history and
// counts the timeouts and failures in it, to explain an outlier cycle.
func slowCause(events []*historypb.HistoryEvent) string {
	var gap time.Duration
	var from, to string
	bad := map[string]int{}
	for i, ev := range events {
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED,
			enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED:
			bad[ev.GetEventType().String()]++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			if a := ev.GetActivityTaskStartedEventAttributes().GetAttempt(); a > 1 {
				bad["ActivityAttempt>1"]++
			}
		}
		if i == 0 {
			continue
		}
		if g := ev.GetEventTime().AsTime().Sub(events[i-1].GetEventTime().AsTime()); g > gap {
			gap, from, to = g, events[i-1].GetEventType().String(), ev.GetEventType().String()
		}
	}
	return fmt.Sprintf("longest gap %s from %s to %s; timeouts/failures %v", msf(gap), from, to, bad)
}

// scheduleToStart collects WorkflowTaskScheduled -> Started and
// ActivityTaskScheduled -> Started from a history.
func scheduleToStart(events []*historypb.HistoryEvent) (wft, act durations) {
	sched := map[int64]time.Time{}
	for _, ev := range events {
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			sched[ev.GetEventId()] = ev.GetEventTime().AsTime()
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			if s, ok := sched[ev.GetWorkflowTaskStartedEventAttributes().GetScheduledEventId()]; ok {
				wft = append(wft, ev.GetEventTime().AsTime().Sub(s))
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			if s, ok := sched[ev.GetActivityTaskStartedEventAttributes().GetScheduledEventId()]; ok {
				act = append(act, ev.GetEventTime().AsTime().Sub(s))
			}
		}
	}
	return wft, act
}

// load runs the concurrent figures on the worker process (or, without it,
// on an in-process worker) and samples the process's RSS.
func (b *clusterBench) load(ctx context.Context) error {
	queue := "strictcycle-bench-load"
	var proc *workerProc
	stopInproc := func() error { return nil }
	if b.o.Process {
		p, err := startWorkerProcess(ctx, b.o, b.cfg, queue)
		if err != nil {
			return err
		}
		defer p.stop()
		proc = p
	} else {
		cfg := b.cfg
		cfg.TaskQueue = queue
		g, gctx := errgroup.WithContext(ctx)
		wctx, stop := context.WithCancel(gctx)
		g.Go(func() error { return workerapp.Run(wctx, b.cl, cfg, zap.NewNop(), workerapp.RunOptions{}) })
		stopInproc = func() error { stop(); return g.Wait() }
	}
	defer func() { _ = stopInproc() }()

	pid := os.Getpid()
	where := "in-process worker (RSS includes the server: inflated)"
	if proc != nil {
		pid = proc.cmd.Process.Pid
		where = fmt.Sprintf("worker process pid %d", pid)
	}
	// Warm the worker with one cycle (and let it settle) before idle RSS.
	root, err := b.seedEnv(ctx, "bench_warm")
	if err != nil {
		return err
	}
	if _, _, err := b.cycle(ctx, queue, b.input("bench_warm", root)); err != nil {
		return fmt.Errorf("warm-up cycle on %s: %w", where, err)
	}
	time.Sleep(time.Second)
	status := fmt.Sprintf("/proc/%d/status", pid)
	idleCold := int64(-1)
	if proc != nil {
		idleCold = proc.rssStarted
	}
	idle := procField(status, "VmRSS")

	sizes := []int{}
	if b.o.EnvsSmall > 0 && b.o.EnvsSmall != b.o.Envs {
		sizes = append(sizes, b.o.EnvsSmall)
	}
	sizes = append(sizes, b.o.Envs)
	peak := int64(0)
	for _, n := range sizes {
		p, err := b.concurrent(ctx, queue, n, status)
		if err != nil {
			return err
		}
		peak = max(peak, p)
	}
	time.Sleep(2 * time.Second)
	after := procField(status, "VmRSS")
	fmt.Fprintf(b.out, "\n5. worker resident memory (%s, /proc/<pid>/status VmRSS)\n", where)
	if idleCold >= 0 {
		fmt.Fprintf(b.out, "   idle, just started: %s\n", mib(idleCold))
	}
	fmt.Fprintf(b.out, "   idle after one cycle: %s; peak while %d environments cycle: %s (VmHWM %s); idle 2s after the load: %s\n",
		mib(idle), b.o.Envs, mib(peak), mib(procField(status, "VmHWM")), mib(after))
	return nil
}

// concurrent cycles n environments at once for o.Rounds rounds and prints
// throughput, cycle latency and schedule-to-start latency; it returns the
// peak RSS sampled from status during the rounds.
func (b *clusterBench) concurrent(ctx context.Context, queue string, n int, status string) (int64, error) {
	fmt.Fprintf(b.out, "\n4. %d environments cycling at once on the worker (queue %s), %d rounds\n", n, queue, b.o.Rounds)
	var mu sync.Mutex
	var peak int64
	sctx, stopSample := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if v := procField(status, "VmRSS"); v > 0 {
				mu.Lock()
				peak = max(peak, v)
				mu.Unlock()
			}
			select {
			case <-sctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	defer func() { stopSample(); <-sampled }()

	var lat, wft, act durations
	var wall time.Duration
	cycles := 0
	for round := range b.o.Rounds {
		roots := make([]string, n)
		for i := range n {
			var err error
			if roots[i], err = b.seedEnv(ctx, fmt.Sprintf("bench_load_%03d", i)); err != nil {
				return 0, err
			}
		}
		runs := make([]client.WorkflowRun, n)
		each := make(durations, n)
		g, gctx := errgroup.WithContext(ctx)
		t0 := time.Now()
		for i := range n {
			g.Go(func() error {
				run, d, err := b.cycle(gctx, queue, b.input(fmt.Sprintf("bench_load_%03d", i), roots[i]))
				runs[i], each[i] = run, d
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return 0, fmt.Errorf("round %d of %d environments: %w", round+1, n, err)
		}
		wall += time.Since(t0)
		cycles += n
		lat = append(lat, each...)
		for _, run := range runs {
			events, err := history(ctx, b.cl, run.GetID(), run.GetRunID())
			if err != nil {
				return 0, err
			}
			w, a := scheduleToStart(events)
			wft, act = append(wft, w...), append(act, a...)
		}
	}
	stopSample()
	<-sampled
	fmt.Fprintf(b.out, "   throughput: %d cycles in %s = %.1f cycles/s\n", cycles, wall.Round(time.Millisecond), float64(cycles)/wall.Seconds())
	fmt.Fprintf(b.out, "   cycle start -> result: p50 %s, p95 %s, max %s\n", msf(lat.pct(0.5)), msf(lat.pct(0.95)), msf(slices.Max(lat)))
	fmt.Fprintf(b.out, "   schedule-to-start, workflow tasks (%d): p50 %s, p95 %s; activity tasks (%d): p50 %s, p95 %s\n",
		len(wft), msf(wft.pct(0.5)), msf(wft.pct(0.95)), len(act), msf(act.pct(0.5)), msf(act.pct(0.95)))
	mu.Lock()
	defer mu.Unlock()
	fmt.Fprintf(b.out, "   worker RSS peak during these rounds: %s\n", mib(peak))
	return peak, nil
}

// ---------------------------------------------------------------- worker process

type workerProc struct {
	cmd        *exec.Cmd
	rssStarted int64
	done       chan error
	stopOnce   sync.Once
}

// startWorkerProcess builds ./worker and runs it against the embedded
// server on queue, with metrics off, and waits for "worker started".
func startWorkerProcess(ctx context.Context, o benchOptions, cfg config.Config, queue string) (*workerProc, error) {
	bin := filepath.Join(o.Dir, "strictcycle-worker")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./worker")
	build.Dir = o.RepoRoot
	if msg, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build ./worker in %s (or use --worker-process=false): %w\n%s", o.RepoRoot, err, msg)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"TEMPORAL_ADDRESS="+cfg.Temporal.Address,
		"TEMPORAL_NAMESPACE="+cfg.Temporal.Namespace,
		"STRICTCYCLE_TASK_QUEUE="+queue,
		"STRICTCYCLE_METRICS_ADDR=",
		"STRICTCYCLE_LOG_LEVEL=info",
		"STRICTCYCLE_ROOT="+o.Dir,
		"STRICTCYCLE_CONTRACT="+cfg.Contract,
		"STRICTCYCLE_REDIS_PREFIX="+cfg.Redis.KeyPrefix,
		"REDIS_URL="+cfg.Redis.URL,
	)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start worker process: %w", err)
	}
	p := &workerProc{cmd: cmd, done: make(chan error, 1)}
	ready := make(chan struct{})
	var logTail []string
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			mu.Lock()
			logTail = append(logTail, line)
			if len(logTail) > 20 {
				logTail = logTail[1:]
			}
			mu.Unlock()
			if !signalled && strings.Contains(line, "worker started") {
				signalled = true
				close(ready)
			}
		}
	}()
	go func() { p.done <- cmd.Wait() }()
	select {
	case <-ready:
	case err := <-p.done:
		mu.Lock()
		defer mu.Unlock()
		return nil, fmt.Errorf("worker process exited: %v\n%s", err, strings.Join(logTail, "\n"))
	case <-time.After(30 * time.Second):
		p.stop()
		return nil, errors.New("worker process did not start within 30s")
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
	time.Sleep(time.Second) // let the pollers settle
	p.rssStarted = procField(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid), "VmRSS")
	return p, nil
}

// stop ends the worker process (SIGTERM, then SIGKILL after 15s) once.
func (p *workerProc) stop() {
	p.stopOnce.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
}

// startCPUProfile profiles the bench command itself (the in-process server
// and worker included) until the returned stop is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("start cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); _ = f.Close() }, nil
}
