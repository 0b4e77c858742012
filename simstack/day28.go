package simstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// The 16 checks of the Day-28 gate (config/contracts/hbot-day28.yaml), in
// contract order.
const (
	CheckPreflight          = "preflight_checks"
	CheckMultiBotPolicy     = "multi_bot_policy_scope"
	CheckStrategyCatalog    = "strategy_catalog_consistency"
	CheckCoordinationPolicy = "coordination_policy_scope"
	CheckTests              = "unit_service_integration_tests"
	CheckSecretsHygiene     = "secrets_hygiene"
	CheckSmoke              = "smoke_checks"
	CheckPaperSmoke         = "paper_smoke_matrix"
	CheckReplay             = "replay_regression_cycle"
	CheckBacktest           = "regression_backtest_harness"
	CheckReconciliation     = "reconciliation_status"
	CheckParity             = "parity_thresholds"
	CheckPortfolioRisk      = "portfolio_risk_status"
	CheckAlerting           = "alerting_health"
	CheckIntegrity          = "event_store_integrity_freshness"
	CheckDay2               = "day2_event_store_gate"
)

// Day28Checks lists the checks of the Day-28 gate in contract order.
func Day28Checks() []string {
	return []string{CheckPreflight, CheckMultiBotPolicy, CheckStrategyCatalog, CheckCoordinationPolicy,
		CheckTests, CheckSecretsHygiene, CheckSmoke, CheckPaperSmoke, CheckReplay, CheckBacktest,
		CheckReconciliation, CheckParity, CheckPortfolioRisk, CheckAlerting, CheckIntegrity, CheckDay2}
}

// Day28Ages are the ages at Now of the newest report of each timed check in
// a generated Day-28 root: distinct, and inside the 15-minute CI window
// (alerting_health's limit is 24h). paper_smoke_matrix has no freshness
// rule, so its snapshot is an hour old on purpose.
func Day28Ages() map[string]time.Duration {
	return map[string]time.Duration{
		CheckMultiBotPolicy: 3 * time.Minute,
		CheckTests:          4 * time.Minute,
		CheckSecretsHygiene: 5 * time.Minute,
		CheckPaperSmoke:     time.Hour,
		CheckReplay:         6 * time.Minute,
		CheckBacktest:       7 * time.Minute,
		CheckReconciliation: 9*time.Minute + 30*time.Second,
		CheckParity:         11 * time.Minute,
		CheckPortfolioRisk:  10 * time.Minute,
		CheckAlerting:       2 * time.Hour,
		CheckIntegrity:      9 * time.Minute,
		CheckDay2:           8 * time.Minute,
	}
}

// Day28StaleAge is the age Day28Options.Stale gives a check's reports: past
// every window of the contract (20m, 15m with --ci), and past
// alerting_health's 24h.
func Day28StaleAge(check string) time.Duration {
	if check == CheckAlerting {
		return 26 * time.Hour
	}
	return 2 * time.Hour
}

// DefaultDay2Lag is the largest produced-minus-ingested lag of the newest
// source compare in a generated root (the contract tolerates 6).
const DefaultDay2Lag = 2

// Day28Options shape a generated Day-28 root. With only Now set, every
// check of the hbot-day28 contract passes at Now (with --ci and
// --no-commands: the command checks are judged on their artifacts).
type Day28Options struct {
	// Now is the moment the reports are aged against (the gate's --now).
	Now time.Time
	// Ages overrides Day28Ages by check name; a negative age stamps the
	// report in the future.
	Ages map[string]time.Duration
	// Stale names checks whose reports are Day28StaleAge old (Ages wins).
	Stale []string
	// Failing names checks whose files are fresh but unhealthy: status
	// "fail" (command artifacts, parity), "critical" with critical_count 1
	// (reconciliation, portfolio risk), missing_correlation_count 3
	// (integrity), go=false (day2), bot3 in live mode (paper smoke), a
	// script config naming another controller (strategy catalog), the
	// coordination service without COORD_ENABLED (coordination policy).
	Failing []string
	// Missing names checks whose files are not written (for preflight:
	// scripts/release/run_tests.py; strategy catalog: controllers/epp_v2_4.py;
	// coordination policy: compose/docker-compose.yml; smoke: the bot4
	// minute.csv; day2: the eval report).
	Missing []string
	// Day2Lag is the largest lag of the newest source compare
	// (hb.audit.v1); 0 means DefaultDay2Lag.
	Day2Lag int64
}

// genFile is one file of a generated root, with its modification time.
type genFile struct {
	rel   string
	body  []byte
	mtime time.Time
}

// WriteDay28 lays out a Day-28-shaped stack root at root: the static tree
// of Seed plus every report the 16 Day-28 checks read, stamped relative to
// o.Now so that each check's verdict at o.Now is known by construction.
// Each report's file mtime is its timestamp, so that no fallback makes a
// stale report look fresh. Nothing is started.
func WriteDay28(root string, o Day28Options) error {
	if o.Now.IsZero() {
		return fmt.Errorf("write day28 root %q: Now is not set", root)
	}
	g, err := newDay28Gen(o)
	if err != nil {
		return fmt.Errorf("write day28 root %q: %w", root, err)
	}
	files, err := g.files()
	if err != nil {
		return fmt.Errorf("write day28 root %q: %w", root, err)
	}
	if err := seedStatic(root); err != nil {
		return err
	}
	for _, f := range files {
		path := filepath.Join(root, filepath.FromSlash(f.rel))
		if err := writeFileAtomic(path, f.body); err != nil {
			return fmt.Errorf("write day28 root %q: %w", root, err)
		}
		if err := os.Chtimes(path, f.mtime, f.mtime); err != nil {
			return fmt.Errorf("write day28 root %q: set mtime %q: %w", root, path, err)
		}
	}
	if err := g.static(root); err != nil {
		return fmt.Errorf("write day28 root %q: %w", root, err)
	}
	return nil
}

type day28Gen struct {
	now     time.Time
	ages    map[string]time.Duration
	failing map[string]bool
	missing map[string]bool
	lag     int64
}

// failModes and missModes are the checks each option supports; naming any
// other check is an error, so that a test never believes it broke a check
// that the generator left healthy.
var (
	timedChecks = []string{CheckMultiBotPolicy, CheckTests, CheckSecretsHygiene, CheckReplay, CheckBacktest,
		CheckReconciliation, CheckParity, CheckPortfolioRisk, CheckAlerting, CheckIntegrity, CheckDay2}
	failModes = []string{CheckMultiBotPolicy, CheckStrategyCatalog, CheckCoordinationPolicy, CheckTests,
		CheckSecretsHygiene, CheckPaperSmoke, CheckReplay, CheckBacktest, CheckReconciliation, CheckParity,
		CheckPortfolioRisk, CheckIntegrity, CheckDay2}
	missModes = Day28Checks()
)

func newDay28Gen(o Day28Options) (*day28Gen, error) {
	g := &day28Gen{now: o.Now.UTC(), ages: Day28Ages(), failing: map[string]bool{}, missing: map[string]bool{}, lag: o.Day2Lag}
	if g.lag == 0 {
		g.lag = DefaultDay2Lag
	}
	var problems []string
	for _, c := range o.Stale {
		if !slices.Contains(timedChecks, c) {
			problems = append(problems, fmt.Sprintf("stale %q: not a timed Day-28 check (one of %s)", c, strings.Join(timedChecks, ", ")))
			continue
		}
		g.ages[c] = Day28StaleAge(c)
	}
	for c, age := range o.Ages {
		if _, ok := g.ages[c]; !ok {
			problems = append(problems, fmt.Sprintf("age of %q: not a timed Day-28 check", c))
			continue
		}
		g.ages[c] = age
	}
	for _, c := range o.Failing {
		if !slices.Contains(failModes, c) {
			problems = append(problems, fmt.Sprintf("failing %q: no failing form (one of %s)", c, strings.Join(failModes, ", ")))
			continue
		}
		g.failing[c] = true
	}
	for _, c := range o.Missing {
		if !slices.Contains(missModes, c) {
			problems = append(problems, fmt.Sprintf("missing %q: not a Day-28 check", c))
			continue
		}
		g.missing[c] = true
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return g, nil
}

// at is the timestamp of check's newest report.
func (g *day28Gen) at(check string) time.Time { return g.now.Add(-g.ages[check]) }

// report builds the body service's producer writes at rel when stamped ts,
// as a JSON object to adjust. The producer's root is os.DevNull, under
// which nothing exists: the event store's counters start from zero and
// ops-scheduler has no source compare to prune.
func report(service, rel string, ts time.Time) (map[string]any, error) {
	p, err := NewProducer(os.DevNull, service, ProducerOptions{})
	if err != nil {
		return nil, err
	}
	files, err := p.build(p, context.Background(), ts.UTC())
	if err != nil {
		return nil, fmt.Errorf("build %s reports: %w", service, err)
	}
	for _, f := range files {
		if f.rel == rel {
			var m map[string]any
			if err := json.Unmarshal(f.body, &m); err != nil {
				return nil, fmt.Errorf("decode %s report %s: %w", service, rel, err)
			}
			return m, nil
		}
	}
	return nil, fmt.Errorf("%s writes no %s", service, rel)
}

func jsonGen(rel string, v any, mtime time.Time) (genFile, error) {
	b, err := marshalReport(v)
	if err != nil {
		return genFile{}, err
	}
	return genFile{rel: rel, body: b, mtime: mtime.UTC()}, nil
}

// files builds every report file; nothing is written yet.
func (g *day28Gen) files() ([]genFile, error) {
	var out []genFile
	add := func(fs ...genFile) { out = append(out, fs...) }

	// Artifacts of the Python release scripts (command checks), written by
	// control-plane-checks and by the replay cycle.
	artifacts := []struct{ check, rel string }{
		{CheckMultiBotPolicy, "reports/policy/latest.json"},
		{CheckTests, "reports/tests/latest.json"},
		{CheckSecretsHygiene, "reports/security/latest.json"},
		{CheckBacktest, "reports/backtest_regression/latest.json"},
	}
	for _, a := range artifacts {
		if g.missing[a.check] {
			continue
		}
		ts := g.at(a.check)
		m, err := report(ControlPlaneChecks, a.rel, ts)
		if err != nil {
			return nil, err
		}
		if g.failing[a.check] {
			m["status"] = "fail"
		}
		f, err := jsonGen(a.rel, m, ts)
		if err != nil {
			return nil, err
		}
		add(f)
		if a.check == CheckTests {
			md := fmt.Sprintf("# Test Runner Summary\n\n- ts_utc: %s\n- status: %s\n", formatTS(ts), m["status"])
			add(genFile{rel: "reports/tests/latest.md", body: []byte(md), mtime: ts})
		}
	}
	if !g.missing[CheckReplay] {
		f, err := g.replay()
		if err != nil {
			return nil, err
		}
		add(f)
	}

	// Reports of the services, each with older stamped siblings so that
	// the freshest-of-family rule has a choice to make.
	families := []struct {
		check, service, latest string
		stamped                func(time.Time) string
		unhealthy              func(map[string]any)
	}{
		{CheckReconciliation, Reconciliation, "reports/reconciliation/latest.json",
			func(t time.Time) string {
				return "reports/reconciliation/reconciliation_" + t.Format(stampLayout) + ".json"
			},
			func(m map[string]any) { m["status"], m["critical_count"] = "critical", 1 }},
		{CheckParity, ShadowParity, "reports/parity/latest.json",
			func(t time.Time) string {
				return "reports/parity/" + t.Format("20060102") + "/parity_" + t.Format(stampLayout) + ".json"
			},
			func(m map[string]any) { m["status"], m["failed_bots"] = "fail", 1 }},
		{CheckPortfolioRisk, PortfolioRisk, "reports/portfolio_risk/latest.json",
			func(t time.Time) string {
				return "reports/portfolio_risk/portfolio_risk_" + t.Format(stampLayout) + ".json"
			},
			func(m map[string]any) { m["status"], m["critical_count"] = "critical", 1 }},
	}
	for _, fam := range families {
		if g.missing[fam.check] {
			continue
		}
		ts := g.at(fam.check)
		for i, rel := range []string{fam.latest, fam.stamped(ts.Add(-5 * time.Minute)), fam.stamped(ts.Add(-10 * time.Minute))} {
			t := ts.Add(-time.Duration(i) * 5 * time.Minute)
			m, err := report(fam.service, fam.latest, t)
			if err != nil {
				return nil, err
			}
			if g.failing[fam.check] {
				fam.unhealthy(m)
			}
			f, err := jsonGen(rel, m, t)
			if err != nil {
				return nil, err
			}
			add(f)
		}
	}

	if !g.missing[CheckAlerting] {
		ts := g.at(CheckAlerting)
		m, err := report(AlertWebhookSink, "reports/reconciliation/last_webhook_sent.json", ts)
		if err != nil {
			return nil, err
		}
		f, err := jsonGen("reports/reconciliation/last_webhook_sent.json", m, ts)
		if err != nil {
			return nil, err
		}
		add(f)
	}

	integ, err := g.integrity()
	if err != nil {
		return nil, err
	}
	add(integ...)
	day2, err := g.day2()
	if err != nil {
		return nil, err
	}
	add(day2...)

	if !g.missing[CheckPaperSmoke] {
		ts := g.at(CheckPaperSmoke)
		rel := "reports/exchange_snapshots/latest.json"
		m, err := report(OpsScheduler, rel, ts)
		if err != nil {
			return nil, err
		}
		if g.failing[CheckPaperSmoke] {
			bot3 := m["bots"].(map[string]any)["bot3"].(map[string]any)
			bot3["account_mode"], bot3["account_probe_status"], bot3["exchange"] = "live", "ok", "bitget_perpetual"
		}
		f, err := jsonGen(rel, m, ts)
		if err != nil {
			return nil, err
		}
		add(f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rel < out[j].rel })
	return out, nil
}

func (g *day28Gen) replay() (genFile, error) {
	ts := g.at(CheckReplay)
	m := replayReport(ts)
	if g.failing[CheckReplay] {
		m["status"], m["blockers"] = "fail", []string{"run_1_snapshot_failures:parity_not_pass"}
	}
	return jsonGen(ReplayArtifact, m, ts)
}

// integrity writes today's integrity report and the previous day's.
func (g *day28Gen) integrity() ([]genFile, error) {
	if g.missing[CheckIntegrity] {
		return nil, nil
	}
	ts := g.at(CheckIntegrity)
	var out []genFile
	for _, t := range []time.Time{ts, ts.Add(-24 * time.Hour)} {
		rel := "reports/event_store/integrity_" + t.Format("20060102") + ".json"
		m, err := report(EventStore, rel, t)
		if err != nil {
			return nil, err
		}
		m["ingest_duration_ms_last"] = 3.2 // the producer measures it; a fixed value keeps the tree reproducible
		if g.failing[CheckIntegrity] && t.Equal(ts) {
			m["missing_correlation_count"] = 3
		}
		f, err := jsonGen(rel, m, t)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// day2 writes the day2 gate evaluation and three source compares: the
// newest (one minute older than the evaluation) carries the lag under
// test, the older ones a lag far out of tolerance that must not count.
func (g *day28Gen) day2() ([]genFile, error) {
	ts := g.at(CheckDay2)
	var out []genFile
	for i := range 3 {
		t := ts.Add(-time.Minute - time.Duration(i)*5*time.Minute)
		rel := "reports/event_store/source_compare_" + t.Format(stampLayout) + ".json"
		m, err := report(OpsScheduler, rel, t)
		if err != nil {
			return nil, err
		}
		lag := map[string]int64{}
		for j, s := range IntegrityStreams {
			lag[s] = int64(j % 2)
		}
		lag["hb.audit.v1"] = g.lag
		if i > 0 {
			lag["hb.audit.v1"] = 500
		}
		m["lag_produced_minus_ingested_since_baseline"] = lag
		m["delta_produced_minus_ingested_since_baseline"] = lag
		f, err := jsonGen(rel, m, t)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	if g.missing[CheckDay2] {
		return out, nil
	}
	rel := "reports/event_store/day2_gate_eval_latest.json"
	m, err := report(OpsScheduler, rel, ts)
	if err != nil {
		return nil, err
	}
	m["source_compare_file"] = "/workspace/hbot/" + out[0].rel
	if g.failing[CheckDay2] {
		m["go"] = false
	}
	f, err := jsonGen(rel, m, ts)
	if err != nil {
		return nil, err
	}
	return append(out, f), nil
}

// static breaks the static files of the checks named in Failing or Missing.
func (g *day28Gen) static(root string) error {
	remove := map[string]string{
		CheckPreflight:          "scripts/release/run_tests.py",
		CheckStrategyCatalog:    "controllers/epp_v2_4.py",
		CheckCoordinationPolicy: "compose/docker-compose.yml",
		CheckSmoke:              "data/bot4/logs/epp_v24/bot4_d/minute.csv",
	}
	for check, rel := range remove {
		if g.missing[check] {
			if err := os.Remove(filepath.Join(root, filepath.FromSlash(rel))); err != nil {
				return fmt.Errorf("remove %s for missing %s: %w", rel, check, err)
			}
		}
	}
	if g.failing[CheckStrategyCatalog] {
		rel := "data/bot4/conf/scripts/v2_epp_v2_4_bot4_binance_smoke.yml"
		if err := writeFileAtomic(filepath.Join(root, filepath.FromSlash(rel)), []byte("controllers_config:\n  - other.yml\n")); err != nil {
			return err
		}
	}
	if g.failing[CheckCoordinationPolicy] {
		path := filepath.Join(root, "compose", "docker-compose.yml")
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read compose file: %w", err)
		}
		const token = "      - COORD_ENABLED=${COORD_ENABLED:-false}\n"
		if !strings.Contains(string(b), token) {
			return fmt.Errorf("compose file %q has no %q line to drop", path, strings.TrimSpace(token))
		}
		if err := writeFileAtomic(path, []byte(strings.Replace(string(b), token, "", 1))); err != nil {
			return err
		}
	}
	return nil
}
