package workerapp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/temporalclient"
)

// ClientOptions is temporalclient.ClientOptions with the SDK's log lines
// sent to logger (named "sdk").
func ClientOptions(cfg config.Config, logger *zap.Logger, opts ...temporalclient.Option) (client.Options, error) {
	return temporalclient.ClientOptions(cfg, append([]temporalclient.Option{temporalclient.WithLogger(NewSDKLogger(logger.Named("sdk")))}, opts...)...)
}

// Dial is temporalclient.Dial with the SDK's log lines sent to logger.
func Dial(ctx context.Context, cfg config.Config, logger *zap.Logger, opts ...temporalclient.Option) (client.Client, error) {
	return temporalclient.Dial(ctx, cfg, append([]temporalclient.Option{temporalclient.WithLogger(NewSDKLogger(logger.Named("sdk")))}, opts...)...)
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
			pool, err := temporalclient.LoadCA(r.TLSCA)
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
