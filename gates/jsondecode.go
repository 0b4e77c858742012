package gates

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/strictcycle/strictcycle/rootfs"
)

// Limits of one report decode. The largest Day-28 report is 17 KB with 317
// JSON values; these leave two to three orders of magnitude of room while
// bounding what one check can cost: the bytes by maxReportBytes, and the
// decoded tree (a Go map or slice costs far more than the bytes that spell
// it: `[{},{},…]` is 3 bytes per map) by maxReportValues.
const (
	// maxReportBytes caps a file the engine decodes (JSON reports, YAML
	// configs). A larger file is an error naming it, found from its size
	// before any byte is read.
	maxReportBytes = 8 << 20
	// maxEvidenceBytes caps a file the engine only hashes (evidence,
	// files_present, files_glob matches, the release manifest): it is
	// streamed through sha256, never held, so the cap bounds time only.
	maxEvidenceBytes = 64 << 20
	// maxReportValues caps the JSON values (objects, arrays, scalars) of one
	// decoded report.
	maxReportValues = 1 << 18
	// maxReportDepth caps nesting (encoding/json allows 10000).
	maxReportDepth = 512
)

// MaxReportBytes is the size cap of a report the engine or an activity
// decodes.
const MaxReportBytes = maxReportBytes

// badContent is a decode error: the file was read, its content is bad (as
// opposed to a read error of the file itself).
type badContent struct{ msg string }

func (b *badContent) Error() string { return b.msg }

func badf(format string, args ...any) error { return &badContent{fmt.Sprintf(format, args...)} }

func isBadContent(err error) bool {
	var b *badContent
	return errors.As(err, &b)
}

// validJSON is a json.Unmarshaler that keeps nothing: json.Unmarshal into it
// runs encoding/json's full syntax check (its error messages, its depth
// limit) without building a value.
type validJSON struct{}

func (*validJSON) UnmarshalJSON([]byte) error { return nil }

// decodeJSONObject reads r (a capped, hashing rootfs.File) to its end and
// returns the one JSON object it holds: numbers exact, duplicate keys
// refused at every level, values and depth bounded before anything is
// built. keep, when set, restricts what is built to the top-level keys it
// accepts (the rest is checked, not built): a candidate scan learns a
// report's timestamp without holding the report. Errors read like
// encoding/json's ("invalid JSON: unexpected end of JSON input") or say
// which value broke a rule ("number 1e400 is out of range at
// critical_count"); they are badContent, unlike a read error of r.
//
// The bytes are read whole (at most the cap) rather than decoded token by
// token: encoding/json's token API costs about five times more per report,
// and the cap already bounds the buffer.
func decodeJSONObject(r io.Reader, keep func(string) bool) (map[string]any, error) {
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &validJSON{}); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, badf("invalid JSON: %s", se.Error())
		}
		return nil, badf("invalid JSON: %v", err)
	}
	top, err := checkStructure(data)
	if err != nil {
		return nil, err
	}
	if top.kind != '{' {
		return nil, badf("not a JSON object (got %s)", top.kindName())
	}
	if keep == nil {
		v, err := decodeExact(data, nil)
		if err != nil {
			return nil, err
		}
		return v.(map[string]any), nil
	}
	obj := map[string]any{}
	for _, m := range top.members {
		if !keep(m.key) {
			continue
		}
		v, err := decodeExact(data[m.start:m.end], []string{m.key})
		if err != nil {
			return nil, err
		}
		obj[m.key] = v
	}
	return obj, nil
}

// readAll reads r to its end in one allocation when r knows its size (a
// rootfs.File: the size fstat gave, already checked against the cap).
func readAll(r io.Reader) ([]byte, error) {
	f, ok := r.(*rootfs.File)
	if !ok {
		return io.ReadAll(r)
	}
	buf := make([]byte, 0, f.Info.Size()+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// topLevel is what checkStructure learns of the top-level value.
type topLevel struct {
	kind    byte // '{', '[', '"', 'n' (number), 't'/'f' (boolean), 'u' (null)
	members []member
}

// member is a top-level key and the span of its value.
type member struct {
	key        string
	start, end int
}

func (t *topLevel) kindName() string {
	switch t.kind {
	case '[':
		return "array"
	case '"':
		return "string"
	case 'n':
		return "number"
	case 't', 'f':
		return "boolean"
	}
	return "null"
}

// checkStructure walks valid JSON once: it counts values (maxReportValues),
// bounds nesting (maxReportDepth), refuses a key repeated in one object (at
// any level: encoding/json would keep the last, so
// {"status":"critical","status":"ok"} would read as ok) and records the
// top-level members. data must be valid JSON.
func checkStructure(data []byte) (*topLevel, error) {
	type frame struct {
		obj       bool
		expectKey bool
		keys      map[string]struct{}
		key       string // current member key (top level only)
	}
	top := &topLevel{}
	var stack []frame
	values := 0
	var path []string
	value := func(i int, kind byte) error {
		values++
		if values > maxReportValues {
			return badf("invalid JSON: more than %d values", maxReportValues)
		}
		if len(stack) == 0 {
			top.kind = kind
		}
		if len(stack) == 1 && stack[0].obj {
			top.members = append(top.members, member{key: stack[0].key, start: i})
		}
		return nil
	}
	// endTop closes the span of the current top-level member at i.
	endTop := func(i int) {
		if len(stack) == 1 && stack[0].obj && len(top.members) > 0 && top.members[len(top.members)-1].end == 0 {
			top.members[len(top.members)-1].end = i
		}
	}
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case c == '{' || c == '[':
			if err := value(i, c); err != nil {
				return nil, err
			}
			if len(stack) >= maxReportDepth {
				return nil, badf("invalid JSON: nesting deeper than %d at %s", maxReportDepth, truncate(strings.Join(path, "."), 64))
			}
			stack = append(stack, frame{obj: c == '{', expectKey: c == '{'})
			path = append(path, "")
		case c == '}' || c == ']':
			stack = stack[:len(stack)-1]
			path = path[:len(path)-1]
			endTop(i + 1)
		case c == ',':
			if n := len(stack) - 1; n >= 0 && stack[n].obj {
				stack[n].expectKey = true
			}
		case c == '"':
			j, escaped := i+1, false
			for ; j < len(data) && data[j] != '"'; j++ {
				if data[j] == '\\' {
					escaped = true
					j++
				}
			}
			if n := len(stack) - 1; n >= 0 && stack[n].obj && stack[n].expectKey {
				f := &stack[n]
				f.expectKey = false
				key := string(data[i+1 : j])
				if escaped {
					_ = json.Unmarshal(data[i:j+1], &key)
				}
				if f.keys == nil {
					f.keys = make(map[string]struct{}, 8)
				}
				if _, dup := f.keys[key]; dup {
					return nil, badf("invalid JSON: duplicate key %q", key)
				}
				f.keys[key] = struct{}{}
				f.key = key
				path[len(path)-1] = key
			} else {
				if err := value(i, '"'); err != nil {
					return nil, err
				}
				endTop(j + 1)
			}
			i = j
		case c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n':
			kind := byte('n')
			switch c {
			case 't', 'f':
				kind = c
			case 'n':
				kind = 'u'
			}
			if err := value(i, kind); err != nil {
				return nil, err
			}
			j := i + 1
			for j < len(data) && !strings.ContainsRune(" \t\r\n,]}", rune(data[j])) {
				j++
			}
			endTop(j)
			i = j - 1
		}
	}
	return top, nil
}

// decodeExact decodes valid JSON with numbers kept as json.Number, then
// converts each (exactNumber); path prefixes the field named in an error.
func decodeExact(data []byte, path []string) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, badf("invalid JSON: %v", err)
	}
	return convertNumbers(v, path)
}

func convertNumbers(v any, path []string) (any, error) {
	switch x := v.(type) {
	case json.Number:
		n, err := exactNumber(x)
		if err != nil {
			where := "the top level"
			if len(path) > 0 {
				where = truncate(strings.Join(path, "."), 64)
			}
			return nil, badf("%v at %s", err, where)
		}
		return n, nil
	case map[string]any:
		for k, e := range x {
			if _, isNum := e.(json.Number); !isNum {
				if _, isMap := e.(map[string]any); !isMap {
					if _, isArr := e.([]any); !isArr {
						continue
					}
				}
			}
			c, err := convertNumbers(e, append(path, k))
			if err != nil {
				return nil, err
			}
			x[k] = c
		}
	case []any:
		for i, e := range x {
			c, err := convertNumbers(e, append(path, strconv.Itoa(i)))
			if err != nil {
				return nil, err
			}
			x[i] = c
		}
	}
	return v, nil
}

// exactNumber converts a JSON number without loss: an integer literal that
// fits int64 is an int64; one that does not (2^63, 123456789012345678901) is
// kept as its json.Number literal, which equals no number a condition can
// spell, refuses ordering comparisons (an error, not a pass) and prints as
// written; any other finite number is a float64 (a fraction or exponent is
// approximate by nature). A number beyond float64 (1e400) is an error, never
// an infinity.
func exactNumber(n json.Number) (any, error) {
	s := string(n)
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, fmt.Errorf("number %s is out of range", s)
	}
	// A literal that is not zero but reads as 0 (1e-400 underflows) would
	// pass `critical_count == 0`: out of range too.
	if f == 0 && strings.ContainsAny(mantissa(s), "123456789") {
		return nil, fmt.Errorf("number %s is out of range", s)
	}
	return f, nil
}

// mantissa is the digits of a JSON number literal before its exponent.
func mantissa(s string) string {
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		return s[:i]
	}
	return s
}

// asInt64 is v as an exact integer: an int64, or a float64 with no fraction
// inside the int64 range. ok is false for anything else (a string, NaN, a
// fraction, 1e300, 9.3e18), so a caller never converts out of range.
func asInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		// 2^63 is exactly representable; every float64 below it in
		// magnitude with no fraction converts exactly.
		if x != math.Trunc(x) || x >= 1<<63 || x < -(1<<63) {
			return 0, false
		}
		return int64(x), true
	}
	return 0, false
}

// asFloat64 is v as a finite float64 (an int64 or a float64).
func asFloat64(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, !math.IsInf(x, 0) && !math.IsNaN(x)
	}
	return 0, false
}
