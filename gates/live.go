package gates

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/strictcycle/strictcycle/config"
)

// liveScope is the HEAD runner's live scope as read at the start of a run:
// the enabled bots whose account_mode is live. err is set when the account
// map or the policy exists but cannot be read as JSON objects; the scope
// is then taken as live, so the checks that tighten in it fail closed.
type liveScope struct {
	declared   bool
	accountMap string
	bots       []string
	err        error
}

// enforced says whether the checks' live blocks apply.
func (l liveScope) enforced() bool { return l.declared && (len(l.bots) > 0 || l.err != nil) }

// readLiveScope reads the account map and the policy. A missing file is
// an empty one (the original's _read_json gives {}); a bot is live when
// its account_mode, stripped and lower-cased, is "live", and enabled
// unless its policy entry's enabled is falsy (absent or null: enabled, as
// the original's _safe_bool default).
func (e *evalEnv) readLiveScope(spec *config.LiveScopeSpec) liveScope {
	if spec == nil {
		return liveScope{}
	}
	mapRel, polRel := spec.Files()
	l := liveScope{declared: true, accountMap: mapRel}
	accountMap, err := e.readOptionalObject(mapRel)
	if err != nil {
		l.err = err
		return l
	}
	policy, err := e.readOptionalObject(polRel)
	if err != nil {
		l.err = err
		return l
	}
	bots, _ := accountMap["bots"].(map[string]any)
	policyBots, _ := policy["bots"].(map[string]any)
	for name, v := range bots {
		cfg, _ := v.(map[string]any)
		if strings.ToLower(strings.TrimSpace(pyStr(cfg["account_mode"]))) != "live" {
			continue
		}
		if pc, ok := policyBots[name].(map[string]any); ok {
			// A null enabled is the original's default (true): enabled.
			if en, has := pc["enabled"]; has && en != nil && !pyTruthy(en) {
				continue
			}
		}
		l.bots = append(l.bots, name)
	}
	sort.Strings(l.bots)
	return l
}

// readOptionalObject reads a JSON object; a missing file is empty.
func (e *evalEnv) readOptionalObject(rel string) (map[string]any, error) {
	obj, _, err := e.readReport(rel, nil)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]any{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("live scope: %w", err)
	}
	return obj, nil
}

// applyLive turns a check into what it is in the live scope: its live
// severity, and its name first in critical_failures when it says so. It
// reports whether the live reasons apply.
func applyLive(env *evalEnv, ck *config.Check, r *Result) bool {
	if ck.Live == nil || !env.live.enforced() {
		return false
	}
	if ck.Live.Severity != "" {
		r.Severity = ck.Live.Severity
	}
	r.FailsFirst = r.FailsFirst || ck.Live.FailsFirst
	return true
}

// ROAD-1 and ROAD-5 criteria keys (spec §2.3 row 24): every one must be
// present and true.
var (
	road1Criteria = []string{"min_days_gte_20", "consecutive_days_complete", "mean_daily_net_pnl_bps_positive",
		"sharpe_gte_1_5", "max_drawdown_lt_2pct", "no_hard_stop_days", "spread_capture_dominant_source"}
	road5Criteria = []string{"calendar_coverage_days_gte_28", "trading_days_gte_20", "no_hard_stop_incidents",
		"slippage_delta_lt_2bps", "rejection_rate_lt_0_5pct", "testnet_sharpe_gte_0_8x_paper"}
)

// checkTradingLadder is trading_validation_ladder: bypassed (a pass) when
// no enabled bot is live; otherwise the go-live checklist must be complete
// (overall_status "pass", no in_progress, fail or unknown item), ROAD-1
// ready (n_days >= 20, road1_gate.pass, its 7 criteria true) and ROAD-5
// ready (testnet readiness and daily scorecard "pass", road5_gate.pass,
// its 6 criteria true). A missing file is empty, as the original reads it.
func checkTradingLadder(_ context.Context, env *evalEnv, ck *config.Check) Result {
	var r Result
	fail := failText(ck)
	if !env.live.enforced() {
		// Bypassed: the original records the ladder's five files all the
		// same (present or not); the account map that decided is read.
		ef, err := env.hashFile(env.live.accountMap)
		if err != nil {
			r.Verdict, r.Reason = VerdictError, fmt.Sprintf("%s: %v", fail, err)
			return r
		}
		r.Read = append(r.Read, ef)
		r.Verdict, r.Reason = VerdictPass, passText(ck)
		for _, rel := range ck.TradingLadder.Files() {
			if env.isDir(rel) {
				r.Evidence = append(r.Evidence, EvidenceFile{Path: env.abs(rel)})
				continue
			}
			ef, err := env.hashFile(rel)
			if err != nil {
				env.evidenceError(ck, &r, err)
				ef = EvidenceFile{Path: env.abs(rel)}
			}
			r.Evidence = append(r.Evidence, ef)
		}
		return r
	}
	if env.live.err != nil {
		r.Verdict, r.Reason = VerdictError, fmt.Sprintf("%s: %v", fail, env.live.err)
		return r
	}
	files := ck.TradingLadder.Files()
	objs := make([]map[string]any, len(files))
	for i, rel := range files {
		obj, ef, err := env.readReport(rel, nil)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			obj = map[string]any{}
		case err != nil:
			r.Verdict, r.Reason = VerdictError, fmt.Sprintf("%s: %v", fail, err)
			return r
		}
		r.Evidence = append(r.Evidence, ef)
		objs[i] = obj
	}
	var gaps []string
	if g := goLiveGap(objs[0]); g != "" {
		gaps = append(gaps, "p0_4_go_live_checklist_incomplete("+g+")")
	}
	if g := road1Gap(objs[1]); g != "" {
		gaps = append(gaps, "road1_not_ready("+g+")")
	}
	if g := road5Gap(objs[2], objs[3], objs[4]); g != "" {
		gaps = append(gaps, "road5_not_ready("+g+")")
	}
	if len(gaps) > 0 {
		r.Verdict = VerdictFail
		r.Reason = fmt.Sprintf("%s: live bots %s: %s", fail, strings.Join(env.live.bots, ","), strings.Join(gaps, "; "))
		// The original's words, when its own (laxer) reading of the
		// files also blocks; else the contract's fail reason.
		if words := ladderWords(objs); words != "" {
			r.exact = words
			r.Reason = words + ": " + strings.TrimPrefix(r.Reason, fail+": ")
		}
		return r
	}
	r.Verdict, r.Reason = VerdictPass, passText(ck)
	return r
}

func goLiveGap(o map[string]any) string {
	var out []string
	if s := pyStr(o["overall_status"]); o["overall_status"] == nil || s != "pass" {
		out = append(out, "overall_status="+fieldOrNone(o, "overall_status"))
	}
	counts, _ := o["status_counts"].(map[string]any)
	for _, k := range []string{"in_progress", "fail", "unknown"} {
		v, has := counts[k]
		if !has {
			continue
		}
		if n, ok := asFloat64(v); !ok || n != 0 {
			out = append(out, k+"="+pyStr(v))
		}
	}
	return strings.Join(out, ", ")
}

func road1Gap(o map[string]any) string {
	var out []string
	if n, ok := asFloat64(o["n_days"]); !ok || n < 20 {
		out = append(out, "n_days="+fieldOrNone(o, "n_days"))
	}
	gate, _ := o["road1_gate"].(map[string]any)
	out = append(out, gateGaps(gate, road1Criteria)...)
	return strings.Join(out, ", ")
}

func road5Gap(readiness, scorecard, summary map[string]any) string {
	var out []string
	if readiness["status"] != "pass" {
		out = append(out, "testnet_readiness="+fieldOrNone(readiness, "status"))
	}
	if scorecard["status"] != "pass" {
		out = append(out, "testnet_scorecard="+fieldOrNone(scorecard, "status"))
	}
	gate, _ := summary["road5_gate"].(map[string]any)
	out = append(out, gateGaps(gate, road5Criteria)...)
	return strings.Join(out, ", ")
}

// gateGaps lists what keeps a ROAD gate from passing: pass not true, and
// each criterion absent or not true.
func gateGaps(gate map[string]any, keys []string) []string {
	var out []string
	if pass, _ := gate["pass"].(bool); !pass {
		out = append(out, "pass="+fieldOrNone(gate, "pass"))
	}
	criteria, _ := gate["criteria"].(map[string]any)
	for _, k := range keys {
		if ok, _ := criteria[k].(bool); !ok {
			out = append(out, k+"="+fieldOrNone(criteria, k))
		}
	}
	return out
}

func fieldOrNone(o map[string]any, k string) string {
	v, ok := o[k]
	if !ok {
		return "missing"
	}
	return pyStr(v)
}

// ladderWords is the HEAD script's reason for an incomplete ladder, from
// its own reading of the five files (the verdict here is the stricter rule
// above): statuses stripped and lower-cased, counts and days by Python's
// int() (of the value, or 0 when it is falsy), gate passes and criteria by
// bool(); each part that blocks, joined by "; ", then "; no live promotion
// path allowed". It is "" when that reading blocks nothing. A status is
// cut as a report field in a reason is.
func ladderWords(objs []map[string]any) string {
	obj := func(o map[string]any, k string) map[string]any {
		m, _ := o[k].(map[string]any)
		return m
	}
	status := func(o map[string]any, k string) string {
		v, ok := o[k]
		if !ok {
			return ""
		}
		return strings.ToLower(strings.TrimFunc(pyStr(v), isPySpace))
	}
	count := func(o map[string]any, k string) int64 {
		v := o[k]
		if !pyTruthy(v) {
			return 0
		}
		return pyInt(v)
	}
	criteria := func(gate map[string]any, keys []string) (missing, failed []any) {
		c := obj(gate, "criteria")
		missing, failed = []any{}, []any{}
		for _, k := range keys {
			v, ok := c[k]
			switch {
			case !ok:
				missing = append(missing, k)
			case !pyTruthy(v):
				failed = append(failed, k)
			}
		}
		return missing, failed
	}
	var parts []string
	check := obj(objs[0], "status_counts")
	overall := status(objs[0], "overall_status")
	inProgress, failN, unknown := count(check, "in_progress"), count(check, "fail"), count(check, "unknown")
	if overall != "pass" || inProgress != 0 || failN != 0 || unknown != 0 {
		shown := overall
		if shown == "" {
			shown = "missing"
		}
		parts = append(parts, fmt.Sprintf("p0_4_go_live_checklist_incomplete(overall=%s, in_progress=%d, fail=%d, unknown=%d)",
			capField(shown), inProgress, failN, unknown))
	}
	days := count(objs[1], "n_days")
	gate1 := obj(objs[1], "road1_gate")
	pass1 := pyTruthy(gate1["pass"])
	miss1, fail1 := criteria(gate1, road1Criteria)
	if days < 20 || !pass1 || len(miss1) > 0 || len(fail1) > 0 {
		parts = append(parts, fmt.Sprintf("road1_not_ready(n_days=%d, min_days=20, gate_pass=%s, criteria_ready=%s, missing_criteria=%s, failed_criteria=%s)",
			days, pyRepr(pass1), pyRepr(len(miss1) == 0), pyRepr(miss1), pyRepr(fail1)))
	}
	readiness, scorecard := status(objs[2], "status") == "pass", status(objs[3], "status") == "pass"
	gate5 := obj(objs[4], "road5_gate")
	pass5 := pyTruthy(gate5["pass"])
	miss5, fail5 := criteria(gate5, road5Criteria)
	if !readiness || !scorecard || !pass5 || len(miss5) > 0 || len(fail5) > 0 {
		parts = append(parts, fmt.Sprintf("road5_not_ready(readiness_pass=%s, scorecard_pass=%s, coverage_days=%d, trading_days=%d, gate_pass=%s, criteria_ready=%s, missing_criteria=%s, failed_criteria=%s)",
			pyRepr(readiness), pyRepr(scorecard), count(objs[4], "coverage_days"), count(objs[4], "trading_days_count"),
			pyRepr(pass5), pyRepr(len(miss5) == 0), pyRepr(miss5), pyRepr(fail5)))
	}
	if len(parts) == 0 {
		return ""
	}
	return "trading validation ladder incomplete: " + strings.Join(parts, "; ") + "; no live promotion path allowed"
}
