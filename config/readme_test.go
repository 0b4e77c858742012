package config

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every environment variable FromEnv reads is in the README's table, with
// its default.
func TestREADMEListsEveryVariable(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	readme := string(b)
	for _, v := range Vars() {
		row := "| `" + v.Name + "` |"
		require.Contains(t, readme, row, "README table misses %s", v.Name)
		if v.Default != "" {
			line := readme[strings.Index(readme, row):]
			line = line[:strings.Index(line, "\n")]
			require.Contains(t, line, "`"+v.Default+"`", "README default of %s", v.Name)
		}
	}
}

func TestLoadFromEnvAndValidate(t *testing.T) {
	env := map[string]string{
		"STRICTCYCLE_ENVIRONMENT": "prod",
		"REDIS_URL":               "redis://:s3cret@redis:6379/0",
		"STRICTCYCLE_DEV_PORT":    "7300",
		"REDIS_DIAL_TIMEOUT":      "5s",
	}
	c, err := Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	require.Equal(t, "prod", c.Environment)
	require.Equal(t, 7300, c.Temporal.DevPort)
	require.Equal(t, "5s", c.Redis.DialTimeout.String())

	bad := map[string]string{
		"STRICTCYCLE_ENVIRONMENT": "Prod Env",
		"REDIS_URL":               "http://:s3cret@x",
		"STRICTCYCLE_LOG_LEVEL":   "loud",
		"TEMPORAL_TLS_CERT":       "/c.pem",
	}
	_, err = Load(func(k string) (string, bool) { v, ok := bad[k]; return v, ok })
	require.EqualError(t, err, `STRICTCYCLE_ENVIRONMENT: environment name "Prod Env" must match ^[a-z0-9][a-z0-9_]{0,62}$ (lower-case letters, digits and underscores, at most 63)
TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: set both or neither
REDIS_URL: must be redis:// or rediss:// (value not shown)
STRICTCYCLE_LOG_LEVEL: level "loud" is not debug|info|warn|error`)
	require.NotContains(t, err.Error(), "s3cret")

	_, err = Load(func(k string) (string, bool) {
		if k == "STRICTCYCLE_DEV_PORT" {
			return "x", true
		}
		return "", false
	})
	require.EqualError(t, err, `env STRICTCYCLE_DEV_PORT: parse int "x": strconv.Atoi: parsing "x": invalid syntax`)
}
