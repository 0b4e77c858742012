package config

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckBounded(t *testing.T) {
	tests := []struct {
		cond, want string
	}{
		{`status == "ok"`, ""},
		{`(status == "ok" or status == "warning") and critical_count == 0`, ""},
		{`lower(string(bots?.bot3?.exchange ?? "")) == "bitget_paper_trade"`, ""},
		{`all(items, #.ok) and count(items, #.lag > 3) == 0 and x in 1..5`, ""},
		{`a + b == 3`, ""},
		{`name matches "^bot[0-9]+$"`, ""},
		{`reduce(1..31, #acc + #acc, "ab") != ""`, "builtin reduce() is not allowed in a condition (its cost is not bounded by the report); + is not allowed inside a predicate (a string concatenation allocates once per element)"},
		{`len(repeat("ab", 1000000000)) > 0`, "builtin repeat() is not allowed in a condition (its cost is not bounded by the report)"},
		{`len(toJSON(items)) > 0`, "builtin toJSON() is not allowed in a condition (its cost is not bounded by the report)"},
		{`len(join(items, big)) > 0`, "builtin join() is not allowed in a condition (its cost is not bounded by the report)"},
		{`len(sort(items)) > 0`, "builtin sort() is not allowed in a condition (its cost is not bounded by the report)"},
		{`now() > date("2020-01-01")`, "builtin now() is not allowed in a condition (its cost is not bounded by the report); builtin date() is not allowed in a condition (its cost is not bounded by the report)"},
		{`len(1..1001) > 0`, "range 1..1001 has more than 1000 elements"},
		{`len(1..1000) > 0`, ""},
		{`len(1..n) > 0`, "a range needs integer literal bounds"},
		{`let a = s + s; a != ""`, "let is not allowed in a condition"},
		{`any(items, lower(big) == "x")`, "builtin lower() is not allowed inside a predicate (it allocates once per element)"},
		{`any(items, string($env) == "x")`, "builtin string() is not allowed inside a predicate (it allocates once per element)"},
		{`any(items, # + big == "x")`, "+ is not allowed inside a predicate (a string concatenation allocates once per element)"},
		{`name matches pattern`, "matches needs a string literal pattern"},
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			err := CompileCondition(tt.cond)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, fmt.Sprintf("compile %q: %s", tt.cond, tt.want))
		})
	}
}

// TestConditionMaxNodes: a condition larger than MaxConditionNodes is
// refused by the compiler, so that its cost is bounded by the report.
func TestConditionMaxNodes(t *testing.T) {
	cond := "a == 1" + strings.Repeat(" or a == 1", MaxConditionNodes/3)
	err := CompileCondition(cond)
	require.ErrorContains(t, err, "compilation failed: expression exceeds maximum allowed nodes")
	require.NoError(t, CompileCondition("a == 1"+strings.Repeat(" or a == 1", MaxConditionNodes/8)))
}

// TestAliasBombRefused: 60 KB of aliases in a typed field that would
// expand to 1.2 GB is refused before any expansion.
func TestAliasBombRefused(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: t\ndescription: &d \"" + strings.Repeat("x", 80_000) + "\"\nchecks:\n  - name: a\n    severity: critical\n    kind: files_present\n    files: [")
	for i := range 15_000 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("*d")
	}
	b.WriteString("]\n")
	data := []byte(b.String())
	require.Less(t, len(data), MaxContractBytes)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := ParseContract(data)
	runtime.ReadMemStats(&after)
	require.EqualError(t, err, "decode contract: line 2: anchor &d: YAML anchors are not allowed in a contract")
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20), "the aliases were expanded")
}

// TestChildEnvValidation: names a child may receive are checked at load.
func TestChildEnvValidation(t *testing.T) {
	c := &Contract{Name: "t", Checks: []Check{{Name: "a", Severity: SeverityCritical, Kind: KindCommand,
		Command: &CommandSpec{Argv: []string{"true"}, ChildEnv: ChildEnv{PassEnv: []string{"HBOT_ENV"}, SecretEnv: []string{"HBOT_TOKEN"}}}}},
		Recovery: Recovery{Compose: ComposeDriver{ChildEnv: ChildEnv{PassEnv: []string{"DOCKER_HOST", "REDIS_PASSWORD"}}}},
	}
	require.EqualError(t, c.Validate(), "validate contract: recovery.compose.pass_env[1]: REDIS_PASSWORD is a setting of the worker and is never passed to a child")
	c.Recovery.Compose.PassEnv = []string{"DOCKER_HOST"}
	require.NoError(t, c.Validate())
	require.Equal(t, []string{"HBOT_ENV", "HBOT_TOKEN"}, c.Checks[0].Command.Names())
}
