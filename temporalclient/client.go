// Package temporalclient dials Temporal from the standard TEMPORAL_*
// settings and registers strictcycle's search attributes through the
// operator API. The worker, the operator CLI and the dev tools share it; it
// links no Temporal server.
package temporalclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"github.com/strictcycle/strictcycle/config"
)

// Option adjusts the client options built by ClientOptions.
type Option func(*client.Options)

// WithLogger sends the SDK's own log lines to l (default: dropped).
func WithLogger(l log.Logger) Option {
	return func(o *client.Options) { o.Logger = l }
}

// WithMetricsHandler sends the SDK's metrics (and those of every worker on
// the client) to h.
func WithMetricsHandler(h client.MetricsHandler) Option {
	return func(o *client.Options) { o.MetricsHandler = h }
}

// ClientOptions builds the SDK client options from the standard TEMPORAL_*
// settings: address, namespace, TLS from files, API key. Without
// WithLogger the SDK's log lines are dropped: the SDK's default logger
// would print them on stdout, where the CLI prints its results.
func ClientOptions(cfg config.Config, opts ...Option) (client.Options, error) {
	t := cfg.Temporal
	co := client.Options{
		HostPort:  t.Address,
		Namespace: t.Namespace,
		Logger:    nopLogger{},
	}
	// An API key is only sent over TLS (Temporal Cloud requires it).
	if t.TLS || t.TLSCert != "" || t.TLSCA != "" || t.TLSServerName != "" || t.APIKey != "" {
		tc, err := tlsConfig(t)
		if err != nil {
			return client.Options{}, err
		}
		co.ConnectionOptions.TLS = tc
	}
	if t.APIKey != "" {
		co.Credentials = client.NewAPIKeyStaticCredentials(t.APIKey)
	}
	for _, o := range opts {
		o(&co)
	}
	return co, nil
}

// Dial connects to Temporal with ClientOptions; the SDK checks the server
// before returning.
func Dial(ctx context.Context, cfg config.Config, opts ...Option) (client.Client, error) {
	co, err := ClientOptions(cfg, opts...)
	if err != nil {
		return nil, err
	}
	c, err := client.DialContext(ctx, co)
	if err != nil {
		return nil, fmt.Errorf("dial temporal %s namespace %q: %w", cfg.Temporal.Address, cfg.Temporal.Namespace, err)
	}
	return c, nil
}

func tlsConfig(t config.Temporal) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.TLSServerName}
	if t.TLSCA != "" {
		pool, err := LoadCA(t.TLSCA)
		if err != nil {
			return nil, err
		}
		tc.RootCAs = pool
	}
	if t.TLSCert != "" || t.TLSKey != "" {
		cert, err := tls.LoadX509KeyPair(t.TLSCert, t.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("load temporal client certificate %q: %w", t.TLSCert, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// LoadCA reads a PEM bundle into a certificate pool.
func LoadCA(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read ca file %q: %w", path, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("parse ca file %q: no PEM certificate", path)
	}
	return pool, nil
}

// nopLogger drops the SDK's log lines.
type nopLogger struct{}

func (nopLogger) Debug(string, ...any) {}
func (nopLogger) Info(string, ...any)  {}
func (nopLogger) Warn(string, ...any)  {}
func (nopLogger) Error(string, ...any) {}
