package workflows

// Property tests of the strict cycle's restart decisions: with the SDK's test
// environment (skipped time) and scripted activities, gate outcomes are
// generated per evaluation, restart outcomes follow a modelled budget, and
// every run is checked against the rules a cycle must never break:
//
//   - a dry run restarts nothing, writes no artifact and says dry run to
//     the restart activity;
//   - a restart is only asked for a service that produces a critical stale
//     or missing check, and never while a critical failure no restart can
//     cure is present (warning-only failures never restart anything);
//   - at most one restart request per service per round, none after the
//     budget was reported exhausted, and no unapproved protected restart;
//   - PASS only when the last gate run of the cycle is a full run that
//     passed; the published decision is the result.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"pgregory.net/rapid"

	"github.com/strictcycle/strictcycle/activities"
	"github.com/strictcycle/strictcycle/cycletypes"
	"github.com/strictcycle/strictcycle/gates"
)

type propCheck struct {
	name, severity, producer string
}

type evalCall struct {
	only    []string
	write   bool
	summary activities.GateSummary
}

type restartCall struct {
	in      activities.RestartServiceInput
	outcome cycletypes.RestartOutcome
	view    map[string]activities.CheckSummary // merged verdicts the cycle had seen
}

// propWorld scripts the activities of one generated cycle.
type propWorld struct {
	mu         sync.Mutex
	checks     []propCheck
	protected  map[string]bool
	lockHeld   map[string]bool
	budget     map[string]int
	evals      [][]gates.Verdict // verdicts per evaluation (the last repeats)
	watchFresh []bool            // per watch call (the last repeats)
	waitFirst  time.Duration
	maxRounds  int

	evalCalls []evalCall
	restarts  []restartCall
	driver    map[string]int // restarts that really happened
	watches   int
	view      map[string]activities.CheckSummary
	published []activities.PublishDecisionInput
}

var propServices = []string{"svc-a", "svc-b", "svc-c"}

func drawWorld(t *rapid.T) *propWorld {
	w := &propWorld{
		protected: map[string]bool{}, lockHeld: map[string]bool{}, budget: map[string]int{},
		driver: map[string]int{}, view: map[string]activities.CheckSummary{},
		waitFirst: rapid.SampledFrom([]time.Duration{0, 30 * time.Second}).Draw(t, "wait_first"),
		maxRounds: rapid.IntRange(1, 3).Draw(t, "max_rounds"),
	}
	n := rapid.IntRange(1, 5).Draw(t, "checks")
	for i := range n {
		w.checks = append(w.checks, propCheck{
			name:     fmt.Sprintf("check_%d", i),
			severity: rapid.SampledFrom([]string{"critical", "critical", "warning", "info"}).Draw(t, fmt.Sprintf("sev_%d", i)),
			producer: rapid.SampledFrom(append([]string{""}, propServices...)).Draw(t, fmt.Sprintf("producer_%d", i)),
		})
	}
	for _, s := range propServices {
		w.protected[s] = rapid.IntRange(0, 4).Draw(t, "protected_"+s) == 0
		w.lockHeld[s] = rapid.IntRange(0, 4).Draw(t, "lock_held_"+s) == 0
		w.budget[s] = rapid.IntRange(0, 3).Draw(t, "budget_"+s)
	}
	verdicts := []gates.Verdict{gates.VerdictPass, gates.VerdictPass, gates.VerdictStale, gates.VerdictStale,
		gates.VerdictMissing, gates.VerdictFail, gates.VerdictError, gates.VerdictSkipped}
	ne := rapid.IntRange(1, 6).Draw(t, "evaluations")
	for k := range ne {
		row := make([]gates.Verdict, n)
		for i := range row {
			row[i] = rapid.SampledFrom(verdicts).Draw(t, fmt.Sprintf("eval_%d_%d", k, i))
		}
		w.evals = append(w.evals, row)
	}
	nw := rapid.IntRange(1, 4).Draw(t, "watches")
	for k := range nw {
		w.watchFresh = append(w.watchFresh, rapid.Bool().Draw(t, fmt.Sprintf("watch_%d", k)))
	}
	return w
}

func (w *propWorld) isService(s string) bool { return slices.Contains(propServices, s) }

func (w *propWorld) DescribeContract(_ context.Context, _ *activities.Target) (*activities.Plan, error) {
	p := &activities.Plan{Contract: "prop", Services: map[string]activities.PlanService{},
		WaitFirst: w.waitFirst, WatchTimeout: 3 * time.Minute, MaxRounds: w.maxRounds, Window: 15 * time.Minute}
	for _, c := range w.checks {
		p.Checks = append(p.Checks, activities.PlanCheck{Name: c.name, Severity: cycletypes.Severity(c.severity), Producer: c.producer})
	}
	for _, s := range propServices {
		p.Services[s] = activities.PlanService{Protected: w.protected[s], Driver: "exec"}
	}
	return p, nil
}

func (w *propWorld) EvaluateGates(_ context.Context, in *activities.EvaluateGatesInput) (*activities.GateSummary, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	k := len(w.evalCalls)
	row := w.evals[min(k, len(w.evals)-1)]
	sum := activities.GateSummary{Status: gates.StatusPass, CriticalFailures: []string{},
		EvidenceBundleID: fmt.Sprintf("bundle-%d", k), ArtifactPath: fmt.Sprintf("/r/reports/promotion_gates/run_%d.json", k)}
	var results []gates.Result
	for i, c := range w.checks {
		if len(in.Only) > 0 && !slices.Contains(in.Only, c.name) {
			continue
		}
		v := row[i]
		if v != gates.VerdictPass && c.severity == "critical" && slices.ContainsFunc(in.Waivers, func(x gates.Waiver) bool { return x.Check == c.name }) {
			v = gates.VerdictWaived
		}
		results = append(results, gates.Result{Name: c.name, Severity: c.severity, Verdict: v, Pass: v == gates.VerdictPass})
		cs := activities.CheckSummary{Name: c.name, Severity: cycletypes.Severity(c.severity), Verdict: v, Pass: v == gates.VerdictPass, Producer: c.producer, Reason: string(v)}
		sum.Checks = append(sum.Checks, cs)
		w.view[c.name] = cs
	}
	status, failures := gates.StatusOf(results)
	sum.Status, sum.CriticalFailures = cycletypes.Status(status), failures
	w.evalCalls = append(w.evalCalls, evalCall{only: slices.Clone(in.Only), write: in.WriteArtifacts, summary: sum})
	return &sum, nil
}

func (w *propWorld) RunReplay(_ context.Context, _ *activities.RunReplayInput) (*activities.RunReplayResult, error) {
	return &activities.RunReplayResult{Ran: true}, nil
}

// RestartService models the real activity's order of refusals: protected
// without approval, dry run, budget, lock; then a restart.
func (w *propWorld) RestartService(ctx context.Context, in *activities.RestartServiceInput) (*activities.RestartServiceResult, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	res := &activities.RestartServiceResult{Service: in.Service, At: activity.GetInfo(ctx).StartedTime,
		BudgetUsed: w.driver[in.Service], BudgetMax: w.budget[in.Service]}
	switch {
	case w.protected[in.Service] && !in.Approved:
		res.Outcome = activities.RestartProtected
	case in.DryRun:
		res.Outcome = activities.RestartDryRun
	case w.driver[in.Service] >= w.budget[in.Service]:
		res.Outcome = activities.RestartBudgetExhausted
	case w.lockHeld[in.Service]:
		res.Outcome = activities.RestartLockHeld
	default:
		w.driver[in.Service]++
		res.Outcome = activities.RestartDone
	}
	view := make(map[string]activities.CheckSummary, len(w.view))
	for k, v := range w.view {
		view[k] = v
	}
	w.restarts = append(w.restarts, restartCall{in: *in, outcome: res.Outcome, view: view})
	return res, nil
}

func (w *propWorld) WatchUntilFresh(_ context.Context, in *activities.WatchUntilFreshInput) (*activities.WatchUntilFreshResult, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	fresh := w.watchFresh[min(w.watches, len(w.watchFresh)-1)]
	w.watches++
	reason := "timeout"
	if fresh {
		reason = "fresh"
	}
	return &activities.WatchUntilFreshResult{Fresh: fresh, WaitedMS: 10, Reason: reason}, nil
}

func (w *propWorld) PublishDecision(_ context.Context, in *activities.PublishDecisionInput) (*activities.PublishDecisionResult, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.published = append(w.published, *in)
	return &activities.PublishDecisionResult{StreamID: "1-0"}, nil
}

func (w *propWorld) register(env *testsuite.TestWorkflowEnvironment) {
	reg := func(fn any, name string) { env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name}) }
	reg(w.DescribeContract, activities.DescribeContractName)
	reg(w.EvaluateGates, activities.EvaluateGatesName)
	reg(w.RunReplay, activities.RunReplayName)
	reg(w.RestartService, activities.RestartServiceName)
	reg(w.WatchUntilFresh, activities.WatchUntilFreshName)
	reg(w.PublishDecision, activities.PublishDecisionName)
}

func (w *propWorld) String() string {
	var b strings.Builder
	for i, c := range w.checks {
		var vs []string
		for _, row := range w.evals {
			vs = append(vs, string(row[i]))
		}
		fmt.Fprintf(&b, "%s %s producer=%q evaluations=%v\n", c.name, c.severity, c.producer, vs)
	}
	for _, s := range propServices {
		fmt.Fprintf(&b, "%s protected=%v lock_held=%v budget=%d\n", s, w.protected[s], w.lockHeld[s], w.budget[s])
	}
	fmt.Fprintf(&b, "wait_first=%s max_rounds=%d watch=%v\n", w.waitFirst, w.maxRounds, w.watchFresh)
	for _, r := range w.restarts {
		fmt.Fprintf(&b, "restart %s round %d approved=%v dry_run=%v -> %s\n", r.in.Service, r.in.Round, r.in.Approved, r.in.DryRun, r.outcome)
	}
	for k, e := range w.evalCalls {
		fmt.Fprintf(&b, "evaluation %d only=%v write=%v -> %s %v\n", k, e.only, e.write, e.summary.Status, e.summary.CriticalFailures)
	}
	return b.String()
}

func quietSuite() *testsuite.WorkflowTestSuite {
	var ts testsuite.WorkflowTestSuite
	ts.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	return &ts
}

func runPropCycle(t *rapid.T, w *propWorld, in *StrictCycleInput) *StrictCycleResult {
	env := quietSuite().NewTestWorkflowEnvironment()
	env.SetStartTime(time.Date(2026, 2, 26, 2, 0, 0, 0, time.UTC))
	w.register(env)
	env.RegisterWorkflowWithOptions(StrictCycle, workflowOptions(StrictCycleName))
	env.ExecuteWorkflow(StrictCycle, in)
	if !env.IsWorkflowCompleted() {
		t.Fatalf("cycle did not complete\n%s", w)
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("cycle failed: %v\n%s", err, w)
	}
	var res StrictCycleResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatalf("cycle result: %v", err)
	}
	return &res
}

// curable is a critical non-pass a restart may cure: stale or missing with
// a producing service.
func (w *propWorld) curable(c activities.CheckSummary) bool {
	return (c.Verdict == gates.VerdictStale || c.Verdict == gates.VerdictMissing) && w.isService(c.Producer)
}

func TestPropertyRestartDecisions(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := drawWorld(t)
		dry := rapid.Bool().Draw(t, "dry_run")
		in := &StrictCycleInput{Target: activities.Target{Environment: "prop", Root: "/r", Contract: "prop"}, DryRun: dry}
		res := runPropCycle(t, w, in)

		// Dry run: nothing restarted, nothing written, the flag passed on.
		if dry {
			for s, n := range w.driver {
				if n > 0 {
					t.Fatalf("dry run restarted %s %d time(s)\n%s", s, n, w)
				}
			}
			for _, r := range w.restarts {
				if !r.in.DryRun {
					t.Fatalf("dry run asked for a real restart of %s\n%s", r.in.Service, w)
				}
			}
			for k, e := range w.evalCalls {
				if e.write {
					t.Fatalf("dry run: evaluation %d writes artifacts\n%s", k, w)
				}
			}
			for _, p := range w.published {
				if p.Root != "" {
					t.Fatalf("dry run: decision written under %q\n%s", p.Root, w)
				}
			}
		}

		// Every restart request is for a critical stale/missing check of
		// that service, with no incurable critical failure in sight.
		type key struct {
			service string
			round   int
		}
		seen := map[key]bool{}
		exhausted := map[string]bool{}
		for _, r := range w.restarts {
			k := key{r.in.Service, r.in.Round}
			if seen[k] {
				t.Fatalf("%s restarted twice in round %d\n%s", r.in.Service, r.in.Round, w)
			}
			seen[k] = true
			if r.in.Round < 1 || r.in.Round > w.maxRounds {
				t.Fatalf("restart in round %d of max %d\n%s", r.in.Round, w.maxRounds, w)
			}
			if exhausted[r.in.Service] {
				t.Fatalf("%s asked to restart after its budget was exhausted\n%s", r.in.Service, w)
			}
			if r.outcome == activities.RestartBudgetExhausted {
				exhausted[r.in.Service] = true
			}
			if w.protected[r.in.Service] && !r.in.Approved && !dry {
				t.Fatalf("unapproved restart of protected %s\n%s", r.in.Service, w)
			}
			wanted := false
			for _, c := range r.view {
				if c.Severity != "critical" || c.Pass || c.Verdict == gates.VerdictWaived {
					continue
				}
				if !w.curable(c) {
					t.Fatalf("restart of %s while %s is %s (no restart cures it)\n%s", r.in.Service, c.Name, c.Verdict, w)
				}
				if c.Producer == r.in.Service {
					wanted = true
				}
			}
			if !wanted {
				t.Fatalf("restart of %s, which produces no failing critical check\n%s", r.in.Service, w)
			}
		}
		for s, n := range w.driver {
			if n > w.budget[s] {
				t.Fatalf("%s restarted %d times, budget %d\n%s", s, n, w.budget[s], w)
			}
		}

		// A fail-closed reason names critical checks only: a warning or
		// info check never blocks recovery.
		if list, ok := strings.CutPrefix(res.Reason, "non-recoverable critical failure: "); ok {
			for _, item := range strings.Split(list, ", ") {
				name, _, _ := strings.Cut(item, " (")
				i := slices.IndexFunc(w.checks, func(c propCheck) bool { return c.name == name })
				if i < 0 || w.checks[i].severity != "critical" {
					t.Fatalf("fail-closed reason names %q, not a critical check: %s\n%s", name, res.Reason, w)
				}
			}
		}

		// The decision is the last full gate run's, and it is what is published.
		if len(w.evalCalls) == 0 {
			t.Fatalf("no gate run\n%s", w)
		}
		last := w.evalCalls[len(w.evalCalls)-1]
		if res.Status == gates.StatusPass && (len(last.only) > 0 || last.summary.Status != gates.StatusPass) {
			t.Fatalf("PASS but the last gate run (only=%v) is %s\n%s", last.only, last.summary.Status, w)
		}
		if res.Status == gates.StatusPass && res.EvidenceBundleID != last.summary.EvidenceBundleID {
			t.Fatalf("PASS with bundle %s, last full run has %s\n%s", res.EvidenceBundleID, last.summary.EvidenceBundleID, w)
		}
		if w.evalCalls[0].summary.Status == gates.StatusPass && (res.Status != gates.StatusPass || len(w.restarts) > 0) {
			t.Fatalf("first gate run passed, decision %s with %d restart(s)\n%s", res.Status, len(w.restarts), w)
		}
		if len(w.published) != 1 || w.published[0].Status != res.Status || !slices.Equal(w.published[0].CriticalFailures, res.CriticalFailures) {
			t.Fatalf("published %+v, decided %s %v\n%s", w.published, res.Status, res.CriticalFailures, w)
		}
	})
}

// TestPropertyDecisionMarkers: a dry-run decision and a PASS that relied on
// a waiver are published with a marker (issue 8, "marked decisions"). The
// payload is read as JSON so the test does not depend on the Go field name.
func TestPropertyDecisionMarkers(t *testing.T) {
	payload := func(t *testing.T, p activities.PublishDecisionInput) map[string]any {
		t.Helper()
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	t.Run("dry run", func(t *testing.T) {
		w := &propWorld{
			checks:    []propCheck{{"report", "critical", "svc-a"}},
			protected: map[string]bool{}, lockHeld: map[string]bool{}, budget: map[string]int{"svc-a": 3},
			evals: [][]gates.Verdict{{gates.VerdictStale}}, watchFresh: []bool{false}, maxRounds: 1,
			driver: map[string]int{}, view: map[string]activities.CheckSummary{},
		}
		env := quietSuite().NewTestWorkflowEnvironment()
		w.register(env)
		env.RegisterWorkflowWithOptions(StrictCycle, workflowOptions(StrictCycleName))
		env.ExecuteWorkflow(StrictCycle, &StrictCycleInput{Target: activities.Target{Environment: "prop", Root: "/r", Contract: "prop"}, DryRun: true})
		if err := env.GetWorkflowError(); err != nil {
			t.Fatal(err)
		}
		if len(w.published) != 1 {
			t.Fatalf("published %d decisions", len(w.published))
		}
		if m := payload(t, w.published[0]); m["dry_run"] != true {
			t.Fatalf("dry-run decision published without dry_run=true: %v", m)
		}
	})
	t.Run("waived pass", func(t *testing.T) {
		// A stale check of a protected service: the cycle waits for an
		// approval, an operator waives the check instead, the cycle passes.
		w := &propWorld{
			checks:    []propCheck{{"report", "critical", "svc-a"}},
			protected: map[string]bool{"svc-a": true}, lockHeld: map[string]bool{}, budget: map[string]int{"svc-a": 3},
			evals: [][]gates.Verdict{{gates.VerdictStale}}, watchFresh: []bool{false}, maxRounds: 1,
			driver: map[string]int{}, view: map[string]activities.CheckSummary{},
		}
		env := quietSuite().NewTestWorkflowEnvironment()
		w.register(env)
		env.RegisterWorkflowWithOptions(StrictCycle, workflowOptions(StrictCycleName))
		env.RegisterDelayedCallback(func() {
			env.UpdateWorkflow(UpdateWaive, "w1", &testsuite.TestUpdateCallback{
				OnReject: func(err error) { t.Errorf("waive rejected: %v", err) },
				OnAccept: func() {}, OnComplete: func(any, error) {},
			}, WaiveRequest{Check: "report", Reason: "INC-1", By: "carol", For: time.Hour})
		}, time.Minute)
		env.ExecuteWorkflow(StrictCycle, &StrictCycleInput{Target: activities.Target{Environment: "prop", Root: "/r", Contract: "prop"}})
		if err := env.GetWorkflowError(); err != nil {
			t.Fatal(err)
		}
		if len(w.published) != 1 {
			t.Fatalf("published %d decisions", len(w.published))
		}
		p := w.published[0]
		if p.Status != gates.StatusPass {
			t.Fatalf("waived cycle decided %s: %s", p.Status, p.Reason)
		}
		m := payload(t, p)
		marked := false
		for k, v := range m {
			if strings.HasPrefix(k, "waiv") && v != nil && v != false && v != "" {
				if l, isList := v.([]any); !isList || len(l) > 0 {
					marked = true
				}
			}
		}
		if !marked {
			t.Fatalf("PASS that relied on a waiver published without a waived marker: %v", m)
		}
	})
}
