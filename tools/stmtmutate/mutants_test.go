package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const header = "package p\n\n"

// mutantsOf returns the bodies (after the header) of the mutants op makes
// of src.
func mutantsOf(t *testing.T, op, src string) []string {
	t.Helper()
	ms, err := Generate("p.go", []byte(header+src), map[string]bool{op: true}, nil)
	require.NoError(t, err)
	var out []string
	for _, m := range ms {
		require.Equal(t, op, m.Op)
		out = append(out, strings.TrimPrefix(string(m.Src), header))
	}
	return out
}

func TestOperators(t *testing.T) {
	tests := []struct {
		name, op, src string
		want          []string
	}{
		{
			name: "a call statement and a defer are removed, a log line is not",
			op:   OpRemoveCall,
			src:  "func f() {\n\tg()\n\tdefer h()\n\tlogger.Info(\"x\")\n}\n",
			want: []string{
				"func f() {\n\t\n\tdefer h()\n\tlogger.Info(\"x\")\n}\n",
				"func f() {\n\tg()\n\t\n\tlogger.Info(\"x\")\n}\n",
			},
		},
		{
			name: "an assignment to a field and an increment are removed, := and _ = are not",
			op:   OpRemoveAssign,
			src:  "func f(r *R) {\n\tx := 1\n\tr.N = x\n\t_ = x\n\tr.C++\n}\n",
			want: []string{
				"func f(r *R) {\n\tx := 1\n\t\n\t_ = x\n\tr.C++\n}\n",
				"func f(r *R) {\n\tx := 1\n\tr.N = x\n\t_ = x\n\t\n}\n",
			},
		},
		{
			name: "each case clause is dropped",
			op:   OpDropCase,
			src:  "func f(v int) int {\n\tswitch v {\n\tcase 1:\n\t\treturn 1\n\tdefault:\n\t\treturn 0\n\t}\n}\n",
			want: []string{
				"func f(v int) int {\n\tswitch v {\n\t\n\tdefault:\n\t\treturn 0\n\t}\n}\n",
				"func f(v int) int {\n\tswitch v {\n\tcase 1:\n\t\treturn 1\n\t\n\t}\n}\n",
			},
		},
		{
			name: "each value of a multi-value case is dropped",
			op:   OpDropCaseValue,
			src:  "func f(v V) bool {\n\tswitch v {\n\tcase Err, Skip:\n\t\treturn false\n\t}\n\treturn true\n}\n",
			want: []string{
				"func f(v V) bool {\n\tswitch v {\n\tcase Skip:\n\t\treturn false\n\t}\n\treturn true\n}\n",
				"func f(v V) bool {\n\tswitch v {\n\tcase Err:\n\t\treturn false\n\t}\n\treturn true\n}\n",
			},
		},
		{
			name: "an early return is removed; one with an init statement or in an else is disabled",
			op:   OpRemoveEarlyReturn,
			src: "func f(dry bool) error {\n\tif dry {\n\t\treturn nil\n\t}\n" +
				"\tif err := g(); err != nil {\n\t\treturn err\n\t}\n" +
				"\tif dry {\n\t} else if x {\n\t\treturn nil\n\t}\n\treturn nil\n}\n",
			want: []string{
				"func f(dry bool) error {\n\t\n" +
					"\tif err := g(); err != nil {\n\t\treturn err\n\t}\n" +
					"\tif dry {\n\t} else if x {\n\t\treturn nil\n\t}\n\treturn nil\n}\n",
				"func f(dry bool) error {\n\tif dry {\n\t\treturn nil\n\t}\n" +
					"\tif err := g(); false && (err != nil) {\n\t\treturn err\n\t}\n" +
					"\tif dry {\n\t} else if x {\n\t\treturn nil\n\t}\n\treturn nil\n}\n",
				"func f(dry bool) error {\n\tif dry {\n\t\treturn nil\n\t}\n" +
					"\tif err := g(); err != nil {\n\t\treturn err\n\t}\n" +
					"\tif dry {\n\t} else if false && (x) {\n\t\treturn nil\n\t}\n\treturn nil\n}\n",
			},
		},
		{
			name: "a continue in a loop is an early exit too",
			op:   OpRemoveEarlyReturn,
			src:  "func f(cs []C) {\n\tfor _, c := range cs {\n\t\tif !c.Critical {\n\t\t\tcontinue\n\t\t}\n\t\tg(c)\n\t}\n}\n",
			want: []string{"func f(cs []C) {\n\tfor _, c := range cs {\n\t\t\n\t\tg(c)\n\t}\n}\n"},
		},
		{
			name: "a condition that is not a comparison is negated; a comparison is left to gremlins",
			op:   OpNegateIf,
			src:  "func f(in In) {\n\tif in.DryRun && ok() {\n\t\tg()\n\t}\n\tif n > 1 {\n\t\tg()\n\t}\n}\n",
			want: []string{"func f(in In) {\n\tif !(in.DryRun && ok()) {\n\t\tg()\n\t}\n\tif n > 1 {\n\t\tg()\n\t}\n}\n"},
		},
		{
			name: "a field passed on in a literal is left at its zero value; a zero one is not a mutant",
			op:   OpZeroField,
			src:  "func f(in In) R {\n\treturn R{DryRun: in.DryRun, Waived: false, ID: id}\n}\n",
			want: []string{
				"func f(in In) R {\n\treturn R{ Waived: false, ID: id}\n}\n",
				"func f(in In) R {\n\treturn R{DryRun: in.DryRun, Waived: false, }\n}\n",
			},
		},
		{
			name: "a boolean literal is flipped; a shadowing variable is not",
			op:   OpFlipBool,
			src:  "func f() (bool, bool) {\n\ttrue := 0 == 1\n\treturn true, false\n}\n",
			want: []string{"func f() (bool, bool) {\n\ttrue := 0 == 1\n\treturn true, true\n}\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, mutantsOf(t, tt.op, tt.src))
		})
	}
}

func TestGenerateRecordsPlaceAndFunction(t *testing.T) {
	src := header + "type S struct{}\n\nfunc (s *S) Keep() {\n\tg()\n}\n\nfunc Skip() {\n\tg()\n}\n"
	ms, err := Generate("p.go", []byte(src), nil, regexp.MustCompile(`^S\.Keep$`))
	require.NoError(t, err)
	require.Len(t, ms, 1)
	require.Equal(t, Mutant{
		File: "p.go", Line: 6, Op: OpRemoveCall, Func: "S.Keep", Original: "g()", Change: "g() → (removed)",
		Src: []byte(strings.Replace(src, "\tg()\n}\n\nfunc Skip", "\t\n}\n\nfunc Skip", 1)),
	}, ms[0])
}

func TestSampleIsSeededAndOrdered(t *testing.T) {
	var ms []Mutant
	for i := range 50 {
		ms = append(ms, Mutant{Line: i})
	}
	a, b, c := Sample(ms, 10, 7), Sample(ms, 10, 7), Sample(ms, 10, 8)
	require.Len(t, a, 10)
	require.Equal(t, a, b)
	require.NotEqual(t, a, c)
	for i := 1; i < len(a); i++ {
		require.Less(t, a[i-1].Line, a[i].Line)
	}
	require.Len(t, Sample(ms, 0, 1), 50)
}

// TestRunnerOutcomes runs real `go test -overlay` runs on testdata/tiny:
// a mutant its tests catch is killed, one in untested code survives, one
// that loops forever is timed out, one that does not compile is a build
// failure, and the package's file on disk is never changed.
func TestRunnerOutcomes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test on a package")
	}
	mod, err := filepath.Abs(filepath.Join("testdata", "tiny"))
	require.NoError(t, err)
	src, err := os.ReadFile(filepath.Join(mod, "tiny.go"))
	require.NoError(t, err)
	ms, err := Generate("tiny.go", src, nil, nil)
	require.NoError(t, err)
	find := func(fn, op, change string) Mutant {
		for _, m := range ms {
			if m.Func == fn && m.Op == op && strings.Contains(m.Change, change) {
				return m
			}
		}
		t.Fatalf("no %s mutant of %s changing %q", op, fn, change)
		return Mutant{}
	}
	r := &Runner{Go: "go", ModuleDir: mod, Timeout: 5 * time.Second, BuildBudget: 2 * time.Minute, TmpDir: t.TempDir()}
	cases := []struct {
		name string
		src  []byte
		want Outcome
	}{
		{"early return removed", find("Clamp", OpRemoveEarlyReturn, "return 0").Src, Killed},
		{"untested code", find("Untested", OpNegateIf, "ok").Src, Survived},
		{"increment removed", find("Sum", OpRemoveAssign, "i++").Src, TimedOut},
		{"does not compile", bytes.Replace(src, []byte("return v\n"), []byte("return \"v\"\n"), 1), BuildFailed},
	}
	for i, c := range cases {
		got, out, err := r.Run(context.Background(), i, "./", "tiny.go", c.src, "")
		require.NoError(t, err)
		require.Equal(t, c.want, got, "%s: go test said:\n%s", c.name, out)
	}
	got, out, err := r.Run(context.Background(), 99, "./", "", nil, "")
	require.NoError(t, err)
	require.Equal(t, Survived, got, "unmutated: %s", out)

	after, err := os.ReadFile(filepath.Join(mod, "tiny.go"))
	require.NoError(t, err)
	require.Equal(t, src, after)
}

func TestReportScoresAndListsSurvivors(t *testing.T) {
	tg := &target{spec: "./p"}
	mk := func(line int, o Outcome) result {
		return result{job: job{t: tg, m: Mutant{File: "p/a.go", Line: line, Op: OpZeroField, Func: "F", Original: "R{DryRun: d}", Change: "DryRun: d → (removed)"}}, outcome: o}
	}
	results := []result{mk(9, Survived), mk(3, Killed), mk(4, TimedOut), mk(5, BuildFailed), mk(2, Survived)}
	var b strings.Builder
	score := report(&b, []*target{tg}, map[*target]int{tg: 7}, results, &options{sample: 5, seed: 2})
	require.InDelta(t, 50.0, score, 0.001) // 2 killed (one by timeout) of 4; the build failure is not counted
	require.Equal(t, "./p: 5 of 7 mutants tested: killed 2 (timed out 1), survived 2, build failed 1 (not counted); score 50.0%\n"+
		"SURVIVED p/a.go:2\tzero-field\tF\tDryRun: d → (removed)\n\tR{DryRun: d}\n"+
		"SURVIVED p/a.go:9\tzero-field\tF\tDryRun: d → (removed)\n\tR{DryRun: d}\n"+
		"stmtmutate: 5 mutants (sample 5 per target, seed 2): killed 2 (timed out 1), survived 2, build failed 1 (not counted); score 50.0%\n",
		b.String())
}
