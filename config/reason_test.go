package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A reason placeholder outside the grammar is a load error naming the
// check and the field; a stale_reason needs a report judged for freshness.
func TestReasonTemplateErrors(t *testing.T) {
	with := func(line string) string {
		return strings.Replace(base, "    kind: report\n", "    kind: report\n"+line, 1)
	}
	tests := []struct{ name, yaml, want string }{
		{"unknown placeholder", with("    fail_reason: bad {status!r}\n"),
			`validate contract: checks[0] (a): fail_reason: placeholder {status!r} is not {rc}, {age_min:%.Nf}, {output:N}, {field}, {field|default}, {field:upper|lower|join|sorted[|default]}`},
		{"unbalanced", with("    pass_reason: ok {status\n"),
			`validate contract: checks[0] (a): pass_reason: unbalanced brace in "ok {status"`},
		{"age format", with("    stale_reason: old {age_min:%d}\n"),
			`validate contract: checks[0] (a): stale_reason: placeholder {age_min:%d} is not {rc}, {age_min:%.Nf}, {output:N}, {field}, {field|default}, {field:upper|lower|join|sorted[|default]}`},
		{"fail_reasons without reason", with("    fail_reasons: [{when: status == \"x\"}]\n"),
			`validate contract: checks[0] (a): fail_reasons[0]: needs when and reason`},
		{"fail_reasons bad when", with("    fail_reasons: [{when: \"status ==\", reason: r}]\n"),
			`validate contract: checks[0] (a): fail_reasons[0].when: compile "status ==": unexpected token EOF (1:9)`},
		{"fail_reasons bad reason", with("    fail_reasons: [{when: \"true\", reason: \"r {x!}\"}]\n"),
			`validate contract: checks[0] (a): fail_reasons[0].reason: placeholder {x!} is not {rc}, {age_min:%.Nf}, {output:N}, {field}, {field|default}, {field:upper|lower|join|sorted[|default]}`},
		{"stale_reason without freshness", strings.Replace(with("    stale_reason: old\n"), "condition: status", "no_freshness: true, condition: status", 1),
			`validate contract: checks[0] (a): stale_reason is for checks that judge a report's freshness`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseContract([]byte(tt.yaml))
			require.EqualError(t, err, tt.want)
		})
	}
	ps, err := ParsePlaceholders("x {rc} {age_min:%.2f} {a.b|n/a} {c:upper|none} {d:join}")
	require.NoError(t, err)
	require.Len(t, ps, 5)
	assert.Equal(t, Placeholder{Raw: "{a.b|n/a}", Kind: "field", Field: "a.b", Default: "n/a", HasDefault: true}, ps[2])
	assert.Equal(t, Placeholder{Raw: "{c:upper|none}", Kind: "field", Field: "c", Transform: "upper", Default: "none", HasDefault: true}, ps[3])
}
