package procrun

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/redact"
)

// TestChildEnvironmentExplicit: a child that prints its environment sees
// the base variables, the passed ones and its env map, nothing else; a
// secret it prints is masked.
func TestChildEnvironmentExplicit(t *testing.T) {
	t.Setenv("REDIS_URL", "redis://:pw-in-url@127.0.0.1:6379")
	t.Setenv("TEMPORAL_API_KEY", "api-key-value")
	t.Setenv("PASSED", "yes")
	t.Setenv("LANG", "C.UTF-8")
	res, err := Run(context.Background(), Spec{Argv: []string{"env"}, PassEnv: []string{"PASSED", "NOT_SET"},
		Env: map[string]string{"B": "2", "A": "1"}, Redactor: redact.New("yes")})
	require.NoError(t, err)
	require.Equal(t, 0, res.ExitCode)
	want := []string{"PATH=" + os.Getenv("PATH")}
	if h, ok := os.LookupEnv("HOME"); ok {
		want = append(want, "HOME="+h)
	}
	want = append(want, "LANG=C.UTF-8")
	for _, n := range []string{"LC_ALL", "TZ"} {
		if v, ok := os.LookupEnv(n); ok {
			want = append(want, n+"="+v)
		}
	}
	want = append(want, "PASSED=[redacted]", "A=1", "B=2")
	require.Equal(t, want, strings.Split(strings.TrimSpace(res.Tail), "\n"))
}
