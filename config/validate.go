package config

import (
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

var serviceNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)

// dockerNameRE is Docker's rule for container names and compose's for
// profile names; both reach an argv or an Engine API URL, so a leading dash
// (an option) or a slash (a URL path) is refused at load time.
var dockerNameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// ValidationError lists every problem of a contract, each with its path.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	return "validate contract: " + strings.Join(e.Problems, "; ")
}

type problems []string

func (p *problems) addf(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// Validate reports every problem of the contract with its path, e.g.
// `checks[3] (strategy_catalog_consistency): severity "crit" is not
// critical|warning|info`. Expression conditions are compiled here so that a
// bad expression is a load error naming the check.
func (c *Contract) Validate() error {
	var ps problems
	if strings.TrimSpace(c.Name) == "" {
		ps.addf("name: must not be empty")
	}
	ps.duration("freshness.window", c.Freshness.Window)
	ps.duration("freshness.ci_window", c.Freshness.CIWindow)
	ps.duration("freshness.future_skew", c.Freshness.FutureSkew)
	if len(c.Checks) == 0 {
		ps.addf("checks: must list at least one check")
	}
	seen := map[string]int{}
	for i := range c.Checks {
		ck := &c.Checks[i]
		at := fmt.Sprintf("checks[%d]", i)
		if ck.Name != "" {
			at = fmt.Sprintf("checks[%d] (%s)", i, ck.Name)
		}
		if strings.TrimSpace(ck.Name) == "" {
			ps.addf("%s: name must not be empty", at)
		} else if j, dup := seen[ck.Name]; dup {
			ps.addf("%s: duplicate name (also checks[%d])", at, j)
		} else {
			seen[ck.Name] = i
		}
		ps.check(at, ck, c)
	}
	names := make([]string, 0, len(c.Services))
	for n := range c.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !serviceNameRE.MatchString(n) {
			// A name with a control character is quoted in the path too, so
			// that it cannot forge lines in a log or a terminal.
			at := "services." + n
			if strings.ContainsFunc(n, unicode.IsControl) {
				at = fmt.Sprintf("services[%q]", n)
			}
			ps.addf("%s: name %q does not match %s", at, n, serviceNameRE)
		}
		if d := c.Services[n].Driver; d != "" && !knownDriver(d) {
			ps.addf("services.%s: driver %q is not docker|compose|exec", n, d)
		}
		if ct := c.Services[n].Container; ct != "" && !dockerNameRE.MatchString(ct) {
			ps.addf("services.%s: container %q does not match %s", n, ct, dockerNameRE)
		}
		for i, p := range c.Services[n].Profiles {
			if !dockerNameRE.MatchString(p) {
				ps.addf("services.%s: profiles[%d] %q does not match %s", n, i, p, dockerNameRE)
			}
		}
	}
	if c.Replay != nil {
		r := c.Replay
		if _, ok := seen[r.Check]; !ok {
			ps.addf("replay.check: %q is not a check of the contract", r.Check)
		}
		ps.argv("replay.argv", r.Argv, false)
		ps.liveArgv("replay", r.LiveArgv, nil, c)
		ps.childEnv("replay", r.ChildEnv, r.Env)
		ps.relPath("replay.artifact", r.Artifact)
		ps.duration("replay.timeout", r.Timeout)
	}
	ps.recovery(&c.Recovery)
	ps.interpreter(c.Interpreter)
	ps.preSteps(c.PreSteps, seen)
	if m := c.ReleaseManifest; m != nil {
		ps.relPath("release_manifest.path", m.Path)
		if m.Glob != "" {
			ps.glob("release_manifest.glob", m.Glob)
		}
	}
	if c.LiveScope != nil {
		c.LiveScope.validate(&ps)
	}
	if len(ps) > 0 {
		return &ValidationError{Problems: ps}
	}
	return nil
}

func knownDriver(d string) bool {
	return d == DriverDocker || d == DriverCompose || d == DriverExec
}

func (ps *problems) check(at string, ck *Check, c *Contract) {
	switch ck.Severity {
	case SeverityCritical, SeverityWarning, SeverityInfo:
	default:
		ps.addf("%s: severity %q is not critical|warning|info", at, ck.Severity)
	}
	k, known := kinds[ck.Kind]
	if !known {
		ps.addf("%s: kind %q is not one of %s", at, ck.Kind, strings.Join(Kinds(), "|"))
	}
	// Blocks by name, sorted, so that the problems come in a stable order.
	names := make([]string, 0, len(blocks))
	byName := map[string]blockSpec{}
	for _, b := range blocks {
		names = append(names, b.name)
		byName[b.name] = b
	}
	sort.Strings(names)
	for _, n := range names {
		if known && n != k.block && byName[n].set(ck) {
			ps.addf("%s: block %q does not belong to kind %q", at, n, ck.Kind)
		}
	}
	if known && k.block != "" && !byName[k.block].set(ck) {
		ps.addf("%s: kind %q needs a %q block", at, ck.Kind, k.block)
	}
	if ck.Producer != "" {
		if _, ok := c.Services[ck.Producer]; !ok {
			ps.addf("%s: producer %q is not a key of services", at, ck.Producer)
		}
	}
	for i, p := range ck.Evidence {
		ps.relPath(fmt.Sprintf("%s: evidence[%d]", at, i), p)
	}
	for i, p := range ck.EvidencePaths {
		ps.relPath(fmt.Sprintf("%s: evidence_paths[%d]", at, i), p)
	}
	if len(ck.EvidencePaths) > 0 && len(ck.Evidence) > 0 {
		ps.addf("%s: set evidence_paths (the whole recorded list) or evidence (extra files), not both", at)
	}
	for _, b := range blocks {
		if b.set(ck) {
			b.validate(ps, at, ck)
		}
	}
	ps.reasons(at, ck)
	ps.failReasons(at, ck)
	ps.live(at, ck, c)
	ps.enforcement(at, ck)
	ps.words(at, ck)
	if ck.Command != nil {
		ps.liveArgv(at+": command", ck.Command.LiveArgv, ck.Command.CIArgv, c)
	}
}

func (ps *problems) report(at string, r *ReportSpec) {
	if r.Path != "" && (len(r.Paths) > 0 || len(r.Globs) > 0) {
		ps.addf("%s: set path, or paths/globs, not both", at)
	}
	if r.Path == "" && len(r.Paths) == 0 && len(r.Globs) == 0 {
		ps.addf("%s: needs path, paths or globs", at)
	}
	if r.Path != "" {
		ps.relPath(at+".path", r.Path)
	}
	for i, p := range r.Paths {
		ps.relPath(fmt.Sprintf("%s.paths[%d]", at, i), p)
	}
	for i, p := range r.Globs {
		ps.glob(fmt.Sprintf("%s.globs[%d]", at, i), p)
	}
	for i, k := range r.TimestampKeys {
		if strings.TrimSpace(k) == "" {
			ps.addf("%s.timestamp_keys[%d]: must not be empty", at, i)
		}
	}
	if r.MissingPath != "" {
		ps.relPath(at+".missing_path", r.MissingPath)
		if r.Path != "" {
			ps.addf("%s: missing_path is for paths/globs (a single path is recorded itself)", at)
		}
	}
	ps.duration(at+".max_age", r.MaxAge)
	if r.NoFreshness && r.MaxAge > 0 {
		ps.addf("%s: no_freshness and max_age both set", at)
	}
	if r.Condition != "" {
		if err := CompileCondition(r.Condition); err != nil {
			ps.addf("%s.condition: %v", at, err)
		}
	}
	if r.CICondition != "" {
		if err := CompileCondition(r.CICondition); err != nil {
			ps.addf("%s.ci_condition: %v", at, err)
		}
	}
}

// CompileCondition compiles a pass condition the way the engine does (a
// boolean expr-lang expression over the report's JSON object; unknown names
// are nil) and returns the first line of the compiler's error. A condition
// that uses an unbounded construct (see CheckBounded) is refused.
func CompileCondition(cond string) error {
	_, err := CompileConditionProgram(cond)
	return err
}

// CompileConditionProgram is CompileCondition returning the program.
func CompileConditionProgram(cond string) (*vm.Program, error) {
	if err := CheckBounded(cond); err != nil {
		return nil, fmt.Errorf("compile %q: %w", cond, err)
	}
	p, err := expr.Compile(cond, ConditionOptions()...)
	if err != nil {
		msg, _, _ := strings.Cut(err.Error(), "\n")
		return nil, fmt.Errorf("compile %q: %s", cond, msg)
	}
	return p, nil
}

// ConditionOptions are the expr options a condition is compiled with.
func ConditionOptions() []expr.Option {
	return []expr.Option{expr.Env(map[string]any{}), expr.AllowUndefinedVariables(), expr.AsBool(),
		expr.MaxNodes(MaxConditionNodes), expr.Function(tickFunc, tick), expr.Patch(budgetPatcher{})}
}

func (ps *problems) recovery(r *Recovery) {
	if r.Driver != "" && !knownDriver(r.Driver) {
		ps.addf("recovery.driver: %q is not docker|compose|exec", r.Driver)
	}
	ps.duration("recovery.budget_window", r.BudgetWindow)
	ps.duration("recovery.wait_first", r.WaitFirst)
	ps.duration("recovery.watch_timeout", r.WatchTimeout)
	ps.duration("recovery.lock_ttl", r.LockTTL)
	ps.duration("recovery.docker.timeout", r.Docker.Timeout)
	ps.duration("recovery.docker.health_timeout", r.Docker.HealthTimeout)
	// The restart activity has 2 minutes (start to close) for the stop
	// grace period, the start and the health wait together.
	if r.Docker.Timeout+r.Docker.HealthTimeout > maxDockerRestart {
		ps.addf("recovery.docker.timeout + health_timeout: %s + %s exceed %s (the restart activity's limit is 2m)",
			r.Docker.Timeout, r.Docker.HealthTimeout, maxDockerRestart)
	}
	ps.duration("recovery.exec.timeout", r.Exec.Timeout)
	if r.MaxRestarts < 0 {
		ps.addf("recovery.max_restarts: %d is negative", r.MaxRestarts)
	}
	if r.MaxRounds < 0 {
		ps.addf("recovery.max_rounds: %d is negative", r.MaxRounds)
	}
	ps.childEnv("recovery.compose", r.Compose.ChildEnv, nil)
	ps.childEnv("recovery.exec", r.Exec.ChildEnv, nil)
	if len(r.Compose.Command) > 0 {
		ps.argv("recovery.compose.command", r.Compose.Command, false)
	}
	for i, f := range r.Compose.Files {
		ps.relPath(fmt.Sprintf("recovery.compose.files[%d]", i), f)
	}
	for i, p := range r.Compose.Profiles {
		if !dockerNameRE.MatchString(p) {
			ps.addf("recovery.compose.profiles[%d]: %q does not match %s", i, p, dockerNameRE)
		}
	}
	if r.Compose.EnvFile != "" {
		ps.relPath("recovery.compose.env_file", r.Compose.EnvFile)
	}
	ps.template("recovery.exec.restart", r.Exec.Restart)
	ps.template("recovery.exec.stop", r.Exec.Stop)
	ps.template("recovery.exec.start", r.Exec.Start)
	if r.Driver == DriverExec && len(r.Exec.Restart) == 0 && (len(r.Exec.Stop) == 0 || len(r.Exec.Start) == 0) {
		ps.addf("recovery.exec: driver exec needs restart, or stop and start")
	}
}

// interpreterNameRE is a program name looked up in PATH.
var interpreterNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*$`)

// interpreter accepts a program name (python3, pypy3) or a path to one (a
// venv's bin/python, relative to the root or absolute); never an option, a
// shell word or a path that climbs out of the root.
func (ps *problems) interpreter(in string) {
	switch {
	case in == "":
	case strings.TrimSpace(in) != in || strings.ContainsAny(in, shellMeta+" \t'\"*?[]{}"):
		ps.addf("interpreter: %q is not a program name or path (no spaces, quotes, globs or shell characters)", in)
	case !strings.Contains(in, "/"):
		if !interpreterNameRE.MatchString(in) {
			ps.addf("interpreter: %q is not a program name (%s) or a path", in, interpreterNameRE)
		}
	case path.IsAbs(in):
		if path.Clean(in) != in {
			ps.addf("interpreter: %q is not a clean absolute path", in)
		}
	default:
		if err := CheckRelPath(in); err != nil {
			ps.addf("interpreter: %v", err)
		}
	}
}

// preSteps checks each pre-step like a command check, plus unique names
// and fails_checks naming checks of the contract.
func (ps *problems) preSteps(steps []PreStep, checks map[string]int) {
	names := map[string]int{}
	for i := range steps {
		s := &steps[i]
		at := fmt.Sprintf("pre_steps[%d]", i)
		if s.Name != "" {
			at = fmt.Sprintf("pre_steps[%d] (%s)", i, s.Name)
		}
		if !serviceNameRE.MatchString(s.Name) {
			ps.addf("%s: name %q does not match %s", at, s.Name, serviceNameRE)
		} else if j, dup := names[s.Name]; dup {
			ps.addf("%s: duplicate name (also pre_steps[%d])", at, j)
		} else {
			names[s.Name] = i
		}
		ps.argv(at+": argv", s.Argv, false)
		ps.preStepPlaceholders(at+": argv", s.Argv)
		if s.CIArgv != nil {
			ps.argv(at+": ci_argv", s.CIArgv, false)
			ps.preStepPlaceholders(at+": ci_argv", s.CIArgv)
		}
		ps.childEnv(at, s.ChildEnv, s.Env)
		ps.duration(at+": timeout", s.Timeout)
		for j, n := range s.FailsChecks {
			if _, ok := checks[n]; !ok {
				ps.addf("%s: fails_checks[%d]: %q is not a check of the contract", at, j, n)
			}
		}
	}
}

// envNameRE is a portable environment variable name.
var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// childEnv checks the variable names a child receives: well formed, listed
// once, and none of the worker's own settings (REDIS_URL, TEMPORAL_API_KEY,
// ...), which a child must never see.
func (ps *problems) childEnv(at string, ce ChildEnv, env map[string]string) {
	own := map[string]bool{}
	for _, v := range Vars() {
		own[v.Name] = true
	}
	seen := map[string]string{}
	for _, list := range []struct {
		field string
		names []string
	}{{"pass_env", ce.PassEnv}, {"secret_env", ce.SecretEnv}} {
		for i, n := range list.names {
			where := fmt.Sprintf("%s.%s[%d]", at, list.field, i)
			switch {
			case !envNameRE.MatchString(n):
				ps.addf("%s: %q is not a variable name (%s)", where, n, envNameRE)
			case own[n]:
				ps.addf("%s: %s is a setting of the worker and is never passed to a child", where, n)
			case seen[n] != "":
				ps.addf("%s: %s is already listed (%s)", where, n, seen[n])
			default:
				seen[n] = where
			}
		}
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !envNameRE.MatchString(k) {
			ps.addf("%s.env: %q is not a variable name (%s)", at, k, envNameRE)
		}
	}
}

var placeholderRE = regexp.MustCompile(`\{[^{}]*\}`)

// shellMeta are characters that only mean something to a shell; exec
// templates never go through one, so their presence is a mistake or an
// injection attempt.
const shellMeta = ";|&$`<>\n\r"

func (ps *problems) template(at string, argv []string) {
	if len(argv) == 0 {
		return
	}
	ps.argv(at, argv, true)
}

func (ps *problems) argv(at string, argv []string, template bool) {
	if len(argv) == 0 {
		ps.addf("%s: must not be empty", at)
		return
	}
	for i, a := range argv {
		if a == "" {
			ps.addf("%s[%d]: must not be empty", at, i)
			continue
		}
		if !template {
			continue
		}
		if j := strings.IndexAny(a, shellMeta); j >= 0 {
			ps.addf("%s[%d]: %q contains shell metacharacter %q (argv is not run through a shell)", at, i, a, a[j:j+1])
		}
		for _, ph := range placeholderRE.FindAllString(a, -1) {
			if ph != "{service}" && ph != "{root}" {
				ps.addf("%s[%d]: placeholder %s is not {service} or {root}", at, i, ph)
			}
		}
		if rest := placeholderRE.ReplaceAllString(a, ""); strings.ContainsAny(rest, "{}") {
			ps.addf("%s[%d]: %q has an unbalanced brace", at, i, a)
		}
	}
}

// maxDockerRestart bounds the docker driver's stop grace period plus its
// health wait, leaving a restart activity attempt (2m) room for the calls.
const maxDockerRestart = 100 * time.Second

func (ps *problems) duration(at string, d time.Duration) {
	if d < 0 {
		ps.addf("%s: duration %s is negative", at, d)
	}
}

// relPath refuses empty, absolute and escaping paths. Symlinks that escape
// the root are refused by the engine when it reads them.
func (ps *problems) relPath(at, p string) {
	if err := CheckRelPath(p); err != nil {
		ps.addf("%s: %v", at, err)
	}
}

// glob checks a root-relative glob as the reader takes it: segment by
// segment between slashes, so a "/" inside a character class ("[/]"),
// which path.Match accepts whole, is refused here and not at run time.
func (ps *problems) glob(at, p string) {
	if err := CheckRelPath(p); err != nil {
		ps.addf("%s: %v", at, err)
		return
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "**" {
			continue
		}
		if _, err := path.Match(strings.ReplaceAll(seg, "**", "*"), ""); err != nil {
			ps.addf("%s: bad pattern %q: %v", at, p, err)
			return
		}
	}
}

// CheckRelPath returns an error unless p is a non-empty path (or glob) that
// is relative and stays under the root.
func CheckRelPath(p string) error {
	switch {
	case strings.TrimSpace(p) == "":
		return fmt.Errorf("path must not be empty")
	case path.IsAbs(p) || filepath.IsAbs(p) || strings.HasPrefix(p, `\`) || filepath.VolumeName(p) != "" ||
		(len(p) >= 2 && p[1] == ':'):
		return fmt.Errorf("path %q is absolute (paths are relative to the root)", p)
	}
	for _, seg := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }) {
		if seg == ".." {
			return fmt.Errorf("path %q escapes the root", p)
		}
	}
	return nil
}

// preStepPlaceholders allows {today_utc} in a pre-step's argv: another
// {name} is a load error (a typo would reach the script as a literal);
// other braces (a JSON literal in a shell script) are the argument's own.
func (ps *problems) preStepPlaceholders(at string, argv []string) {
	for i, a := range argv {
		for _, ph := range preStepPlaceholderRE.FindAllString(a, -1) {
			if ph != TodayUTC {
				ps.addf("%s[%d]: placeholder %s is not %s", at, i, ph, TodayUTC)
			}
		}
	}
}

var preStepPlaceholderRE = regexp.MustCompile(`\{[a-z_]+\}`)
