package gates

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/strictcycle/strictcycle/config"
)

// Native checkers (config/native.go): a checker script's rules run in the
// engine. Each writes the report its script wrote, where the script wrote
// it, in the script's byte format (Python json.dumps(indent=2)), so what
// read the script's report reads this one; the check is then judged on
// that report as the command was. With --no-commands nothing is written
// and the check is judged on the report last written.

// pyKV is one key of a JSON object in the order Python wrote it.
type pyKV struct {
	key string
	val any // string, bool, int, []string, []pyObj, pyObj
}

// pyObj is a JSON object whose keys keep their order.
type pyObj []pyKV

// pyJSON renders v as Python's json.dumps(v, indent=2) (ensure_ascii, ", "
// and ": " separators, no trailing newline).
func pyJSON(v any) []byte {
	var b strings.Builder
	writePy(&b, v, 0)
	return []byte(b.String())
}

func writePy(b *strings.Builder, v any, depth int) {
	ind := func(d int) { b.WriteString("\n" + strings.Repeat("  ", d)) }
	switch x := v.(type) {
	case string:
		pyString(b, x)
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int:
		b.WriteString(strconv.Itoa(x))
	case []string:
		items := make([]any, len(x))
		for i, s := range x {
			items[i] = s
		}
		writePy(b, items, depth)
	case []pyObj:
		items := make([]any, len(x))
		for i, o := range x {
			items[i] = o
		}
		writePy(b, items, depth)
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteByte('[')
		for i, it := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			ind(depth + 1)
			writePy(b, it, depth+1)
		}
		ind(depth)
		b.WriteByte(']')
	case pyObj:
		if len(x) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteByte('{')
		for i, kv := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			ind(depth + 1)
			pyString(b, kv.key)
			b.WriteString(": ")
			writePy(b, kv.val, depth+1)
		}
		ind(depth)
		b.WriteByte('}')
	default:
		panic(fmt.Sprintf("pyJSON: unsupported %T", v))
	}
}

// writeNativeReport writes the script's two files: <dir>/<prefix>_<stamp>.json
// (the stamp is the evaluation time, as every artifact here) and
// <dir>/latest.json, each atomically. It returns the stamped path.
func (e *evalEnv) writeNativeReport(dir, prefix string, payload []byte) (string, error) {
	stamped := fmt.Sprintf("%s/%s_%s.json", dir, prefix, e.now.UTC().Format("20060102T150405Z"))
	for _, rel := range []string{stamped, dir + "/latest.json"} {
		if err := e.fs.WriteFile(rel, payload); err != nil {
			return "", fmt.Errorf("write report %s: %w", rel, err)
		}
	}
	return stamped, nil
}

// judgeNative judges a native check on the report it wrote (or, with
// --no-commands, on the one last written), with the command check's words:
// a failed status is the script's exit code 2 (the contract's fail reason
// renders {rc} as 2), what the report says goes to the detail, and the
// report is recorded as evidence whatever the verdict, as the original
// recorded it.
func (e *evalEnv) judgeNative(ck *config.Check, ran bool) Result {
	spec := ck.NativeReport()
	r := e.judgeReport(ck, spec)
	if !ran {
		r.Detail = fmt.Sprintf("command not run (--no-commands); judged on %s", spec.Path)
		return r
	}
	rc := 0
	if r.Verdict == VerdictFail {
		rc = 2
	}
	if r.Verdict == VerdictPass || r.Verdict == VerdictFail {
		r.ExitCode = &rc
	}
	return r
}

// nativeError is a native check that could not look at all its input: an
// error naming what it could not read, never a pass. The report is still
// recorded when it was written.
func (e *evalEnv) nativeError(ck *config.Check, errs []error, wrote bool) Result {
	var r Result
	if wrote {
		if ef, err := e.hashFile(ck.NativeReport().Path); err == nil {
			r.Evidence = append(r.Evidence, ef)
		}
	}
	msg := errs[0].Error()
	if len(errs) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(errs)-1)
	}
	r.Verdict, r.Reason = VerdictError, fmt.Sprintf("%s: %s", failText(ck), msg)
	return r
}
