package gates

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/strictcycle/strictcycle/config"
)

// builtin collects the errors and evidence of a built-in check.
type builtin struct {
	env  *evalEnv
	res  Result
	errs []string
}

func (b *builtin) errf(format string, args ...any) {
	b.errs = append(b.errs, fmt.Sprintf(format, args...))
}

// read reads rel, records it as evidence, and reports whether it exists.
// A read error other than absence (e.g. a symlink escape) is returned.
func (b *builtin) read(rel string) ([]byte, bool, error) {
	data, ef, err := b.env.readFile(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	b.res.Evidence = append(b.res.Evidence, ef)
	return data, true, nil
}

func (b *builtin) readJSONObject(rel string) (map[string]any, error) {
	obj, ef, err := b.env.readReport(rel, nil)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: no such file", rel)
	}
	if ef.Exists {
		b.res.Evidence = append(b.res.Evidence, ef)
	}
	var bad *badContent
	if errors.As(err, &bad) && strings.HasPrefix(bad.msg, "not a JSON object") {
		return nil, fmt.Errorf("expected object in %s", rel)
	}
	return obj, err
}

func (b *builtin) finish(ck *config.Check) Result {
	if len(b.errs) == 0 {
		b.res.Verdict, b.res.Reason = VerdictPass, passText(ck)
	} else {
		b.res.Verdict, b.res.Reason = VerdictFail, fmt.Sprintf("%s: %s", failText(ck), strings.Join(b.errs, "; "))
	}
	return b.res
}

func (b *builtin) exception(ck *config.Check, prefix string, err error) Result {
	// A file that could not be read (outside the root, a FIFO, too large)
	// is an error; a file read and found wrong is the original's exception.
	var re *readError
	if errors.As(err, &re) {
		b.res.Verdict = VerdictError
	} else {
		b.res.Verdict = VerdictFail
	}
	b.res.Reason = fmt.Sprintf("%s: %s exception: %v", failText(ck), prefix, err)
	return b.res
}

func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case float64:
		if i, ok := asInt64(x); ok && math.Abs(x) < 1e15 {
			return strconv.FormatInt(i, 10)
		}
		return fmt.Sprint(x)
	default:
		return strings.TrimSpace(fmt.Sprint(x))
	}
}

// checkStrategyCatalog is check_strategy_catalog_consistency.py (spec §5.1)
// with a real YAML parser, plus the catalog's allowed_modes (W10).
func checkStrategyCatalog(_ context.Context, env *evalEnv, ck *config.Check) Result {
	s := ck.StrategyCatalog
	b := &builtin{env: env}
	cat, err := b.readJSONObject(s.Catalog)
	if err != nil {
		return b.exception(ck, "catalog consistency", err)
	}
	bundles, _ := cat["approved_bundles"].([]any)
	if len(bundles) == 0 {
		return b.exception(ck, "catalog consistency", errors.New("catalog_v1.json must contain a non-empty approved_bundles list"))
	}
	for _, tpl := range []struct{ rel, what string }{{s.ControllerTemplate, "controller template"}, {s.ScriptTemplate, "script template"}} {
		_, ok, err := b.read(tpl.rel)
		if err != nil {
			return b.exception(ck, "catalog consistency", err)
		}
		if !ok {
			b.errf("missing %s", tpl.what)
		}
	}
	if !env.isDir(s.ControllersDir) {
		b.errf("missing controllers root directory")
	}
	allowedModes := map[string]bool{}
	if nc, ok := cat["naming_contract"].(map[string]any); ok {
		if modes, ok := nc["allowed_modes"].([]any); ok {
			for _, m := range modes {
				allowedModes[str(m)] = true
			}
		}
	}
	seenIDs := map[string]bool{}
	for _, raw := range bundles {
		bundle, ok := raw.(map[string]any)
		if !ok {
			b.errf("invalid bundle entry: expected object")
			continue
		}
		id := str(bundle["bundle_id"])
		if id == "" {
			id = "unknown_bundle"
		}
		if seenIDs[id] {
			b.errf("%s: duplicate bundle_id", id)
		}
		seenIDs[id] = true
		if mode := str(bundle["mode"]); len(allowedModes) > 0 && mode != "" && !allowedModes[mode] {
			b.errf("%s: mode %s is not in naming_contract.allowed_modes", id, mode)
		}
		scriptRel, ctrlRel := str(bundle["script_config"]), str(bundle["controller_config"])
		if scriptRel == "" || ctrlRel == "" {
			b.errf("%s: missing script_config or controller_config", id)
			continue
		}
		if err := config.CheckRelPath(scriptRel); err != nil {
			b.errf("%s: script config %v", id, err)
			continue
		}
		if err := config.CheckRelPath(ctrlRel); err != nil {
			b.errf("%s: controller config %v", id, err)
			continue
		}
		scriptData, ok, err := b.read(scriptRel)
		if err != nil {
			return b.exception(ck, "catalog consistency", err)
		}
		if !ok {
			b.errf("%s: missing script config %s", id, scriptRel)
			continue
		}
		ctrlData, ok, err := b.read(ctrlRel)
		if err != nil {
			return b.exception(ck, "catalog consistency", err)
		}
		if !ok {
			b.errf("%s: missing controller config %s", id, ctrlRel)
			continue
		}
		// Parsed once per content (the engine's cache): the bot configs
		// rarely change between runs and the documents are only read.
		script, err := env.parseYAMLCached(scriptRel, scriptData)
		if err != nil {
			return b.exception(ck, "catalog consistency", fmt.Errorf("%s: %v", scriptRel, err))
		}
		ctrl, err := env.parseYAMLCached(ctrlRel, ctrlData)
		if err != nil {
			return b.exception(ck, "catalog consistency", fmt.Errorf("%s: %v", ctrlRel, err))
		}
		want := path.Base(ctrlRel)
		found := false
		if list, ok := script["controllers_config"].([]any); ok {
			for _, item := range list {
				if str(item) == want {
					found = true
				}
			}
		}
		if !found {
			b.errf("%s: script config does not reference expected controller file %s", id, want)
		}
		name := str(ctrl["controller_name"])
		if name == "" {
			b.errf("%s: controller_name is missing in %s", id, ctrlRel)
			continue
		}
		codeRel := path.Join(s.ControllersDir, name+".py")
		if config.CheckRelPath(codeRel) != nil || strings.ContainsAny(name, `/\`) {
			b.errf("%s: controller_name %q is not a plain name", id, name)
			continue
		}
		ok, err = env.exists(codeRel)
		if err != nil {
			return b.exception(ck, "catalog consistency", err)
		}
		if !ok {
			b.errf("%s: shared controller code missing for controller_name=%s (%s)", id, name, env.abs(codeRel))
		}
	}
	return b.finish(ck)
}

// defaultCoordEnv are the four compose env entries the original requires.
var defaultCoordEnv = []string{
	"COORD_POLICY_PATH=/workspace/hbot/config/coordination_policy_v1.json",
	"COORD_ENABLED=${COORD_ENABLED:-false}",
	"COORD_REQUIRE_ML_ENABLED=${COORD_REQUIRE_ML_ENABLED:-true}",
	"COORD_HEALTH_PATH=/workspace/hbot/reports/coordination/latest.json",
}

// checkCoordination is check_coordination_policy.py (spec §5.2), reading the
// compose file as YAML: services.<service>.environment as a list or a map,
// and each required entry must be present exactly (W31).
func checkCoordination(_ context.Context, env *evalEnv, ck *config.Check) Result {
	s := ck.Coordination
	b := &builtin{env: env}
	policy, err := b.readJSONObject(s.Policy)
	if err != nil {
		return b.exception(ck, "coordination policy check", err)
	}
	multi, err := b.readJSONObject(s.MultiBotPolicy)
	if err != nil {
		return b.exception(ck, "coordination policy check", err)
	}
	composeData, ok, err := b.read(s.Compose)
	if err != nil {
		return b.exception(ck, "coordination policy check", err)
	}
	if !ok {
		return b.exception(ck, "coordination policy check", fmt.Errorf("%s: no such file", s.Compose))
	}
	service := reasonOr(s.Service, "coordination-service")
	compose, err := env.parseYAMLCached(s.Compose, composeData)
	if err != nil {
		return b.exception(ck, "coordination policy check", fmt.Errorf("%s: %v", s.Compose, err))
	}
	services, _ := compose["services"].(map[string]any)
	block, hasBlock := services[service].(map[string]any)
	if !hasBlock {
		b.errf("%s block missing in compose file", service)
	}
	allowed, _ := policy["allowed_instances"].([]any)
	if len(allowed) == 0 {
		b.errf("coordination policy requires non-empty allowed_instances")
	}
	set := map[string]bool{}
	for _, a := range allowed {
		set[str(a)] = true
	}
	insts := make([]string, 0, len(set))
	for k := range set {
		insts = append(insts, k)
	}
	sort.Strings(insts)
	bots, _ := multi["bots"].(map[string]any)
	for _, inst := range insts {
		raw, present := bots[inst]
		cfg, isMap := raw.(map[string]any)
		if present && !isMap {
			b.errf("%s: missing in multi_bot_policy_v1", inst)
			continue
		}
		if enabled, _ := cfg["enabled"].(bool); !enabled {
			b.errf("%s: coordination allowed_instances must be enabled in multi_bot_policy_v1", inst)
		}
		mode := strings.ToLower(str(cfg["mode"]))
		if mode != "live" && mode != "testnet_probe" {
			if mode == "" {
				mode = "unset"
			}
			b.errf("%s: coordination allowed mode must be live/testnet_probe, got %s", inst, mode)
		}
	}
	tbp, isObj := policy["target_base_pct"].(map[string]any)
	if !isObj {
		b.errf("coordination policy target_base_pct must be an object")
	} else {
		lo, hi := 0.25, 0.75
		for key, dst := range map[string]*float64{"min": &lo, "max": &hi} {
			if v, present := tbp[key]; present {
				f, isNum := asFloat64(v)
				if !isNum {
					return b.exception(ck, "coordination policy check", fmt.Errorf("target_base_pct.%s is not a number (got %s)", key, compact(v)))
				}
				*dst = f
			}
		}
		if !(0 <= lo && lo <= hi && hi <= 1) {
			b.errf("target_base_pct bounds invalid: min=%v max=%v", lo, hi)
		}
	}
	if hasBlock {
		have := composeEnv(block["environment"])
		required := s.RequiredEnv
		if len(required) == 0 {
			required = defaultCoordEnv
		}
		for _, want := range required {
			if !have[want] {
				b.errf("%s compose env missing token: %s", service, want)
			}
		}
	}
	return b.finish(ck)
}

// composeEnv normalises a compose environment (list of K=V, or map) to a
// set of "K=V" entries.
func composeEnv(v any) map[string]bool {
	out := map[string]bool{}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			out[str(e)] = true
		}
	case map[string]any:
		for k, val := range x {
			if val == nil {
				out[k] = true
				continue
			}
			out[k+"="+fmt.Sprint(val)] = true
		}
	}
	return out
}

// checkDay2 is the day2_event_store_gate (spec §2.3 row 21) with the W9 and
// W18 fixes: go must be a JSON boolean, the lag comes from the newest
// source_compare file by its ts_utc, reading lag_… then delta_…, and a
// missing lag map fails.
func checkDay2(_ context.Context, env *evalEnv, ck *config.Check) Result {
	r, eval := day2Verdict(env, ck)
	if strings.Contains(passText(ck)+failText(ck), "{") {
		env.day2ReasonValues(ck.Day2, eval, &r)
	}
	env.day2Evidence(ck, eval, &r)
	return r
}

// day2Evidence records what the HEAD runner records for day2: the
// evaluation (present or not), then the source compare file its lag rule
// read, when there is one (day2SourceCompare). A file the require_lag rule
// judged instead (the newest by ts_utc) is kept in the read list. A
// contract's evidence_paths (hbot-day28: the evaluation only) replace this
// afterwards, as for any check.
func (e *evalEnv) day2Evidence(ck *config.Check, eval map[string]any, r *Result) {
	d := ck.Day2
	evalAbs := e.abs(d.Eval)
	if len(r.Evidence) == 0 || r.Evidence[0].Path != evalAbs {
		r.Evidence = append([]EvidenceFile{{Path: evalAbs}}, r.Evidence...)
	}
	rel := e.day2SourceCompare(d, eval)
	if rel == "" {
		return
	}
	var ef EvidenceFile
	if e.isDir(rel) {
		// A directory the glob matched: recorded as absent, as the
		// original records it (a directory is no file).
		ef = EvidenceFile{Path: e.abs(rel)}
	} else {
		var err error
		if ef, err = e.hashFile(rel); err != nil {
			e.evidenceError(ck, r, err)
			ef = EvidenceFile{Path: e.abs(rel)}
		}
	}
	read := r.Read[:0]
	for _, f := range r.Read {
		if f.Path != ef.Path {
			read = append(read, f)
		}
	}
	r.Read = read
	r.Evidence = append(r.Evidence, ef)
}

// day2SourceCompare is the source compare file the HEAD runner's day2
// check reads and records: the one the evaluation's source_compare_file
// names, when it exists (an absolute path under the root, or under
// /workspace/hbot/, the root of the original's container, is taken
// relative to the root), else the last match of the glob by name; "" when
// there is none.
func (e *evalEnv) day2SourceCompare(d *config.Day2Spec, eval map[string]any) string {
	raw, _ := eval["source_compare_file"].(string)
	raw = strings.TrimSpace(raw)
	rel := raw
	for _, prefix := range []string{strings.TrimSuffix(e.root, "/") + "/", "/workspace/hbot/"} {
		if strings.HasPrefix(raw, prefix) {
			rel = strings.TrimPrefix(raw, prefix)
			break
		}
	}
	if rel != "" && !path.IsAbs(rel) {
		if ok, err := e.exists(rel); err == nil && ok {
			return rel
		}
	}
	if d.SourceCompareGlob == "" {
		return ""
	}
	ms, err := e.globMatches(d.SourceCompareGlob)
	if err != nil || len(ms) == 0 {
		return ""
	}
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.Path
	}
	sort.Strings(names)
	return names[len(names)-1]
}

// day2Verdict judges the evaluation; it returns the evaluation it read (nil
// when there is none).
func day2Verdict(env *evalEnv, ck *config.Check) (Result, map[string]any) {
	d := ck.Day2
	fail := failText(ck)
	var r Result
	obj, ef, err := env.readReport(d.Eval, nil)
	if errors.Is(err, fs.ErrNotExist) {
		r.Verdict, r.Reason = VerdictMissing, fmt.Sprintf("%s: missing %s", fail, d.Eval)
		return r, nil
	}
	if ef.Exists {
		r.Evidence = append(r.Evidence, ef)
	}
	if err != nil {
		r.Verdict, r.Reason = VerdictError, fmt.Sprintf("%s: %v", fail, err)
		return r, obj
	}
	var failures, staleness []string
	// go
	goVal, isBool := obj["go"].(bool)
	if d.RequireGo {
		switch {
		case !isBool:
			r.Verdict, r.Reason = VerdictError, fmt.Sprintf("%s: %s: go is not a JSON boolean (got %s)", fail, d.Eval, compact(obj["go"]))
			return r, obj
		case !goVal:
			failures = append(failures, "go=false")
		}
	}
	// freshness
	if d.RequireFresh {
		ts, prob := env.resolveTimestamp(d.Eval, obj, d.TimestampKeys, d.AllowMtime)
		if prob != nil {
			r.Verdict, r.Reason = prob.verdict, fmt.Sprintf("%s: %s", fail, prob.reason)
			return r, obj
		}
		age, detail := env.freshness(ts, env.window)
		t := ts.t
		r.TSSource, r.ReportTime, r.AgeMinutes = ts.source, &t, &age
		if detail != "" {
			staleness = append(staleness, "stale: "+detail)
		}
	}
	// lag
	if d.RequireLag {
		msg, ok, lagErr := env.day2Lag(d, &r)
		if lagErr != nil {
			r.Verdict, r.Reason = VerdictError, fmt.Sprintf("%s: %v", fail, lagErr)
			return r, obj
		}
		if !ok {
			failures = append(failures, msg)
		}
	}
	switch {
	case len(failures) > 0:
		r.Verdict = VerdictFail
		r.Reason = fmt.Sprintf("%s: %s", fail, strings.Join(append(failures, staleness...), "; "))
	case len(staleness) > 0:
		r.Verdict = VerdictStale
		r.Reason = fmt.Sprintf("%s: %s", fail, strings.Join(staleness, "; "))
	default:
		r.Verdict, r.Reason = VerdictPass, passText(ck)
	}
	return r, obj
}

// day2ReasonValues gives the day2 check's reason templates what the HEAD
// runner's pass and fail reasons show, from what its rule reads whatever
// this check judged: the evaluation's fields; its age by ts_utc, else its
// mtime (for the words only, never for the verdict); go as Python's
// bool(day2.get("go", False)); from the source compare file the original
// reads (day2SourceCompare), under lag_produced_minus_ingested_since_baseline
// only, max_delta_observed (the largest lag, Python's int() of each value,
// negatives and non-integers as 0) and worst_stream (the first stream by
// name with that lag; empty when there is none); max_allowed_delta and the
// require_* options as the contract sets them.
func (e *evalEnv) day2ReasonValues(d *config.Day2Spec, eval map[string]any, r *Result) {
	if r.age == nil {
		// As the original's words: 1e9 when the age cannot be had (no
		// file, a ts_utc that does not parse).
		age := 1e9
		if ts, prob := e.resolveTimestamp(d.Eval, eval, []string{TSSourceTsUTC}, true); prob == nil {
			age, _ = e.freshness(ts, e.window)
		}
		r.age = &age
	}
	vars := make(map[string]any, len(eval)+7)
	for k, v := range eval {
		vars[k] = v
	}
	vars["go"] = pyTruthy(eval["go"])
	vars["max_delta_observed"], vars["worst_stream"] = e.day2ObservedDelta(d, eval)
	vars["max_allowed_delta"] = d.MaxDelta
	vars["require_go"], vars["require_fresh"], vars["require_lag_tolerance"] = d.RequireGo, d.RequireFresh, d.RequireLag
	r.obj = vars
}

func (e *evalEnv) day2ObservedDelta(d *config.Day2Spec, eval map[string]any) (int64, string) {
	rel := e.day2SourceCompare(d, eval)
	if rel == "" || e.isDir(rel) {
		return 0, ""
	}
	obj, _, err := e.readReport(rel, nil)
	if err != nil {
		return 0, ""
	}
	lags, _ := obj["lag_produced_minus_ingested_since_baseline"].(map[string]any)
	streams := make([]string, 0, len(lags))
	for k := range lags {
		streams = append(streams, k)
	}
	sort.Strings(streams)
	var worst int64
	worstStream := ""
	for i, k := range streams {
		n := max(pyInt(lags[k]), 0)
		if i == 0 || n > worst {
			worst, worstStream = n, k
		}
	}
	return worst, worstStream
}

// pyInt is Python's int() of a JSON value as the original uses it: a
// number truncated toward zero, a string of digits parsed, anything else
// (or out of range) 0.
func pyInt(v any) int64 {
	switch x := v.(type) {
	case bool:
		// Python's int(True) is 1.
		if x {
			return 1
		}
	case int64:
		return x
	case float64:
		if t := math.Trunc(x); !math.IsNaN(t) && t < 1<<63 && t >= -(1<<63) {
			return int64(t)
		}
	case string:
		if n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
			return n
		}
	}
	return 0
}

// day2Lag judges the produced-minus-ingested lag of the source compare file
// the candidate rule picks (the newest by ts_utc; one that cannot be judged,
// or is beyond the future skew, decides as a failure naming it). ok is false
// with a message when the lag is out of tolerance or cannot be read: every
// lag must be an exact integer; a fractional, huge (1e300, 9.3e18 beyond
// int64) or non-numeric value fails with the value. A negative lag counts as
// 0, as the original's max(0, signed) (ingestion ahead of production since
// the baseline is no backlog).
func (e *evalEnv) day2Lag(d *config.Day2Spec, r *Result) (string, bool, error) {
	c, n, _, err := e.chooseAmong("day2", nil, []string{d.SourceCompareGlob}, []string{TSSourceTsUTC}, false, false)
	if err != nil {
		return "", false, err
	}
	if c == nil {
		return fmt.Sprintf("lag unknown: no source compare file matches %s", d.SourceCompareGlob), false, nil
	}
	obj := c.obj
	if c.problem == nil && obj == nil {
		obj = e.readChosen(c)
	}
	if c.ef.Exists {
		// Judged, not recorded: the recorded one is the original's pick
		// (day2Evidence).
		r.Read = append(r.Read, c.ef)
	}
	if c.problem != nil {
		return fmt.Sprintf("lag unknown: newest source compare file (by %s of %d) cannot be judged: %s", c.rankBy, n, c.problem.reason), false, nil
	}
	if limit := e.now.Add(e.skew); c.ts.t.After(limit) {
		return fmt.Sprintf("lag unknown: newest source compare file %s has ts_utc %s, beyond now + %s",
			c.rel, c.ts.t.Format(time.RFC3339), fmtDur(e.skew)), false, nil
	}
	key := "lag_produced_minus_ingested_since_baseline"
	m, ok := obj[key].(map[string]any)
	if !ok {
		key = "delta_produced_minus_ingested_since_baseline"
		m, ok = obj[key].(map[string]any)
	}
	if !ok {
		return fmt.Sprintf("lag map missing in %s (no lag_/delta_produced_minus_ingested_since_baseline)", c.rel), false, nil
	}
	streams := make([]string, 0, len(m))
	for k := range m {
		streams = append(streams, k)
	}
	sort.Strings(streams)
	var worst string
	var worstLag int64 = -1
	var offending, bad []string
	for _, s := range streams {
		lag, isInt := asInt64(m[s])
		if !isInt {
			bad = append(bad, fmt.Sprintf("%s=%s", s, compact(m[s])))
			continue
		}
		lag = max(lag, 0)
		if lag > worstLag {
			worst, worstLag = s, lag
		}
		if lag > d.MaxDelta {
			offending = append(offending, fmt.Sprintf("%s=%d", s, lag))
		}
	}
	if len(bad) > 0 {
		return fmt.Sprintf("lag values not integers in %s: %s", c.rel, strings.Join(bad, ", ")), false, nil
	}
	if len(streams) == 0 {
		return fmt.Sprintf("lag map empty in %s (%s)", c.rel, key), false, nil
	}
	if len(offending) > 0 {
		return fmt.Sprintf("lag max_delta=%d > %d worst_stream=%s offending=%s (%s, %s)",
			worstLag, d.MaxDelta, worst, strings.Join(offending, ","), c.rel, key), false, nil
	}
	return "", true, nil
}

type yamlEntry struct {
	sum [32]byte
	doc map[string]any
}

// parseYAMLCached parses a YAML mapping, reusing the last parse of the same
// path when its bytes are unchanged (the compose file is large and rarely
// changes; the result is only read).
func (e *evalEnv) parseYAMLCached(rel string, data []byte) (map[string]any, error) {
	sum := sha256.Sum256(data)
	if e.yamlCache != nil {
		if v, ok := e.yamlCache.Load(rel); ok && v.(yamlEntry).sum == sum {
			return v.(yamlEntry).doc, nil
		}
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if e.yamlCache != nil {
		e.yamlCache.Store(rel, yamlEntry{sum: sum, doc: doc})
	}
	return doc, nil
}
