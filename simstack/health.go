package simstack

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"
)

// healthProbe is the Day-28 Docker healthcheck of one service: the report
// whose mtime must be no older than the <Env> seconds (default Default).
// The hbot stack runs these as `python -c` one-liners; a FROM scratch image
// has no shell or Python, so the producer binary carries them.
type healthProbe struct {
	Env     string
	Default float64
	// Path is the report, root-relative; Glob instead takes the newest
	// match by name (event-store's integrity_<day>.json).
	Path, Glob string
	// AliveThreads also requires alive_threads > 0 (ops-scheduler).
	AliveThreads bool
}

// healthProbes are the hbot stack's probes (reference: hbot-stack §1b);
// alert-webhook-sink and control-plane-checks have none there and get the
// same shape on the report they write.
var healthProbes = map[string]healthProbe{
	EventStore:         {Env: "EVENT_STORE_HEALTH_MAX_SEC", Default: 900, Glob: "reports/event_store/integrity_*.json"},
	OpsScheduler:       {Env: "OPS_SCHEDULER_HEALTH_MAX_SEC", Default: 1200, Path: "reports/ops_scheduler/heartbeat.json", AliveThreads: true},
	Reconciliation:     {Env: "RECON_HEALTH_MAX_SEC", Default: 900, Path: "reports/reconciliation/latest.json"},
	ShadowParity:       {Env: "PARITY_HEALTH_MAX_SEC", Default: 900, Path: "reports/parity/latest.json"},
	PortfolioRisk:      {Env: "PORTFOLIO_RISK_HEALTH_MAX_SEC", Default: 900, Path: "reports/portfolio_risk/latest.json"},
	AlertWebhookSink:   {Env: "ALERT_WEBHOOK_SINK_HEALTH_MAX_SEC", Default: 900, Path: "reports/reconciliation/last_webhook_sent.json"},
	ControlPlaneChecks: {Env: "CONTROL_PLANE_CHECKS_HEALTH_MAX_SEC", Default: 900, Path: "reports/policy/latest.json"},
}

// Health is the freshness probe of service under root at now: nil when its
// report exists and its mtime is at most the *_HEALTH_MAX_SEC limit old
// (getenv reads it), else an error naming the file, its age and the limit.
// A limit that is not a positive number is an error too: the probe fails
// closed rather than fall back to a default the operator did not choose.
func Health(root, service string, now time.Time, getenv func(string) string) (string, error) {
	p, ok := healthProbes[service]
	if !ok {
		return "", fmt.Errorf("health %q: unknown service", service)
	}
	limit := p.Default
	if v := getenv(p.Env); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 {
			return "", fmt.Errorf("health %s: %s=%q is not a positive number of seconds", service, p.Env, v)
		}
		limit = f
	}
	rel, err := p.report(root)
	if err != nil {
		return "", fmt.Errorf("health %s: %w", service, err)
	}
	st, err := os.Stat(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		return "", fmt.Errorf("health %s: report %s: %w", service, rel, err)
	}
	age := now.Sub(st.ModTime()).Seconds()
	if age > limit {
		return "", fmt.Errorf("health %s: report %s is %.1fs old > %s=%g", service, rel, age, p.Env, limit)
	}
	if p.AliveThreads {
		if err := aliveThreads(filepath.Join(root, filepath.FromSlash(rel))); err != nil {
			return "", fmt.Errorf("health %s: report %s: %w", service, rel, err)
		}
	}
	return fmt.Sprintf("%s healthy: report %s is %.1fs old <= %s=%g", service, rel, age, p.Env, limit), nil
}

// report is the probed file, root-relative.
func (p healthProbe) report(root string) (string, error) {
	if p.Glob == "" {
		return p.Path, nil
	}
	matches, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(p.Glob)))
	if err != nil {
		return "", fmt.Errorf("glob %s: %w", p.Glob, err)
	}
	if len(matches) == 0 {
		return "", fmt.Errorf("no file matches %s", p.Glob)
	}
	sort.Strings(matches)
	rel, err := filepath.Rel(root, matches[len(matches)-1])
	return filepath.ToSlash(rel), err
}

// aliveThreads requires the heartbeat's alive_threads to be above zero.
func aliveThreads(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var hb struct {
		AliveThreads *int `json:"alive_threads"`
	}
	if err := json.Unmarshal(b, &hb); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	if hb.AliveThreads == nil || *hb.AliveThreads <= 0 {
		return fmt.Errorf("alive_threads is missing or not above 0")
	}
	return nil
}

// simHealth is `sim health --root DIR --service NAME`: exit 0 when healthy,
// 1 otherwise, one line saying why (the engine keeps it in the health log).
func simHealth(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim health", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", "", "stack root")
	service := fs.String("service", "", "service whose report is probed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *root == "" || *service == "" {
		return fmt.Errorf("parse flags: --root and --service are required")
	}
	msg, err := Health(*root, *service, time.Now(), os.Getenv)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, msg)
	return nil
}
