package gates

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/strictcycle/strictcycle/config"
)

// The HEAD runner's words for parity_thresholds failures other than its
// plain "parity fail or stale" (spec §2.3 row 13); each is followed by the
// bots it names, joined by ", ".
const (
	parityCoreInsufficient  = "parity core metrics insufficient_data for active bots"
	parityDriftStale        = "parity drift audit stale"
	parityDriftFailing      = "parity drift audit failing for active bots"
	parityDriftInsufficient = "parity drift audit insufficient evidence for active bots"
)

// parityCoreMetrics are the metrics of which at least one must carry data
// for an active bot to be informative.
var parityCoreMetrics = []string{"fill_ratio_delta", "slippage_delta_bps", "reject_rate_delta"}

// parityActivityCounters make a bot active when one is above zero.
var parityActivityCounters = []string{"intents_total", "actionable_intents", "fills_total", "order_failed_total", "risk_denied_total"}

// driftInsufficientBuckets are the drift audit buckets that say the audit
// had too little evidence for a bot.
var driftInsufficientBuckets = []string{"fill_path_insufficient_evidence", "market_data_or_fill_alignment_insufficient", "active_bot_scope_mismatch"}

// parityPart is one component of the parity verdict: the original's reason
// for it (empty for the contract's fail reason), its verdict and what was
// seen.
type parityPart struct {
	exact   string
	verdict Verdict
	detail  string
}

// checkParity is parity_thresholds as the HEAD runner judges it: the
// freshest parity report passes (status, freshness), with
// require_informative_core no active bot lacks all three core metrics, and
// the freshest drift audit is fresh by ts_utc and neither fails nor lacks
// evidence for an active bot. The first failing part, in the original's
// order of reasons, gives the reason; every part's explanation is in the
// detail.
func checkParity(_ context.Context, env *evalEnv, ck *config.Check) Result {
	p := ck.Parity
	spec := p.Report
	if spec.Condition == "" {
		spec.Condition = `status == "pass"`
	}
	r, obj := env.judgeReportObj(ck, &spec)
	var parts []parityPart
	var details []string
	if r.Verdict != VerdictPass {
		details = append(details, strings.TrimPrefix(r.Reason, failText(ck)+": "))
	}
	active := parityActiveScope(obj)
	if p.RequireInformativeCore {
		if bad := parityInsufficient(obj, active); len(bad) > 0 {
			parts = append(parts, parityPart{parityCoreInsufficient + ": " + strings.Join(bad, ","), VerdictFail,
				"core metrics " + strings.Join(parityCoreMetrics, ", ") + " all insufficient for " + strings.Join(bad, ", ")})
		}
	}
	parts = append(parts, env.judgeDrift(p, &r, active)...)
	parityVerdict := r.Verdict
	for _, pt := range parts {
		details = append(details, pt.detail)
	}
	if parityVerdict == VerdictPass && len(parts) == 0 {
		return r
	}
	// The reason: the plain fail reason when the parity report itself
	// fails or is stale (the original words the other rules only for a
	// passing, fresh report), else the first part in the original's order.
	chosen := parityPart{verdict: parityVerdict}
	if parityVerdict == VerdictPass && len(parts) > 0 {
		chosen = parts[0]
	}
	r.Verdict = chosen.verdict
	if parityVerdict == VerdictError {
		r.Verdict = VerdictError
	}
	for _, pt := range parts {
		if pt.verdict == VerdictError {
			r.Verdict = VerdictError
		}
	}
	head := reasonOr(chosen.exact, failText(ck))
	r.exact = chosen.exact
	r.Reason = head + ": " + strings.Join(details, "; ")
	return r
}

// judgeDrift reads the freshest drift audit (by ts_utc only, as the
// original, which has no fallback for it), records it as evidence and
// returns its failing parts in the original's order: stale, failing bots,
// insufficient buckets. Stale and unreadable stop there.
func (e *evalEnv) judgeDrift(p *config.ParitySpec, r *Result, active []string) []parityPart {
	family := strings.Join(append(append([]string{}, p.DriftPaths...), p.DriftGlobs...), ", ")
	c, n, total, err := e.chooseReport(&config.ReportSpec{Paths: p.DriftPaths, Globs: p.DriftGlobs, TimestampKeys: []string{TSSourceTsUTC}})
	if err != nil {
		return []parityPart{{parityDriftStale, VerdictError, fmt.Sprintf("drift audit: %v", err)}}
	}
	if c == nil {
		return []parityPart{{parityDriftStale, VerdictMissing, "drift audit missing: no file among " + family}}
	}
	obj := c.obj
	if c.problem == nil && obj == nil {
		obj = e.readChosen(c)
	}
	if c.ef.Exists {
		r.Evidence = append(r.Evidence, c.ef)
	}
	if total > 1 {
		r.Chosen = joinDetail(r.Chosen, "drift audit "+c.describe(n))
	}
	if c.problem != nil {
		return []parityPart{{parityDriftStale, c.problem.verdict, "drift audit " + c.problem.reason}}
	}
	if _, detail := e.freshness(c.ts, e.window); detail != "" {
		return []parityPart{{parityDriftStale, VerdictStale, fmt.Sprintf("drift audit %s stale: %s", c.rel, detail)}}
	}
	scope := unionSorted(active, parityActiveScope(map[string]any{"active_bots": obj["active_bots"]}))
	failing, thin := driftBots(obj, scope)
	var parts []parityPart
	if len(failing) > 0 {
		parts = append(parts, parityPart{parityDriftFailing + ": " + strings.Join(failing, ","), VerdictFail,
			fmt.Sprintf("drift audit %s: pass is not true for %s", c.rel, strings.Join(failing, ", "))})
	}
	if len(thin) > 0 {
		parts = append(parts, parityPart{parityDriftInsufficient + ": " + strings.Join(thin, ","), VerdictFail,
			fmt.Sprintf("drift audit %s: insufficient-evidence bucket for %s", c.rel, strings.Join(thin, ", "))})
	}
	return parts
}

// parityActiveScope is the original's active bot set of a parity report:
// a non-empty active_bots list (items stripped, sorted), else every bot of
// bots[] whose summary.active_window is truthy or has an activity counter
// above zero. An unnamed bot is bot_<index>.
func parityActiveScope(obj map[string]any) []string {
	if list, ok := obj["active_bots"].([]any); ok && len(list) > 0 {
		var out []string
		for _, v := range list {
			if s := strings.TrimSpace(pyStr(v)); s != "" {
				out = append(out, s)
			}
		}
		sort.Strings(out)
		return out
	}
	var out []string
	for i, b := range botEntries(obj) {
		sum, _ := b.entry["summary"].(map[string]any)
		active := pyTruthy(sum["active_window"])
		for _, k := range parityActivityCounters {
			if f, ok := asFloat64(sum[k]); ok && f > 0 {
				active = true
			}
		}
		if active {
			out = append(out, botName(b.entry, i))
		}
	}
	sort.Strings(out)
	return out
}

type botEntry struct {
	entry map[string]any
}

// botEntries are the objects of a report's bots list (anything else in
// the list keeps its index but is no bot).
func botEntries(obj map[string]any) []botEntry {
	list, _ := obj["bots"].([]any)
	out := make([]botEntry, len(list))
	for i, v := range list {
		m, _ := v.(map[string]any)
		out[i] = botEntry{entry: m}
	}
	return out
}

func botName(b map[string]any, i int) string {
	if s := strings.TrimSpace(pyStr(b["bot"])); b["bot"] != nil && s != "" {
		return s
	}
	return fmt.Sprintf("bot_%d", i)
}

// parityInsufficient lists the active bots whose three core metrics are
// all insufficient: missing or not an object, note "insufficient_data", or
// value and delta both null. A bot with no entry has no metrics.
func parityInsufficient(obj map[string]any, active []string) []string {
	byName := map[string]map[string]any{}
	for i, b := range botEntries(obj) {
		if b.entry != nil {
			byName[botName(b.entry, i)] = b.entry
		}
	}
	var out []string
	for _, bot := range active {
		metrics := map[string]any{}
		list, _ := byName[bot]["metrics"].([]any)
		for _, v := range list {
			if m, ok := v.(map[string]any); ok {
				if name, ok := m["metric"].(string); ok {
					metrics[name] = m
				}
			}
		}
		thin := true
		for _, name := range parityCoreMetrics {
			if !metricInsufficient(metrics[name]) {
				thin = false
			}
		}
		if thin {
			out = append(out, bot)
		}
	}
	return out
}

func metricInsufficient(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return true
	}
	if note, _ := m["note"].(string); note == "insufficient_data" {
		return true
	}
	return m["value"] == nil && m["delta"] == nil
}

// driftBots lists the bots of scope that the drift audit fails (pass not
// true) and those with an insufficient-evidence bucket.
func driftBots(obj map[string]any, scope []string) (failing, thin []string) {
	in := map[string]bool{}
	for _, s := range scope {
		in[s] = true
	}
	for i, b := range botEntries(obj) {
		if b.entry == nil {
			continue
		}
		name := botName(b.entry, i)
		if !in[name] {
			continue
		}
		if pass, _ := b.entry["pass"].(bool); !pass {
			failing = append(failing, name)
		}
		if hasBucket(b.entry["buckets"]) {
			thin = append(thin, name)
		}
	}
	sort.Strings(failing)
	sort.Strings(thin)
	return failing, thin
}

// hasBucket says whether buckets (a list of names, an object of name ->
// count or flag, or one name) holds an insufficient-evidence bucket.
func hasBucket(v any) bool {
	for _, name := range driftInsufficientBuckets {
		switch x := v.(type) {
		case []any:
			for _, it := range x {
				if s, ok := it.(string); ok && s == name {
					return true
				}
				if m, ok := it.(map[string]any); ok && (m["bucket"] == name || m["name"] == name) {
					return true
				}
			}
		case map[string]any:
			if val, ok := x[name]; ok && pyTruthy(val) {
				return true
			}
		case string:
			if x == name {
				return true
			}
		}
	}
	return false
}

func unionSorted(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(append([]string{}, a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}
