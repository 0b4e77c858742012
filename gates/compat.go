package gates

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/procrun"
	"github.com/strictcycle/strictcycle/redact"
)

// rcPlaceholder in a fail reason is replaced by the command's exit code, as
// the original's f"... failed (rc={rc})".
const rcPlaceholder = "{rc}"

// splitReason turns what a kind wrote ("<fail reason>: <explanation>") into
// the original's reason, byte for byte, and the explanation as detail. A
// kind's own detail (a note such as "command not run") comes first.
//
// live selects the check's live reasons (config/live.go), when it has them.
func splitReason(ck *config.Check, r *Result, live bool) {
	var detail string
	if r.exact != "" && r.Verdict != VerdictPass {
		detail = strings.TrimPrefix(strings.TrimPrefix(r.Reason, r.exact), ": ")
		r.Reason = r.exact
		r.Detail = joinDetail(r.Detail, detail)
		return
	}
	if r.Verdict == VerdictPass {
		pass := passText(ck)
		detail = strings.TrimSpace(strings.TrimPrefix(r.Reason, pass))
		if live && ck.Live.PassReason != "" {
			pass = ck.Live.PassReason
		}
		r.Reason = r.render(pass)
		if r.passWords != "" {
			r.Reason = r.passWords
		}
	} else {
		fail := failText(ck)
		switch {
		case r.Reason == fail:
		case strings.HasPrefix(r.Reason, fail+": "):
			detail = r.Reason[len(fail)+2:]
		default:
			detail = r.Reason
		}
		switch {
		case r.Verdict == VerdictStale && r.condOK && ck.StaleReason != "":
			fail = ck.StaleReason
		case r.failTmpl != "":
			fail = r.failTmpl
		case live && ck.Live.FailReason != "":
			fail = ck.Live.FailReason
		}
		r.Reason = r.render(fail)
	}
	r.Detail = joinDetail(r.Detail, detail)
}

// render fills a reason template's placeholders (config/reason.go) from
// what the check judged.
func (r *Result) render(tmpl string) string {
	ps, err := config.ParsePlaceholders(tmpl)
	if err != nil || len(ps) == 0 {
		return tmpl
	}
	rc := r.ExitCode
	if rc == nil {
		rc = r.preRC
	}
	var b strings.Builder
	rest := tmpl
	for _, p := range ps {
		i := strings.Index(rest, p.Raw)
		b.WriteString(rest[:i])
		rest = rest[i+len(p.Raw):]
		switch p.Kind {
		case "rc":
			b.WriteString(renderRC(rcPlaceholder, rc))
		case "output":
			if !r.ran {
				b.WriteString("?")
			} else {
				b.WriteString(firstChars(r.output, p.Chars))
			}
		case "age":
			if r.age == nil {
				b.WriteString("?")
			} else {
				b.WriteString(fmt.Sprintf(p.Format, *r.age))
			}
		default:
			b.WriteString(capField(fieldText(r.obj, p)))
		}
	}
	b.WriteString(rest)
	return b.String()
}

// maxFieldChars bounds one report field in a rendered reason: a report may
// hold megabytes in one string, and the reason is carried in the gate
// run's result, in workflow history (whose payloads are limited) and on
// every operator's terminal. Longer values are cut, marked with "…".
const maxFieldChars = 512

func capField(s string) string {
	if c := firstChars(s, maxFieldChars); len(c) < len(s) {
		return c + "…"
	}
	return s
}

// fieldText is a report field as the original's f-string shows it:
// Python's str() of the value (None when null, or absent without a
// default), upper-cased, or a list joined by ",".
func fieldText(obj map[string]any, p config.Placeholder) string {
	v, ok := lookup(obj, p.Field)
	switch p.Transform {
	case "upper":
		s := ""
		if ok && v != nil {
			s = strings.ToUpper(pyStr(v))
		}
		if s == "" && p.HasDefault {
			return p.Default
		}
		return s
	case "lower":
		s := ""
		if ok {
			s = strings.ToLower(strings.TrimFunc(pyStr(v), isPySpace))
		}
		if s == "" && p.HasDefault {
			return p.Default
		}
		return s
	case "join", "sorted":
		list, _ := v.([]any)
		parts := make([]string, 0, len(list))
		for _, it := range list {
			s := pyStr(it)
			trimmed := strings.TrimFunc(s, isPySpace)
			if trimmed == "" {
				continue
			}
			if p.Transform == "sorted" {
				s = trimmed
			}
			parts = append(parts, s)
		}
		if p.Transform == "sorted" {
			sort.Strings(parts)
		}
		if len(parts) == 0 && p.HasDefault {
			return p.Default
		}
		return strings.Join(parts, ",")
	}
	if !ok && p.HasDefault {
		return p.Default
	}
	if !ok {
		return "None"
	}
	return pyStr(v)
}

func joinDetail(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + ": " + b
}

// renderRC fills {rc} with the exit code, or "?" when no command exited
// (not run, timed out, not startable).
func renderRC(s string, rc *int) string {
	if !strings.Contains(s, rcPlaceholder) {
		return s
	}
	v := "?"
	if rc != nil {
		v = strconv.Itoa(*rc)
	}
	return strings.ReplaceAll(s, rcPlaceholder, v)
}

// recordEvidencePaths replaces the files a check read by the contract's
// evidence_paths (the original's list, each hashed now, absent ones
// recorded as absent); the files read move to Read. A listed file that
// exists but cannot be read makes the check an error naming it.
func (e *evalEnv) recordEvidencePaths(ck *config.Check, r *Result) {
	r.Read = append(r.Read, r.Evidence...)
	r.Evidence = nil
	for _, rel := range ck.EvidencePaths {
		if e.isDir(rel) {
			// The original records directories too (reports/event_store),
			// as absent: a directory is no file.
			r.Evidence = append(r.Evidence, EvidenceFile{Path: e.abs(rel)})
			continue
		}
		ef, err := e.hashFile(rel)
		if err != nil {
			e.evidenceError(ck, r, err)
			ef = EvidenceFile{Path: e.abs(rel)}
		}
		r.Evidence = append(r.Evidence, ef)
	}
}

// evidenceError makes a passing check an error over an unreadable evidence
// file, or adds the file to a failing check's explanation.
func (e *evalEnv) evidenceError(ck *config.Check, r *Result, err error) {
	if r.Verdict == VerdictPass || r.Verdict == "" {
		r.Verdict, r.Reason = VerdictError, fmt.Sprintf("%s: evidence %v", failText(ck), err)
		return
	}
	r.Reason += fmt.Sprintf("; evidence %v", err)
}

// recordReportPath records a command's single report path even when the
// command failed, as the original does (present or absent).
func (e *evalEnv) recordReportPath(spec *config.ReportSpec, r *Result) {
	if spec == nil || spec.Path == "" {
		return
	}
	ef, err := e.hashFile(spec.Path)
	if err != nil {
		ef = EvidenceFile{Path: e.abs(spec.Path)}
		r.Reason += fmt.Sprintf("; report %v", err)
	}
	r.Evidence = append(r.Evidence, ef)
}

// pythonArgv0 is the argv[0] the contract's interpreter replaces.
const pythonArgv0 = "python"

// ResolveInterpreter returns the program that runs a contract's "python"
// commands: the contract's interpreter (a name looked up in PATH, or a path
// relative to root unless absolute), else python3, else python. The error
// names the contract field and what was tried.
func ResolveInterpreter(c *config.Contract, root string) (string, error) {
	in := c.Interpreter
	if in == "" {
		for _, name := range []string{"python3", "python"} {
			if p, err := exec.LookPath(name); err == nil {
				return p, nil
			}
		}
		return "", fmt.Errorf("contract %q: interpreter: neither python3 nor python is in PATH (set interpreter: to a program or a venv's bin/python)", c.Name)
	}
	if strings.Contains(in, "/") && !filepath.IsAbs(in) {
		in = filepath.Join(root, filepath.FromSlash(in))
	}
	p, err := exec.LookPath(in)
	if err != nil {
		return "", fmt.Errorf("contract %q: interpreter %q: %w", c.Name, c.Interpreter, err)
	}
	return p, nil
}

// argv substitutes the interpreter for a leading "python"; without one
// the error says why.
func (e *evalEnv) argv(argv []string) ([]string, error) {
	if len(argv) == 0 || argv[0] != pythonArgv0 {
		return argv, nil
	}
	if e.interpreter == "" {
		if e.interpErr != nil {
			return nil, e.interpErr
		}
		return argv, nil
	}
	return append([]string{e.interpreter}, argv[1:]...), nil
}

// usesPython reports whether a command check or pre-step of c starts with
// "python".
func usesPython(c *config.Contract) bool {
	for i := range c.Checks {
		if cmd := c.Checks[i].Command; cmd != nil && len(cmd.Argv) > 0 && cmd.Argv[0] == pythonArgv0 {
			return true
		}
	}
	for _, s := range c.PreSteps {
		if len(s.Argv) > 0 && s.Argv[0] == pythonArgv0 {
			return true
		}
	}
	return false
}

// runPreSteps runs the contract's pre-steps in order before any check.
// ci_only steps run only in CI mode; with --no-commands none runs. A
// recheck (only names some checks) runs the steps that can fail it: those
// whose fails_checks name a rechecked check, and the fail_closed ones; a
// plain refresh is left out. It returns the results and, per check named
// in a failed step's fails_checks, the failure to apply to it.
func (e *Engine) runPreSteps(ctx context.Context, env *evalEnv, only []string) ([]PreStepResult, map[string][]string) {
	steps := e.contract.PreSteps
	if len(steps) == 0 {
		return nil, nil
	}
	out := make([]PreStepResult, 0, len(steps))
	failed := map[string][]string{}
	for i := range steps {
		s := &steps[i]
		if len(only) > 0 && !s.FailClosed && !namesAny(s.FailsChecks, only) {
			out = append(out, PreStepResult{Name: s.Name, Reason: "not run (recheck of other checks)"})
			continue
		}
		res := e.runPreStep(ctx, env, s)
		if res.Ran && !res.OK {
			for _, n := range s.FailsChecks {
				failed[n] = append(failed[n], fmt.Sprintf("pre-step %s: %s", s.Name, res.Reason))
			}
		}
		out = append(out, res)
	}
	return out, failed
}

func (e *Engine) runPreStep(ctx context.Context, env *evalEnv, s *config.PreStep) PreStepResult {
	res := PreStepResult{Name: s.Name}
	switch {
	case env.noCommands:
		res.Reason = "not run (--no-commands)"
		return res
	case s.CIOnly && !e.opts.CI:
		res.Reason = "not run (ci_only, not in CI mode)"
		return res
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = defaultCommandTimeout
	}
	red := env.secrets.With(redact.FromEnv(s.SecretEnv)...)
	argv, err := env.argv(ciOr(e.opts.CI, s.CIArgv, s.Argv))
	if err != nil {
		res.Ran, res.Reason = true, err.Error()
		return res
	}
	argv = withToday(argv, env.now)
	start := time.Now()
	pr, err := procrun.Run(ctx, procrun.Spec{Argv: argv, Dir: env.root, Env: s.Env,
		PassEnv: s.Names(), Redactor: red, Timeout: timeout})
	res.Ran = true
	res.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	res.OutputTail = pr.Tail
	switch {
	case errors.Is(err, procrun.ErrStart):
		res.Reason = red.String(err.Error())
	case err != nil:
		res.Reason = fmt.Sprintf("cancelled: %v", ctx.Err())
	case pr.TimedOut:
		res.TimedOut = true
		res.Reason = fmt.Sprintf("timed out after %s", fmtDur(timeout))
	default:
		rc := pr.ExitCode
		res.ExitCode = &rc
		res.OK = rc == 0
		if !res.OK {
			res.Reason = fmt.Sprintf("exited %d", rc)
		}
	}
	return res
}

// preExitCodes maps each check named in a pre-step's fails_checks to that
// step's exit code, when it exited (results are in contract order).
func (e *Engine) preExitCodes(results []PreStepResult) map[string]*int {
	out := map[string]*int{}
	for i, res := range results {
		if i >= len(e.contract.PreSteps) || res.ExitCode == nil {
			continue
		}
		for _, n := range e.contract.PreSteps[i].FailsChecks {
			out[n] = res.ExitCode
		}
	}
	return out
}

// preStepCheck is the name of the critical result a failed fail_closed
// pre-step adds.
func preStepCheck(name string) string { return "pre_step:" + name }

// failClosedResults are the critical error results of failed fail_closed
// pre-steps.
func (e *Engine) failClosedResults(results []PreStepResult) []Result {
	var out []Result
	for i, r := range results {
		s := &e.contract.PreSteps[i]
		if !s.FailClosed || !r.Ran || r.OK {
			continue
		}
		out = append(out, Result{
			Name: preStepCheck(s.Name), Severity: config.SeverityCritical, Kind: "pre_step",
			Verdict: VerdictError, Reason: fmt.Sprintf("pre-step %s failed", s.Name), Detail: r.Reason,
			EvidencePaths: []string{},
		})
	}
	return out
}

// Text is the reason with its detail ("<reason>: <detail>"), the full
// explanation the CLI and logs print.
func (r Result) Text() string { return joinDetail(r.Reason, r.Detail) }

// namesAny reports whether a and b share a name.
func namesAny(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// withToday fills {today_utc} in a pre-step's argv with the evaluation
// day (UTC, YYYYMMDD), on a copy.
func withToday(argv []string, now time.Time) []string {
	out := make([]string, len(argv))
	day := now.UTC().Format("20060102")
	for i, a := range argv {
		out[i] = strings.ReplaceAll(a, config.TodayUTC, day)
	}
	return out
}

// ciOr is the CI argv in CI mode when one is declared, else the argv.
func ciOr(ci bool, ciArgv, argv []string) []string {
	if ci && ciArgv != nil {
		return ciArgv
	}
	return argv
}

// matchFailReason picks the first of the check's fail_reasons whose
// condition holds on the report a fresh failure was judged on (a failed
// pre-step keeps the plain fail reason). A condition that cannot be
// evaluated matches nothing.
func (e *evalEnv) matchFailReason(ck *config.Check, r *Result) {
	if r.Verdict != VerdictFail || r.obj == nil || len(e.preFailed[ck.Name]) > 0 {
		return
	}
	for _, fr := range ck.FailReasons {
		if ok, _, err := e.evalCondition(fr.When, r.obj); err == nil && ok {
			r.failTmpl = fr.Reason
			return
		}
	}
}

// pyOutput is the original's message of a finished command: stdout, a
// newline, stderr, stripped of Python's whitespace (which also counts
// \x1c-\x1f).
func pyOutput(stdout, stderr string) string {
	return strings.TrimFunc(stdout+"\n"+stderr, func(c rune) bool {
		return unicode.IsSpace(c) || (c >= 0x1c && c <= 0x1f)
	})
}

// firstChars is s[:n] in Python: the first n code points.
func firstChars(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
