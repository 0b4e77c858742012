package workerapp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/strictcycle/strictcycle/config"
)

// DialOption adjusts the client options built by Dial.
type DialOption func(*client.Options)

// WithMetricsHandler sends the SDK's metrics (and those of every worker
// on the client) to h.
func WithMetricsHandler(h client.MetricsHandler) DialOption {
	return func(o *client.Options) { o.MetricsHandler = h }
}

// ClientOptions builds the SDK client options from the standard TEMPORAL_*
// settings: address, namespace, TLS from files, API key.
func ClientOptions(cfg config.Config, logger *zap.Logger) (client.Options, error) {
	t := cfg.Temporal
	opts := client.Options{
		HostPort:  t.Address,
		Namespace: t.Namespace,
		Logger:    NewSDKLogger(logger.Named("sdk")),
	}
	// An API key is only sent over TLS (Temporal Cloud requires it).
	if t.TLS || t.TLSCert != "" || t.TLSCA != "" || t.TLSServerName != "" || t.APIKey != "" {
		tc, err := temporalTLS(t)
		if err != nil {
			return client.Options{}, err
		}
		opts.ConnectionOptions.TLS = tc
	}
	if t.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(t.APIKey)
	}
	return opts, nil
}

func temporalTLS(t config.Temporal) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.TLSServerName}
	if t.TLSCA != "" {
		pool, err := loadCA(t.TLSCA)
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

func loadCA(path string) (*x509.CertPool, error) {
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

// Dial connects to Temporal with ClientOptions; the SDK checks the server
// before returning.
func Dial(ctx context.Context, cfg config.Config, logger *zap.Logger, opts ...DialOption) (client.Client, error) {
	co, err := ClientOptions(cfg, logger)
	if err != nil {
		return nil, err
	}
	for _, o := range opts {
		o(&co)
	}
	c, err := client.DialContext(ctx, co)
	if err != nil {
		return nil, fmt.Errorf("dial temporal %s namespace %q: %w", cfg.Temporal.Address, cfg.Temporal.Namespace, err)
	}
	return c, nil
}

// NewRedis builds a go-redis client from REDIS_URL, REDIS_PASSWORD (which
// overrides the URL's), REDIS_TLS / rediss:// and REDIS_TLS_CA. It does not
// connect. No error carries the URL's password.
func NewRedis(cfg config.Config) (*redis.Client, error) {
	r := cfg.Redis
	opt, err := redis.ParseURL(r.URL)
	if err != nil {
		return nil, fmt.Errorf("parse REDIS_URL %s: %w", RedactURL(r.URL), scrub(err, r.URL))
	}
	if r.Password != "" {
		opt.Password = r.Password
	}
	if r.DialTimeout > 0 {
		opt.DialTimeout = r.DialTimeout
	}
	if r.TLS || r.TLSCA != "" {
		if opt.TLSConfig == nil {
			host, _, _ := net.SplitHostPort(opt.Addr)
			opt.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}
		}
		if r.TLSCA != "" {
			pool, err := loadCA(r.TLSCA)
			if err != nil {
				return nil, err
			}
			opt.TLSConfig.RootCAs = pool
		}
	}
	return redis.NewClient(opt), nil
}

// RedactURL returns raw with any password (userinfo or a "password" query
// parameter) replaced by "xxxxx", safe to log. An unparsable URL is not
// echoed at all.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable url)"
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// scrub rewrites err's message so that it carries neither the URL nor its
// password (url.Parse errors quote the whole URL).
func scrub(err error, raw string) error {
	msg := err.Error()
	if raw != "" {
		msg = strings.ReplaceAll(msg, raw, "(url)")
	}
	if u, perr := url.Parse(raw); perr == nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	} else if at := strings.LastIndex(raw, "@"); at > 0 {
		// Unparsable: hide whatever stands between the scheme and the @.
		userinfo := raw[:at]
		if i := strings.Index(raw, "//"); i >= 0 && i+2 <= at {
			userinfo = raw[i+2 : at]
		}
		if userinfo != "" {
			msg = strings.ReplaceAll(msg, userinfo, "xxxxx")
		}
	}
	return errors.New(msg)
}

// Redacted returns cfg with every secret hidden, for --check-config and
// logs.
func Redacted(cfg config.Config) config.Config {
	hide := func(s string) string {
		if s == "" {
			return ""
		}
		return "(redacted)"
	}
	cfg.Temporal.APIKey = hide(cfg.Temporal.APIKey)
	cfg.Temporal.TLSKey = hide(cfg.Temporal.TLSKey)
	cfg.Redis.Password = hide(cfg.Redis.Password)
	cfg.Redis.URL = RedactURL(cfg.Redis.URL)
	return cfg
}
