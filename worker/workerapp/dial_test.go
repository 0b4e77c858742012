package workerapp_test

import (
	"crypto/tls"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/worker/workerapp"
)

func TestRedactURL(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"},
		{"redis://:s3cret@redis:6379/0", "redis://:xxxxx@redis:6379/0"},
		{"rediss://user:s3cret@redis:6380", "rediss://user:xxxxx@redis:6380"},
		{"redis://redis:6379/0?password=s3cret", "redis://redis:6379/0?password=xxxxx"},
		{"redis://:s3 cret@red is:6379", "(unparsable url)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got := workerapp.RedactURL(tt.in)
			require.Equal(t, tt.want, got)
			require.NotContains(t, got, "s3cret")
		})
	}
}

func TestNewRedis(t *testing.T) {
	cfg := config.Default()
	cfg.Redis.URL = "redis://:fromurl@127.0.0.1:6390/2"
	rdb, err := workerapp.NewRedis(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = rdb.Close() })
	require.Equal(t, "fromurl", rdb.Options().Password)
	require.Equal(t, 2, rdb.Options().DB)
	require.Equal(t, cfg.Redis.DialTimeout, rdb.Options().DialTimeout)
	require.Nil(t, rdb.Options().TLSConfig)

	cfg.Redis.Password = "override"
	cfg.Redis.TLS = true
	rdb2, err := workerapp.NewRedis(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = rdb2.Close() })
	require.Equal(t, "override", rdb2.Options().Password)
	require.Equal(t, "127.0.0.1", rdb2.Options().TLSConfig.ServerName)
	require.GreaterOrEqual(t, rdb2.Options().TLSConfig.MinVersion, uint16(tls.VersionTLS12))

	cfg.Redis.URL = "redis://:s3cret@bad host:6379"
	_, err = workerapp.NewRedis(cfg)
	require.ErrorContains(t, err, "parse REDIS_URL")
	require.NotContains(t, err.Error(), "s3cret")

	cfg.Redis.URL = "redis://127.0.0.1:6379"
	cfg.Redis.TLSCA = "/nonexistent/ca.pem"
	_, err = workerapp.NewRedis(cfg)
	require.ErrorContains(t, err, `read ca file "/nonexistent/ca.pem"`)
}

func TestClientOptions(t *testing.T) {
	cfg := config.Default()
	cfg.Temporal.Address = "temporal:7233"
	cfg.Temporal.Namespace = "prod"
	opts, err := workerapp.ClientOptions(cfg, zapNop())
	require.NoError(t, err)
	require.Equal(t, "temporal:7233", opts.HostPort)
	require.Equal(t, "prod", opts.Namespace)
	require.Nil(t, opts.ConnectionOptions.TLS)
	require.Nil(t, opts.Credentials)

	// An API key implies TLS.
	cfg.Temporal.APIKey = "key"
	cfg.Temporal.TLSServerName = "ns.tmprl.cloud"
	opts, err = workerapp.ClientOptions(cfg, zapNop())
	require.NoError(t, err)
	require.NotNil(t, opts.Credentials)
	require.Equal(t, "ns.tmprl.cloud", opts.ConnectionOptions.TLS.ServerName)

	cfg.Temporal.TLSCert, cfg.Temporal.TLSKey = "/nonexistent/c.pem", "/nonexistent/k.pem"
	_, err = workerapp.ClientOptions(cfg, zapNop())
	require.ErrorContains(t, err, `load temporal client certificate "/nonexistent/c.pem"`)
}

func TestRedacted(t *testing.T) {
	cfg := config.Default()
	cfg.Temporal.APIKey = "apikey-secret"
	cfg.Temporal.TLSKey = "/keys/secret.pem"
	cfg.Redis.URL = "redis://:pw-secret@redis:6379/0"
	cfg.Redis.Password = "pw2-secret"
	r := workerapp.Redacted(cfg)
	require.Equal(t, "(redacted)", r.Temporal.APIKey)
	require.Equal(t, "(redacted)", r.Temporal.TLSKey)
	require.Equal(t, "(redacted)", r.Redis.Password)
	require.Equal(t, "redis://:xxxxx@redis:6379/0", r.Redis.URL)
	require.Equal(t, cfg.Temporal.Address, r.Temporal.Address)
	require.Empty(t, workerapp.Redacted(config.Default()).Temporal.APIKey)
}
