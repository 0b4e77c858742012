package config

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"time"
)

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
	// ScheduleEvery is the interval of `schedule create`.
	ScheduleEvery time.Duration
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
	// Dev settings for the embedded server (go run ./dev server).
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
	// Stream is the decision stream (hb.promotion_gate.v1),
	// TransitionStream the status-transition stream
	// (hb.promotion_gate.transitions.v1).
	Stream           string
	TransitionStream string
	StreamMaxLen     int64
	KeyPrefix        string
}

// ScopeStreams moves both streams under KeyPrefix
// (<prefix>:hb.promotion_gate.v1, …), for runs that must not publish to
// the stack's shared streams and must leave nothing once their prefix is
// dropped: the demo, the bench and the tests.
func (r *Redis) ScopeStreams() {
	r.Stream = r.KeyPrefix + ":" + Default().Redis.Stream
	r.TransitionStream = r.KeyPrefix + ":" + Default().Redis.TransitionStream
}

// Default returns the configuration that works on a fresh machine: the dev
// server on loopback, Redis on 127.0.0.1:6379, the hbot-day28 contract.
func Default() Config {
	return Config{
		Environment: "local",
		Root:        ".",
		Contract:    "hbot-day28",
		Temporal: Temporal{
			Address:   "127.0.0.1:7233",
			Namespace: "default",
			DevDB:     ".strictcycle/temporal.db",
			DevPort:   7233,
			DevUIPort: 8233,
		},
		Redis: Redis{
			URL:              "redis://127.0.0.1:6379/0",
			DialTimeout:      2 * time.Second,
			Stream:           "hb.promotion_gate.v1",
			TransitionStream: "hb.promotion_gate.transitions.v1",
			StreamMaxLen:     10000,
			KeyPrefix:        "strictcycle",
		},
		TaskQueue:     "strictcycle",
		MetricsAddr:   "127.0.0.1:9464",
		LogLevel:      "info",
		ScheduleEvery: 15 * time.Minute,
	}
}

// Var documents one environment variable; Vars lists them all (the README
// table is generated from the same list by a test).
type Var struct {
	Name    string
	Default string
	Secret  bool
	Doc     string
	set     func(c *Config, v string) error
}

// Vars returns every environment variable FromEnv reads.
func Vars() []Var {
	d := Default()
	return []Var{
		{Name: "STRICTCYCLE_ENVIRONMENT", Default: d.Environment, Doc: "environment name (lower-case letters, digits and underscores, no hyphen, at most 63): part of workflow ids, Redis keys and search attributes",
			set: func(c *Config, v string) error { c.Environment = v; return nil }},
		{Name: "STRICTCYCLE_ROOT", Default: d.Root, Doc: "hbot stack root (the folder holding reports/)",
			set: func(c *Config, v string) error { c.Root = v; return nil }},
		{Name: "STRICTCYCLE_CONTRACT", Default: d.Contract, Doc: "gate contract: a shipped name or a YAML file path",
			set: func(c *Config, v string) error { c.Contract = v; return nil }},
		{Name: "STRICTCYCLE_TASK_QUEUE", Default: d.TaskQueue, Doc: "Temporal task queue",
			set: func(c *Config, v string) error { c.TaskQueue = v; return nil }},
		{Name: "STRICTCYCLE_METRICS_ADDR", Default: d.MetricsAddr, Doc: "Prometheus /metrics and /healthz listen address (empty disables)",
			set: func(c *Config, v string) error { c.MetricsAddr = v; return nil }},
		{Name: "STRICTCYCLE_LOG_LEVEL", Default: d.LogLevel, Doc: "zap log level (debug, info, warn, error)",
			set: func(c *Config, v string) error { c.LogLevel = v; return nil }},
		{Name: "STRICTCYCLE_SCHEDULE_EVERY", Default: d.ScheduleEvery.String(), Doc: "interval of the per-environment schedule (`schedule create`; at least 1m, as `--every`)",
			set: func(c *Config, v string) error { return setDuration(&c.ScheduleEvery, v) }},
		{Name: "TEMPORAL_ADDRESS", Default: d.Temporal.Address, Doc: "Temporal frontend host:port",
			set: func(c *Config, v string) error { c.Temporal.Address = v; return nil }},
		{Name: "TEMPORAL_NAMESPACE", Default: d.Temporal.Namespace, Doc: "Temporal namespace",
			set: func(c *Config, v string) error { c.Temporal.Namespace = v; return nil }},
		{Name: "TEMPORAL_API_KEY", Secret: true, Doc: "Temporal Cloud API key (implies TLS)",
			set: func(c *Config, v string) error { c.Temporal.APIKey = v; return nil }},
		{Name: "TEMPORAL_TLS", Default: "false", Doc: "use TLS to reach Temporal with the system roots",
			set: func(c *Config, v string) error { return setBool(&c.Temporal.TLS, v) }},
		{Name: "TEMPORAL_TLS_CERT", Doc: "client certificate file for mTLS",
			set: func(c *Config, v string) error { c.Temporal.TLSCert = v; return nil }},
		{Name: "TEMPORAL_TLS_KEY", Secret: true, Doc: "client key file for mTLS",
			set: func(c *Config, v string) error { c.Temporal.TLSKey = v; return nil }},
		{Name: "TEMPORAL_TLS_CA", Doc: "CA bundle file to verify the server",
			set: func(c *Config, v string) error { c.Temporal.TLSCA = v; return nil }},
		{Name: "TEMPORAL_TLS_SERVER_NAME", Doc: "TLS server name override",
			set: func(c *Config, v string) error { c.Temporal.TLSServerName = v; return nil }},
		{Name: "STRICTCYCLE_DEV_DB", Default: d.Temporal.DevDB, Doc: "dev server: SQLite file of the embedded Temporal server (reused across restarts; \":memory:\" for none)",
			set: func(c *Config, v string) error { c.Temporal.DevDB = v; return nil }},
		{Name: "STRICTCYCLE_DEV_PORT", Default: "7233", Doc: "dev server: embedded Temporal frontend port",
			set: func(c *Config, v string) error { return setInt(&c.Temporal.DevPort, v) }},
		{Name: "STRICTCYCLE_DEV_UI_PORT", Default: "8233", Doc: "dev server: embedded Temporal Web UI port (0 disables)",
			set: func(c *Config, v string) error { return setInt(&c.Temporal.DevUIPort, v) }},
		{Name: "REDIS_URL", Default: d.Redis.URL, Secret: true, Doc: "Redis URL (redis:// or rediss://); a password in it is never logged",
			set: func(c *Config, v string) error { c.Redis.URL = v; return nil }},
		{Name: "REDIS_PASSWORD", Secret: true, Doc: "Redis AUTH password (overrides the URL's)",
			set: func(c *Config, v string) error { c.Redis.Password = v; return nil }},
		{Name: "REDIS_TLS", Default: "false", Doc: "use TLS to reach Redis (also implied by rediss://)",
			set: func(c *Config, v string) error { return setBool(&c.Redis.TLS, v) }},
		{Name: "REDIS_TLS_CA", Doc: "CA bundle file to verify Redis",
			set: func(c *Config, v string) error { c.Redis.TLSCA = v; return nil }},
		{Name: "REDIS_DIAL_TIMEOUT", Default: d.Redis.DialTimeout.String(), Doc: "Redis dial timeout",
			set: func(c *Config, v string) error { return setDuration(&c.Redis.DialTimeout, v) }},
		{Name: "STRICTCYCLE_DECISION_STREAM", Default: d.Redis.Stream, Doc: "Redis stream the decisions are published to",
			set: func(c *Config, v string) error { c.Redis.Stream = v; return nil }},
		{Name: "STRICTCYCLE_TRANSITION_STREAM", Default: d.Redis.TransitionStream, Doc: "Redis stream the status transitions (PASS→FAIL, FAIL→PASS) are published to",
			set: func(c *Config, v string) error { c.Redis.TransitionStream = v; return nil }},
		{Name: "STRICTCYCLE_REDIS_PREFIX", Default: d.Redis.KeyPrefix, Doc: "prefix of strictcycle's Redis keys (locks, budgets, latest decision)",
			set: func(c *Config, v string) error { c.Redis.KeyPrefix = v; return nil }},
	}
}

// FromEnv applies environment overrides to c; lookup is os.LookupEnv in
// production and a map in tests.
func (c *Config) FromEnv(lookup func(string) (string, bool)) error {
	var errs []error
	for _, v := range Vars() {
		val, ok := lookup(v.Name)
		if !ok {
			continue
		}
		if err := v.set(c, val); err != nil {
			errs = append(errs, fmt.Errorf("env %s: %w", v.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Validate reports every problem, each naming its variable.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if err := ValidateEnvironment(c.Environment); err != nil {
		add("STRICTCYCLE_ENVIRONMENT: %w", err)
	}
	if c.Root == "" {
		add("STRICTCYCLE_ROOT: must not be empty")
	}
	if c.Contract == "" {
		add("STRICTCYCLE_CONTRACT: must not be empty")
	}
	if c.TaskQueue == "" {
		add("STRICTCYCLE_TASK_QUEUE: must not be empty")
	}
	if c.Temporal.Address == "" {
		add("TEMPORAL_ADDRESS: must not be empty")
	}
	if c.Temporal.Namespace == "" {
		add("TEMPORAL_NAMESPACE: must not be empty")
	}
	if (c.Temporal.TLSCert == "") != (c.Temporal.TLSKey == "") {
		add("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: set both or neither")
	}
	if c.Redis.URL == "" {
		add("REDIS_URL: must not be empty")
	} else if u, err := url.Parse(c.Redis.URL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
		add("REDIS_URL: must be redis:// or rediss:// (value not shown)")
	}
	if c.Redis.Stream == "" {
		add("STRICTCYCLE_DECISION_STREAM: must not be empty")
	}
	if c.Redis.TransitionStream == "" {
		add("STRICTCYCLE_TRANSITION_STREAM: must not be empty")
	} else if c.Redis.TransitionStream == c.Redis.Stream {
		add("STRICTCYCLE_TRANSITION_STREAM: must differ from STRICTCYCLE_DECISION_STREAM (a reader of decisions would take transitions for decisions)")
	}
	if c.Temporal.DevPort <= 0 || c.Temporal.DevPort > 65535 {
		add("STRICTCYCLE_DEV_PORT: %d is not a port", c.Temporal.DevPort)
	}
	if c.Temporal.DevUIPort < 0 || c.Temporal.DevUIPort > 65535 {
		add("STRICTCYCLE_DEV_UI_PORT: %d is not a port", c.Temporal.DevUIPort)
	}
	if err := ValidateScheduleEvery(c.ScheduleEvery); err != nil {
		add("STRICTCYCLE_SCHEDULE_EVERY: %w", err)
	}
	if _, err := zapLevel(c.LogLevel); err != nil {
		add("STRICTCYCLE_LOG_LEVEL: %v", err)
	}
	return errors.Join(errs...)
}

// Load is Default, then environment overrides, then Validate.
func Load(lookup func(string) (string, bool)) (Config, error) {
	c := Default()
	if err := c.FromEnv(lookup); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// envName is the grammar of an environment name. It has no hyphen: a
// workflow id is "strictcycle-<env>-<purpose>", so the first hyphen after the
// prefix ends the environment and no two (environment, purpose) pairs build
// the same id. It has no quote, space or upper case either, so a name can sit
// inside a visibility query literal and a Redis key as it is.
var envName = regexp.MustCompile(`^[a-z0-9][a-z0-9_]{0,62}$`)

// ValidateEnvironment checks an environment name against the one grammar
// every entry uses: the --env flag, STRICTCYCLE_ENVIRONMENT, workflow inputs
// and the activities that build Redis keys.
func ValidateEnvironment(name string) error {
	if !envName.MatchString(name) {
		return fmt.Errorf("environment name %q must match %s (lower-case letters, digits and underscores, at most 63)", name, envName)
	}
	return nil
}

// MinScheduleEvery is the shortest interval of a per-environment schedule: a
// strict cycle can restart services and wait for their reports, so a shorter
// period only piles up skipped runs.
const MinScheduleEvery = time.Minute

// ValidateScheduleEvery checks the interval of `schedule create`, whether it
// comes from STRICTCYCLE_SCHEDULE_EVERY or the --every flag.
func ValidateScheduleEvery(every time.Duration) error {
	if every < MinScheduleEvery {
		return fmt.Errorf("schedule interval %s is shorter than %s", every, MinScheduleEvery)
	}
	return nil
}

func zapLevel(s string) (string, error) {
	switch s {
	case "debug", "info", "warn", "error":
		return s, nil
	}
	return "", fmt.Errorf("level %q is not debug|info|warn|error", s)
}

func setBool(p *bool, v string) error {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return fmt.Errorf("parse bool %q: %w", v, err)
	}
	*p = b
	return nil
}

func setInt(p *int, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("parse int %q: %w", v, err)
	}
	*p = n
	return nil
}

func setDuration(p *time.Duration, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("parse duration %q: %w", v, err)
	}
	*p = d
	return nil
}
