package gates

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/strictcycle/strictcycle/config"
)

// wordFuncs are the built-in reason functions of config.KnownWords: the
// original's reason from its own reading of the report, and whether that
// reading passes.
var wordFuncs = map[string]func(ck *config.Check, r *Result, obj map[string]any) (string, bool){
	"performance_dossier": func(_ *config.Check, _ *Result, obj map[string]any) (string, bool) { return dossierWords(obj) },
	"history_backfill":    backfillWords,
}

// applyWords gives a check with words the original's reason where the
// original would say it: on a pass (the check's rule is at least as strict
// as the original's, so the original passes too), on a report that is not
// there (the original reads {}), and on a failure or staleness that the
// original's reading also fails, or that a non-zero exit code fails (the
// original then keeps the words of its reading, whatever they say).
// Elsewhere (an unreadable report, a failure only the stricter rule here
// sees, a stale report the original does not judge by age) the contract's
// reasons stay.
func applyWords(ck *config.Check, r *Result) {
	f := wordFuncs[ck.Words]
	if f == nil {
		return
	}
	obj := r.obj
	if obj == nil {
		obj = map[string]any{}
	}
	words, pass := f(ck, r, obj)
	rcFailed := r.ExitCode != nil && *r.ExitCode != 0
	switch {
	case r.Verdict == VerdictPass:
		r.passWords = words
	case r.Verdict == VerdictMissing && r.obj == nil, (r.Verdict == VerdictFail || r.Verdict == VerdictStale) && (!pass || rcFailed):
		fail := failText(ck)
		r.exact = words
		r.Reason = words + ": " + strings.TrimPrefix(strings.TrimPrefix(r.Reason, fail), ": ")
	}
}

// dossierWords is performance_dossier_expectancy_ci's reason as the HEAD
// script words it from the dossier's summary (not an object, or empty:
// missing): the sample count max(0, int(float(x or 0))), the minimum fills
// max(1, int(float(x or 1))) (a value float() refuses: 0 and 1), the CI
// upper bound float(x or 0.0) with %.6f, the gate-fail flag by _safe_bool;
// armed when sample >= min_fills.
func dossierWords(obj map[string]any) (string, bool) {
	summary, _ := obj["summary"].(map[string]any)
	if len(summary) == 0 {
		return "performance dossier summary missing", false
	}
	sample := max(0, pyIntOfFloat(summary["rolling_expectancy_sample_count"], 0))
	minFills := max(1, pyIntOfFloat(summary["rolling_expectancy_gate_min_fills"], 1))
	ci95 := 0.0
	if v := summary["rolling_expectancy_ci95_high_quote"]; pyTruthy(v) {
		if f, ok := pyFloat64(v); ok {
			ci95 = f
		}
	}
	switch {
	case pySafeBool(summary["rolling_expectancy_gate_fail"]):
		return "rolling expectancy CI upper bound below zero (ci95_high=" + pyFixed6(ci95) + ", sample=" + strconv.FormatInt(sample, 10) +
			", min_fills=" + strconv.FormatInt(minFills, 10) + ")", false
	case sample < minFills:
		return "rolling expectancy gate not armed yet (sample=" + strconv.FormatInt(sample, 10) + " < min_fills=" + strconv.FormatInt(minFills, 10) + ")", true
	}
	return "rolling expectancy gate pass (ci95_high=" + pyFixed6(ci95) + ", sample=" + strconv.FormatInt(sample, 10) +
		", min_fills=" + strconv.FormatInt(minFills, 10) + ")", true
}

// pyFloat64 is Python's float() of a JSON value: a number, a bool (1.0,
// 0.0), or a string float() accepts (surrounding whitespace, inf, nan).
func pyFloat64(v any) (float64, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimFunc(x, isPySpace), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, false
		}
		return f, true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case json.Number:
		f, err := strconv.ParseFloat(x.String(), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, false
		}
		return f, true
	}
	return 0, false
}

// pyIntOfFloat is int(float(v or dflt)) with the original's except: dflt
// when float() or int() refuses (not a number, nan, inf).
func pyIntOfFloat(v any, dflt int64) int64 {
	if !pyTruthy(v) {
		return dflt
	}
	f, ok := pyFloat64(v)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		return dflt
	}
	t := math.Trunc(f)
	if t >= 1<<63 || t < -(1<<63) {
		// Python's int is unbounded; such a count is not a count.
		return dflt
	}
	return int64(t)
}

// pySafeBool is the original's _safe_bool(v, default=False): a bool as it
// is, else str(v) stripped and lower-cased in 1, true, yes, on.
func pySafeBool(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	}
	switch strings.ToLower(strings.TrimFunc(pyStr(v), isPySpace)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// pyFixed6 is Python's "%.6f".
func pyFixed6(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'f', 6, 64)
}

// backfillWords is history_market_bar_v2_backfill's reason as the HEAD
// script words it when the history rollout is enforced: the report's age
// by ts_utc (1e9 when there is no report), status stripped and
// lower-cased ("missing" when empty), missing_count_after and
// sample_mismatch_count by int(x or 0); ready when the report exists, is
// no older than the check's max_age, says "pass" and both counts are 0.
func backfillWords(ck *config.Check, r *Result, obj map[string]any) (string, bool) {
	exists := r.obj != nil
	age := 1e9
	if r.age != nil {
		age = *r.age
	}
	status := ""
	if v, ok := obj["status"]; ok {
		status = strings.ToLower(strings.TrimFunc(pyStr(v), isPySpace))
	}
	count := func(k string) int64 {
		if v := obj[k]; pyTruthy(v) {
			return pyInt(v)
		}
		return 0
	}
	missing, mismatches := count("missing_count_after"), count("sample_mismatch_count")
	maxAge := 1440.0
	if ck.Report != nil && ck.Report.MaxAge > 0 {
		maxAge = ck.Report.MaxAge.Minutes()
	}
	ready := exists && age <= maxAge && status == "pass" && missing == 0 && mismatches == 0
	ageText := strconv.FormatFloat(age, 'f', 2, 64)
	if ready {
		return fmt.Sprintf("market_bar_v2 backfill parity PASS (age_min=%s, missing_after=%d, mismatches=%d)", ageText, missing, mismatches), true
	}
	shown := status
	if shown == "" {
		shown = "missing"
	}
	return fmt.Sprintf("market_bar_v2 backfill parity failed (exists=%s, status=%s, age_min=%s, missing_after=%d, mismatches=%d)",
		pyRepr(exists), capField(shown), ageText, missing, mismatches), false
}
