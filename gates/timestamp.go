package gates

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

var (
	errNaive   = errors.New("has no UTC offset")
	errGarbage = errors.New("is not an ISO-8601 timestamp")
)

// ParseTimestamp parses an RFC 3339 / Python isoformat timestamp with a "Z"
// or numeric offset and optional fractional seconds ("T" or a space between
// date and time). A timestamp without an offset is refused with errNaive:
// the original silently treated it as infinitely stale (W7c). Surrounding
// whitespace is refused, as Python's fromisoformat refuses it.
func ParseTimestamp(s string) (time.Time, error) {
	v := s
	if len(v) > 10 && v[10] == ' ' {
		v = v[:10] + "T" + v[11:]
	}
	if len(v) >= 10 && len(v) <= 64 {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05.999999999Z07"} {
			if t, err := time.Parse(layout, v); err == nil {
				return t.UTC(), nil
			}
		}
		for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
			if _, err := time.Parse(layout, v); err == nil {
				return time.Time{}, errNaive
			}
		}
	}
	return time.Time{}, errGarbage
}

// tsInfo is a resolved report time.
type tsInfo struct {
	t      time.Time
	source string // ts_utc | last_update_utc | <key> | mtime
}

// tsProblem is why a report time could not be used.
type tsProblem struct {
	verdict Verdict
	reason  string
}

// resolveTimestamp takes the first key with a non-empty value (the original's
// `report["ts_utc"] or report["last_update_utc"]`), then the file mtime only
// when allowed. A present but malformed value is an error naming the file and
// field; it never falls back to mtime.
func (e *evalEnv) resolveTimestamp(rel string, obj map[string]any, keys []string, allowMtime bool) (tsInfo, *tsProblem) {
	if len(keys) == 0 {
		keys = []string{TSSourceTsUTC}
	}
	for _, k := range keys {
		raw, ok := obj[k]
		if !ok || raw == nil || raw == "" {
			continue
		}
		s, isStr := raw.(string)
		if !isStr {
			return tsInfo{}, &tsProblem{VerdictError, fmt.Sprintf("%s: %s is not a string (got %s %s)", rel, k, jsonKind(raw), compact(raw))}
		}
		t, err := ParseTimestamp(s)
		if err != nil {
			return tsInfo{}, &tsProblem{VerdictError, fmt.Sprintf("%s: %s %q %v", rel, k, truncate(s, 64), err)}
		}
		return tsInfo{t: t, source: k}, nil
	}
	if allowMtime {
		mt, err := e.mtime(rel)
		if err != nil {
			return tsInfo{}, &tsProblem{VerdictError, fmt.Sprintf("%s: stat for mtime: %v", rel, err)}
		}
		return tsInfo{t: mt, source: TSSourceMtime}, nil
	}
	return tsInfo{}, &tsProblem{VerdictError, fmt.Sprintf("%s: no timestamp (%s absent) and mtime not allowed", rel, strings.Join(keys, ", "))}
}

// freshness judges a report time against maxAge: a time beyond the future
// skew is stale (W7b), an age over maxAge is stale. detail is the rule
// broken, or "" when fresh.
func (e *evalEnv) freshness(ts tsInfo, maxAge time.Duration) (age float64, detail string) {
	// Not e.now.Sub: a Duration saturates at ~292 years, which would print
	// a year-9999 or year-0 timestamp with a wrong age.
	age = float64(e.now.Unix()-ts.t.Unix())/60 + float64(e.now.Nanosecond()-ts.t.Nanosecond())/6e10
	if ts.t.After(e.now.Add(e.skew)) {
		return age, fmt.Sprintf("%s %s is in the future by %.1fm (skew allowed %s)",
			ts.source, ts.t.Format(time.RFC3339), -age, fmtDur(e.skew))
	}
	if age > maxAge.Minutes() {
		return age, fmt.Sprintf("age %.1fm > %s (%s %s)", age, fmtDur(maxAge), ts.source, ts.t.Format(time.RFC3339))
	}
	return age, ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
