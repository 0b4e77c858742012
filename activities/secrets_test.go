package activities

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/redact"
)

const (
	secretRedisPassword = "act-redis-pw-7781"
	secretAPIKey        = "act-temporal-key-5521"
	secretToken         = "act-hbot-token-3390"
)

// setWorkerSecrets puts secrets in this process's environment as a worker
// would have them, plus a variable no contract names.
func setWorkerSecrets(t *testing.T) *redact.Redactor {
	t.Setenv("REDIS_URL", "redis://default:"+secretRedisPassword+"@127.0.0.1:6379/0")
	t.Setenv("REDIS_PASSWORD", secretRedisPassword)
	t.Setenv("TEMPORAL_API_KEY", secretAPIKey)
	t.Setenv("HBOT_TOKEN", secretToken)
	t.Setenv("HBOT_ENV", "paper")
	t.Setenv("UNLISTED", "unlisted-value")
	return redact.New(secretRedisPassword, secretAPIKey)
}

// envNames lists the variable names of `env` output lines.
func envNames(out string) []string {
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if k, _, ok := strings.Cut(l, "="); ok && !strings.Contains(k, " ") {
			names = append(names, k)
		}
	}
	return names
}

// allowedChildVars are the names a child may see: the base set, what the
// tests' contracts name, and what sh itself sets.
var allowedChildVars = []string{"PATH", "HOME", "LANG", "LC_ALL", "TZ", "HBOT_ENV", "HBOT_TOKEN", "REPLAY_ENV_CHECK", "PWD", "SHLVL", "_", "OLDPWD"}

// TestRunReplaySecrets: the replay command that prints its environment
// sees none of the worker's secrets, and neither its output tail nor the
// status it wrote into its artifact carries a secret into the result.
func TestRunReplaySecrets(t *testing.T) {
	red := setWorkerSecrets(t)
	sh, err := exec.LookPath("sh")
	require.NoError(t, err)
	contract := loadTestContract(t, func(y string) string {
		script := `mkdir -p reports/replay_regression; printf '{"status":"%s"}' "$HBOT_TOKEN" > reports/replay_regression/latest.json; env; echo "seen url=$REDIS_URL key=$TEMPORAL_API_KEY pw=$REDIS_PASSWORD"`
		b, _ := json.Marshal(script)
		i := strings.Index(y, "  argv: [")
		j := i + strings.Index(y[i:], "\n")
		return y[:i] + `  argv: ["` + sh + `", "-c", ` + string(b) + `]
  pass_env: [HBOT_ENV]
  secret_env: [HBOT_TOKEN]` + y[j:]
	})
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(New(Options{Secrets: red}))
	v, err := env.ExecuteActivity(RunReplayName, &RunReplayInput{Target: Target{Root: t.TempDir(), Contract: contract}, RunID: "r"})
	require.NoError(t, err)
	var res RunReplayResult
	require.NoError(t, v.Get(&res))
	require.Equal(t, 0, res.ExitCode)
	require.Equal(t, "[redacted]", res.Status, "the artifact's status held the secret_env value")
	require.Contains(t, res.OutputTail, "HBOT_ENV=paper\n")
	require.Contains(t, res.OutputTail, "HBOT_TOKEN=[redacted]\n")
	require.Contains(t, res.OutputTail, "REPLAY_ENV_CHECK=yes\n")
	require.Contains(t, res.OutputTail, "seen url= key= pw=\n")
	for _, n := range envNames(res.OutputTail) {
		require.Contains(t, allowedChildVars, n, "the replay received %s", n)
	}
	b, err := json.Marshal(res)
	require.NoError(t, err)
	for _, sec := range []string{secretRedisPassword, secretAPIKey, secretToken, "unlisted-value"} {
		require.NotContains(t, string(b), sec)
	}
}

// TestDriverSecrets: the compose and exec drivers built by the default
// factory run their command with an explicit environment, and the output
// tail in a failed restart's error is masked.
func TestDriverSecrets(t *testing.T) {
	red := setWorkerSecrets(t)
	sh, err := exec.LookPath("sh")
	require.NoError(t, err)
	script := `env; echo "seen pw=$REDIS_PASSWORD token=$HBOT_TOKEN ` + secretAPIKey + `"; exit 3`
	rec := config.Recovery{
		Exec:    config.ExecDriver{Restart: []string{sh, "-c", script}, ChildEnv: config.ChildEnv{SecretEnv: []string{"HBOT_TOKEN"}}},
		Compose: config.ComposeDriver{Command: []string{sh, "-c", script, "compose"}, ChildEnv: config.ChildEnv{PassEnv: []string{"HBOT_ENV"}}},
	}
	factory := New(Options{Secrets: red}).drivers
	for _, kind := range []string{config.DriverExec, config.DriverCompose} {
		t.Run(kind, func(t *testing.T) {
			rec := rec
			rec.Driver = kind
			d, err := factory(rec, config.Service{}, "risk-service")
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err = d.Restart(ctx, ServiceRef{Name: "risk-service", Root: t.TempDir()})
			require.Error(t, err)
			var ce *DriverConfigError
			require.False(t, errors.As(err, &ce), "a failed command is not a configuration error")
			msg := err.Error()
			require.Contains(t, msg, kind+` restart "risk-service": exit 3: `)
			for _, sec := range []string{secretRedisPassword, secretAPIKey, secretToken, "unlisted-value"} {
				require.NotContains(t, msg, sec)
			}
			require.True(t, strings.HasSuffix(msg, " [redacted]"), "the API key the script prints is masked: %q", msg)
			for _, n := range envNames(msg[strings.Index(msg, "exit 3: ")+len("exit 3: "):]) {
				require.Contains(t, allowedChildVars, n, "the %s driver's command received %s", kind, n)
			}
			if kind == config.DriverExec {
				require.Contains(t, msg, "HBOT_TOKEN=[redacted]\n")
				require.Contains(t, msg, "pw= token=[redacted]")
			} else {
				require.Contains(t, msg, "HBOT_ENV=paper\n")
				require.Contains(t, msg, "pw= token= [redacted]")
			}
		})
	}
}
