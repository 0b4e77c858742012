package workerapp_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/strictcycle/strictcycle/activities"
	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/worker/workerapp"
)

// TestWorkerSecretsMaskedInReplay: the worker's activities, built from its
// configuration, run the replay with an explicit environment (the worker's
// REDIS_URL, REDIS_PASSWORD and TEMPORAL_API_KEY are not in it), and mask
// the configured secrets (the Redis password, the API key, the TLS key file
// whole and line by line) in what the replay prints, so none reaches the
// activity result, which is workflow history.
func TestWorkerSecretsMaskedInReplay(t *testing.T) {
	const (
		pw     = "wk-Redis-pw-6612"
		apiKey = "wk-api-key-0099-abcdef"
	)
	_, _, keyFile := writePKI(t)
	keyPEM, err := os.ReadFile(keyFile)
	require.NoError(t, err)
	keyLine := strings.Split(string(keyPEM), "\n")[1]
	require.GreaterOrEqual(t, len(keyLine), 16)

	cfg := config.Default()
	cfg.Redis.URL = "redis://default:" + pw + "@127.0.0.1:1/0"
	cfg.Temporal.APIKey = apiKey
	cfg.Temporal.TLSKey = keyFile
	t.Setenv("REDIS_URL", cfg.Redis.URL)
	t.Setenv("REDIS_PASSWORD", pw)
	t.Setenv("TEMPORAL_API_KEY", apiKey)
	t.Setenv("TEMPORAL_TLS_KEY", keyFile)

	root := t.TempDir()
	// A replay that learned the secrets some other way prints them.
	leak := "pw " + pw + "\nurl " + cfg.Redis.URL + "\nkey " + apiKey + "\none line " + keyLine + "\n" + string(keyPEM)
	require.NoError(t, os.WriteFile(filepath.Join(root, "leak.txt"), []byte(leak), 0o600))
	sh, err := exec.LookPath("sh")
	require.NoError(t, err)
	contract := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(contract, []byte(`name: secrets
replay:
  check: replay
  argv: ["`+sh+`", "-c", "env; cat leak.txt; echo '{\"status\": \"pass\"}' > replay.json"]
  artifact: replay.json
checks:
  - name: replay
    severity: critical
    kind: files_present
    files: [leak.txt]
`), 0o644))

	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = rdb.Close() })
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(workerapp.NewActivities(cfg, rdb))
	v, err := env.ExecuteActivity(activities.RunReplayName, &activities.RunReplayInput{
		Target: activities.Target{Root: root, Contract: contract}, RunID: "r"})
	require.NoError(t, err)
	var res activities.RunReplayResult
	require.NoError(t, v.Get(&res))
	require.Equal(t, 0, res.ExitCode)
	require.Equal(t, "pass", string(res.Status))
	require.Contains(t, res.OutputTail, "pw [redacted]\nurl [redacted]\nkey [redacted]\none line [redacted]\n")
	for _, name := range []string{"REDIS_URL=", "REDIS_PASSWORD=", "TEMPORAL_API_KEY=", "TEMPORAL_TLS_KEY="} {
		require.NotContains(t, res.OutputTail, name)
	}
	b, err := json.Marshal(res)
	require.NoError(t, err)
	for _, sec := range []string{pw, apiKey, keyLine, keyFile} {
		require.NotContains(t, string(b), sec)
	}
}

func TestSecretsFromConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(*config.Config)
		in   string
		want string
	}{
		{"userinfo password", func(c *config.Config) { c.Redis.URL = "redis://u:p%40ss@h:6379/0" }, "x p@ss y", "x [redacted] y"},
		{"query password", func(c *config.Config) { c.Redis.URL = "redis://h:6379/0?password=qpw1" }, "qpw1", "[redacted]"},
		{"REDIS_PASSWORD", func(c *config.Config) { c.Redis.Password = "rp-22" }, "rp-22", "[redacted]"},
		{"API key", func(c *config.Config) { c.Temporal.APIKey = "ak-33" }, "ak-33", "[redacted]"},
		{"no secrets", func(c *config.Config) { c.Redis.URL = "redis://h:6379/0" }, "redis://h:6379/0", "redis://h:6379/0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			tt.cfg(&cfg)
			require.Equal(t, tt.want, workerapp.Secrets(cfg).String(tt.in))
		})
	}
}
