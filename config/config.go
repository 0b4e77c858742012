package config

import "time"

// Config is the runtime configuration of the worker and the starter. It is
// built as Default(), then environment overrides (FromEnv), then Validate().
// Every field is listed in the README's configuration table.
type Config struct {
	// Environment names the stack (e.g. "prod", "staging"); it is part of
	// every workflow id and of the Redis keys.
	Environment string
	// Root is the hbot stack root that reports live under.
	Root string
	// Contract is a shipped contract name (e.g. "hbot-day28") or a file path.
	Contract string

	Temporal Temporal
	Redis    Redis

	// TaskQueue is the Temporal task queue of the worker.
	TaskQueue string
	// MetricsAddr serves Prometheus metrics (empty disables).
	MetricsAddr string
	// LogLevel is a zap level name.
	LogLevel string
}

// Temporal holds the standard TEMPORAL_* client settings.
type Temporal struct {
	Address       string // TEMPORAL_ADDRESS
	Namespace     string // TEMPORAL_NAMESPACE
	APIKey        string // TEMPORAL_API_KEY (secret: never logged)
	TLSCert       string // TEMPORAL_TLS_CERT (path)
	TLSKey        string // TEMPORAL_TLS_KEY (path; secret)
	TLSCA         string // TEMPORAL_TLS_CA (path)
	TLSServerName string // TEMPORAL_TLS_SERVER_NAME
	TLS           bool   // TEMPORAL_TLS
	// Dev settings for the in-process server (worker --dev).
	DevDB     string // STRICTCYCLE_DEV_DB: SQLite file ("" = in memory)
	DevPort   int    // STRICTCYCLE_DEV_PORT (frontend gRPC)
	DevUIPort int    // STRICTCYCLE_DEV_UI_PORT
}

// Redis holds the Redis connection settings.
type Redis struct {
	URL         string        // REDIS_URL (may carry a password: never logged)
	Password    string        // REDIS_PASSWORD overrides the URL's
	TLS         bool          // REDIS_TLS
	TLSCA       string        // REDIS_TLS_CA
	DialTimeout time.Duration // REDIS_DIAL_TIMEOUT
	// Stream is the decision stream (hb.promotion_gate.v1).
	Stream       string
	StreamMaxLen int64
	KeyPrefix    string
}
