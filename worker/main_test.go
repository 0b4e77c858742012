package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
)

func TestCheckConfig(t *testing.T) {
	env := map[string]string{
		"REDIS_URL":        "redis://:url-secret@redis:6379/0",
		"REDIS_PASSWORD":   "pw-secret",
		"TEMPORAL_API_KEY": "key-secret",
		"TEMPORAL_ADDRESS": "temporal:7233",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), []string{"--check-config"}, lookup, &out))
	require.NotContains(t, out.String(), "secret")

	var cfg config.Config
	require.NoError(t, json.Unmarshal(out.Bytes(), &cfg))
	require.Equal(t, "temporal:7233", cfg.Temporal.Address)
	require.Equal(t, "redis://:xxxxx@redis:6379/0", cfg.Redis.URL)
	require.Equal(t, "(redacted)", cfg.Temporal.APIKey)
}

func TestCheckConfigInvalid(t *testing.T) {
	env := map[string]string{"STRICTCYCLE_DEV_PORT": "0", "STRICTCYCLE_LOG_LEVEL": "loud"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	err := run(t.Context(), []string{"--check-config"}, lookup, &bytes.Buffer{})
	require.ErrorContains(t, err, "load config: ")
	require.ErrorContains(t, err, "STRICTCYCLE_DEV_PORT: 0 is not a port")
	require.ErrorContains(t, err, "STRICTCYCLE_LOG_LEVEL")
}

func TestUnknownFlag(t *testing.T) {
	err := run(t.Context(), []string{"--nope"}, func(string) (string, bool) { return "", false }, &bytes.Buffer{})
	require.ErrorContains(t, err, "flag provided but not defined: -nope")
}

// TestPanicIsAnError: a panic while the worker starts is an error (exit 1
// with a message), not Go's crash with exit 2.
func TestPanicIsAnError(t *testing.T) {
	err := run(t.Context(), []string{"--check-config"}, func(string) (string, bool) { panic("lookup exploded") }, &bytes.Buffer{})
	require.ErrorContains(t, err, "internal error (panic): lookup exploded")
}
