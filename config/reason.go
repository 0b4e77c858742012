package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Reason templates. The original formats values into some of its reasons
// (f"... (status={status}, rc={rc})"); a contract's pass_reason,
// fail_reason and stale_reason say where, with placeholders filled from
// the report the check judged:
//
//	{rc}              the exit code of the check's command, else of the
//	                  pre-step whose fails_checks name the check; ? when none
//	{age_min:%.2f}    the judged report's age in minutes (%.0f, %.1f, ...)
//	{field}           Python's str() of a report field (a dotted path);
//	                  None when absent or null
//	{field|text}      the same, text when the field is absent
//	{field:upper}     str() of the field upper-cased ("" when absent or
//	                  null); with |text, text when that is empty
//	{field:lower}     str() of the field stripped and lower-cased (""
//	                  when absent, "none" when null); with |text, text when
//	                  that is empty (the original's
//	                  str(r.get(k, "")).strip().lower() or "unknown")
//	{field:join}      the list's items joined by ",", items whose str()
//	                  is blank left out; with |text, text when nothing is
//	                  left or the field is absent
//	{field:sorted}    the list's items' str(), stripped, blank ones left
//	                  out, sorted, joined by "," (the original's bot lists);
//	                  with |text, text when nothing is left
//	{output:200}      the first 200 characters of what the command printed:
//	                  stdout, a newline, stderr, stripped (? when no
//	                  command ran)
//
// Anything else between braces is a load error (placeholderRE, in
// validate.go, finds them).

var (
	agePlaceholderRE    = regexp.MustCompile(`^age_min:%\.[0-9]f$`)
	outputPlaceholderRE = regexp.MustCompile(`^output:[1-9][0-9]{0,3}$`)
	fieldPlaceholderRE  = regexp.MustCompile(`^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*(:upper|:lower|:join|:sorted)?(\|[^|]*)?$`)
)

// Placeholder is one parsed reason placeholder.
type Placeholder struct {
	// Raw is the placeholder with its braces.
	Raw string
	// Kind is "rc", "age", "output" or "field".
	Kind string
	// Chars is how many characters of the output an output placeholder
	// shows.
	Chars int
	// Format is the age's printf verb (e.g. %.2f).
	Format string
	// Field is the dotted report path, Transform "", "upper", "lower",
	// "join" or "sorted",
	// Default the text after | and HasDefault whether there was one.
	Field, Transform, Default string
	HasDefault                bool
}

// ParsePlaceholders lists a reason's placeholders; an error names the
// first one that is not of the grammar above.
func ParsePlaceholders(reason string) ([]Placeholder, error) {
	var out []Placeholder
	for _, raw := range placeholderRE.FindAllString(reason, -1) {
		body := raw[1 : len(raw)-1]
		switch {
		case body == "rc":
			out = append(out, Placeholder{Raw: raw, Kind: "rc"})
		case outputPlaceholderRE.MatchString(body):
			n, _ := strconv.Atoi(strings.TrimPrefix(body, "output:"))
			out = append(out, Placeholder{Raw: raw, Kind: "output", Chars: n})
		case agePlaceholderRE.MatchString(body):
			out = append(out, Placeholder{Raw: raw, Kind: "age", Format: strings.TrimPrefix(body, "age_min:")})
		case fieldPlaceholderRE.MatchString(body):
			p := Placeholder{Raw: raw, Kind: "field"}
			body, p.Default, p.HasDefault = strings.Cut(body, "|")
			p.Field, p.Transform, _ = strings.Cut(body, ":")
			out = append(out, p)
		default:
			return nil, fmt.Errorf("placeholder %s is not {rc}, {age_min:%%.Nf}, {output:N}, {field}, {field|default}, {field:upper|lower|join|sorted[|default]}", raw)
		}
	}
	if rest := placeholderRE.ReplaceAllString(reason, ""); strings.ContainsAny(rest, "{}") {
		return nil, fmt.Errorf("unbalanced brace in %q", reason)
	}
	return out, nil
}

func (ps *problems) reasons(at string, ck *Check) {
	for _, f := range []struct{ name, text string }{{"pass_reason", ck.PassReason}, {"fail_reason", ck.FailReason}, {"stale_reason", ck.StaleReason}} {
		if _, err := ParsePlaceholders(f.text); err != nil {
			ps.addf("%s: %s: %v", at, f.name, err)
		}
	}
	if ck.StaleReason != "" && !ck.judgesReport() {
		ps.addf("%s: stale_reason is for checks that judge a report's freshness", at)
	}
}

// judgesReport says whether the check judges a report whose staleness a
// stale_reason can name.
func (ck *Check) judgesReport() bool {
	switch {
	case ck.Parity != nil:
		return true
	case ck.Report != nil:
		return !ck.Report.NoFreshness
	case ck.Command != nil:
		return ck.Command.Report != nil && !ck.Command.Report.NoFreshness
	}
	return false
}

// FailReason is one conditional fail reason: When is a condition over the
// judged report, Reason a template.
type FailReason struct {
	When   string `yaml:"when" json:"when"`
	Reason string `yaml:"reason" json:"reason"`
}

func (ps *problems) failReasons(at string, ck *Check) {
	for i, fr := range ck.FailReasons {
		where := fmt.Sprintf("%s: fail_reasons[%d]", at, i)
		if fr.When == "" || fr.Reason == "" {
			ps.addf("%s: needs when and reason", where)
			continue
		}
		if err := CompileCondition(fr.When); err != nil {
			ps.addf("%s.when: %v", where, err)
		}
		if _, err := ParsePlaceholders(fr.Reason); err != nil {
			ps.addf("%s.reason: %v", where, err)
		}
	}
	if len(ck.FailReasons) > 0 && !ck.judgesReport() {
		ps.addf("%s: fail_reasons are for checks that judge a report", at)
	}
}
