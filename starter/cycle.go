package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/strictcycle/strictcycle/activities"
	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/gates"
	"github.com/strictcycle/strictcycle/temporalclient"
	"github.com/strictcycle/strictcycle/workflows"
)

// common holds what every Temporal-facing command needs.
type common struct {
	cfg config.Config
	fs  *flag.FlagSet
}

func newCommon(name string, stderr io.Writer) (*common, error) {
	cfg, err := config.Load(os.LookupEnv)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &common{cfg: cfg, fs: fs}
	fs.StringVar(&c.cfg.Environment, "env", cfg.Environment, "environment (STRICTCYCLE_ENVIRONMENT)")
	fs.StringVar(&c.cfg.Temporal.Address, "address", cfg.Temporal.Address, "Temporal frontend (TEMPORAL_ADDRESS)")
	fs.StringVar(&c.cfg.Temporal.Namespace, "namespace", cfg.Temporal.Namespace, "Temporal namespace (TEMPORAL_NAMESPACE)")
	return c, nil
}

// parse parses the command's flags, then checks the environment name: the
// --env flag overrides STRICTCYCLE_ENVIRONMENT after config validated it, so
// the flag's value goes through the same grammar here. It returns false,
// having reported why, when the command must exit 1.
func (c *common) parse(args []string, stderr io.Writer) bool {
	if err := c.fs.Parse(args); err != nil {
		return false // the flag package printed the error and the usage
	}
	if err := config.ValidateEnvironment(c.cfg.Environment); err != nil {
		fail(stderr, fmt.Errorf("flag --env: %w", err))
		return false
	}
	return true
}

func (c *common) dial(ctx context.Context) (client.Client, error) {
	return temporalclient.Dial(ctx, c.cfg)
}

// targetFlags adds the stack flags of run, schedule and drill.
func (c *common) targetFlags() *activities.Target {
	t := &activities.Target{}
	c.fs.StringVar(&t.Root, "root", c.cfg.Root, "hbot stack root (STRICTCYCLE_ROOT)")
	c.fs.StringVar(&t.Contract, "contract", c.cfg.Contract, "gate contract name or file (STRICTCYCLE_CONTRACT)")
	c.fs.BoolVar(&t.CI, "ci", true, "use the contract's CI freshness window (strict cycles do)")
	return t
}

// resolveTarget makes the root and a contract file absolute, since the
// worker may run elsewhere.
func (c *common) resolveTarget(t *activities.Target) (*config.Contract, error) {
	t.Environment = c.cfg.Environment
	root, err := filepath.Abs(t.Root)
	if err != nil {
		return nil, fmt.Errorf("resolve root %q: %w", t.Root, err)
	}
	t.Root = root
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("root %q is not a directory", root)
	}
	if strings.ContainsAny(t.Contract, "/\\") || strings.HasSuffix(t.Contract, ".yaml") || strings.HasSuffix(t.Contract, ".yml") {
		p, err := filepath.Abs(t.Contract)
		if err != nil {
			return nil, fmt.Errorf("resolve contract %q: %w", t.Contract, err)
		}
		t.Contract = p
	}
	return config.LoadContract(t.Contract)
}

func fail(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "strictcycle: %v\n", err)
	return exitError
}

func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := newCommon("run", stderr)
	if err != nil {
		return fail(stderr, err)
	}
	t := c.targetFlags()
	in := &workflows.StrictCycleInput{}
	wait := c.fs.Bool("wait", false, "wait for the decision, showing progress")
	jsonOut := c.fs.Bool("json", false, "print the result as JSON (with --wait)")
	c.fs.BoolVar(&in.NoCommands, "no-commands", false, "judge command checks on their last artifacts")
	c.fs.BoolVar(&in.DryRun, "dry-run", false, "evaluate and report what would be restarted; restart nothing")
	c.fs.BoolVar(&in.SkipReplay, "skip-replay", false, "do not run the replay command (its check is judged on its last artifact)")
	c.fs.IntVar(&in.MaxRounds, "max-rounds", 0, "recovery rounds (0 = contract's)")
	if !c.parse(args, stderr) {
		return exitError
	}
	if _, err := c.resolveTarget(t); err != nil {
		return fail(stderr, err)
	}
	in.Target = *t
	cl, err := c.dial(ctx)
	if err != nil {
		return fail(stderr, err)
	}
	defer cl.Close()
	run, err := startCycle(ctx, cl, c.cfg.TaskQueue, in)
	if err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stdout, "started %s run %s\n", run.GetID(), run.GetRunID())
	if !*wait {
		return exitPass
	}
	res, err := waitCycle(ctx, cl, run, stdout)
	if err != nil {
		return fail(stderr, err)
	}
	return printDecision(stdout, res, *jsonOut)
}

// startCycle starts a strict cycle under the environment's one cycle id.
// The server refuses the start while a cycle of the environment runs,
// whether `run` or the schedule started it (the schedule's ScheduledCycle
// starts its cycle under the same id), so no visibility query is needed and
// none can race. WorkflowExecutionErrorWhenAlreadyStarted makes the refusal
// an error: without it the SDK hands back the running cycle, and its
// decision would be printed as this command's.
func startCycle(ctx context.Context, cl client.Client, queue string, in *workflows.StrictCycleInput) (client.WorkflowRun, error) {
	if err := config.ValidateEnvironment(in.Environment); err != nil {
		return nil, fmt.Errorf("start cycle: %w", err)
	}
	id := workflows.CycleID(in.Environment)
	run, err := cl.ExecuteWorkflow(ctx, workflows.CycleStartOptions(in.Environment, queue), workflows.StrictCycleName, in)
	if err != nil {
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			return nil, fmt.Errorf("start cycle %s: a cycle is already running in environment %s (run %s%s)", id, in.Environment, started.RunId, startedBy(ctx, cl, id, started.RunId))
		}
		return nil, fmt.Errorf("start cycle %s: %w", id, err)
	}
	return run, nil
}

// startedBy names the workflow that started a running cycle (the
// schedule's ScheduledCycle run), for the refusal message; best effort.
func startedBy(ctx context.Context, cl client.Client, id, runID string) string {
	d, err := cl.DescribeWorkflowExecution(ctx, id, runID)
	if err != nil {
		return ""
	}
	if p := d.GetWorkflowExecutionInfo().GetParentExecution(); p.GetWorkflowId() != "" {
		return ", started by " + p.GetWorkflowId()
	}
	return ", started by run"
}

// waitCycle prints each phase change from the status query until the
// workflow completes, then returns its result.
func waitCycle(ctx context.Context, cl client.Client, run client.WorkflowRun, out io.Writer) (*workflows.StrictCycleResult, error) {
	done := make(chan error, 1)
	var res workflows.StrictCycleResult
	go func() {
		// A panic here would crash the process with Go's exit code 2, the
		// FAIL code: report it as an error instead.
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("internal error (panic): %v", p)
			}
		}()
		done <- run.Get(ctx, &res)
	}()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	last := ""
	for {
		select {
		case err := <-done:
			if err != nil {
				return nil, fmt.Errorf("wait for %s: %w", run.GetID(), err)
			}
			return &res, nil
		case <-tick.C:
			st, err := queryStatus(ctx, cl, run.GetID(), run.GetRunID())
			if err != nil {
				continue // the workflow may have just completed
			}
			line := fmt.Sprintf("%-18s round %d/%d", gates.Printable(string(st.Phase)), st.Round, st.MaxRounds)
			if len(st.WaitingOn) > 0 {
				line += " waiting on " + gates.PrintableList(st.WaitingOn)
			}
			if len(st.Failures) > 0 && st.Phase != workflows.PhaseDone {
				line += " failing: " + gates.PrintableList(st.Failures)
			}
			if line != last {
				fmt.Fprintf(out, "  %6.2fs  %s\n", time.Since(start).Seconds(), line)
				last = line
			}
		}
	}
}

func queryStatus(ctx context.Context, cl client.Client, id, runID string) (*workflows.CycleStatus, error) {
	v, err := cl.QueryWorkflow(ctx, id, runID, workflows.QueryStatus)
	if err != nil {
		return nil, fmt.Errorf("query status of %s: %w", id, err)
	}
	var st workflows.CycleStatus
	if err := v.Get(&st); err != nil {
		return nil, fmt.Errorf("decode status of %s: %w", id, err)
	}
	return &st, nil
}

func printDecision(out io.Writer, res *workflows.StrictCycleResult, asJSON bool) int {
	// Anything but PASS is FAIL; names and reasons are escaped so none can
	// print a line of its own.
	status := gates.StatusFail
	if res.Status == gates.StatusPass {
		status = gates.StatusPass
	}
	if asJSON {
		b, _ := json.MarshalIndent(res, "", "  ")
		fmt.Fprintln(out, string(b))
	} else {
		fmt.Fprintf(out, "decision: %s", status)
		if res.Reason != "" {
			fmt.Fprintf(out, " (%s)", gates.Printable(res.Reason))
		}
		fmt.Fprintln(out)
		for _, r := range res.Restarts {
			fmt.Fprintf(out, "restart: round %d %s %s", r.Round, gates.Printable(r.Service), gates.Printable(string(r.Outcome)))
			if r.FreshAfterMS > 0 {
				fmt.Fprintf(out, ", report fresh %.0fms later", r.FreshAfterMS)
			}
			fmt.Fprintln(out)
		}
		if res.PublishError != "" {
			fmt.Fprintf(out, "publish: failed: %s\n", gates.Printable(res.PublishError))
		}
	}
	if len(res.CriticalFailures) > 0 {
		fmt.Fprintf(out, "[promotion-gates] critical_failures=%s\n", gates.PrintableList(res.CriticalFailures))
	}
	if len(res.Waived) > 0 {
		fmt.Fprintf(out, "[promotion-gates] waived=%s\n", gates.PrintableList(res.Waived))
	}
	if res.DryRun {
		fmt.Fprintln(out, "[promotion-gates] dry_run=true")
	}
	fmt.Fprintf(out, "[promotion-gates] status=%s\n", status)
	fmt.Fprintf(out, "[promotion-gates] evidence=%s\n", gates.Printable(res.ArtifactPath))
	if status == gates.StatusPass {
		return exitPass
	}
	return exitFail
}

// resolve picks the execution: the given id (and run), else the
// environment's cycle id, whose latest run is its newest cycle — started by
// `run` or by the schedule, which share the id. No visibility query: the id
// is exact, so a command never acts on another environment's cycle.
func (c *common) resolve(id, runID string) (string, string) {
	if id != "" {
		return id, runID
	}
	return workflows.CycleID(c.cfg.Environment), runID
}

// cycleCmd builds a command that acts on one cycle: --workflow-id and
// --run-id, else the environment's newest cycle. bind (optional) declares
// the command's own flags and returns its request.
func cycleCmd(name string, bind func(*flag.FlagSet) any,
	act func(ctx context.Context, cl client.Client, id, runID string, req any, out io.Writer) error,
) func(context.Context, []string, io.Writer, io.Writer) int {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
		c, err := newCommon(name, stderr)
		if err != nil {
			return fail(stderr, err)
		}
		id := c.fs.String("workflow-id", "", "workflow id (default: the environment's cycle id, strictcycle-<env>-cycle)")
		runID := c.fs.String("run-id", "", "run id (default: the latest run)")
		var req any
		if bind != nil {
			req = bind(c.fs)
		}
		if !c.parse(args, stderr) {
			return exitError
		}
		if r, ok := req.(operatorRequest); ok {
			if err := r.Validate(); err != nil {
				return fail(stderr, err)
			}
		}
		cl, err := c.dial(ctx)
		if err != nil {
			return fail(stderr, err)
		}
		defer cl.Close()
		wid, rid := c.resolve(*id, *runID)
		if err := act(ctx, cl, wid, rid, req, stdout); err != nil {
			return fail(stderr, err)
		}
		return exitPass
	}
}

var statusCmd = cycleCmd("status", nil, func(ctx context.Context, cl client.Client, id, runID string, _ any, out io.Writer) error {
	st, err := queryStatus(ctx, cl, id, runID)
	if err != nil {
		return err
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	// JSON escapes C0 controls but not C1 or the bidi controls a report's
	// text may carry: escape each line as well.
	for _, line := range strings.Split(string(b), "\n") {
		fmt.Fprintln(out, gates.Printable(line))
	}
	return nil
})

// operatorRequest is an update's argument that checks itself before the
// command dials (the workflow's validator checks it again).
type operatorRequest interface{ Validate() error }

// updateCmd builds an operator command that sends one validated update and
// prints its result as one line of JSON with every control character
// escaped, so text an operator or a report chose cannot forge a line.
func updateCmd(name string, bind func(*flag.FlagSet) operatorRequest) func(context.Context, []string, io.Writer, io.Writer) int {
	return cycleCmd(name, func(fs *flag.FlagSet) any { return bind(fs) }, func(ctx context.Context, cl client.Client, id, runID string, req any, out io.Writer) error {
		h, err := cl.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: id, RunID: runID, UpdateName: name, Args: []any{req},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err != nil {
			return fmt.Errorf("%s %s: %w", name, id, err)
		}
		var res any
		if err := h.Get(ctx, &res); err != nil {
			return fmt.Errorf("%s %s: %w", name, id, err)
		}
		return printUpdateResult(out, name, res)
	})
}

// printUpdateResult prints an update's result as one line of JSON with every
// character that could forge or rewrite a line escaped.
func printUpdateResult(out io.Writer, name string, res any) error {
	b, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	_, err = fmt.Fprintf(out, "%s: %s\n", name, gates.Printable(string(b)))
	return err
}

// waiveFlags is the waive request with --for checked before it is sent.
type waiveFlags struct{ workflows.WaiveRequest }

func (w *waiveFlags) Validate() error {
	if w.For < workflows.MinWaiver || w.For > workflows.MaxWaiver {
		return fmt.Errorf("flag --for: %s is outside %s to %s", w.For, workflows.MinWaiver, workflows.MaxWaiver)
	}
	return w.WaiveRequest.Validate()
}

var (
	approveCmd = updateCmd(workflows.UpdateApprove, func(fs *flag.FlagSet) operatorRequest {
		req := &workflows.ApproveRequest{}
		fs.StringVar(&req.Service, "service", "", "protected service to restart")
		fs.StringVar(&req.By, "by", os.Getenv("USER"), "who approves")
		return req
	})
	abortCmd = updateCmd(workflows.UpdateAbort, func(fs *flag.FlagSet) operatorRequest {
		req := &workflows.AbortRequest{}
		fs.StringVar(&req.Reason, "reason", "", "why the cycle is aborted (one line, at most 1024 bytes)")
		fs.StringVar(&req.By, "by", os.Getenv("USER"), "who aborts")
		return req
	})
	waiveCmd = updateCmd(workflows.UpdateWaive, func(fs *flag.FlagSet) operatorRequest {
		req := &waiveFlags{}
		fs.StringVar(&req.Check, "check", "", "critical check to waive")
		fs.StringVar(&req.Reason, "reason", "", "why (ticket, incident; one line, at most 1024 bytes)")
		fs.StringVar(&req.By, "by", os.Getenv("USER"), "who waives")
		fs.DurationVar(&req.For, "for", time.Hour, "how long the waiver lasts (1m to 24h)")
		return req
	})
)

func drillCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := newCommon("drill", stderr)
	if err != nil {
		return fail(stderr, err)
	}
	t := c.targetFlags()
	in := &workflows.RecoveryDrillInput{}
	c.fs.StringVar(&in.Service, "service", "", "service to stop and recover")
	c.fs.StringVar(&in.Check, "check", "", "critical check expected to fail while it is down")
	c.fs.DurationVar(&in.StaleTimeout, "stale-timeout", 0, "how long to wait for the check to go stale (0 = window + 5m)")
	c.fs.BoolVar(&in.NoCommands, "no-commands", false, "judge command checks on their last artifacts")
	if !c.parse(args, stderr) {
		return exitError
	}
	if in.Service == "" || in.Check == "" {
		return fail(stderr, errors.New("drill: --service and --check are required"))
	}
	contract, err := c.resolveTarget(t)
	if err != nil {
		return fail(stderr, err)
	}
	if err := drillTarget(contract, in.Service, in.Check); err != nil {
		return fail(stderr, err)
	}
	in.Target = *t
	cl, err := c.dial(ctx)
	if err != nil {
		return fail(stderr, err)
	}
	defer cl.Close()
	run, err := startDrill(ctx, cl, c.cfg.TaskQueue, in)
	if err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stdout, "started %s run %s\n", run.GetID(), run.GetRunID())
	var res workflows.RecoveryDrillResult
	if err := run.Get(ctx, &res); err != nil {
		return fail(stderr, fmt.Errorf("wait for drill %s: %w", run.GetID(), err))
	}
	for _, s := range res.Steps {
		mark := "ok  "
		if !s.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(stdout, "  [%s] %-20s %s\n", mark, gates.Printable(s.Name), gates.Printable(s.Detail))
	}
	fmt.Fprintf(stdout, "drill: %s\ndrill report: %s\n", gates.Printable(string(res.Status)), gates.Printable(res.ReportPath))
	if res.Status == "pass" {
		return exitPass
	}
	// run adds the status=FAIL line to every exit 2.
	return exitFail
}

// drillTarget refuses, before anything starts, a drill whose service or
// check the contract does not declare: such a drill would stop nothing and
// overwrite reports/recovery/latest.json with a failed drill. The check must
// be critical, since the drill proves the gate fails closed on it.
func drillTarget(c *config.Contract, service, check string) error {
	if _, ok := c.Services[service]; !ok {
		return fmt.Errorf("drill: service %q is not in the services of contract %s", service, c.Name)
	}
	i := slices.IndexFunc(c.Checks, func(ch config.Check) bool { return ch.Name == check })
	if i < 0 {
		return fmt.Errorf("drill: check %q is not in contract %s", check, c.Name)
	}
	if c.Checks[i].Severity != config.SeverityCritical {
		return fmt.Errorf("drill: check %q is %s, not critical, in contract %s", check, c.Checks[i].Severity, c.Name)
	}
	return nil
}

// startDrill starts a drill under its business id; a second drill of the
// same service while one runs is refused, never attached to.
func startDrill(ctx context.Context, cl client.Client, queue string, in *workflows.RecoveryDrillInput) (client.WorkflowRun, error) {
	if err := config.ValidateEnvironment(in.Environment); err != nil {
		return nil, fmt.Errorf("start drill: %w", err)
	}
	id := workflows.DrillID(in.Environment, in.Service)
	run, err := cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: queue,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		WorkflowExecutionTimeout:                 workflows.CycleTimeout,
	}, workflows.RecoveryDrillName, in)
	if err != nil {
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			return nil, fmt.Errorf("start drill %s: a drill of %s is already running in environment %s (run %s)", id, in.Service, in.Environment, started.RunId)
		}
		return nil, fmt.Errorf("start drill %s: %w", id, err)
	}
	return run, nil
}

// defaultHealthURL is the worker's /healthz on loopback at the port of its
// metrics address (":9464", "0.0.0.0:9500"): an image healthcheck then
// follows STRICTCYCLE_METRICS_ADDR without a shell to expand it.
func defaultHealthURL(metricsAddr string) string {
	port := "9464"
	if _, p, err := net.SplitHostPort(metricsAddr); err == nil && p != "" {
		port = p
	}
	return "http://127.0.0.1:" + port + "/healthz"
}

func healthCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("health", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", defaultHealthURL(os.Getenv("STRICTCYCLE_METRICS_ADDR")), "health URL (default: /healthz on STRICTCYCLE_METRICS_ADDR's port, else 9464)")
	if err := fs.Parse(args); err != nil {
		return exitError
	}
	if err := probe(ctx, *url); err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintln(stdout, "ok")
	return exitPass
}
