package gates

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// stampRE is the name-stamp rule written as a regular expression (the
// engine's first implementation); nameStamp must agree with it.
var stampRE = regexp.MustCompile(`(?:^|[^0-9])([0-9]{8})(T[0-9]{6}Z?)?(?:[^0-9]|$)`)

func nameStampRE(base string) (time.Time, bool) {
	ms := stampRE.FindAllStringSubmatch(base, -1)
	for i := len(ms) - 1; i >= 0; i-- {
		day, clock := ms[i][1], ms[i][2]
		if clock != "" {
			if t, err := time.Parse("20060102T150405", day+clock[:7]); err == nil {
				return t.Add(time.Second - time.Nanosecond), true
			}
			continue
		}
		if t, err := time.Parse("20060102", day); err == nil {
			return t.Add(24*time.Hour - time.Nanosecond), true
		}
	}
	return time.Time{}, false
}

func TestNameStamp(t *testing.T) {
	sec := time.Second - time.Nanosecond
	day := 24*time.Hour - time.Nanosecond
	tests := []struct {
		name string
		want time.Time // zero: no stamp
	}{
		{"reconciliation_20260226T014022Z.json", time.Date(2026, 2, 26, 1, 40, 22, 0, time.UTC).Add(sec)},
		{"parity_20260226T014022.json", time.Date(2026, 2, 26, 1, 40, 22, 0, time.UTC).Add(sec)},
		{"integrity_20260226.json", time.Date(2026, 2, 26, 0, 0, 0, 0, time.UTC).Add(day)},
		{"20260226T235959Z", time.Date(2026, 2, 26, 23, 59, 59, 0, time.UTC).Add(sec)},
		{"x_20260226T01.json", time.Date(2026, 2, 26, 0, 0, 0, 0, time.UTC).Add(day)},
		{"x_20260226T0140221.json", time.Date(2026, 2, 26, 0, 0, 0, 0, time.UTC).Add(day)},
		{"x_20260230.json", time.Time{}},
		{"x_20261301T000000Z.json", time.Time{}},
		{"x_20260226T256000Z.json", time.Time{}},
		{"a_20260225_b_20260226.json", time.Date(2026, 2, 26, 0, 0, 0, 0, time.UTC).Add(day)},
		{"a_20260225_b_20269999.json", time.Date(2026, 2, 25, 0, 0, 0, 0, time.UTC).Add(day)},
		{"x_202602261.json", time.Time{}},
		{"latest.json", time.Time{}},
		{"x_1.json", time.Time{}},
		{"", time.Time{}},
	}
	for _, tt := range tests {
		got, ok := nameStamp(tt.name)
		assert.Equal(t, !tt.want.IsZero(), ok, tt.name)
		assert.True(t, tt.want.Equal(got), "%s: %s", tt.name, got)
		re, reOK := nameStampRE(tt.name)
		if tt.name != "a_20260225_b_20260226.json" || reOK {
			// The expression consumes the separator between two adjacent
			// stamps; the scanner sees both.
			assert.Equal(t, reOK, ok, tt.name)
			assert.True(t, re.Equal(got), tt.name)
		}
	}
}

func FuzzNameStamp(f *testing.F) {
	for _, s := range []string{"x_20260226T014022Z.json", "integrity_20260226.json", "20260230", "a20260226T0000001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := nameStamp(s)
		re, reOK := nameStampRE(s)
		if ok && reOK && !got.Equal(re) || !ok && reOK {
			t.Fatalf("%q: scanner %v %v, expression %v %v", s, got, ok, re, reOK)
		}
	})
}

func BenchmarkNameStamp(b *testing.B) {
	for b.Loop() {
		nameStamp("portfolio_risk_20260226T014843Z.json")
	}
}

// Every day from year 0 to 2400 stamps to the end of that day, as
// time.Date computes it.
func TestNameStampDays(t *testing.T) {
	for d := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() <= 2400; d = d.AddDate(0, 0, 1) {
		name := d.Format("x_20060102T150405Z")
		if d.Year() < 1000 {
			name = "x_" + d.Format("0102T150405Z")
			name = "x_" + fmt.Sprintf("%04d", d.Year()) + name[2:]
		}
		got, ok := nameStamp(name)
		if !ok || !got.Equal(d.Add(time.Second-time.Nanosecond)) {
			t.Fatalf("%s: got %s %v", name, got, ok)
		}
	}
}
