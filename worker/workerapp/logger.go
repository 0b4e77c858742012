package workerapp

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// NewLogger builds the process logger: JSON to stderr at level (debug,
// info, warn, error), ISO-8601 timestamps.
func NewLogger(level string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("parse log level %q: %w", level, err)
	}
	cfg := zap.NewProductionConfig()
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	// Sampling would drop repeated SDK warnings that matter when
	// debugging a stuck worker.
	cfg.Sampling = nil
	l, err := cfg.Build()
	if err != nil {
		return nil, fmt.Errorf("build logger: %w", err)
	}
	return l, nil
}

// SDKLogger adapts zap to the Temporal SDK's log.Logger: keyvals become
// fields, With adds fields, WithCallerSkip keeps callers accurate.
type SDKLogger struct {
	z *zap.Logger
}

var (
	_ log.Logger          = SDKLogger{}
	_ log.WithLogger      = SDKLogger{}
	_ log.WithSkipCallers = SDKLogger{}
)

// NewSDKLogger returns the adapter over z.
func NewSDKLogger(z *zap.Logger) SDKLogger {
	// One frame for the adapter's own method.
	return SDKLogger{z: z.WithOptions(zap.AddCallerSkip(1))}
}

// Debug implements log.Logger.
func (l SDKLogger) Debug(msg string, keyvals ...any) { l.z.Debug(msg, fields(keyvals)...) }

// Info implements log.Logger.
func (l SDKLogger) Info(msg string, keyvals ...any) { l.z.Info(msg, fields(keyvals)...) }

// Warn implements log.Logger.
func (l SDKLogger) Warn(msg string, keyvals ...any) { l.z.Warn(msg, fields(keyvals)...) }

// Error implements log.Logger.
func (l SDKLogger) Error(msg string, keyvals ...any) { l.z.Error(msg, fields(keyvals)...) }

// With implements log.WithLogger.
func (l SDKLogger) With(keyvals ...any) log.Logger {
	return SDKLogger{z: l.z.With(fields(keyvals)...)}
}

// WithCallerSkip implements log.WithSkipCallers.
func (l SDKLogger) WithCallerSkip(skip int) log.Logger {
	return SDKLogger{z: l.z.WithOptions(zap.AddCallerSkip(skip))}
}

// fields turns alternating keys and values into zap fields. A non-string
// key is formatted; a trailing key without value is kept under
// "!BADKEY" as go-kit and slog do.
func fields(keyvals []any) []zap.Field {
	if len(keyvals) == 0 {
		return nil
	}
	fs := make([]zap.Field, 0, (len(keyvals)+1)/2)
	for i := 0; i < len(keyvals); i += 2 {
		if i+1 == len(keyvals) {
			fs = append(fs, zap.Any("!BADKEY", keyvals[i]))
			break
		}
		key, ok := keyvals[i].(string)
		if !ok {
			key = fmt.Sprint(keyvals[i])
		}
		fs = append(fs, zap.Any(key, keyvals[i+1]))
	}
	return fs
}

// RedisLogger routes go-redis's internal log lines (dial retries, pool
// events) through zap, so the worker's output stays structured.
type RedisLogger struct{ Z *zap.Logger }

// Printf implements go-redis's internal logging interface.
func (l RedisLogger) Printf(_ context.Context, format string, v ...any) {
	l.Z.Warn("redis client", zap.String("detail", fmt.Sprintf(format, v...)))
}
