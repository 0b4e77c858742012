package simstack

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

var fixedNow = time.Date(2026, 2, 22, 13, 11, 9, 123456000, time.UTC)

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m), "parse %s", path)
	return m
}

func parseTS(t *testing.T, v any) time.Time {
	t.Helper()
	s, ok := v.(string)
	require.True(t, ok, "timestamp %v is not a string", v)
	ts, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(s, "+00:00"), "timestamp %q is not Python isoformat UTC", s)
	return ts
}

func TestSeed(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, SeedAt(root, fixedNow))

	preflight := []string{
		"config/reconciliation_thresholds.json", "config/parity_thresholds.json", "config/portfolio_limits_v1.json",
		"config/multi_bot_policy_v1.json", "scripts/release/run_backtest_regression.py",
		"scripts/release/run_replay_regression_cycle.py", "scripts/release/check_multi_bot_policy.py",
		"scripts/release/check_strategy_catalog_consistency.py", "scripts/release/check_coordination_policy.py",
		"scripts/release/run_tests.py", "scripts/release/run_secrets_hygiene_check.py",
		"config/coordination_policy_v1.json", "docs/validation/backtest_regression_spec.md",
	}
	others := []string{
		"config/strategy_catalog/catalog_v1.json", "config/strategy_catalog/templates/controller_template.yml",
		"config/strategy_catalog/templates/script_template.yml", "controllers/epp_v2_4.py",
		"data/bot4/logs/epp_v24/bot4_d/minute.csv", "compose/docker-compose.yml",
	}
	for _, rel := range append(preflight, others...) {
		require.FileExists(t, filepath.Join(root, rel))
	}

	compose, err := os.ReadFile(filepath.Join(root, "compose/docker-compose.yml"))
	require.NoError(t, err)
	for _, tok := range []string{
		"  coordination-service:",
		"COORD_POLICY_PATH=/workspace/hbot/config/coordination_policy_v1.json",
		"COORD_ENABLED=${COORD_ENABLED:-false}",
		"COORD_REQUIRE_ML_ENABLED=${COORD_REQUIRE_ML_ENABLED:-true}",
		"COORD_HEALTH_PATH=/workspace/hbot/reports/coordination/latest.json",
	} {
		require.Contains(t, string(compose), tok)
	}

	// Every catalog bundle resolves: both configs exist, the script names
	// the controller file, and controllers/<controller_name>.py exists.
	var catalog struct {
		Bundles []struct {
			ID         string `json:"bundle_id"`
			Controller string `json:"controller_config"`
			Script     string `json:"script_config"`
		} `json:"approved_bundles"`
	}
	b, err := os.ReadFile(filepath.Join(root, "config/strategy_catalog/catalog_v1.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &catalog))
	require.NotEmpty(t, catalog.Bundles)
	for _, bd := range catalog.Bundles {
		script, err := os.ReadFile(filepath.Join(root, bd.Script))
		require.NoError(t, err, bd.ID)
		require.Contains(t, string(script), "- "+filepath.Base(bd.Controller), bd.ID)
		ctrl, err := os.ReadFile(filepath.Join(root, bd.Controller))
		require.NoError(t, err, bd.ID)
		var name string
		for _, line := range strings.Split(string(ctrl), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "controller_name:"); ok {
				name = strings.TrimSpace(v)
			}
		}
		require.NotEmpty(t, name, bd.ID)
		require.FileExists(t, filepath.Join(root, "controllers", name+".py"), bd.ID)
	}

	// The integrity report starts stale: both keys and the mtime are old.
	stale := fixedNow.Add(-StaleAge)
	path := filepath.Join(root, "reports/event_store/integrity_"+stale.Format("20060102")+".json")
	m := readJSON(t, path)
	require.True(t, parseTS(t, m["last_update_utc"]).Equal(stale.Truncate(time.Microsecond)))
	require.True(t, parseTS(t, m["ts_utc"]).Equal(stale.Truncate(time.Microsecond)))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.WithinDuration(t, stale, fi.ModTime(), time.Second)
}

func TestProducerWriteOnce(t *testing.T) {
	day := fixedNow.Format("20060102")
	tests := []struct {
		service string
		files   map[string][]string // report -> required keys
		tsKey   string
		check   func(t *testing.T, root string)
	}{
		{
			service: EventStore,
			tsKey:   "last_update_utc",
			files: map[string][]string{"reports/event_store/integrity_" + day + ".json": {
				"last_update_utc", "ts_utc", "total_events", "events_by_stream", "missing_correlation_count",
				"ingest_duration_ms_last", "last_batch_size"}},
			check: func(t *testing.T, root string) {
				m := readJSON(t, filepath.Join(root, "reports/event_store/integrity_"+day+".json"))
				require.EqualValues(t, 0, m["missing_correlation_count"])
				streams := m["events_by_stream"].(map[string]any)
				for _, s := range IntegrityStreams {
					require.Greater(t, streams[s].(float64), 0.0, s)
				}
			},
		},
		{
			service: Reconciliation,
			tsKey:   "ts_utc",
			files: map[string][]string{"reports/reconciliation/latest.json": {
				"ts_utc", "status", "critical_count", "checked_bots", "active_bots_unchecked"}},
			check: func(t *testing.T, root string) {
				m := readJSON(t, filepath.Join(root, "reports/reconciliation/latest.json"))
				require.Equal(t, "ok", m["status"])
				require.EqualValues(t, 0, m["critical_count"])
			},
		},
		{
			service: AlertWebhookSink,
			tsKey:   "ts_utc",
			files:   map[string][]string{"reports/reconciliation/last_webhook_sent.json": {"ts_utc", "status", "mode"}},
			check: func(t *testing.T, root string) {
				m := readJSON(t, filepath.Join(root, "reports/reconciliation/last_webhook_sent.json"))
				require.Equal(t, "ok", m["status"])
				require.Equal(t, "live", m["mode"])
			},
		},
		{
			service: ShadowParity,
			tsKey:   "ts_utc",
			files: map[string][]string{
				"reports/parity/latest.json":             {"ts_utc", "status", "failed_bots", "checked_bots", "bots"},
				"reports/parity/drift_audit_latest.json": {"ts_utc", "active_bots", "bots"},
			},
			check: func(t *testing.T, root string) {
				require.Equal(t, "pass", readJSON(t, filepath.Join(root, "reports/parity/latest.json"))["status"])
			},
		},
		{
			service: PortfolioRisk,
			tsKey:   "ts_utc",
			files: map[string][]string{"reports/portfolio_risk/latest.json": {
				"ts_utc", "status", "critical_count", "portfolio_action"}},
			check: func(t *testing.T, root string) {
				m := readJSON(t, filepath.Join(root, "reports/portfolio_risk/latest.json"))
				require.Equal(t, "ok", m["status"])
				require.Equal(t, "allow", m["portfolio_action"])
			},
		},
		{
			service: OpsScheduler,
			tsKey:   "ts_utc",
			files: map[string][]string{
				"reports/event_store/day2_gate_eval_latest.json": {"ts_utc", "go", "checks", "source_compare_file"},
				"reports/event_store/source_compare_" + fixedNow.Format(stampLayout) + ".json": {
					"ts_utc", "lag_produced_minus_ingested_since_baseline"},
				"reports/exchange_snapshots/latest.json": {"ts_utc", "bots"},
			},
			check: func(t *testing.T, root string) {
				require.Equal(t, true, readJSON(t, filepath.Join(root, "reports/event_store/day2_gate_eval_latest.json"))["go"])
				sc := readJSON(t, filepath.Join(root, "reports/event_store/source_compare_"+fixedNow.Format(stampLayout)+".json"))
				for s, v := range sc["lag_produced_minus_ingested_since_baseline"].(map[string]any) {
					require.LessOrEqual(t, v.(float64), 6.0, s)
				}
				bot3 := readJSON(t, filepath.Join(root, "reports/exchange_snapshots/latest.json"))["bots"].(map[string]any)["bot3"].(map[string]any)
				require.Equal(t, "paper_only", bot3["account_mode"])
				require.Equal(t, "paper_only", bot3["account_probe_status"])
				require.Equal(t, "bitget_paper_trade", bot3["exchange"])
				require.Equal(t, "local_minute_proxy", bot3["source"])
			},
		},
		{
			service: ControlPlaneChecks,
			tsKey:   "ts_utc",
			files: map[string][]string{
				"reports/policy/latest.json":              {"ts_utc", "status"},
				"reports/tests/latest.json":               {"ts_utc", "status", "rc"},
				"reports/security/latest.json":            {"ts_utc", "status", "finding_count"},
				"reports/backtest_regression/latest.json": {"ts_utc", "status"},
			},
			check: func(t *testing.T, root string) {
				for _, rel := range []string{"reports/policy/latest.json", "reports/tests/latest.json", "reports/security/latest.json", "reports/backtest_regression/latest.json"} {
					require.Equal(t, "pass", readJSON(t, filepath.Join(root, rel))["status"], rel)
				}
				require.FileExists(t, filepath.Join(root, "reports/tests/latest.md"))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			root := t.TempDir()
			p, err := NewProducer(root, tt.service, ProducerOptions{Now: func() time.Time { return fixedNow }})
			require.NoError(t, err)
			require.NoError(t, p.WriteOnce(context.Background()))
			for rel, keys := range tt.files {
				m := readJSON(t, filepath.Join(root, rel))
				for _, k := range keys {
					require.Contains(t, m, k, "%s lacks %s", rel, k)
				}
				require.WithinDuration(t, fixedNow, parseTS(t, m[tt.tsKey]), time.Second, rel)
			}
			for _, rel := range ReportPaths(tt.service, fixedNow) {
				require.FileExists(t, filepath.Join(root, rel))
			}
			tt.check(t, root)
			// No temp files are left behind by the atomic writer.
			tmps, err := filepath.Glob(filepath.Join(root, "reports", "*", ".*.tmp-*"))
			require.NoError(t, err)
			require.Empty(t, tmps)
		})
	}
}

func TestProducerErrors(t *testing.T) {
	_, err := NewProducer(t.TempDir(), "nope", ProducerOptions{})
	require.ErrorContains(t, err, `new producer "nope": unknown service`)
	_, err = NewProducer("", EventStore, ProducerOptions{})
	require.EqualError(t, err, `new producer "event-store-service": empty root`)
}

func TestProducerSkew(t *testing.T) {
	root := t.TempDir()
	p, err := NewProducer(root, PortfolioRisk, ProducerOptions{Now: func() time.Time { return fixedNow }, Skew: time.Hour})
	require.NoError(t, err)
	require.NoError(t, p.WriteOnce(context.Background()))
	m := readJSON(t, filepath.Join(root, "reports/portfolio_risk/latest.json"))
	require.WithinDuration(t, fixedNow.Add(time.Hour), parseTS(t, m["ts_utc"]), time.Second)
}

func TestEventStoreCountsGrowAndSurviveRestart(t *testing.T) {
	root := t.TempDir()
	rel := filepath.Join(root, "reports/event_store/integrity_"+fixedNow.Format("20060102")+".json")
	opts := ProducerOptions{Now: func() time.Time { return fixedNow }}
	p, err := NewProducer(root, EventStore, opts)
	require.NoError(t, err)
	require.NoError(t, p.WriteOnce(context.Background()))
	first := readJSON(t, rel)["total_events"].(float64)
	require.NoError(t, p.WriteOnce(context.Background()))
	second := readJSON(t, rel)["total_events"].(float64)
	require.Greater(t, second, first)

	p2, err := NewProducer(root, EventStore, opts) // a restarted process
	require.NoError(t, err)
	require.NoError(t, p2.WriteOnce(context.Background()))
	require.Greater(t, readJSON(t, rel)["total_events"].(float64), second)
}

func TestNonAtomicWriterLeavesHalfFile(t *testing.T) {
	root := t.TempDir()
	partial := make(chan []byte, 4)
	p, err := NewProducer(root, PortfolioRisk, ProducerOptions{
		Now:       func() time.Time { return fixedNow },
		NonAtomic: true,
		AfterPartialWrite: func(path string) {
			b, err := os.ReadFile(path)
			if err == nil {
				partial <- b
			}
		},
	})
	require.NoError(t, err)
	require.NoError(t, p.WriteOnce(context.Background()))

	var half []byte
	select {
	case half = <-partial:
	default:
		t.Fatal("the torn writer never paused between halves")
	}
	full, err := os.ReadFile(filepath.Join(root, "reports/portfolio_risk/latest.json"))
	require.NoError(t, err)
	require.NotEmpty(t, half)
	require.Less(t, len(half), len(full))
	require.True(t, bytes.HasPrefix(full, half), "the half file is a prefix of the final one")
	require.False(t, json.Valid(half), "a reader in the gap sees invalid JSON")
	require.True(t, json.Valid(full))
}

func TestEventStorePublishesToRedis(t *testing.T) {
	mr := miniredis.RunT(t)
	root := t.TempDir()
	p, err := NewProducer(root, EventStore, ProducerOptions{Now: func() time.Time { return fixedNow }, RedisURL: "redis://" + mr.Addr()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	require.NoError(t, p.WriteOnce(context.Background()))
	require.NoError(t, p.WriteOnce(context.Background()))

	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	for _, s := range IntegrityStreams {
		n, err := rdb.XLen(ctx, s).Result()
		require.NoError(t, err)
		require.Equal(t, 2*eventsPerTick[s], n, s)
		msgs, err := rdb.XRevRangeN(ctx, s, "+", "-", 1).Result()
		require.NoError(t, err)
		require.Len(t, msgs[0].Values, 1, "one field per entry")
		require.True(t, json.Valid([]byte(msgs[0].Values["payload"].(string))))
		pending, err := rdb.XPending(ctx, s, EventStoreGroup).Result()
		require.NoError(t, err)
		require.Zero(t, pending.Count, "the event store acknowledged everything")
	}
}

func TestEventStoreRedisDownStillWritesReport(t *testing.T) {
	mr := miniredis.RunT(t)
	addr := mr.Addr()
	mr.Close()
	root := t.TempDir()
	p, err := NewProducer(root, EventStore, ProducerOptions{Now: func() time.Time { return fixedNow }, RedisURL: "redis://" + addr})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	err = p.WriteOnce(context.Background())
	require.ErrorContains(t, err, "publish event-store-service events: create group")
	require.FileExists(t, filepath.Join(root, "reports/event_store/integrity_"+fixedNow.Format("20060102")+".json"))
}

func TestOpsSchedulerPrunesSourceCompare(t *testing.T) {
	root := t.TempDir()
	now := fixedNow
	p, err := NewProducer(root, OpsScheduler, ProducerOptions{Now: func() time.Time { return now }})
	require.NoError(t, err)
	for range sourceCompareKeep + 3 {
		require.NoError(t, p.WriteOnce(context.Background()))
		now = now.Add(time.Second)
	}
	m, err := filepath.Glob(filepath.Join(root, "reports/event_store/source_compare_*.json"))
	require.NoError(t, err)
	require.Len(t, m, sourceCompareKeep)
}

func TestRunReplay(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, RunReplayAt(root, fixedNow))
	m := readJSON(t, filepath.Join(root, ReplayArtifact))
	require.Equal(t, "pass", m["status"])
	require.Equal(t, true, m["deterministic_repeat_pass"])
	require.Contains(t, m, "signature_baseline")
	require.WithinDuration(t, fixedNow, parseTS(t, m["ts_utc"]), time.Second)
}

func TestRunCommandFlags(t *testing.T) {
	var stderr bytes.Buffer
	err := RunCommand(context.Background(), []string{"--service", EventStore}, &stderr)
	require.EqualError(t, err, "parse sim run flags: --root and --service are required")
	err = RunCommand(context.Background(), []string{"--root", t.TempDir(), "--service", "bogus"}, &stderr)
	require.ErrorContains(t, err, `new producer "bogus": unknown service`)

	// A cancelled context still gets the immediate first write.
	root := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, RunCommand(ctx, []string{"--root", root, "--service", Reconciliation}, &stderr))
	require.FileExists(t, filepath.Join(root, "reports/reconciliation/latest.json"))
}
