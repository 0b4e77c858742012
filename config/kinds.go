package config

import (
	"fmt"
	"sort"
)

// A check kind is declared once, here, the blackbox_exporter prober way:
// one entry in kinds names the block the kind takes and the root paths it
// reads; the block validates itself (blocks, below). The gate engine
// registers the kind's run function under the same name, and a test there
// keeps its registry and Kinds() equal. Adding a kind is one entry here
// (plus its block, when it brings a new one) and its function in gates.

// kindSpec describes one check kind.
type kindSpec struct {
	// block is the one kind block the kind needs; "" means none.
	block string
	// reads lists the root-relative files and glob patterns the kind's
	// block makes it read (the check's evidence files are added to them).
	reads func(ck *Check) []string
}

var kinds = map[string]kindSpec{
	KindFilesPresent: {block: "files", reads: func(ck *Check) []string { return ck.Files }},
	KindFilesGlob:    {block: "glob", reads: func(ck *Check) []string { return []string{ck.Glob.Pattern} }},
	KindReport:       {block: "report", reads: func(ck *Check) []string { return ck.Report.Reads() }},
	KindCommand: {block: "command", reads: func(ck *Check) []string {
		if ck.Command.Report == nil {
			return nil
		}
		return ck.Command.Report.Reads()
	}},
	KindRedisPing:        {},
	KindRedisStreamFresh: {block: "redis"},
	KindRedisGroupLag:    {block: "redis"},
	KindStrategyCatalog: {block: "strategy_catalog", reads: func(ck *Check) []string {
		s := ck.StrategyCatalog
		return []string{s.Catalog, s.ControllerTemplate, s.ScriptTemplate, s.ControllersDir}
	}},
	KindCoordination: {block: "coordination", reads: func(ck *Check) []string {
		s := ck.Coordination
		return []string{s.Policy, s.MultiBotPolicy, s.Compose}
	}},
	KindDay2Gate: {block: "day2", reads: func(ck *Check) []string {
		if ck.Day2.SourceCompareGlob == "" {
			return []string{ck.Day2.Eval}
		}
		return []string{ck.Day2.Eval, ck.Day2.SourceCompareGlob}
	}},
	KindSecretsHygiene: {block: "secrets_hygiene", reads: func(ck *Check) []string {
		s := ck.SecretsHygiene
		out := []string{"docs/**", "reports/**", s.Env()}
		if s.IncludeLogs {
			out = append(out, "data/**/logs/**")
		}
		return out
	}},
	KindParityGate: {block: "parity", reads: func(ck *Check) []string { return ck.Parity.Reads() }},
	KindTradingLadder: {block: "trading_ladder", reads: func(ck *Check) []string {
		f := ck.TradingLadder.Files()
		return f[:]
	}},
	KindMultiBotPolicy: {block: "multi_bot_policy", reads: func(ck *Check) []string {
		p, a, f, r := ck.MultiBotPolicy.Inputs()
		return []string{p, a, f, r}
	}},
}

// blockSpec is one kind block of a check: whether the check sets it and
// how it validates itself (every problem with the check's path).
type blockSpec struct {
	name     string
	set      func(ck *Check) bool
	validate func(ps *problems, at string, ck *Check)
}

// blocks are validated in this order whenever they are set, whatever the
// kind (a block of another kind is also reported as not belonging).
var blocks = []blockSpec{
	{"files", func(ck *Check) bool { return len(ck.Files) > 0 }, func(ps *problems, at string, ck *Check) {
		for i, p := range ck.Files {
			ps.relPath(fmt.Sprintf("%s: files[%d]", at, i), p)
		}
	}},
	{"glob", func(ck *Check) bool { return ck.Glob != nil }, func(ps *problems, at string, ck *Check) {
		ck.Glob.validate(ps, at)
	}},
	{"report", func(ck *Check) bool { return ck.Report != nil }, func(ps *problems, at string, ck *Check) {
		ps.report(at+": report", ck.Report)
	}},
	{"command", func(ck *Check) bool { return ck.Command != nil }, func(ps *problems, at string, ck *Check) {
		ck.Command.validate(ps, at)
	}},
	{"redis", func(ck *Check) bool { return ck.Redis != nil }, func(ps *problems, at string, ck *Check) {
		ck.Redis.validate(ps, at, ck.Kind == KindRedisGroupLag)
	}},
	{"strategy_catalog", func(ck *Check) bool { return ck.StrategyCatalog != nil }, func(ps *problems, at string, ck *Check) {
		ck.StrategyCatalog.validate(ps, at)
	}},
	{"coordination", func(ck *Check) bool { return ck.Coordination != nil }, func(ps *problems, at string, ck *Check) {
		ck.Coordination.validate(ps, at)
	}},
	{"day2", func(ck *Check) bool { return ck.Day2 != nil }, func(ps *problems, at string, ck *Check) {
		ck.Day2.validate(ps, at)
	}},
	{"secrets_hygiene", func(ck *Check) bool { return ck.SecretsHygiene != nil }, func(ps *problems, at string, ck *Check) {
		ck.SecretsHygiene.validate(ps, at)
	}},
	{"multi_bot_policy", func(ck *Check) bool { return ck.MultiBotPolicy != nil }, func(ps *problems, at string, ck *Check) {
		ck.MultiBotPolicy.validate(ps, at)
	}},
	{"parity", func(ck *Check) bool { return ck.Parity != nil }, func(ps *problems, at string, ck *Check) {
		ck.Parity.validate(ps, at)
	}},
	{"trading_ladder", func(ck *Check) bool { return ck.TradingLadder != nil }, func(ps *problems, at string, ck *Check) {
		ck.TradingLadder.validate(ps, at)
	}},
}

// Kinds lists the known check kinds, sorted.
func Kinds() []string {
	out := make([]string, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// WatchPaths returns the root-relative files and glob patterns a check
// reads (its kind's block, then its evidence files), for a watcher to
// subscribe to their directories. A check of an unknown kind, or without
// its block, reads only its evidence.
func (ck *Check) WatchPaths() []string {
	var out []string
	if k, ok := kinds[ck.Kind]; ok && k.reads != nil && ck.hasBlock(k.block) {
		out = append(out, k.reads(ck)...)
	}
	return append(out, ck.Evidence...)
}

func (ck *Check) hasBlock(name string) bool {
	for _, b := range blocks {
		if b.name == name {
			return b.set(ck)
		}
	}
	return false
}

// Reads lists a report spec's path, paths and globs.
func (r *ReportSpec) Reads() []string {
	var out []string
	if r.Path != "" {
		out = append(out, r.Path)
	}
	out = append(out, r.Paths...)
	return append(out, r.Globs...)
}

func (g *GlobSpec) validate(ps *problems, at string) {
	ps.glob(at+": glob.pattern", g.Pattern)
	if g.MinMatches < 0 {
		ps.addf("%s: glob.min_matches %d is negative", at, g.MinMatches)
	}
	if g.NoneEvidence != "" {
		ps.relPath(at+": glob.none_evidence", g.NoneEvidence)
	}
}

func (cmd *CommandSpec) validate(ps *problems, at string) {
	ps.argv(at+": command.argv", cmd.Argv, false)
	if cmd.CIArgv != nil {
		ps.argv(at+": command.ci_argv", cmd.CIArgv, false)
	}
	ps.childEnv(at+": command", cmd.ChildEnv, cmd.Env)
	ps.duration(at+": command.timeout", cmd.Timeout)
	if cmd.Report != nil {
		ps.report(at+": command.report", cmd.Report)
	}
}

func (r *RedisSpec) validate(ps *problems, at string, needGroup bool) {
	if r.Stream == "" {
		ps.addf("%s: redis.stream must not be empty", at)
	}
	if needGroup && r.Group == "" {
		ps.addf("%s: redis.group must not be empty", at)
	}
	ps.duration(at+": redis.max_age", r.MaxAge)
	if r.MaxLag < 0 {
		ps.addf("%s: redis.max_lag %d is negative", at, r.MaxLag)
	}
}

func (s *StrategyCatalogSpec) validate(ps *problems, at string) {
	ps.relPath(at+": strategy_catalog.catalog", s.Catalog)
	ps.relPath(at+": strategy_catalog.controller_template", s.ControllerTemplate)
	ps.relPath(at+": strategy_catalog.script_template", s.ScriptTemplate)
	ps.relPath(at+": strategy_catalog.controllers_dir", s.ControllersDir)
}

func (s *CoordinationSpec) validate(ps *problems, at string) {
	ps.relPath(at+": coordination.policy", s.Policy)
	ps.relPath(at+": coordination.multi_bot_policy", s.MultiBotPolicy)
	ps.relPath(at+": coordination.compose", s.Compose)
}

func (d *Day2Spec) validate(ps *problems, at string) {
	ps.relPath(at+": day2.eval", d.Eval)
	if d.SourceCompareGlob != "" || d.RequireLag {
		ps.glob(at+": day2.source_compare_glob", d.SourceCompareGlob)
	}
	if d.MaxDelta < 0 {
		ps.addf("%s: day2.max_delta %d is negative", at, d.MaxDelta)
	}
}
