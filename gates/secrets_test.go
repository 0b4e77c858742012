package gates

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/procrun"
	"github.com/strictcycle/strictcycle/redact"
)

// Secret values of the worker's environment in these tests.
const (
	testRedisPassword = "s3cret-redis-pw"
	testAPIKey        = "tk_live_0123456789abcdef"
	testHbotToken     = "hbot-token-9f8e7d"
)

// TestCommandChildEnvironment: a command check's child that prints its
// whole environment sees PATH, the variables the contract names and its
// env map, and none of the worker's secrets; a secret_env value it prints,
// and one it writes into the report the condition quotes, are masked.
func TestCommandChildEnvironment(t *testing.T) {
	sh, err := exec.LookPath("sh")
	require.NoError(t, err)
	t.Setenv("REDIS_URL", "redis://default:"+testRedisPassword+"@127.0.0.1:6379/0")
	t.Setenv("REDIS_PASSWORD", testRedisPassword)
	t.Setenv("TEMPORAL_API_KEY", testAPIKey)
	t.Setenv("HBOT_ENV", "paper")
	t.Setenv("HBOT_TOKEN", testHbotToken)
	t.Setenv("UNLISTED", "not-for-children")
	root := t.TempDir()
	script := `printf '{"ts_utc":"2026-02-26T01:59:00Z","status":"%s"}' "$HBOT_TOKEN" > reports/r.json; env; echo "url=$REDIS_URL key=$TEMPORAL_API_KEY"`
	writeFile(t, root, "reports/.keep", "")
	ck := config.Check{Name: "cmd", Kind: config.KindCommand, Command: &config.CommandSpec{
		Argv:     []string{sh, "-c", script},
		Env:      map[string]string{"EXPLICIT": "1"},
		ChildEnv: config.ChildEnv{PassEnv: []string{"HBOT_ENV"}, SecretEnv: []string{"HBOT_TOKEN"}},
		Report:   &config.ReportSpec{Path: "reports/r.json", TimestampKeys: []string{"ts_utc"}, Condition: `status == "ok"`},
	}}
	r := runOne(t, root, ck, func(o *Options) { o.Secrets = redact.New(testRedisPassword, testAPIKey) })

	require.Equal(t, VerdictFail, r.Verdict)
	require.Equal(t, `bad: condition false (status="[redacted]"; rule: status == "ok")`, r.Text())
	lines := strings.Split(strings.TrimSpace(r.OutputTail), "\n")
	var names []string
	for _, l := range lines[:len(lines)-1] {
		k, _, _ := strings.Cut(l, "=")
		names = append(names, k)
	}
	require.Subset(t, names, []string{"PATH", "HBOT_ENV", "HBOT_TOKEN", "EXPLICIT"})
	for _, n := range names {
		require.Contains(t, []string{"PATH", "HOME", "LANG", "LC_ALL", "TZ", "HBOT_ENV", "HBOT_TOKEN", "EXPLICIT", "PWD", "SHLVL", "_"}, n,
			"the child received %s", n)
	}
	require.Contains(t, r.OutputTail, "HBOT_ENV=paper\n")
	require.Contains(t, r.OutputTail, "HBOT_TOKEN=[redacted]\n")
	require.Equal(t, "url= key=", lines[len(lines)-1], "the worker's settings are not in the child's environment")
	b, err := json.Marshal(r)
	require.NoError(t, err)
	for _, s := range []string{testRedisPassword, testAPIKey, testHbotToken, "not-for-children"} {
		require.NotContains(t, string(b), s)
	}

	// --no-commands judges the report the command wrote: masked too.
	r = runOne(t, root, ck, func(o *Options) { o.NoCommands = true })
	require.Equal(t, VerdictFail, r.Verdict)
	require.Equal(t, `bad: command not run (--no-commands); judged on reports/r.json: condition false (status="[redacted]"; rule: status == "ok")`, r.Text())
}

// TestCommandOutputRedactedAtTheCut: a secret printed so that only its end
// falls in the window the tail is cut from leaves no part of itself in the
// result; printed whole inside the tail, it is masked.
func TestCommandOutputRedactedAtTheCut(t *testing.T) {
	sh, err := exec.LookPath("sh")
	require.NoError(t, err)
	secret := strings.Repeat("Q", 10) + "-" + testAPIKey
	red := redact.New(secret)
	window := procrun.TailBytes + red.MaxLen()
	for _, keep := range []int{1, 5, len(secret) / 2, len(secret) - 1} {
		t.Run(fmt.Sprint(keep), func(t *testing.T) {
			// The secret's last keep bytes open the window.
			filler := window - keep - len(" again \n") - len(secret)
			script := fmt.Sprintf(`printf '%%s' '%s'; head -c %d /dev/zero | tr '\0' 'x'; printf ' again %s\n'`, secret, filler, secret)
			ck := config.Check{Name: "cmd", Kind: config.KindCommand, Command: &config.CommandSpec{Argv: []string{sh, "-c", script}}}
			r := runOne(t, t.TempDir(), ck, func(o *Options) { o.Secrets = red })
			require.Equal(t, VerdictPass, r.Verdict)
			require.True(t, strings.HasSuffix(r.OutputTail, "x again [redacted]\n"), r.OutputTail[len(r.OutputTail)-40:])
			require.True(t, strings.HasPrefix(r.OutputTail, "xxx"), "the straddling part is dropped: %q", r.OutputTail[:40])
			require.LessOrEqual(t, len(r.OutputTail), procrun.TailBytes)
		})
	}
}

// TestConditionBudget: a condition that loops more than the budget allows
// (nested predicates over a large array) or runs longer than its deadline is
// an error verdict naming the check's rule, not a hang, not a pass.
func TestConditionBudget(t *testing.T) {
	root := t.TempDir()
	report := func(n int) {
		items := make([]int, n)
		for i := range items {
			items[i] = i
		}
		b, err := json.Marshal(map[string]any{"ts_utc": "2026-02-26T01:59:00Z", "items": items})
		require.NoError(t, err)
		writeFile(t, root, "reports/r.json", string(b))
	}
	check := func(cond string) config.Check {
		return config.Check{Name: "loops", Kind: config.KindReport, Report: &config.ReportSpec{Path: "reports/r.json", TimestampKeys: []string{"ts_utc"}, Condition: cond}}
	}
	nested := check(`all(items, all(items, # >= 0))`)

	report(900) // 810 000 steps
	require.Equal(t, VerdictPass, runOne(t, root, nested).Verdict)

	report(1100) // 1 210 000 steps
	r := runOne(t, root, nested)
	require.Equal(t, VerdictError, r.Verdict)
	require.Contains(t, r.Text(), `bad: reports/r.json: condition "all(items, all(items, # >= 0))" failed`)
	require.Contains(t, r.Text(), "condition budget exceeded: more than 1000000 predicate steps")

	// Few steps, each a pass over the array (a linear search): the
	// deadline stops it.
	report(40_000)
	r = runOne(t, root, check(`all(items, # in items)`))
	require.Equal(t, VerdictError, r.Verdict)
	require.Contains(t, r.Text(), "condition budget exceeded: ran longer than 2s")
}

// TestConditionMemoryBudget: the VM's memory budget stops a condition that
// builds too large a value; the verdict is an error, not a crash.
func TestConditionMemoryBudget(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "reports/r.json", `{"ts_utc": "2026-02-26T01:59:00Z", "items": [1, 2]}`)
	ck := config.Check{Name: "mem", Kind: config.KindReport, Report: &config.ReportSpec{Path: "reports/r.json", TimestampKeys: []string{"ts_utc"},
		Condition: `len(map(1..1000, 1..1000)) > 0`}}
	r := runOne(t, root, ck)
	require.Equal(t, VerdictError, r.Verdict)
	require.Contains(t, r.Text(), "memory budget exceeded")
}

// TestUnboundedConditionRefused: the engine refuses a contract whose
// condition is unbounded, naming the check.
func TestUnboundedConditionRefused(t *testing.T) {
	ck := config.Check{Name: "bomb", Kind: config.KindReport, Report: &config.ReportSpec{Path: "r.json", Condition: `reduce(1..31, #acc + #acc, "ab") != ""`}}
	_, err := New(oneCheckContract(ck), Options{Root: t.TempDir()})
	require.ErrorContains(t, err, `checks[0] (bomb): report.condition: compile "reduce(1..31, #acc + #acc, \"ab\") != \"\"": builtin reduce() is not allowed`)
}
