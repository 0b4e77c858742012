package simstack

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The real-size tree: a Day-28 root (WriteDay28) grown to the shape of the
// hbot tree at commit 959d6cc, the one the Python runner was timed on
// (~7 s): about 5 300 files the secrets hygiene scan reads under docs/,
// reports/ and data/*/logs/, with the report families at that snapshot's
// counts (spec §6.2: 884 reconciliation, 884 parity over 4 day folders,
// 1 263 portfolio-risk, 383 source compares, 864 soak snapshots, …). Every
// added file is older than the Day-28 reports, so the verdicts at Now are
// WriteDay28's: all 16 checks pass.

// RealSizeFamilies are the history files added per family: the file-name
// prefix under reports/ and the count (the 959d6cc snapshot's).
var RealSizeFamilies = []struct {
	Dir, Prefix, Ext, Service string
	Count                     int
}{
	{"reconciliation", "reconciliation", ".json", Reconciliation, 882},
	{"parity", "parity", ".json", ShadowParity, 884},
	{"portfolio_risk", "portfolio_risk", ".json", PortfolioRisk, 1263},
	{"event_store", "source_compare", ".json", "", 383},
	{"backtest_regression", "backtest_regression", ".json", "", 183},
	{"soak", "soak_snapshot", ".json", "", 864},
	{"promotion_gates", "promotion_gates", ".json", "", 76},
	{"promotion_gates", "promotion_gates", ".md", "", 38},
	{"policy", "multi_bot_policy_check", ".json", "", 39},
	{"policy", "coordination_policy_check", ".json", "", 24},
	{"policy", "ml_governance_check", ".json", "", 13},
	{"tests", "test_run", ".json", "", 37},
	{"tests", "test_run", ".md", "", 37},
	{"security", "secrets_hygiene", ".json", "", 35},
	{"strategy_catalog", "strategy_catalog_check", ".json", "", 35},
	{"replay_regression", "replay_regression", ".json", "", 34},
	{"replay_regression", "replay_regression", ".md", "", 33},
	{"accounting", "accounting_integrity", ".json", "", 13},
	{"market_data", "market_data_freshness", ".json", "", 15},
	{"paper_soak", "paper_soak", ".json", "", 11},
}

// Real-size docs and logs: markdown pages under docs/, and per bot and day
// a minute.csv and a log file under data/<bot>/logs/.
const (
	realSizeDocs    = 240
	realSizeLogDays = 18
	realSizeBigLog  = 4 << 20 // one log near the scan's 5 MB cap
)

var realSizeBots = []string{"bot1", "bot3", "bot4"}

// RealSizeStats counts what WriteRealSize wrote.
type RealSizeStats struct {
	Files int   // files added to the Day-28 root
	Bytes int64 // their bytes
}

// WriteRealSize writes a Day-28 root at root (all checks pass at now) and
// grows it to the 959d6cc shape. The content is deterministic for a given
// now and holds no secret marker.
func WriteRealSize(root string, now time.Time) (RealSizeStats, error) {
	var st RealSizeStats
	if err := WriteDay28(root, Day28Options{Now: now}); err != nil {
		return st, err
	}
	w := &sizeWriter{root: root, rng: rand.New(rand.NewPCG(959, 0xd6cc)), st: &st}
	// History starts 15 minutes before the Day-28 reports' oldest sibling.
	start := now.UTC().Add(-2 * time.Hour).Truncate(time.Second)
	for _, fam := range RealSizeFamilies {
		if err := w.family(fam.Dir, fam.Prefix, fam.Ext, fam.Service, fam.Count, start); err != nil {
			return st, fmt.Errorf("write real-size root %q: %w", root, err)
		}
	}
	if err := w.docs(start); err != nil {
		return st, fmt.Errorf("write real-size root %q: %w", root, err)
	}
	if err := w.logs(start); err != nil {
		return st, fmt.Errorf("write real-size root %q: %w", root, err)
	}
	return st, nil
}

type sizeWriter struct {
	root string
	rng  *rand.Rand
	st   *RealSizeStats
}

func (w *sizeWriter) write(rel string, body []byte, mtime time.Time) error {
	p := filepath.Join(w.root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(p, body, 0o644); err != nil {
		return err
	}
	w.st.Files++
	w.st.Bytes += int64(len(body))
	return os.Chtimes(p, mtime, mtime)
}

// family writes count stamped files, one every 5 minutes back from start;
// a service family's body is its producer's report, others a generic one.
func (w *sizeWriter) family(dir, prefix, ext, service string, count int, start time.Time) error {
	var tmpl map[string]any
	if service != "" {
		latest := map[string]string{Reconciliation: "reports/reconciliation/latest.json", ShadowParity: "reports/parity/latest.json",
			PortfolioRisk: "reports/portfolio_risk/latest.json"}[service]
		m, err := report(service, latest, start)
		if err != nil {
			return err
		}
		tmpl = m
	}
	for i := range count {
		ts := start.Add(-time.Duration(i) * 5 * time.Minute)
		rel := fmt.Sprintf("reports/%s/%s_%s%s", dir, prefix, ts.Format(stampLayout), ext)
		if prefix == "parity" {
			rel = fmt.Sprintf("reports/parity/%s/parity_%s.json", ts.Format("20060102"), ts.Format(stampLayout))
		}
		var body []byte
		switch {
		case ext == ".md":
			body = []byte(fmt.Sprintf("# %s %s\n\n- ts_utc: %s\n- status: pass\n\n%s", prefix, ts.Format(stampLayout), formatTS(ts), w.prose(12)))
		case tmpl != nil:
			tmpl["ts_utc"] = formatTS(ts)
			if _, ok := tmpl["last_update_utc"]; ok {
				tmpl["last_update_utc"] = formatTS(ts)
			}
			b, err := marshalReport(tmpl)
			if err != nil {
				return err
			}
			body = b
		default:
			b, err := marshalReport(w.generic(prefix, ts))
			if err != nil {
				return err
			}
			body = b
		}
		if err := w.write(rel, body, ts); err != nil {
			return err
		}
	}
	return nil
}

// generic is a report body of about 1-2 KB.
func (w *sizeWriter) generic(kind string, ts time.Time) map[string]any {
	metrics := make([]map[string]any, 8+w.rng.IntN(12))
	for i := range metrics {
		metrics[i] = map[string]any{"metric": fmt.Sprintf("%s_metric_%02d", kind, i), "value": w.rng.Float64() * 100,
			"expected": 50.0, "pass": true, "note": "within tolerance"}
	}
	return map[string]any{"ts_utc": formatTS(ts), "status": "pass", "kind": kind, "errors": []string{},
		"metrics": metrics, "details": map[string]any{"checked_bots": []string{"bot1", "bot3", "bot4"}, "runtime_s": w.rng.Float64() * 9}}
}

var realSizeWords = strings.Fields(`the gate reads every report of the desk and judges freshness status and evidence
before a promotion operators restart a stale producer and watch the report until fresh reconciliation parity
portfolio risk event store integrity day two gate replay regression backtest harness policy scope
catalog coordination service bot paper live probe minute window threshold metric drift audit ledger
rotation of credentials follows the runbook and no key material is ever written to these pages`)

// prose is n lines of words.
func (w *sizeWriter) prose(n int) string {
	var b strings.Builder
	for range n {
		for j := range 8 + w.rng.IntN(10) {
			if j > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(realSizeWords[w.rng.IntN(len(realSizeWords))])
		}
		b.WriteString(".\n")
	}
	return b.String()
}

func (w *sizeWriter) docs(start time.Time) error {
	sections := []string{"ops", "validation", "architecture", "runbooks", "sprints", "strategy"}
	for i := range realSizeDocs {
		rel := fmt.Sprintf("docs/%s/page_%03d.md", sections[i%len(sections)], i)
		body := fmt.Sprintf("# Page %d\n\n%s", i, w.prose(20+w.rng.IntN(80)))
		if err := w.write(rel, []byte(body), start.Add(-time.Duration(i)*time.Hour)); err != nil {
			return err
		}
	}
	return nil
}

// logs writes, per bot and day, a minute.csv (one row a minute) and a
// log file; bot1's newest log is near the scan's size cap.
func (w *sizeWriter) logs(start time.Time) error {
	for _, bot := range realSizeBots {
		for d := range realSizeLogDays {
			day := start.Add(-time.Duration(d) * 24 * time.Hour)
			var csv strings.Builder
			csv.WriteString("ts,mid,spread_bps,inventory,pnl\n")
			for m := range 1440 {
				fmt.Fprintf(&csv, "%s,%.2f,%.1f,%.4f,%.3f\n", day.Truncate(24*time.Hour).Add(time.Duration(m)*time.Minute).Format(time.RFC3339),
					60000+w.rng.Float64()*100, 2+w.rng.Float64()*3, w.rng.Float64(), w.rng.Float64()*10-5)
			}
			rel := fmt.Sprintf("data/%s/logs/epp_v24/%s/minute.csv", bot, day.Format("20060102"))
			if err := w.write(rel, []byte(csv.String()), day); err != nil {
				return err
			}
			size := 64 << 10
			if bot == "bot1" && d == 0 {
				size = realSizeBigLog
			}
			var log strings.Builder
			for log.Len() < size {
				fmt.Fprintf(&log, "%s INFO controller tick %d: %s\n", day.Format(time.RFC3339), w.rng.IntN(1e6), strings.TrimSuffix(w.prose(1), "\n"))
			}
			rel = fmt.Sprintf("data/%s/logs/logs_%s_%s.log", bot, bot, day.Format("20060102"))
			if err := w.write(rel, []byte(log.String()), day); err != nil {
				return err
			}
		}
	}
	return nil
}
