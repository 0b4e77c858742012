package simstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// Simulated service names: the compose service names of the hbot stack,
// plus control-plane-checks, which stands in for the last artifacts of the
// Python release scripts (policy, tests, secrets, backtest).
const (
	EventStore         = "event-store-service"
	Reconciliation     = "reconciliation-service"
	AlertWebhookSink   = "alert-webhook-sink"
	ShadowParity       = "shadow-parity-service"
	PortfolioRisk      = "portfolio-risk-service"
	OpsScheduler       = "ops-scheduler"
	ControlPlaneChecks = "control-plane-checks"
)

// Services lists every simulated producer, in start order.
func Services() []string {
	return []string{EventStore, OpsScheduler, Reconciliation, AlertWebhookSink, ShadowParity, PortfolioRisk, ControlPlaneChecks}
}

// IntegrityStreams are the six streams event_stream_coverage requires in
// events_by_stream; the simulated event store ingests exactly these.
var IntegrityStreams = []string{
	"hb.market_data.v1",
	"hb.signal.v1",
	"hb.risk_decision.v1",
	"hb.execution_intent.v1",
	"hb.audit.v1",
	"hb.bot_telemetry.v1",
}

// eventsPerTick is how many envelopes each stream gains per event-store tick.
var eventsPerTick = map[string]int64{
	"hb.market_data.v1":      5,
	"hb.signal.v1":           3,
	"hb.risk_decision.v1":    3,
	"hb.execution_intent.v1": 2,
	"hb.audit.v1":            1,
	"hb.bot_telemetry.v1":    1,
}

// DefaultInterval is the producers' default write period.
const DefaultInterval = 2 * time.Second

// sourceCompareKeep bounds how many source_compare_<stamp>.json files
// ops-scheduler leaves behind (it writes one per tick).
const sourceCompareKeep = 5

// ProducerOptions tune a producer.
type ProducerOptions struct {
	// Interval between writes; the first write happens at once. Default 2s.
	Interval time.Duration
	// RedisURL, when set, makes event-store-service XADD envelopes to the
	// hb.* streams and consume them as group hb_event_store_v1.
	RedisURL string
	// NonAtomic writes each report in place in two halves with a pause
	// between them (a torn write), for fault tests.
	NonAtomic bool
	// NonAtomicPause is the gap between the halves. Default 200ms.
	NonAtomicPause time.Duration
	// AfterPartialWrite, when set, is called in the gap of a torn write
	// instead of sleeping NonAtomicPause, with the path half written.
	AfterPartialWrite func(path string)
	// Skew is added to every timestamp the producer writes (clock skew;
	// positive means timestamps in the future).
	Skew time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Log receives one line per failed tick in Run. Default io.Discard.
	Log io.Writer
}

// Producer is one simulated service writing its reports under a root.
type Producer struct {
	root    string
	service string
	opts    ProducerOptions
	build   func(p *Producer, ctx context.Context, now time.Time) ([]file, error)
	bus     *bus

	counts map[string]int64 // event-store: events_by_stream so far
}

type file struct {
	rel  string // slash path under root
	body []byte
}

var builders = map[string]func(p *Producer, ctx context.Context, now time.Time) ([]file, error){
	EventStore:         (*Producer).eventStore,
	Reconciliation:     (*Producer).reconciliation,
	AlertWebhookSink:   (*Producer).alertWebhookSink,
	ShadowParity:       (*Producer).shadowParity,
	PortfolioRisk:      (*Producer).portfolioRisk,
	OpsScheduler:       (*Producer).opsScheduler,
	ControlPlaneChecks: (*Producer).controlPlaneChecks,
}

// NewProducer returns the producer of service writing under root.
func NewProducer(root, service string, opts ProducerOptions) (*Producer, error) {
	build, ok := builders[service]
	if !ok {
		return nil, fmt.Errorf("new producer %q: unknown service (known: %s)", service, strings.Join(Services(), ", "))
	}
	if root == "" {
		return nil, fmt.Errorf("new producer %q: empty root", service)
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.NonAtomicPause <= 0 {
		opts.NonAtomicPause = 200 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	p := &Producer{root: root, service: service, opts: opts, build: build}
	if service == EventStore && opts.RedisURL != "" {
		b, err := newBus(opts.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("new producer %q: %w", service, err)
		}
		p.bus = b
	}
	return p, nil
}

// Service is the producer's service name.
func (p *Producer) Service() string { return p.service }

// Close releases the Redis connection, if any.
func (p *Producer) Close() error {
	if p.bus == nil {
		return nil
	}
	return p.bus.close()
}

// WriteOnce writes every report of the service once, stamped now+Skew.
func (p *Producer) WriteOnce(ctx context.Context) error {
	now := p.opts.Now().Add(p.opts.Skew).UTC()
	files, err := p.build(p, ctx, now)
	if err != nil {
		return fmt.Errorf("build %s reports: %w", p.service, err)
	}
	for _, f := range files {
		path := filepath.Join(p.root, filepath.FromSlash(f.rel))
		if p.opts.NonAtomic {
			err = writeFileTorn(path, f.body, func() { p.pause(path) })
		} else {
			err = writeFileAtomic(path, f.body)
		}
		if err != nil {
			return fmt.Errorf("write %s report: %w", p.service, err)
		}
	}
	// The report is written even when Redis is down: the file is what the
	// gates read, and the error still reaches the caller.
	if p.bus != nil {
		if err := p.bus.publishAndIngest(ctx, now); err != nil {
			return fmt.Errorf("publish %s events: %w", p.service, err)
		}
	}
	return nil
}

func (p *Producer) pause(path string) {
	if p.opts.AfterPartialWrite != nil {
		p.opts.AfterPartialWrite(path)
		return
	}
	time.Sleep(p.opts.NonAtomicPause)
}

// Run writes at once, then every Interval, until ctx is done. A failed tick
// is logged and the loop goes on (a real service keeps running too); Run
// returns nil when ctx is cancelled.
func (p *Producer) Run(ctx context.Context) error {
	t := time.NewTicker(p.opts.Interval)
	defer t.Stop()
	for {
		if err := p.WriteOnce(ctx); err != nil && ctx.Err() == nil {
			fmt.Fprintf(p.opts.Log, "%s tick failed: %v\n", p.service, err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func jsonFile(rel string, v any) (file, error) {
	b, err := marshalReport(v)
	if err != nil {
		return file{}, err
	}
	return file{rel: rel, body: b}, nil
}

func jsonFiles(pairs ...any) ([]file, error) {
	var out []file
	for i := 0; i+1 < len(pairs); i += 2 {
		f, err := jsonFile(pairs[i].(string), pairs[i+1])
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// activeBots are the bots the simulated control plane checks.
var activeBots = []string{"bot1", "bot3", "bot4"}

func (p *Producer) eventStore(_ context.Context, now time.Time) ([]file, error) {
	start := time.Now()
	day := now.Format("20060102")
	rel := "reports/event_store/integrity_" + day + ".json"
	if p.counts == nil {
		p.counts = p.previousCounts(rel)
	}
	var batch int64
	for _, s := range IntegrityStreams {
		p.counts[s] += eventsPerTick[s]
		batch += eventsPerTick[s]
	}
	var total int64
	for _, v := range p.counts {
		total += v
	}
	return jsonFiles(rel, map[string]any{
		"total_events":              total,
		"events_by_stream":          p.counts,
		"missing_correlation_count": 0,
		"last_update_utc":           formatTS(now),
		"ts_utc":                    formatTS(now),
		"ingest_duration_ms_last":   float64(time.Since(start).Microseconds()) / 1000,
		"last_batch_size":           batch,
		"consumer_group":            "hb_event_store_v1",
		"redis_enabled":             p.bus != nil,
	})
}

// previousCounts continues today's counters after a restart, as the real
// service does from its JSONL.
func (p *Producer) previousCounts(rel string) map[string]int64 {
	out := map[string]int64{}
	b, err := os.ReadFile(filepath.Join(p.root, filepath.FromSlash(rel)))
	if err != nil {
		return out
	}
	var prev struct {
		EventsByStream map[string]int64 `json:"events_by_stream"`
	}
	if json.Unmarshal(b, &prev) == nil {
		for k, v := range prev.EventsByStream {
			out[k] = v
		}
	}
	return out
}

func (p *Producer) reconciliation(_ context.Context, now time.Time) ([]file, error) {
	return jsonFiles("reports/reconciliation/latest.json", map[string]any{
		"ts_utc":                  formatTS(now),
		"status":                  "ok",
		"critical_count":          0,
		"warning_count":           0,
		"checked_bots":            len(activeBots),
		"active_bots":             activeBots,
		"covered_active_bots":     activeBots,
		"active_bots_unchecked":   []string{},
		"exchange_source_enabled": false,
		"exchange_snapshot_path":  "/workspace/hbot/reports/exchange_snapshots/latest.json",
		"thresholds_path":         "/workspace/hbot/config/reconciliation_thresholds.json",
		"findings":                []any{},
		"actions":                 []any{},
	})
}

func (p *Producer) alertWebhookSink(_ context.Context, now time.Time) ([]file, error) {
	return jsonFiles("reports/reconciliation/last_webhook_sent.json", map[string]any{
		"ts_utc": formatTS(now),
		"mode":   "live",
		"probes": []map[string]any{{
			"endpoint": "alert_webhook_sink",
			"url":      "http://127.0.0.1:19093/healthz",
			"ok":       true,
			"reason":   "HTTP 200",
		}},
		"status": "ok",
	})
}

func (p *Producer) shadowParity(_ context.Context, now time.Time) ([]file, error) {
	var bots []map[string]any
	var drift []map[string]any
	for _, b := range activeBots {
		bots = append(bots, map[string]any{
			"bot":  b,
			"pass": true,
			"summary": map[string]any{
				"active_window": true, "intents_total": 12, "actionable_intents": 10,
				"fills_total": 8, "order_failed_total": 0, "risk_denied_total": 0,
			},
			"metrics": []map[string]any{
				{"metric": "fill_ratio_delta", "value": 0.01, "expected": 0.0, "delta": 0.01, "max_abs_delta": 0.25, "pass": true},
				{"metric": "slippage_delta_bps", "value": 2.4, "expected": 2.0, "delta": 0.4, "max_abs_delta": 5.0, "pass": true},
				{"metric": "reject_rate_delta", "value": 0.0, "expected": 0.0, "delta": 0.0, "max_abs_delta": 0.2, "pass": true},
				{"metric": "realized_pnl_delta_quote", "value": -0.5, "expected": 0.0, "delta": -0.5, "max_abs_delta": 600.0, "pass": true},
			},
		})
		drift = append(drift, map[string]any{"bot": b, "pass": true, "buckets": map[string]any{}})
	}
	return jsonFiles(
		"reports/parity/latest.json", map[string]any{
			"ts_utc":                formatTS(now),
			"status":                "pass",
			"failed_bots":           0,
			"checked_bots":          len(activeBots),
			"active_bots":           activeBots,
			"event_store_file":      "/workspace/hbot/reports/event_store/events_" + now.Format("20060102") + ".jsonl",
			"reconciliation_status": "ok",
			"thresholds_path":       "/workspace/hbot/config/parity_thresholds.json",
			"thresholds_version":    1,
			"bots":                  bots,
		},
		"reports/parity/drift_audit_latest.json", map[string]any{
			"ts_utc":      formatTS(now),
			"status":      "pass",
			"active_bots": activeBots,
			"bots":        drift,
		},
	)
}

func (p *Producer) portfolioRisk(_ context.Context, now time.Time) ([]file, error) {
	return jsonFiles("reports/portfolio_risk/latest.json", map[string]any{
		"ts_utc":                  formatTS(now),
		"status":                  "ok",
		"critical_count":          0,
		"warning_count":           0,
		"portfolio_action":        "allow",
		"limits_path":             "/workspace/hbot/config/portfolio_limits_v1.json",
		"publish_actions_enabled": false,
		"synthetic_breach":        false,
		"metrics": map[string]any{
			"portfolio_daily_loss_pct": 0.0009, "abs_net_exposure_quote": 310.5,
			"max_equity_share_pct": 0.41, "total_equity_quote": 14064.1,
		},
		"risk_scope_bots": []string{"bot1", "bot4"},
		"findings":        []any{},
		"actions":         []any{},
	})
}

func (p *Producer) opsScheduler(_ context.Context, now time.Time) ([]file, error) {
	stamp := now.Format(stampLayout)
	scRel := "reports/event_store/source_compare_" + stamp + ".json"
	lag := map[string]int64{}
	groupLag := map[string]int64{}
	for i, s := range IntegrityStreams {
		lag[s] = int64(i % 3) // small, within the day2 max delta of 6
		groupLag[s] = 0
	}
	runs := map[string]any{}
	for _, job := range []string{"event-store-snapshot", "day2-gate-eval", "exchange-snapshot", "soak-snapshot"} {
		runs[job] = map[string]any{"last_run": formatTS(now), "exit_code": 0, "elapsed_s": 0.2}
	}
	files, err := jsonFiles(
		scRel, map[string]any{
			"ts_utc":         formatTS(now),
			"integrity_file": "/workspace/hbot/reports/event_store/integrity_" + now.Format("20060102") + ".json",
			"baseline_file":  "/workspace/hbot/reports/event_store/baseline_counts.json",
			"lag_produced_minus_ingested_since_baseline":   lag,
			"delta_produced_minus_ingested_since_baseline": lag,
			"consumer_group_lag_by_stream":                 groupLag,
		},
		"reports/event_store/day2_gate_eval_latest.json", map[string]any{
			"ts_utc":              formatTS(now),
			"go":                  true,
			"gate":                "day2_event_store",
			"baseline_file":       "/workspace/hbot/reports/event_store/baseline_counts.json",
			"integrity_file":      "/workspace/hbot/reports/event_store/integrity_" + now.Format("20060102") + ".json",
			"source_compare_file": "/workspace/hbot/" + scRel,
			"checks": []map[string]any{
				{"name": "elapsed_window", "pass": true, "value_hours": 0, "required_hours": 0},
				{"name": "missing_correlation", "pass": true, "value": 0, "required": 0},
				{"name": "delta_since_baseline_tolerance", "pass": true, "max_delta_observed": 2, "max_allowed_delta": 6},
			},
			"lag_diagnostics": map[string]any{"source": "consumer_group_lag_by_stream", "worst_stream": IntegrityStreams[0], "worst_lag": 0},
		},
		"reports/exchange_snapshots/latest.json", map[string]any{
			"ts_utc":        formatTS(now),
			"source":        "exchange_snapshot_service",
			"mode":          "proxy_local",
			"account_probe": map[string]any{"status": "disabled", "balances": map[string]any{}, "error": ""},
			"bots": map[string]any{
				"bot1": map[string]any{"exchange": "bitget_perpetual", "trading_pair": "BTC-USDT", "source": "local_minute_proxy", "account_mode": "probe", "account_probe_status": "disabled", "equity_quote": 494.23, "base_pct": 0.54},
				"bot3": map[string]any{"exchange": "bitget_paper_trade", "trading_pair": "ETH-USDT", "source": "local_minute_proxy", "account_mode": "paper_only", "account_probe_status": "paper_only", "equity_quote": 7890.25, "base_pct": 0.16},
				"bot4": map[string]any{"exchange": "binance_perpetual_testnet", "trading_pair": "BTC-USDT", "source": "local_minute_proxy", "account_mode": "probe", "account_probe_status": "disabled", "equity_quote": 5679.69, "base_pct": 0.12},
			},
		},
		"reports/ops_scheduler/heartbeat.json", map[string]any{
			"heartbeat":     formatTS(now),
			"alive_threads": len(runs),
			"total_threads": len(runs),
			"jobs":          runs,
		},
	)
	if err != nil {
		return nil, err
	}
	if err := pruneStamped(filepath.Join(p.root, "reports", "event_store"), "source_compare_", sourceCompareKeep-1); err != nil {
		return nil, err
	}
	return files, nil
}

// pruneStamped keeps the newest keep files named <prefix><stamp>.json.
func pruneStamped(dir, prefix string, keep int) error {
	matches, err := filepath.Glob(filepath.Join(dir, prefix+"*.json"))
	if err != nil {
		return fmt.Errorf("list %q: %w", dir, err)
	}
	sort.Strings(matches)
	if len(matches) <= keep {
		return nil
	}
	for _, m := range matches[:len(matches)-keep] {
		if err := os.Remove(m); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("prune %q: %w", m, err)
		}
	}
	return nil
}

func (p *Producer) controlPlaneChecks(_ context.Context, now time.Time) ([]file, error) {
	ts := formatTS(now)
	files, err := jsonFiles(
		"reports/policy/latest.json", map[string]any{
			"ts_utc": ts, "status": "pass", "errors": []string{},
			"details": map[string]any{
				"policy_bots":                      []string{"bot1", "bot2", "bot3", "bot4"},
				"portfolio_action_scope_policy":    []string{"bot1", "bot4"},
				"portfolio_action_scope_portfolio": []string{"bot1", "bot4"},
				"disabled_scope":                   []string{"bot2"},
			},
		},
		"reports/tests/latest.json", map[string]any{
			"ts_utc": ts, "status": "pass", "rc": 0,
			"groups":         map[string]any{"unit": map[string]int{"selected": 3}, "service": map[string]int{"selected": 3}, "integration": map[string]int{"selected": 2}},
			"cov_fail_under": 5.0,
			"runtime_used":   "simulated",
		},
		"reports/security/latest.json", map[string]any{
			"ts_utc": ts, "status": "pass", "include_logs": true,
			"scanned_files": 42, "finding_count": 0, "findings": []any{},
		},
		"reports/backtest_regression/latest.json", map[string]any{
			"ts_utc": ts, "status": "pass",
			"checks": []map[string]any{
				{"name": "event_count_min", "pass": true, "value": 1058, "required": 1000},
				{"name": "missing_correlation_zero", "pass": true, "value": 0, "required": 0},
			},
		},
	)
	if err != nil {
		return nil, err
	}
	md := fmt.Sprintf("# Test Runner Summary\n\n- ts_utc: %s\n- status: pass\n- rc: 0\n- cov_fail_under: 5.0\n\n## Artifacts\n- reports/tests/latest.json\n- reports/tests/latest.md\n", ts)
	return append(files, file{rel: "reports/tests/latest.md", body: []byte(md)}), nil
}

// ReportPaths lists the root-relative reports a service writes (stamped
// files excluded), for tests and for operators.
func ReportPaths(service string, now time.Time) []string {
	day := now.UTC().Format("20060102")
	m := map[string][]string{
		EventStore:       {"reports/event_store/integrity_" + day + ".json"},
		Reconciliation:   {"reports/reconciliation/latest.json"},
		AlertWebhookSink: {"reports/reconciliation/last_webhook_sent.json"},
		ShadowParity:     {"reports/parity/latest.json", "reports/parity/drift_audit_latest.json"},
		PortfolioRisk:    {"reports/portfolio_risk/latest.json"},
		OpsScheduler: {"reports/event_store/day2_gate_eval_latest.json", "reports/exchange_snapshots/latest.json",
			"reports/ops_scheduler/heartbeat.json"},
		ControlPlaneChecks: {"reports/policy/latest.json", "reports/tests/latest.json", "reports/tests/latest.md",
			"reports/security/latest.json", "reports/backtest_regression/latest.json"},
	}
	return slices.Clone(m[service])
}
