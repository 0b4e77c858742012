// Command stmtmutate is a statement-level mutation tester for Go packages.
// It makes the mutants a condition/arithmetic mutator does not: a call or
// an assignment removed, a switch case dropped, an early return disabled,
// a non-comparison if condition negated, a composite-literal field left at
// its zero value, a boolean literal flipped. Each mutant is compiled and
// tested with `go test -overlay`, so no file of the module is changed.
//
//	stmtmutate [flags] target...
//
// A target is a package directory (every non-test .go file in it) or one
// .go file, optionally followed by @REGEX to pass -run REGEX to its
// package's tests, e.g. ./workflows@TestStrictCycle or
// ./activities/restart.go@Restart.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "stmtmutate:", err)
		os.Exit(1)
	}
}

// target is one command-line target resolved to files and a package.
type target struct {
	spec  string
	pkg   string // ./dir
	files []string
	runRe string
}

type options struct {
	moduleDir   string
	funcFilter  *regexp.Regexp
	match       *regexp.Regexp
	ops         map[string]bool
	sample      int
	seed        uint64
	timeout     time.Duration
	buildBudget time.Duration
	parallel    int
	list        bool
	verbose     bool
	minScore    float64
}

func parseFlags(args []string, stderr io.Writer) (*options, []string, error) {
	fs := flag.NewFlagSet("stmtmutate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	var funcRe, matchRe, ops string
	fs.StringVar(&o.moduleDir, "C", ".", "module directory where go test runs")
	fs.StringVar(&funcRe, "func", "", "mutate only functions whose name or Recv.Name matches this regexp")
	fs.StringVar(&matchRe, "match", "", "test only mutants whose \"file:line op\" matches this regexp (after -sample), e.g. to re-run known survivors")
	fs.StringVar(&ops, "ops", strings.Join(Operators, ","), "comma-separated operators")
	fs.IntVar(&o.sample, "sample", 0, "test at most this many mutants per target, drawn with -seed (0: all)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the sample")
	fs.DurationVar(&o.timeout, "timeout", 2*time.Minute, "per-mutant test timeout; a mutant past it counts as killed")
	fs.DurationVar(&o.buildBudget, "build-budget", 5*time.Minute, "extra wall time per mutant for compiling and linking")
	fs.IntVar(&o.parallel, "parallel", 2, "mutants tested at once (at most the number of CPUs)")
	fs.BoolVar(&o.list, "list", false, "list the mutants and exit without testing")
	fs.BoolVar(&o.verbose, "v", false, "print every mutant's outcome")
	fs.Float64Var(&o.minScore, "min-score", 0, "exit 1 when the score (percent killed) is below this")
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	if fs.NArg() == 0 {
		return nil, nil, errors.New("parse flags: no target (a package directory or a .go file)")
	}
	if funcRe != "" {
		re, err := regexp.Compile(funcRe)
		if err != nil {
			return nil, nil, fmt.Errorf("parse flag -func: %w", err)
		}
		o.funcFilter = re
	}
	if matchRe != "" {
		re, err := regexp.Compile(matchRe)
		if err != nil {
			return nil, nil, fmt.Errorf("parse flag -match: %w", err)
		}
		o.match = re
	}
	o.ops = map[string]bool{}
	known := map[string]bool{}
	for _, op := range Operators {
		known[op] = true
	}
	for _, op := range strings.Split(ops, ",") {
		op = strings.TrimSpace(op)
		if !known[op] {
			return nil, nil, fmt.Errorf("parse flag -ops: unknown operator %q (known: %s)", op, strings.Join(Operators, ", "))
		}
		o.ops[op] = true
	}
	if o.parallel < 1 || o.parallel > runtime.NumCPU() {
		return nil, nil, fmt.Errorf("parse flag -parallel: %d is not in 1..%d (CPUs)", o.parallel, runtime.NumCPU())
	}
	if o.timeout <= 0 || o.sample < 0 {
		return nil, nil, errors.New("parse flags: -timeout must be positive and -sample not negative")
	}
	return o, fs.Args(), nil
}

func resolveTarget(moduleDir, spec string) (target, error) {
	t := target{spec: spec}
	path := spec
	if i := strings.LastIndex(spec, "@"); i >= 0 {
		path, t.runRe = spec[:i], spec[i+1:]
		if _, err := regexp.Compile(t.runRe); err != nil {
			return t, fmt.Errorf("resolve target %q: bad -run regexp: %w", spec, err)
		}
	}
	path = filepath.Clean(path)
	st, err := os.Stat(filepath.Join(moduleDir, path))
	if err != nil {
		return t, fmt.Errorf("resolve target %q: %w", spec, err)
	}
	dir := path
	if st.IsDir() {
		matches, err := filepath.Glob(filepath.Join(moduleDir, path, "*.go"))
		if err != nil {
			return t, fmt.Errorf("resolve target %q: %w", spec, err)
		}
		for _, m := range matches {
			if !strings.HasSuffix(m, "_test.go") {
				rel, err := filepath.Rel(moduleDir, m)
				if err != nil {
					return t, fmt.Errorf("resolve target %q: %w", spec, err)
				}
				t.files = append(t.files, rel)
			}
		}
		if len(t.files) == 0 {
			return t, fmt.Errorf("resolve target %q: no non-test .go file", spec)
		}
	} else {
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return t, fmt.Errorf("resolve target %q: not a non-test .go file", spec)
		}
		t.files = []string{path}
		dir = filepath.Dir(path)
	}
	t.pkg = "./" + filepath.ToSlash(dir)
	return t, nil
}

// job is one mutant of one target.
type job struct {
	id int
	t  *target
	m  Mutant
}

type result struct {
	job
	outcome Outcome
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, specs, err := parseFlags(args, os.Stderr)
	if err != nil {
		return err
	}
	var targets []*target
	for _, s := range specs {
		t, err := resolveTarget(o.moduleDir, s)
		if err != nil {
			return err
		}
		targets = append(targets, &t)
	}

	var jobs []job
	perTarget := map[*target]int{}
	for _, t := range targets {
		var ms []Mutant
		for _, f := range t.files {
			src, err := os.ReadFile(filepath.Join(o.moduleDir, f))
			if err != nil {
				return fmt.Errorf("read %s: %w", f, err)
			}
			fm, err := Generate(f, src, o.ops, o.funcFilter)
			if err != nil {
				return err
			}
			ms = append(ms, fm...)
		}
		total := len(ms)
		ms = Sample(ms, o.sample, o.seed)
		perTarget[t] = total
		for _, m := range ms {
			if o.match != nil && !o.match.MatchString(fmt.Sprintf("%s:%d %s", m.File, m.Line, m.Op)) {
				continue
			}
			jobs = append(jobs, job{id: len(jobs), t: t, m: m})
		}
	}
	if o.list {
		for _, j := range jobs {
			fmt.Fprintf(stdout, "%s:%d\t%s\t%s\t%s\n", j.m.File, j.m.Line, j.m.Op, j.m.Func, j.m.Change)
		}
		fmt.Fprintf(stdout, "%d mutants\n", len(jobs))
		return nil
	}

	tmp, err := os.MkdirTemp("", "stmtmutate-")
	if err != nil {
		return fmt.Errorf("create temp dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	goCmd := os.Getenv("GO")
	if goCmd == "" {
		goCmd = "go"
	}
	r := &Runner{Go: goCmd, ModuleDir: o.moduleDir, Timeout: o.timeout, BuildBudget: o.buildBudget, TmpDir: tmp}

	// The unmutated tests must pass, or no mutant says anything.
	for _, t := range targets {
		out, text, err := r.Run(ctx, -1-len(jobs), t.pkg, "", nil, t.runRe)
		if err != nil {
			return fmt.Errorf("run tests of %s: %w", t.spec, err)
		}
		if out != Survived {
			return fmt.Errorf("run tests of %s: unmutated tests %s:\n%s", t.spec, out, tail(text, 40))
		}
	}

	results, err := runJobs(ctx, r, jobs, o, stdout)
	if err != nil {
		return err
	}
	score := report(stdout, targets, perTarget, results, o)
	if o.minScore > 0 && score < o.minScore {
		return fmt.Errorf("score %.1f%% is below -min-score %.1f%%", score, o.minScore)
	}
	return nil
}

func runJobs(ctx context.Context, r *Runner, jobs []job, o *options, stdout io.Writer) ([]result, error) {
	ch := make(chan job)
	results := make([]result, len(jobs))
	var (
		mu       sync.Mutex
		firstErr error
		done     int
		wg       sync.WaitGroup
	)
	for range o.parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				out, _, err := r.Run(ctx, j.id, j.t.pkg, j.m.File, j.m.Src, j.t.runRe)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				results[j.id] = result{job: j, outcome: out}
				done++
				if o.verbose {
					fmt.Fprintf(stdout, "[%d/%d] %s %s:%d %s\n", done, len(jobs), out, j.m.File, j.m.Line, j.m.Op)
				}
				mu.Unlock()
			}
		}()
	}
send:
	for _, j := range jobs {
		select {
		case ch <- j:
		case <-ctx.Done():
			break send
		}
	}
	close(ch)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("run mutants: %w", err)
	}
	return results, nil
}

// Sample returns at most n mutants drawn with seed, in their original
// order; n <= 0 returns all.
func Sample(ms []Mutant, n int, seed uint64) []Mutant {
	if n <= 0 || n >= len(ms) {
		return ms
	}
	idx := rand.New(rand.NewPCG(seed, 0)).Perm(len(ms))[:n]
	sort.Ints(idx)
	out := make([]Mutant, n)
	for i, k := range idx {
		out[i] = ms[k]
	}
	return out
}

type tally struct{ killed, timedOut, survived, buildFailed int }

func (t *tally) add(o Outcome) {
	switch o {
	case Killed:
		t.killed++
	case TimedOut:
		t.killed++
		t.timedOut++
	case Survived:
		t.survived++
	case BuildFailed:
		t.buildFailed++
	}
}

func (t tally) score() float64 {
	if t.killed+t.survived == 0 {
		return 100
	}
	return 100 * float64(t.killed) / float64(t.killed+t.survived)
}

func (t tally) String() string {
	return fmt.Sprintf("killed %d (timed out %d), survived %d, build failed %d (not counted); score %.1f%%",
		t.killed, t.timedOut, t.survived, t.buildFailed, t.score())
}

func report(w io.Writer, targets []*target, perTarget map[*target]int, results []result, o *options) float64 {
	var all tally
	byTarget := map[*target]*tally{}
	for _, t := range targets {
		byTarget[t] = &tally{}
	}
	var survivors []result
	for _, r := range results {
		byTarget[r.t].add(r.outcome)
		all.add(r.outcome)
		if r.outcome == Survived {
			survivors = append(survivors, r)
		}
	}
	for _, t := range targets {
		tt := byTarget[t]
		n := tt.killed + tt.survived + tt.buildFailed
		fmt.Fprintf(w, "%s: %d of %d mutants tested: %s\n", t.spec, n, perTarget[t], tt)
	}
	sort.SliceStable(survivors, func(i, j int) bool {
		a, b := survivors[i].m, survivors[j].m
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	for _, s := range survivors {
		fmt.Fprintf(w, "SURVIVED %s:%d\t%s\t%s\t%s\n\t%s\n", s.m.File, s.m.Line, s.m.Op, s.m.Func, s.m.Change, s.m.Original)
	}
	sample := "all"
	if o.sample > 0 {
		sample = fmt.Sprintf("sample %d per target, seed %d", o.sample, o.seed)
	}
	fmt.Fprintf(w, "stmtmutate: %d mutants (%s): %s\n", len(results), sample, all)
	return all.score()
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
