package gates

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/rootfs"
)

// RedisClient is the narrow Redis surface the redis_* kinds use.
type RedisClient interface {
	Ping(ctx context.Context) error
	// NewestEntryTime is the time of the newest entry of a stream (from its
	// id); ok is false when the stream is empty or absent.
	NewestEntryTime(ctx context.Context, stream string) (t time.Time, ok bool, err error)
	// GroupLag is the consumer group's lag on a stream.
	GroupLag(ctx context.Context, stream, group string) (int64, error)
}

// Defaults used when the contract leaves a value at zero.
const (
	defaultWindow         = 20 * time.Minute
	defaultFutureSkew     = 2 * time.Minute
	defaultCommandTimeout = 10 * time.Minute
)

// Engine evaluates one contract. It is safe for concurrent Runs.
type Engine struct {
	contract *config.Contract
	opts     Options
	root     string
	programs map[string]*vm.Program
	yaml     *sync.Map
	cache    *Cache
	dirs     *rootfs.DirCache // the cache's listings of this root
	// interpreter runs the contract's "python" commands (interpErr when
	// it cannot be found).
	interpreter string
	interpErr   error
}

// New validates the options and prepares (compiles) the contract's checks.
func New(c *config.Contract, opts Options) (*Engine, error) {
	if c == nil {
		return nil, errors.New("new engine: nil contract")
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("new engine for contract %q: %w", c.Name, err)
	}
	if opts.Root == "" {
		return nil, errors.New("new engine: empty root")
	}
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, fmt.Errorf("new engine: root %q: %w", opts.Root, err)
	}
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("new engine: root %q: %w", opts.Root, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("new engine: root %q is not a directory", opts.Root)
	}
	e := &Engine{contract: c, opts: opts, root: root, programs: map[string]*vm.Program{}, yaml: &sync.Map{}, cache: opts.Cache}
	if e.cache == nil {
		e.cache = NewCache()
	}
	e.dirs = e.cache.dirsFor(root)
	if !opts.NoCommands && (c.Interpreter != "" || usesPython(c)) {
		e.interpreter, e.interpErr = ResolveInterpreter(c, root)
		if e.interpErr != nil && c.Interpreter != "" {
			// An interpreter the contract names and that is not there is
			// a configuration error, said at once.
			return nil, fmt.Errorf("new engine: %w", e.interpErr)
		}
	}
	for i := range c.Checks {
		ck := &c.Checks[i]
		if _, ok := registry[ck.Kind]; !ok {
			return nil, fmt.Errorf("new engine: check %q: kind %q has no implementation", ck.Name, ck.Kind)
		}
		for _, rs := range []*config.ReportSpec{ck.Report, commandReport(ck), ck.NativeReport()} {
			if rs == nil {
				continue
			}
			conds := []string{rs.Condition, rs.CICondition}
			for _, fr := range ck.FailReasons {
				conds = append(conds, fr.When)
			}
			for _, cond := range conds {
				if cond == "" {
					continue
				}
				if _, done := e.programs[cond]; done {
					continue
				}
				p, err := expr.Compile(cond, config.ConditionOptions()...)
				if err != nil {
					msg, _, _ := strings.Cut(err.Error(), "\n")
					return nil, fmt.Errorf("new engine: check %q: compile condition %q: %s", ck.Name, cond, msg)
				}
				e.programs[cond] = p
			}
		}
	}
	return e, nil
}

func commandReport(ck *config.Check) *config.ReportSpec {
	if ck.Command == nil {
		return nil
	}
	return ck.Command.Report
}

// Contract is the contract the engine evaluates.
func (e *Engine) Contract() *config.Contract { return e.contract }

// Root is the absolute stack root.
func (e *Engine) Root() string { return e.root }

// Window is the freshness window in force (contract window or CI window).
func (e *Engine) Window() time.Duration {
	w := e.contract.Freshness.Window
	if w <= 0 {
		w = defaultWindow
	}
	if e.opts.CI && e.contract.Freshness.CIWindow > 0 {
		return e.contract.Freshness.CIWindow
	}
	return w
}

func (e *Engine) skew() time.Duration {
	if s := e.contract.Freshness.FutureSkew; s > 0 {
		return s
	}
	return defaultFutureSkew
}

func (e *Engine) now() time.Time {
	if e.opts.Now != nil {
		return e.opts.Now().UTC()
	}
	return time.Now().UTC()
}

// WatchPaths returns the root-relative files and glob patterns the named
// check reads, for a watcher to subscribe to their directories.
func (e *Engine) WatchPaths(check string) []string {
	for i := range e.contract.Checks {
		ck := &e.contract.Checks[i]
		if ck.Name == check {
			return watchPaths(ck)
		}
	}
	return nil
}

func watchPaths(ck *config.Check) []string { return ck.WatchPaths() }

func (e *Engine) env(now time.Time, root *rootfs.Root) *evalEnv {
	return &evalEnv{
		root: e.root, fs: root, now: now, window: e.Window(), skew: e.skew(),
		ci: e.opts.CI, noCommands: e.opts.NoCommands, interpreter: e.interpreter, interpErr: e.interpErr, secrets: e.opts.Secrets, redis: e.opts.Redis, programs: e.programs, yamlCache: e.yaml,
		parsed: e.cache.parsed, dirs: e.dirs, cands: &e.cache.cands,
	}
}

// Run evaluates the contract (or the checks in ro.Only).
func (e *Engine) Run(ctx context.Context, ro RunOptions) (*Report, error) {
	checks, err := e.selectChecks(ro.Only)
	if err != nil {
		return nil, err
	}
	now := e.now()
	// One root descriptor per run: every read of the run is confined to
	// the directory the root named when the run began.
	root, err := rootfs.Open(e.root)
	if err != nil {
		return nil, fmt.Errorf("run contract %q: %w", e.contract.Name, err)
	}
	defer root.Close()
	env := e.env(now, root)
	// Pre-steps run before any check reads anything, in order; a failed
	// one fails the checks it names, or the run when it is fail_closed.
	preSteps, preFailed := e.runPreSteps(ctx, env, ro.Only)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("run contract %q: %w", e.contract.Name, err)
	}
	env.preFailed = preFailed
	env.preExit = e.preExitCodes(preSteps)
	env.live = env.readLiveScope(e.contract.LiveScope)
	results, err := e.runChecks(ctx, env, checks, ro.Waivers)
	if err != nil {
		return nil, fmt.Errorf("run contract %q: %w", e.contract.Name, err)
	}
	results = append(results, e.failClosedResults(preSteps)...)
	runID := ro.RunID
	if runID == "" {
		runID = newRunID(now)
	}
	r := &Report{
		TsUTC:         pyISOFormat(now),
		Checks:        results,
		RunID:         runID,
		Contract:      e.contract.Name,
		Root:          e.root,
		CI:            e.opts.CI,
		WindowMinutes: e.Window().Minutes(),
		PreSteps:      preSteps,
	}
	var manifestErr error
	r.ReleaseManifestRef, manifestErr = e.manifestRef(env)
	if manifestErr != nil {
		// A manifest that exists but cannot be read (a FIFO, a directory,
		// a symlink out) is not a check of the contract, but it must not
		// pass unnoticed: it fails the run as a critical error.
		r.Checks = append(r.Checks, Result{
			Name: manifestCheck, Severity: config.SeverityCritical, Kind: manifestCheck,
			Verdict: VerdictError, Reason: fmt.Sprintf("release manifest unreadable: %v", manifestErr),
			EvidencePaths: []string{},
		})
	}
	r.Status, r.CriticalFailures = StatusOf(r.Checks)
	r.ValidationLevel = e.validationLevel(r.Checks)
	r.EvidenceBundle, r.ContentDigest = bundle(e.root, r)
	return r, nil
}

// runChecks evaluates checks into results in their order. Command checks
// (when commands run) start as they are reached and run in the background,
// at most CommandParallelism at once, each with its own timeout and
// environment; the other checks run in order meanwhile. A check that reads
// a directory where an earlier command check's artifact lies waits for that
// command first, so it sees what the command wrote, as in a sequential run.
// Native checkers (config.Check.NativeReport) run like command checks.
func (e *Engine) runChecks(ctx context.Context, env *evalEnv, checks []*config.Check, waivers []Waiver) ([]Result, error) {
	results := make([]Result, len(checks))
	slots := make(chan struct{}, e.commandParallelism())
	type running struct {
		done chan struct{}
		dirs []string
	}
	var started []running
	var wg sync.WaitGroup
	defer wg.Wait()
	for i, ck := range checks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if ck.Kind == config.KindCommand && !env.noCommands {
			done := make(chan struct{})
			started = append(started, running{done, watchDirs(commandReport(ck))})
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer close(done)
				slots <- struct{}{}
				defer func() { <-slots }()
				results[i] = e.runCheck(ctx, env, ck, waivers)
			}()
			continue
		}
		if native := ck.NativeReport(); native != nil && !env.noCommands {
			// A native checker writes a report as a command does, so it
			// runs beside the commands; it first waits for the earlier
			// ones writing where it reads, as it would have run after
			// them. The secrets scan reads the whole tree, and a command
			// may write anywhere in it: it waits for every earlier one.
			var before []chan struct{}
			reads := watchDirs(nil, watchPaths(ck)...)
			for _, r := range started {
				if ck.Kind == config.KindSecretsHygiene || sharesDir(r.dirs, reads) {
					before = append(before, r.done)
				}
			}
			done := make(chan struct{})
			started = append(started, running{done, watchDirs(native)})
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer close(done)
				for _, d := range before {
					<-d
				}
				slots <- struct{}{}
				defer func() { <-slots }()
				results[i] = e.runCheck(ctx, env, ck, waivers)
			}()
			continue
		}
		reads := watchDirs(nil, watchPaths(ck)...)
		for _, r := range started {
			if sharesDir(r.dirs, reads) {
				<-r.done
			}
		}
		results[i] = e.runCheck(ctx, env, ck, waivers)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return results, nil
}

func (e *Engine) commandParallelism() int {
	if n := e.opts.CommandParallelism; n > 0 {
		return n
	}
	return runtime.NumCPU()
}

// watchDirs lists the directories of a report spec's paths and globs (a
// glob's directory is its part before the first wildcard), and of extra.
func watchDirs(spec *config.ReportSpec, extra ...string) []string {
	var ps []string
	if spec != nil {
		ps = append(append(append(ps, spec.Path), spec.Paths...), spec.Globs...)
	}
	ps = append(ps, extra...)
	var out []string
	for _, p := range ps {
		if p == "" {
			continue
		}
		if i := strings.IndexAny(p, "*?["); i >= 0 {
			// "reports/x_*" and "reports/**/x" both lie in reports.
			p = p[:i] + "x"
		}
		out = append(out, path.Dir(path.Clean("/"+p)))
	}
	return out
}

// sharesDir reports whether a directory of one list is, contains or lies
// in a directory of the other.
func sharesDir(a, b []string) bool {
	within := func(x, y string) bool { return x == y || y == "/" || strings.HasPrefix(x, y+"/") }
	for _, x := range a {
		for _, y := range b {
			if within(x, y) || within(y, x) {
				return true
			}
		}
	}
	return false
}

func (e *Engine) selectChecks(only []string) ([]*config.Check, error) {
	all := e.contract.Checks
	if len(only) == 0 {
		out := make([]*config.Check, len(all))
		for i := range all {
			out[i] = &all[i]
		}
		return out, nil
	}
	want := map[string]bool{}
	for _, n := range only {
		want[n] = true
	}
	var out []*config.Check
	for i := range all {
		if want[all[i].Name] {
			out = append(out, &all[i])
			delete(want, all[i].Name)
		}
	}
	if len(want) > 0 {
		var unknown []string
		for n := range want {
			unknown = append(unknown, n)
		}
		sort.Strings(unknown)
		return nil, fmt.Errorf("run contract %q: unknown checks %s", e.contract.Name, strings.Join(unknown, ", "))
	}
	return out, nil
}

func (e *Engine) runCheck(ctx context.Context, env *evalEnv, ck *config.Check, waivers []Waiver) Result {
	start := time.Now()
	if !ck.IsEnforced() {
		r := env.notEnforced(ck)
		r.DurationMS = float64(time.Since(start).Microseconds()) / 1000
		return r
	}
	r := registry[ck.Kind](ctx, env, ck)
	r.Name, r.Severity, r.Kind, r.Producer, r.FailsFirst = ck.Name, ck.Severity, ck.Kind, ck.Producer, ck.FailsFirst
	r.preRC = env.preExit[ck.Name]
	live := applyLive(env, ck, &r)
	env.matchFailReason(ck, &r)
	applyWords(ck, &r)
	// A failed pre-step fails the checks it names (the original's
	// alerting probe rc and alerting_health).
	for _, why := range env.preFailed[ck.Name] {
		// A report that holds what the condition asks but is too old
		// keeps its stale_reason, as the original words the L2 check
		// whatever its checker's rc; the failed step is in the detail.
		if r.Verdict == VerdictPass {
			r.Verdict, r.Reason = VerdictFail, failText(ck)+": "+why
		} else {
			r.Reason += "; " + why
		}
	}
	// Extra evidence files named by the contract, hashed now. A missing
	// one is recorded as absent (the original's rule); one that exists but
	// cannot be read (a FIFO, a directory, a symlink out, too large) makes
	// the check an error naming it.
	for _, rel := range ck.Evidence {
		ef, err := env.hashFile(rel)
		if err != nil {
			env.evidenceError(ck, &r, err)
			continue
		}
		r.Evidence = append(r.Evidence, ef)
	}
	if len(ck.EvidencePaths) > 0 {
		env.recordEvidencePaths(ck, &r)
	}
	r.EvidencePaths = make([]string, 0, len(r.Evidence))
	for _, ef := range r.Evidence {
		r.EvidencePaths = append(r.EvidencePaths, ef.Path)
	}
	if r.AgeMinutes != nil {
		a := math.Round(*r.AgeMinutes*100) / 100
		r.AgeMinutes = &a
	}
	r.Pass = r.Verdict == VerdictPass
	splitReason(ck, &r, live)
	// What the templates read is not kept with the result.
	r.obj, r.output = nil, ""
	if !r.Pass && r.Severity == config.SeverityCritical {
		for i := range waivers {
			w := waivers[i]
			if w.Check == ck.Name && env.now.Before(w.Expires) {
				r.Detail = joinDetail(fmt.Sprintf("waived until %s (%s) [%s]", w.Expires.UTC().Format(time.RFC3339), w.Reason, r.Verdict), r.Detail)
				r.Verdict = VerdictWaived
				r.Waiver = &w
				break
			}
		}
	}
	r.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	return r
}

// StatusOf is FAIL when any critical check is not pass (a waived check does
// not count); the failures are in check order.
func StatusOf(results []Result) (string, []string) {
	failures := []string{}
	// The original's order: the names its checks append as they run
	// (fails_first), then every other critical failure in check order.
	for _, first := range []bool{true, false} {
		for _, r := range results {
			if r.FailsFirst == first && r.Severity == config.SeverityCritical && r.Verdict != VerdictPass && r.Verdict != VerdictWaived {
				failures = append(failures, r.Name)
			}
		}
	}
	if len(failures) > 0 {
		return StatusFail, failures
	}
	return StatusPass, failures
}

func (e *Engine) validationLevel(results []Result) int {
	replay := "replay_regression_cycle"
	if e.contract.Replay != nil {
		replay = e.contract.Replay.Check
	}
	level := 0
	for _, r := range results {
		if !r.Pass {
			continue
		}
		switch r.Name {
		case "unit_service_integration_tests":
			level = max(level, 1)
		case replay, "replay_regression_cycle":
			level = max(level, 2)
		}
	}
	return level
}

// manifestCheck names the result a run adds when the release manifest
// exists but cannot be read.
const manifestCheck = "release_manifest_ref"

// manifestRef is the newest docs/ops/release_manifest_*.md by name, else
// docs/ops/release_manifest.md. The newest by name is never passed over:
// when it cannot be read, the error says so.
func (e *Engine) manifestRef(env *evalEnv) (EvidenceFile, error) {
	rel, pattern := "docs/ops/release_manifest.md", "docs/ops/release_manifest_*.md"
	if m := e.contract.ReleaseManifest; m != nil {
		rel, pattern = m.Path, m.Glob
	}
	if pattern != "" {
		m, err := env.glob(pattern)
		if err != nil {
			return EvidenceFile{Path: env.abs(rel)}, err
		}
		if len(m) > 0 {
			rel = m[len(m)-1]
		}
	}
	ef, err := env.hashFile(rel)
	if err != nil {
		return EvidenceFile{Path: env.abs(rel)}, err
	}
	return ef, nil
}

// bundle builds the original evidence bundle (one artifact per unique
// evidence path, sorted by path, hashed when read) and the content digest,
// which binds root-relative paths and their sha256 plus the run id (W14).
func bundle(root string, r *Report) (EvidenceBundle, string) {
	byPath := map[string]EvidenceFile{}
	for _, c := range r.Checks {
		for _, ef := range c.Evidence {
			if _, ok := byPath[ef.Path]; !ok {
				byPath[ef.Path] = ef
			}
		}
		for _, p := range c.EvidencePaths {
			if _, ok := byPath[p]; !ok {
				byPath[p] = EvidenceFile{Path: p}
			}
		}
	}
	paths := make([]string, 0, len(byPath))
	for p := range byPath {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	b := EvidenceBundle{Artifacts: make([]EvidenceFile, 0, len(paths)), ArtifactCount: len(paths)}
	h := sha256.New()
	for _, p := range paths {
		ef := byPath[p]
		b.Artifacts = append(b.Artifacts, ef)
		rel, err := filepath.Rel(root, p)
		if err != nil {
			rel = p
		}
		fmt.Fprintf(h, "%s\t%s\n", filepath.ToSlash(rel), ef.SHA256)
	}
	// The files a check read beside its recorded evidence_paths are bound
	// too, so the digest covers everything judged.
	for _, c := range r.Checks {
		for _, ef := range c.Read {
			rel, err := filepath.Rel(root, ef.Path)
			if err != nil {
				rel = ef.Path
			}
			fmt.Fprintf(h, "read\t%s\t%s\n", filepath.ToSlash(rel), ef.SHA256)
		}
	}
	fmt.Fprintf(h, "run_id\t%s\n", r.RunID)
	b.EvidenceBundleID = EvidenceBundleID(r.Status, r.CriticalFailures, paths, r.ReleaseManifestRef.SHA256)
	return b, hex.EncodeToString(h.Sum(nil))
}

// pyISOFormat renders t like Python's datetime.now(UTC).isoformat().
func pyISOFormat(t time.Time) string {
	t = t.UTC()
	if us := t.Nanosecond() / 1000; us != 0 {
		return t.Format("2006-01-02T15:04:05") + fmt.Sprintf(".%06d+00:00", us)
	}
	return t.Format("2006-01-02T15:04:05") + "+00:00"
}

func newRunID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}
