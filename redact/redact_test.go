package redact

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestString(t *testing.T) {
	r := New("pa:ss/w0rd", "", "tk_123456", "tk_123456_long")
	tests := []struct{ in, want string }{
		{"nothing here", "nothing here"},
		{"url=redis://default:pa:ss/w0rd@h:6379", "url=redis://default:[redacted]@h:6379"},
		{"encoded redis://default:pa%3Ass%2Fw0rd@h", "encoded redis://default:[redacted]@h"},
		{"path pa:ss%2Fw0rd", "path [redacted]"},
		{"key tk_123456_long and tk_123456", "key [redacted] and [redacted]"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, r.String(tt.in))
	}
	var none *Redactor
	require.Equal(t, "x", none.String("x"))
	require.Zero(t, none.MaxLen())
	require.Equal(t, len("tk_123456_long"), r.MaxLen())
	require.Equal(t, 6, New("", "abc").With("abc", "defghi").MaxLen())
}

// TestTailCut: a secret cut by the tail window leaves no part of itself;
// whole occurrences are masked; the result is at most max bytes.
func TestTailCut(t *testing.T) {
	secret := "s3cret-value-0123"
	r := New(secret)
	for k := 1; k < len(secret); k++ {
		raw := secret[len(secret)-k:] + strings.Repeat("x", 30) + " " + secret
		got := r.Tail([]byte(raw), true, 100)
		require.Equal(t, strings.Repeat("x", 30)+" [redacted]", got, "k=%d", k)
	}
	// Not cut: the start is the start of the output and is kept.
	require.Equal(t, "0123 ok", r.Tail([]byte("0123 ok"), false, 100))
	// Cut to max after masking.
	got := r.Tail([]byte(strings.Repeat("y", 50)+secret), false, 20)
	require.Equal(t, strings.Repeat("y", 10)+"[redacted]", got)
	// A cut rune is dropped.
	require.Equal(t, "b", New().Tail([]byte("é"+"b"), false, 2))
}

func TestLinesAndFromEnv(t *testing.T) {
	pem := "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nshort\n-----END PRIVATE KEY-----\n"
	require.Equal(t, []string{"MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"}, Lines(pem, 16))
	t.Setenv("REDACT_TEST_A", "va")
	t.Setenv("REDACT_TEST_EMPTY", "")
	require.Equal(t, []string{"va"}, FromEnv([]string{"REDACT_TEST_A", "REDACT_TEST_EMPTY", "REDACT_TEST_UNSET"}))
}
