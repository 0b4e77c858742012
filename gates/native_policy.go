package gates

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/strictcycle/strictcycle/config"
)

// The multi-bot policy check of check_multi_bot_policy.py (rules in
// docs/COMPATIBILITY.md, "Native checkers"): the bots of the multi-bot
// policy, the exchange account map, the portfolio limits and the
// reconciliation thresholds agree. Values are judged with Python's str()
// and truthiness, as the script did.

// checkMultiBotPolicy applies the script's rules, writes its report (the
// exception's, when it could not finish) and is judged on it; a config
// that cannot be read makes it an error.
func checkMultiBotPolicy(_ context.Context, env *evalEnv, ck *config.Check) Result {
	if env.noCommands {
		return env.judgeNative(ck, false)
	}
	s := ck.MultiBotPolicy
	var payload pyObj
	errs, details, err := env.multiBotPolicy(s)
	var unreadable *readError
	switch {
	case err != nil:
		payload = pyObj{{"ts_utc", pyISOFormat(env.now)}, {"status", "fail"},
			{"errors", []string{"policy check exception: " + err.Error()}}, {"details", pyObj{}}}
	default:
		status := "pass"
		if len(errs) > 0 {
			status = "fail"
		}
		payload = pyObj{{"ts_utc", pyISOFormat(env.now)}, {"status", status}, {"errors", errs}, {"details", details}}
	}
	stamped, werr := env.writeNativeReport(s.Dir(), "multi_bot_policy_check", pyJSON(payload))
	if werr != nil {
		return env.nativeError(ck, []error{werr}, false)
	}
	if errors.As(err, &unreadable) {
		// A config that cannot be read (outside the root, a FIFO, too
		// large) is not the script's exception: the check cannot judge.
		return env.nativeError(ck, []error{err}, true)
	}
	r := env.judgeNative(ck, true)
	var b strings.Builder
	fmt.Fprintf(&b, "[multi-bot-policy] status=%s\n[multi-bot-policy] evidence=%s", payload[1].val, env.abs(stamped))
	for _, e := range payload[2].val.([]string) {
		fmt.Fprintf(&b, "\n[multi-bot-policy] error=%s", e)
	}
	r.OutputTail = b.String()
	return r
}

// policyJSON reads one config as the script's _read_json: a missing file
// is Python's FileNotFoundError text, anything but an object "expected
// object in <path>".
func (e *evalEnv) policyJSON(rel string) (map[string]any, error) {
	obj, _, err := e.readReport(rel, nil)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("[Errno 2] No such file or directory: %s", pyRepr(e.abs(rel)))
	}
	var bad *badContent
	if errors.As(err, &bad) && strings.HasPrefix(bad.msg, "not a JSON object") {
		return nil, fmt.Errorf("expected object in %s", e.abs(rel))
	}
	return obj, err
}

// multiBotPolicy is the script's _check_policy: the errors found and the
// report's details, or the exception that ended it.
func (e *evalEnv) multiBotPolicy(s *config.MultiBotPolicySpec) ([]string, pyObj, error) {
	pRel, aRel, fRel, rRel := s.Inputs()
	var objs [4]map[string]any
	for i, rel := range []string{pRel, aRel, fRel, rRel} {
		obj, err := e.policyJSON(rel)
		if err != nil {
			return nil, nil, err
		}
		objs[i] = obj
	}
	policy, accountMap, portfolio, recon := objs[0], objs[1], objs[2], objs[3]
	policyBots, ok := policy["bots"].(map[string]any)
	if _, present := policy["bots"]; !present {
		policyBots, ok = map[string]any{}, true
	}
	if !ok || len(policyBots) == 0 {
		return nil, nil, errors.New("multi_bot_policy_v1.json must contain a non-empty 'bots' object")
	}
	accountBots, _ := accountMap["bots"].(map[string]any)
	reconBots, _ := recon["bots"].(map[string]any)
	policySet, accountSet, reconSet := keysOf(policyBots), keysOf(accountBots), keysOf(reconBots)

	var errs []string
	if !sameSet(policySet, accountSet) {
		errs = append(errs, fmt.Sprintf("policy bots mismatch exchange account map: policy=%s account_map=%s",
			pyStrList(policySet), pyStrList(accountSet)))
	}
	if missing := minus(policySet, reconSet); len(missing) > 0 {
		errs = append(errs, fmt.Sprintf("policy bots missing in reconciliation thresholds: missing=%s", pyStrList(missing)))
	}
	actionPolicy := botsWhere(policyBots, func(cfg map[string]any) bool { return pyTruthy(cfg["portfolio_action_enabled"]) })
	actionPortfolio := setFromList(portfolio, "bot_action_scope")
	if !sameSet(actionPolicy, actionPortfolio) {
		errs = append(errs, fmt.Sprintf("portfolio action scope mismatch: policy=%s portfolio=%s",
			pyStrList(actionPolicy), pyStrList(actionPortfolio)))
	}
	disabled := botsWhere(policyBots, func(cfg map[string]any) bool {
		mode, has := cfg["mode"]
		return !pyTruthy(cfg["enabled"]) || (has && pyNorm(mode) == "disabled")
	})
	for _, bot := range policySet {
		errs = append(errs, botErrors(bot, policyBots[bot], accountBots, reconBots, contains(disabled, bot))...)
	}
	details := pyObj{{"policy_bots", policySet}, {"portfolio_action_scope_policy", actionPolicy},
		{"portfolio_action_scope_portfolio", actionPortfolio}, {"disabled_scope", disabled},
		{"paths", pyObj{{"policy", e.abs(pRel)}, {"exchange_account_map", e.abs(aRel)},
			{"portfolio_limits", e.abs(fRel)}, {"reconciliation_thresholds", e.abs(rRel)}}}}
	return errs, details, nil
}

// botErrors are the per-bot rules: a paper_only or disabled policy mode
// needs the same account_mode, and a disabled bot needs reconciliation
// enabled=false.
func botErrors(bot string, botPolicy any, accountBots, reconBots map[string]any, disabled bool) []string {
	var errs []string
	policyCfg, okP := botPolicy.(map[string]any)
	botMap := map[string]any{}
	if accountBots != nil {
		if v, present := accountBots[bot]; present {
			m, isMap := v.(map[string]any)
			if !isMap {
				botMap = nil
			} else {
				botMap = m
			}
		}
	}
	if okP && botMap != nil {
		policyMode := pyNormKey(policyCfg, "mode")
		mapMode := pyNormKey(botMap, "account_mode")
		got := mapMode
		if got == "" {
			got = "unset"
		}
		for _, want := range []string{"paper_only", "disabled"} {
			if policyMode == want && mapMode != want {
				errs = append(errs, fmt.Sprintf("%s: expected account_mode=%s, got %s", bot, want, got))
			}
		}
	}
	if disabled {
		enabled := true
		if reconBots != nil {
			if v, present := reconBots[bot]; present {
				if m, isMap := v.(map[string]any); isMap {
					if ev, has := m["enabled"]; has {
						enabled = pyTruthy(ev)
					}
				}
			}
		}
		if enabled {
			errs = append(errs, fmt.Sprintf("%s: disabled bot must set reconciliation bots.%s.enabled=false", bot, bot))
		}
	}
	return errs
}

// pyNormKey is str(cfg.get(key, "")).strip().lower().
func pyNormKey(cfg map[string]any, key string) string {
	v, has := cfg[key]
	if !has {
		return ""
	}
	return pyNorm(v)
}

func pyNorm(v any) string { return strings.ToLower(strings.TrimFunc(pyStr(v), isPySpace)) }

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// botsWhere lists, sorted, the bots whose config is an object for which
// keep holds.
func botsWhere(bots map[string]any, keep func(map[string]any) bool) []string {
	out := []string{}
	for _, bot := range keysOf(bots) {
		if cfg, ok := bots[bot].(map[string]any); ok && keep(cfg) {
			out = append(out, bot)
		}
	}
	return out
}

// setFromList is the script's _set_from_list(obj.get(key, [])): str() of
// each item whose str() is not blank, sorted and unique; not a list: none.
func setFromList(obj map[string]any, key string) []string {
	list, _ := obj[key].([]any)
	seen := map[string]bool{}
	out := []string{}
	for _, it := range list {
		s := pyStr(it)
		if strings.TrimFunc(s, isPySpace) == "" || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func sameSet(a, b []string) bool { return len(minus(a, b)) == 0 && len(minus(b, a)) == 0 }

// minus is a - b, both sorted.
func minus(a, b []string) []string {
	out := []string{}
	for _, x := range a {
		if !contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// pyTruthy is Python's bool() of a JSON value (absent is None).
func pyTruthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case float64:
		return x != 0
	case json.Number:
		f, err := x.Float64()
		return err != nil || f != 0
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// pyStr is Python's str() of a JSON value: a string itself, anything else
// its repr().
func pyStr(v any) string {
	if x, ok := v.(string); ok {
		return x
	}
	return pyRepr(v)
}

// pyRepr is Python's repr() of a JSON value (an object's keys sorted: the
// decoder does not keep their order).
func pyRepr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(x, 10)
	case json.Number:
		return x.String()
	case float64:
		return pyFloat(x)
	case string:
		return pyQuote(x)
	case []any:
		parts := make([]string, len(x))
		for i, it := range x {
			parts[i] = pyRepr(it)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		parts := make([]string, 0, len(x))
		for _, k := range keysOf(x) {
			parts = append(parts, pyQuote(k)+": "+pyRepr(x[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

func pyStrList(items []string) string {
	parts := make([]string, len(items))
	for i, s := range items {
		parts[i] = pyQuote(s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// pyFloat is Python's repr() of a float: the shortest round-trip digits,
// in exponent form below 1e-4 and from 1e16.
func pyFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(e, "e")
	n, _ := strconv.Atoi(exp)
	if n >= -4 && n < 16 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.ContainsAny(s, ".") {
			s += ".0"
		}
		return s
	}
	sign := "+"
	if n < 0 {
		sign, n = "-", -n
	}
	return fmt.Sprintf("%se%s%02d", mant, sign, n)
}

// pyQuote is Python's repr() of a str.
func pyQuote(s string) string {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == rune(q):
			b.WriteByte('\\')
			b.WriteByte(q)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case unicode.IsPrint(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x10000:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte(q)
	return b.String()
}
