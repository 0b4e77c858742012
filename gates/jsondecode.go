package gates

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
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

// jsonDecoder decodes one JSON object from a stream: numbers exact, duplicate
// keys refused at every level, values and depth bounded. keep, when set,
// restricts what is built at the top level to the keys it accepts (the rest
// is still read, checked and counted, but not kept): a candidate scan learns
// a report's timestamp without holding the report.
type jsonDecoder struct {
	dec    *json.Decoder
	r      io.Reader
	values int
	path   []string
	keep   func(key string) bool
}

// decodeJSONObject reads r to its end and returns the one JSON object it
// holds. Errors read like encoding/json's ("invalid JSON:
// unexpected end of JSON input"), or say which value broke a rule
// ("number 1e400 is out of range at critical_count"); they are badContent,
// unlike a read error of r.
func decodeJSONObject(r io.Reader, keep func(string) bool) (map[string]any, error) {
	d := &jsonDecoder{dec: json.NewDecoder(r), r: r, keep: keep}
	d.dec.UseNumber()
	tok, err := d.token()
	if err != nil {
		return nil, err
	}
	if delim, ok := tok.(json.Delim); !ok || delim != '{' {
		kind := jsonKind(tok)
		if ok {
			kind = map[json.Delim]string{'[': "array"}[delim]
		}
		return nil, badf("not a JSON object (got %s)", kind)
	}
	obj, err := d.object(1)
	if err != nil {
		return nil, err
	}
	if err := d.trailing(); err != nil {
		return nil, err
	}
	return obj, nil
}

func (d *jsonDecoder) token() (json.Token, error) {
	tok, err := d.dec.Token()
	if err == nil {
		return tok, nil
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, badf("invalid JSON: unexpected end of JSON input")
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return nil, badf("invalid JSON: %s", se.Error())
	}
	// A read error of the file itself (e.g. it grew past the cap).
	return nil, err
}

func (d *jsonDecoder) count() error {
	d.values++
	if d.values > maxReportValues {
		return badf("invalid JSON: more than %d values", maxReportValues)
	}
	return nil
}

func (d *jsonDecoder) where() string {
	if len(d.path) == 0 {
		return "the top level"
	}
	return truncate(strings.Join(d.path, "."), 64)
}

// value decodes the value whose first token is tok; build false reads and
// checks it without keeping it.
func (d *jsonDecoder) value(tok json.Token, depth int, build bool) (any, error) {
	if err := d.count(); err != nil {
		return nil, err
	}
	switch x := tok.(type) {
	case json.Delim:
		if depth >= maxReportDepth {
			return nil, badf("invalid JSON: nesting deeper than %d at %s", maxReportDepth, d.where())
		}
		if x == '{' {
			if !build {
				return nil, d.skipObject(depth + 1)
			}
			return d.object(depth + 1)
		}
		return d.array(depth+1, build)
	case json.Number:
		if !build {
			return nil, nil
		}
		v, err := exactNumber(x)
		if err != nil {
			return nil, badf("%v at %s", err, d.where())
		}
		return v, nil
	default: // string, bool, nil
		return x, nil
	}
}

func (d *jsonDecoder) object(depth int) (map[string]any, error) {
	obj := map[string]any{}
	for d.dec.More() {
		tok, err := d.token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string) // the decoder only yields a string here
		if _, dup := obj[key]; dup {
			return nil, badf("invalid JSON: duplicate key %q", key)
		}
		build := depth > 1 || d.keep == nil || d.keep(key)
		if tok, err = d.token(); err != nil {
			return nil, err
		}
		d.path = append(d.path, key)
		v, err := d.value(tok, depth, build)
		d.path = d.path[:len(d.path)-1]
		if err != nil {
			return nil, err
		}
		if build {
			obj[key] = v
		} else {
			obj[key] = skipped{}
		}
	}
	if _, err := d.token(); err != nil { // '}'
		return nil, err
	}
	if d.keep != nil && depth == 1 {
		for k, v := range obj {
			if _, ok := v.(skipped); ok {
				delete(obj, k)
			}
		}
	}
	return obj, nil
}

// skipped marks a top-level key read but not kept (it still counts for the
// duplicate-key rule).
type skipped struct{}

// skipObject reads an object without keeping it, still refusing duplicate
// keys.
func (d *jsonDecoder) skipObject(depth int) error {
	keys := map[string]struct{}{}
	for d.dec.More() {
		tok, err := d.token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if _, dup := keys[key]; dup {
			return badf("invalid JSON: duplicate key %q", key)
		}
		keys[key] = struct{}{}
		if tok, err = d.token(); err != nil {
			return err
		}
		d.path = append(d.path, key)
		_, err = d.value(tok, depth, false)
		d.path = d.path[:len(d.path)-1]
		if err != nil {
			return err
		}
	}
	_, err := d.token()
	return err
}

func (d *jsonDecoder) array(depth int, build bool) ([]any, error) {
	var out []any
	if build {
		out = []any{}
	}
	for i := 0; d.dec.More(); i++ {
		tok, err := d.token()
		if err != nil {
			return nil, err
		}
		d.path = append(d.path, strconv.Itoa(i))
		v, err := d.value(tok, depth, build)
		d.path = d.path[:len(d.path)-1]
		if err != nil {
			return nil, err
		}
		if build {
			out = append(out, v)
		}
	}
	if _, err := d.token(); err != nil { // ']'
		return nil, err
	}
	return out, nil
}

// trailing reads the rest of the stream (so the file's hash covers all of
// it) and refuses anything but whitespace after the object.
func (d *jsonDecoder) trailing() error {
	rest := io.MultiReader(d.dec.Buffered(), d.r)
	buf := make([]byte, 4096)
	bad := -1
	for {
		n, err := rest.Read(buf)
		for _, c := range buf[:n] {
			if bad < 0 && c != ' ' && c != '\t' && c != '\n' && c != '\r' {
				bad = int(c)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if bad >= 0 {
		return badf("invalid JSON: invalid character %s after top-level value", quoteChar(byte(bad)))
	}
	return nil
}

// quoteChar formats c as encoding/json's syntax errors do.
func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
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
	return f, nil
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
