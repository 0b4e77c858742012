package gates

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Reason templates render a report's values as the original's f-strings
// do: Python's str() of the value (None, True, 1.0, 1e-05), the
// dict.get default only when the key is absent, an upper-cased status,
// a list joined by "," (or the default when empty), the age with the
// printf verb, {rc} from the command, else the pre-step, else "?".
func TestReasonTemplates(t *testing.T) {
	const report = `{"status":"pass","nul":null,"flag":true,"int":3,"float":1.0,"tiny":0.00001,"big":1e16,"cats":["a",2,1.5],"none":[],"low":"warn","nest":{"k":"v"},"blanks":["b"," ",""," a"],"onlyblank":[" "],"padded":" MiXed ","blank":" "}`
	var obj map[string]any
	v, err := decodeExact([]byte(report), nil)
	require.NoError(t, err)
	obj = v.(map[string]any)
	age := 12.345
	rc, pre := 2, 7
	tests := []struct {
		tmpl string
		r    Result
		want string
	}{
		{"s={status} n={nul} f={flag} i={int} x={float} t={tiny} b={big}", Result{}, "s=pass n=None f=True i=3 x=1.0 t=1e-05 b=1e+16"},
		{"{absent} {absent|fail} {nul|fail} {nest.k}", Result{}, "None fail None v"},
		{"{low:upper} {absent:upper} {absent:upper|not yet run} {nul:upper|x}", Result{}, "WARN  not yet run x"},
		{"{cats:join} [{none:join}] {none:join|n/a} {absent:join|n/a}", Result{}, "a,2,1.5 [] n/a n/a"},
		{"{blanks:join} {blanks:sorted} {onlyblank:join|n/a} {onlyblank:sorted|n/a} {low:sorted|n/a}", Result{}, "b, a a,b n/a n/a n/a"},
		{"{padded:lower} {nul:lower} [{absent:lower}] {absent:lower|unknown} {blank:lower|unknown} {flag:lower}", Result{}, "mixed none [] unknown unknown true"},
		{"{age_min:%.2f} {age_min:%.0f} {age_min:%.1f}", Result{age: &age}, "12.35 12 12.3"},
		{"age={age_min:%.2f}", Result{}, "age=?"},
		{"rc={rc}", Result{ExitCode: &rc, preRC: &pre}, "rc=2"},
		{"rc={rc}", Result{preRC: &pre}, "rc=7"},
		{"rc={rc}", Result{}, "rc=?"},
		{"no placeholders", Result{}, "no placeholders"},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl, func(t *testing.T) {
			r := tt.r
			r.obj = obj
			assert.Equal(t, tt.want, r.render(tt.tmpl))
		})
	}
	// A huge field is cut: the reason lives in history.
	huge := Result{obj: map[string]any{"status": strings.Repeat("é", 3<<20)}}
	got := huge.render("status={status}")
	assert.Equal(t, "status="+strings.Repeat("é", maxFieldChars)+"…", got)
	// With no report read, fields are absent.
	var r Result
	assert.Equal(t, "status=fail mode=None", r.render("status={status|fail} mode={mode}"))
}

// {output:N} is the original's msg[:N]: stdout + "\n" + stderr, stripped
// of Python's whitespace, cut to N code points; ? when no command ran.
func TestReasonOutput(t *testing.T) {
	assert.Equal(t, "a\nb", pyOutput("  a", "b\n\x1c"))
	assert.Equal(t, "", pyOutput("", ""))
	assert.Equal(t, "x", pyOutput("", "x"))
	assert.Equal(t, "héé", firstChars("hééllo", 3))
	assert.Equal(t, "hé", firstChars("hé", 200))
	r := Result{ran: true, output: pyOutput("E501 line too long\n", "warning: é")}
	assert.Equal(t, "failed: E501 line too long\n\nwarning: é", r.render("failed: {output:200}"))
	assert.Equal(t, "failed: E501", r.render("failed: {output:4}"))
	assert.Equal(t, "failed: ?", (&Result{}).render("failed: {output:200}"))
}
