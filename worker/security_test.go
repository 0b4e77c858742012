package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCheckConfigRedactsEverySecret: --check-config prints the effective
// configuration without the Redis password (in the URL as userinfo or as a
// query parameter, or in REDIS_PASSWORD), the Temporal API key, or the
// client key path; the non-secret TLS paths stay visible.
func TestCheckConfigRedactsEverySecret(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		secrets []string
		visible []string
	}{
		{"userinfo and REDIS_PASSWORD", map[string]string{
			"REDIS_URL": "rediss://app:url-s3cret@redis.internal:6380/1", "REDIS_PASSWORD": "pw-s3cret",
			"REDIS_TLS_CA": "/etc/ssl/redis-ca.pem",
		}, []string{"url-s3cret", "pw-s3cret"}, []string{`"rediss://app:xxxxx@redis.internal:6380/1"`, "/etc/ssl/redis-ca.pem"}},
		{"password query parameter", map[string]string{"REDIS_URL": "redis://redis:6379/0?password=q-s3cret"},
			[]string{"q-s3cret"}, []string{"password=xxxxx"}},
		{"temporal api key and mTLS", map[string]string{
			"TEMPORAL_API_KEY": "apikey-s3cret", "TEMPORAL_TLS_CERT": "/keys/client.pem", "TEMPORAL_TLS_KEY": "/keys/s3cret-client-key.pem",
			"TEMPORAL_TLS_CA": "/keys/ca.pem",
		}, []string{"apikey-s3cret", "s3cret-client-key"}, []string{"/keys/client.pem", "/keys/ca.pem", `"(redacted)"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookup := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			var out bytes.Buffer
			require.NoError(t, run(t.Context(), []string{"--check-config"}, lookup, &out))
			for _, s := range tt.secrets {
				require.NotContains(t, out.String(), s)
			}
			for _, v := range tt.visible {
				require.Contains(t, out.String(), v)
			}
		})
	}
}

// TestCheckConfigInvalidURLHidesPassword: a REDIS_URL that fails
// validation is not echoed.
func TestCheckConfigInvalidURLHidesPassword(t *testing.T) {
	env := map[string]string{"REDIS_URL": "http://user:bad-s3cret@redis:6379"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	err := run(t.Context(), []string{"--check-config"}, lookup, &bytes.Buffer{})
	require.ErrorContains(t, err, "REDIS_URL: must be redis:// or rediss:// (value not shown)")
	require.NotContains(t, err.Error(), "bad-s3cret")
}
