package gates

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/procrun"
	"github.com/strictcycle/strictcycle/redact"
)

// checkFunc evaluates one check. It fills the verdict, reason, evidence and
// timing fields; the engine fills name, severity, kind and producer. A check
// that cannot be evaluated returns VerdictError, never a pass.
type checkFunc func(ctx context.Context, env *evalEnv, ck *config.Check) Result

// registry maps every kind of config.Kinds() to its check function: the
// run half of a kind's declaration (its block, validation and watch paths
// are declared in config/kinds.go; TestKindsRegistryMatchesConfig keeps the two in step).
var registry = map[string]checkFunc{
	config.KindFilesPresent:     checkFilesPresent,
	config.KindFilesGlob:        checkFilesGlob,
	config.KindReport:           checkReport,
	config.KindCommand:          checkCommand,
	config.KindRedisPing:        checkRedisPing,
	config.KindRedisStreamFresh: checkRedisStreamFresh,
	config.KindRedisGroupLag:    checkRedisGroupLag,
	config.KindStrategyCatalog:  checkStrategyCatalog,
	config.KindCoordination:     checkCoordination,
	config.KindDay2Gate:         checkDay2,
	config.KindSecretsHygiene:   checkSecretsHygiene,
	config.KindMultiBotPolicy:   checkMultiBotPolicy,
	config.KindParityGate:       checkParity,
	config.KindTradingLadder:    checkTradingLadder,
}

func reasonOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func failText(ck *config.Check) string { return reasonOr(ck.FailReason, ck.Name+" failed") }
func passText(ck *config.Check) string { return reasonOr(ck.PassReason, ck.Name+" passed") }

func checkFilesPresent(_ context.Context, env *evalEnv, ck *config.Check) Result {
	var r Result
	var missing []string
	for _, rel := range ck.Files {
		ef, err := env.hashPresent(rel)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// Recorded as absent, as the original records its whole list.
			missing = append(missing, rel)
			r.Evidence = append(r.Evidence, EvidenceFile{Path: env.abs(rel)})
			continue
		case err != nil:
			r.Verdict, r.Reason = VerdictError, fmt.Sprintf("%s: %v", failText(ck), err)
			return r
		}
		r.Evidence = append(r.Evidence, ef)
	}
	if len(missing) > 0 {
		r.Verdict, r.Reason = VerdictMissing, fmt.Sprintf("%s: missing %s", failText(ck), strings.Join(missing, ", "))
		return r
	}
	r.Verdict, r.Reason = VerdictPass, passText(ck)
	return r
}

func checkFilesGlob(_ context.Context, env *evalEnv, ck *config.Check) Result {
	var r Result
	matches, err := env.glob(ck.Glob.Pattern)
	if err != nil {
		r.Verdict, r.Reason = VerdictError, fmt.Sprintf("%s: %v", failText(ck), err)
		return r
	}
	for _, rel := range matches {
		ef, err := env.hashPresent(rel)
		if err != nil {
			r.Verdict, r.Reason = VerdictError, fmt.Sprintf("%s: %v", failText(ck), err)
			return r
		}
		r.Evidence = append(r.Evidence, ef)
	}
	need := max(ck.Glob.MinMatches, 1)
	if len(matches) < need {
		if ck.Glob.NoneEvidence != "" {
			// The original records its directory instead of the files
			// (a directory is recorded as absent: it is no file).
			r.Evidence = []EvidenceFile{{Path: env.abs(ck.Glob.NoneEvidence)}}
		}
		r.Verdict = VerdictMissing
		r.Reason = fmt.Sprintf("%s: %d file(s) match %s, need %d", failText(ck), len(matches), ck.Glob.Pattern, need)
		return r
	}
	r.Verdict, r.Reason = VerdictPass, passText(ck)
	return r
}

func checkReport(_ context.Context, env *evalEnv, ck *config.Check) Result {
	return env.judgeReport(ck, ck.Report)
}

// judgeReport reads one report (or the candidate the candidate rule picks
// among several), resolves its time, and judges freshness and the condition.
func (e *evalEnv) judgeReport(ck *config.Check, spec *config.ReportSpec) Result {
	r, _ := e.judgeReportObj(ck, spec)
	return r
}

// judgeReportObj is judgeReport returning the decoded report too (nil when
// none could be read), for a kind that judges more of it.
func (e *evalEnv) judgeReportObj(ck *config.Check, spec *config.ReportSpec) (Result, map[string]any) {
	var r Result
	fail := failText(ck)
	maxAge := spec.MaxAge
	if maxAge <= 0 {
		maxAge = e.window
	}
	c, n, total, err := e.chooseReport(spec)
	if err != nil {
		r.Verdict, r.Reason = VerdictError, fmt.Sprintf("%s: %v", fail, err)
		return r, nil
	}
	if c == nil && spec.MissingPasses {
		// Judged as {} by the original: a pass whose reason template sees
		// no field.
		r.Verdict, r.Reason = VerdictPass, passText(ck)
		r.Detail = fmt.Sprintf("no report (%s): passes as not yet run", reportLabel(spec))
		r.TSSource = TSSourceNone
		if rel := reasonOr(spec.Path, spec.MissingPath); rel != "" {
			r.Evidence = append(r.Evidence, EvidenceFile{Path: e.abs(rel)})
		}
		return r, nil
	}
	if c == nil {
		r.Verdict = VerdictMissing
		// The original records the path it looked for (a single path, or
		// the family's default file) as absent.
		if rel := reasonOr(spec.Path, spec.MissingPath); rel != "" {
			r.Evidence = append(r.Evidence, EvidenceFile{Path: e.abs(rel)})
		}
		if spec.Path != "" {
			r.Reason = fmt.Sprintf("%s: missing %s", fail, spec.Path)
		} else {
			r.Reason = fmt.Sprintf("%s: missing: no file among %s", fail, strings.Join(append(append([]string{}, spec.Paths...), spec.Globs...), ", "))
		}
		return r, nil
	}
	if total > 1 {
		r.Chosen = c.describe(n)
	}
	obj, ts := c.obj, c.ts
	if c.problem == nil && obj == nil {
		// The first existing candidate of a check without freshness is
		// chosen unread: decode it whole now (and judge the bytes of
		// this read).
		obj = e.readChosen(c)
		if c.problem == nil && !spec.NoFreshness {
			var prob *tsProblem
			if ts, prob = e.resolveTimestamp(c.rel, obj, spec.TimestampKeys, spec.AllowMtime); prob != nil {
				c.problem = prob
			}
		}
	}
	if c.ef.Exists {
		r.Evidence = append(r.Evidence, c.ef)
	}
	if c.problem != nil {
		r.Verdict, r.Reason = c.problem.verdict, fmt.Sprintf("%s: %s", fail, c.problem.reason)
		if obj == nil {
			r.TSSource = TSSourceNone
		}
		return r, obj
	}
	detail := ""
	if !spec.NoFreshness {
		var age float64
		age, detail = e.freshness(ts, maxAge)
		t := ts.t
		r.TSSource, r.ReportTime, r.AgeMinutes = ts.source, &t, &age
		unrounded := age
		r.age = &unrounded
	} else {
		r.TSSource = TSSourceNone
	}
	cond := spec.Condition
	if e.ci && spec.CICondition != "" {
		cond = spec.CICondition
	}
	ok, condDetail, err := e.evalCondition(cond, obj)
	if err != nil {
		r.Verdict, r.Reason = VerdictError, fmt.Sprintf("%s: %s: %v", fail, c.rel, err)
		return r, obj
	}
	r.obj, r.condOK = obj, ok
	if detail != "" {
		r.Verdict, r.Reason = VerdictStale, fmt.Sprintf("%s: stale: %s", fail, detail)
		if !ok {
			r.Reason += "; " + condDetail
		}
		return r, obj
	}
	if !ok {
		r.Verdict, r.Reason = VerdictFail, fmt.Sprintf("%s: %s", fail, condDetail)
		return r, obj
	}
	r.Verdict, r.Reason = VerdictPass, passText(ck)
	return r, obj
}

// chooseReport applies the candidate rule to Path, or to Paths then each
// glob's sorted matches, without duplicates (the first occurrence keeps its
// place, which decides ties), with the types the glob listings gave; total
// is the number of candidates listed.
func (e *evalEnv) chooseReport(spec *config.ReportSpec) (c *scanned, n, total int, err error) {
	if spec.Path != "" {
		c, n, err = e.chooseCandidate([]cand{{rel: spec.Path}}, spec.TimestampKeys, spec.AllowMtime, spec.NoFreshness)
		return c, n, 1, err
	}
	return e.chooseAmong("report", spec.Paths, spec.Globs, spec.TimestampKeys, spec.AllowMtime, spec.NoFreshness)
}

// evalCondition runs a compiled condition over the report object. detail
// names the observed values and the rule when the condition is false.
func (e *evalEnv) evalCondition(cond string, obj map[string]any) (bool, string, error) {
	if cond == "" {
		return true, "", nil
	}
	prog := e.programs[cond]
	if prog == nil {
		var err error
		if prog, err = expr.Compile(cond, config.ConditionOptions()...); err != nil {
			return false, "", fmt.Errorf("compile condition: %v", err)
		}
	}
	out, err := runBudgeted(prog, obj)
	if err != nil {
		msg, _, _ := strings.Cut(err.Error(), "\n")
		return false, "", fmt.Errorf("condition %q failed (%s): %s", cond, observed(cond, obj), msg)
	}
	b, _ := out.(bool)
	if b {
		return true, "", nil
	}
	return false, fmt.Sprintf("condition false (%s; rule: %s)", observed(cond, obj), cond), nil
}

// runBudgeted runs a condition over a fresh budget (config.ConditionEnv:
// predicate steps and wall time) with the VM's memory budget set
// (config.ConditionMemoryBudget); a blown budget is an error, so the check
// is not a pass. The VM recovers its own panics into errors; a panic
// outside it is recovered here, so a condition never crashes the worker.
func runBudgeted(prog *vm.Program, obj map[string]any) (out any, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("condition panicked: %v", r)
		}
	}()
	m := vm.VM{MemoryBudget: config.ConditionMemoryBudget}
	return m.Run(prog, config.ConditionEnv(obj))
}

var fieldCache sync.Map // condition -> []string

// observed renders the values of the fields a condition reads, e.g.
// `status="critical", critical_count=1`; an absent field shows as missing.
func observed(cond string, obj map[string]any) string {
	var fields []string
	if v, ok := fieldCache.Load(cond); ok {
		fields = v.([]string)
	} else {
		fields = conditionFields(cond)
		fieldCache.Store(cond, fields)
	}
	parts := make([]string, 0, len(fields))
	for _, f := range fields {
		v, ok := lookup(obj, f)
		if !ok {
			parts = append(parts, f+" missing")
			continue
		}
		parts = append(parts, f+"="+compact(v))
	}
	return strings.Join(parts, ", ")
}

type fieldVisitor struct{ paths map[string]bool }

func (v *fieldVisitor) Visit(n *ast.Node) {
	if p, ok := memberPath(*n); ok {
		v.paths[p] = true
	}
}

func memberPath(n ast.Node) (string, bool) {
	switch x := n.(type) {
	case *ast.IdentifierNode:
		return x.Value, true
	case *ast.ChainNode:
		return memberPath(x.Node)
	case *ast.MemberNode:
		prop, ok := x.Property.(*ast.StringNode)
		if !ok {
			return "", false
		}
		base, ok := memberPath(x.Node)
		if !ok {
			return "", false
		}
		return base + "." + prop.Value, true
	}
	return "", false
}

// conditionFields lists the longest field paths a condition reads.
func conditionFields(cond string) []string {
	tree, err := parser.Parse(cond)
	if err != nil {
		return nil
	}
	v := &fieldVisitor{paths: map[string]bool{}}
	ast.Walk(&tree.Node, v)
	var out []string
	for p := range v.paths {
		prefix := false
		for q := range v.paths {
			if strings.HasPrefix(q, p+".") {
				prefix = true
				break
			}
		}
		if !prefix {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func lookup(obj map[string]any, path string) (any, bool) {
	var cur any = obj
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func checkCommand(ctx context.Context, env *evalEnv, ck *config.Check) Result {
	spec := ck.Command
	// What the command prints, and the reason built from the report it
	// wrote (which may quote what it was given), are masked against the
	// worker's secrets and the command's secret_env values.
	red := env.secrets.With(redact.FromEnv(spec.SecretEnv)...)
	if env.noCommands {
		if spec.Report == nil {
			return Result{Verdict: VerdictSkipped, Reason: "command not run (--no-commands); no artifact to judge"}
		}
		r := env.judgeReport(ck, spec.Report)
		r.Detail = fmt.Sprintf("command not run (--no-commands); judged on %s", reportLabel(spec.Report))
		r.Reason = red.String(r.Reason)
		return r
	}
	timeout := spec.Timeout
	if timeout <= 0 {
		timeout = defaultCommandTimeout
	}
	// procrun kills the command's whole process group on timeout, so a
	// hung script's children do not outlive the check. The command gets an
	// explicit environment (its env map and the variables it names), never
	// the worker's.
	argv, err := env.argv(env.commandArgv(spec))
	if err != nil {
		return Result{Verdict: VerdictError, Reason: fmt.Sprintf("%s: %v", failText(ck), err)}
	}
	res, err := procrun.Run(ctx, procrun.Spec{Argv: argv, Dir: env.root, Env: spec.Env,
		PassEnv: spec.Names(), Redactor: red, Timeout: timeout})
	r := commandResult(ctx, ck, res, err, timeout)
	ran, output := err == nil && !res.TimedOut, pyOutput(res.StdoutHead, res.StderrHead)
	if r.Verdict == "" {
		r = env.judgeReport(ck, spec.Report)
		r.ExitCode, r.OutputTail = &res.ExitCode, res.Tail
	} else {
		// The original records the report path whatever the command did,
		// and reads it: a reason template may show what it says.
		env.recordReportPath(spec.Report, &r)
		if spec.Report != nil {
			_, r.obj = env.judgeReportObj(ck, spec.Report)
		}
	}
	r.ran, r.output = ran, output
	r.Reason = red.String(r.Reason)
	return r
}

// commandResult judges how a command ended; an empty verdict means it
// exited 0 and its report is to be judged.
func commandResult(ctx context.Context, ck *config.Check, res procrun.Result, err error, timeout time.Duration) Result {
	var r Result
	r.OutputTail = res.Tail
	rc := res.ExitCode
	switch {
	case errors.Is(err, procrun.ErrStart):
		r.Verdict, r.Reason = VerdictError, fmt.Sprintf("%s: %v", failText(ck), err)
		return r
	case err != nil:
		r.Verdict, r.Reason = VerdictError, fmt.Sprintf("%s: command cancelled: %v", failText(ck), ctx.Err())
		return r
	case res.TimedOut:
		r.Verdict, r.Reason = VerdictError, fmt.Sprintf("%s: command timed out after %s", failText(ck), fmtDur(timeout))
		return r
	case rc != 0:
		r.ExitCode = &rc
		r.Verdict, r.Reason = VerdictFail, fmt.Sprintf("%s: command exited %d", failText(ck), rc)
		return r
	}
	r.ExitCode = &rc
	if ck.Command.Report == nil {
		r.Verdict, r.Reason = VerdictPass, passText(ck)
	}
	return r
}

func reportLabel(spec *config.ReportSpec) string {
	if spec.Path != "" {
		return spec.Path
	}
	return strings.Join(append(append([]string{}, spec.Paths...), spec.Globs...), ", ")
}
