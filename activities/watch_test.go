package activities

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/gates"
)

// testContractYAML is a small contract over a temp root: one report check
// per producing service, a glob check, and a replay.
const testContractYAML = `
name: activities-test
freshness:
  window: 20m
  ci_window: 15m
  future_skew: 2m
replay:
  check: replay_regression_cycle
  argv: [SELF, "helper:replay", reports/replay_regression/latest.json, pass]
  env: {REPLAY_ENV_CHECK: "yes"}
  artifact: reports/replay_regression/latest.json
  timeout: 20s
checks:
  - name: risk_service_fresh
    severity: critical
    kind: report
    producer: risk-service
    report:
      path: reports/risk_service/latest.json
      timestamp_keys: [ts_utc]
      condition: status == "ok"
  - name: parity_thresholds
    severity: critical
    kind: report
    producer: shadow-parity-service
    report:
      globs: ["reports/parity/**/parity_*.json"]
      timestamp_keys: [ts_utc]
      condition: status == "ok"
  - name: replay_regression_cycle
    severity: critical
    kind: report
    report:
      path: reports/replay_regression/latest.json
      timestamp_keys: [ts_utc]
      condition: status == "pass"
services:
  risk-service: {}
  shadow-parity-service: {}
recovery:
  driver: exec
  exec:
    restart: [SELF, "helper:record", "{service}"]
  max_restarts: 2
  budget_window: 1h
`

// loadTestContract writes the contract YAML to a temp file and loads it
// with config.LoadContract, as the worker does.
func loadTestContract(t testing.TB, mutate func(string) string) string {
	t.Helper()
	self, err := os.Executable()
	require.NoError(t, err)
	y := strings.ReplaceAll(testContractYAML, "SELF", self)
	if mutate != nil {
		y = mutate(y)
	}
	p := filepath.Join(t.TempDir(), "contract.yaml")
	require.NoError(t, os.WriteFile(p, []byte(y), 0o644))
	_, err = config.LoadContract(p)
	require.NoError(t, err, "test contract loads")
	return p
}

type watchCall struct {
	res *WatchUntilFreshResult
	err error
}

// startWatch runs WatchUntilFresh in the activity environment in a
// goroutine; started is closed after the first evaluation.
func startWatch(t testing.TB, a *Activities, in *WatchUntilFreshInput) (started <-chan struct{}, done chan watchCall) {
	t.Helper()
	st := make(chan struct{})
	var once atomic.Bool
	a.onEvaluate = func(int) {
		if once.CompareAndSwap(false, true) {
			close(st)
		}
	}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.SetTestTimeout(time.Minute)
	env.RegisterActivity(a)
	dc := make(chan watchCall, 1)
	go func() {
		v, err := env.ExecuteActivity(WatchUntilFreshName, in)
		if err != nil {
			dc <- watchCall{err: err}
			return
		}
		var res WatchUntilFreshResult
		err = v.Get(&res)
		dc <- watchCall{res: &res, err: err}
	}()
	return st, dc
}

func waitWatch(t testing.TB, started <-chan struct{}, done chan watchCall) {
	t.Helper()
	select {
	case <-started:
	case c := <-done:
		select {
		case <-started: // done after its first evaluation: put it back
			done <- c
			return
		default:
		}
		t.Fatalf("watch returned before its first evaluation: %+v %v", c.res, c.err)
	case <-time.After(20 * time.Second):
		t.Fatal("watch did not start")
	}
}

func TestWatchUntilFresh(t *testing.T) {
	contract := loadTestContract(t, nil)
	now := time.Now().UTC()
	tests := []struct {
		name      string
		checks    []string
		initial   map[string]time.Time // rel path -> ts_utc written before the watch
		notBefore time.Time
		wantStale bool
		disable   bool
		write     string // rel path written (ts now, status ok) after the watch started
		timeout   time.Duration
		poll      time.Duration
		wantFresh bool
		wantEvent bool
		wantPoll  bool
		wantIn    string // substring of Reason
	}{
		{
			name: "stale report refreshed after the start: file event", checks: []string{"risk_service_fresh"},
			initial: map[string]time.Time{"reports/risk_service/latest.json": now.Add(-time.Hour)},
			write:   "reports/risk_service/latest.json", timeout: 20 * time.Second, poll: time.Hour,
			wantFresh: true, wantEvent: true, wantIn: "fresh",
		},
		{
			name: "already fresh returns at once", checks: []string{"risk_service_fresh"},
			initial: map[string]time.Time{"reports/risk_service/latest.json": now.Add(-time.Minute)},
			timeout: 20 * time.Second, poll: time.Hour, wantFresh: true, wantIn: "fresh",
		},
		{
			name: "fresh but before not_before waits for a newer report", checks: []string{"risk_service_fresh"},
			initial:   map[string]time.Time{"reports/risk_service/latest.json": now.Add(-time.Minute)},
			notBefore: now.Add(-time.Second),
			write:     "reports/risk_service/latest.json", timeout: 20 * time.Second, poll: time.Hour,
			wantFresh: true, wantEvent: true,
		},
		{
			name: "timeout is a result with the blocking check", checks: []string{"risk_service_fresh"},
			initial: map[string]time.Time{"reports/risk_service/latest.json": now.Add(-time.Hour)},
			timeout: 300 * time.Millisecond, poll: 100 * time.Millisecond,
			wantIn: "timeout after 300ms: risk_service_fresh stale ",
		},
		{
			name: "not_before in the future relative to the report: timeout", checks: []string{"risk_service_fresh"},
			initial:   map[string]time.Time{"reports/risk_service/latest.json": now.Add(-time.Minute)},
			notBefore: now.Add(time.Hour),
			timeout:   200 * time.Millisecond, poll: 50 * time.Millisecond,
			wantIn: "risk_service_fresh pass report time ",
		},
		{
			name: "missing directory at the start: polling finds it", checks: []string{"risk_service_fresh"},
			disable: true, write: "reports/risk_service/latest.json", timeout: 20 * time.Second, poll: 20 * time.Millisecond,
			wantFresh: true, wantPoll: true,
		},
		{
			name: "missing directory at the start: the created directory is watched", checks: []string{"risk_service_fresh"},
			write: "reports/risk_service/latest.json", timeout: 20 * time.Second, poll: time.Hour,
			wantFresh: true, wantEvent: true,
		},
		{
			name: "** glob in a new subdirectory", checks: []string{"parity_thresholds"},
			initial: map[string]time.Time{"reports/parity/old/parity_1.json": now.Add(-time.Hour)},
			write:   "reports/parity/bot1/2026/parity_2.json", timeout: 20 * time.Second, poll: time.Hour,
			wantFresh: true, wantEvent: true,
		},
		{
			name: "want stale returns once the report goes stale", checks: []string{"risk_service_fresh"},
			initial:   map[string]time.Time{"reports/risk_service/latest.json": now.Add(-time.Minute)},
			wantStale: true, write: "reports/risk_service/latest.json", timeout: 20 * time.Second, poll: time.Hour,
			wantFresh: false, wantEvent: true, wantIn: "stale: risk_service_fresh fail",
		},
		{
			name: "want stale times out while the report stays fresh", checks: []string{"risk_service_fresh"},
			initial:   map[string]time.Time{"reports/risk_service/latest.json": now.Add(-time.Minute)},
			wantStale: true, timeout: 200 * time.Millisecond, poll: 50 * time.Millisecond,
			wantFresh: true, wantIn: "timeout after 200ms: risk_service_fresh pass",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for rel, ts := range tt.initial {
				writeReport(t, root, rel, ts, "ok")
			}
			a := New(Options{DisableFileEvents: tt.disable})
			in := &WatchUntilFreshInput{Target: Target{Environment: "test", Root: root, Contract: contract},
				Checks: tt.checks, NotBefore: tt.notBefore, Timeout: tt.timeout, Poll: tt.poll, WantStale: tt.wantStale}
			started, done := startWatch(t, a, in)
			waitWatch(t, started, done)
			if tt.write != "" {
				status := "ok"
				if tt.wantStale {
					status = "degraded" // the condition fails
				}
				writeReport(t, root, tt.write, time.Now(), status)
			}
			var c watchCall
			select {
			case c = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("watch did not return")
			}
			require.NoError(t, c.err)
			res := c.res
			require.Equal(t, tt.wantFresh, res.Fresh, res.Reason)
			if tt.wantIn != "" {
				require.Contains(t, res.Reason, tt.wantIn)
			}
			if tt.wantEvent {
				require.GreaterOrEqual(t, res.Events, 1)
			}
			if tt.wantPoll {
				require.GreaterOrEqual(t, res.Polls, 1)
				require.Zero(t, res.Events)
			}
			require.Len(t, res.Checks, len(tt.checks))
			require.Equal(t, tt.checks[0], res.Checks[0].Name)
		})
	}
}

func TestWatchUntilFreshHeartbeats(t *testing.T) {
	contract := loadTestContract(t, nil)
	root := t.TempDir()
	writeReport(t, root, "reports/risk_service/latest.json", time.Now().Add(-time.Hour), "ok")
	var beats atomic.Int64
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.SetTestTimeout(time.Minute)
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, d converter.EncodedValues) {
		var p watchProgress
		if d.Get(&p) == nil && len(p.Checks) == 1 && p.Checks[0].Verdict == "stale" && p.Checks[0].AgeMin != nil {
			beats.Add(1)
		}
	})
	env.RegisterActivity(New(Options{}))
	v, err := env.ExecuteActivity(WatchUntilFreshName, &WatchUntilFreshInput{Target: Target{Root: root, Contract: contract},
		Checks: []string{"risk_service_fresh"}, Timeout: 300 * time.Millisecond, Poll: 20 * time.Millisecond})
	require.NoError(t, err)
	var res WatchUntilFreshResult
	require.NoError(t, v.Get(&res))
	require.False(t, res.Fresh)
	require.GreaterOrEqual(t, res.Polls, 1)
	require.Positive(t, beats.Load(), "heartbeats carry the verdicts and ages")
}

func TestWatchUntilFreshBadInput(t *testing.T) {
	contract := loadTestContract(t, nil)
	env := activityEnv(New(Options{}))
	for _, in := range []*WatchUntilFreshInput{
		{Target: Target{Root: t.TempDir(), Contract: contract}},
		{Target: Target{Root: t.TempDir(), Contract: contract}, Checks: []string{"no_such_check"}},
	} {
		_, err := env.ExecuteActivity(WatchUntilFreshName, in)
		var ae *temporal.ApplicationError
		require.ErrorAs(t, err, &ae)
		require.Equal(t, ErrTypeBadInput, ae.Type())
	}
}

// TestStaticDir: the watched directory of a pattern is its part before the
// first wildcard (the matcher itself is rootfs.MatchPath, tested there).
func TestStaticDir(t *testing.T) {
	require.Equal(t, "reports/parity", staticDir("reports/parity/**/parity_*.json"))
	require.Equal(t, "reports/risk_service", staticDir("reports/risk_service/latest.json"))
	require.Equal(t, ".", staticDir("latest.json"))
	require.Equal(t, "reports", staticDir("reports/*/latest.json"))
}

// BenchmarkWatchLatency measures the time from a report write to the
// return of WatchUntilFresh on file events (the poll period is an hour).
//
//	go test ./activities/ -run '^$' -bench WatchLatency -benchtime 50x
func BenchmarkWatchLatency(b *testing.B) {
	contract := loadTestContract(b, nil)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		root := b.TempDir()
		writeReport(b, root, "reports/risk_service/latest.json", time.Now().Add(-time.Hour), "ok")
		a := New(Options{})
		started, done := startWatch(b, a, &WatchUntilFreshInput{Target: Target{Root: root, Contract: contract},
			Checks: []string{"risk_service_fresh"}, Timeout: 30 * time.Second, Poll: time.Hour})
		waitWatch(b, started, done)
		b.StartTimer()
		// As an hbot service writes: temp file, then rename (no fsync).
		tmp := filepath.Join(root, "reports/risk_service/latest.json.tmp")
		body := `{"ts_utc": "` + gates.FormatPyISO(time.Now()) + `", "status": "ok"}`
		if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(root, "reports/risk_service/latest.json")); err != nil {
			b.Fatal(err)
		}
		c := <-done
		b.StopTimer()
		if c.err != nil || !c.res.Fresh || c.res.Events < 1 {
			b.Fatalf("watch: %+v %v", c.res, c.err)
		}
		b.StartTimer()
	}
}

// A retried attempt (a worker died mid-watch) waits only for what is left
// of the timeout, known from the first attempt's heartbeat.
func TestWatchUntilFreshRetryKeepsDeadline(t *testing.T) {
	contract := loadTestContract(t, nil)
	root := t.TempDir()
	writeReport(t, root, "reports/risk_service/latest.json", time.Now().Add(-time.Hour), "ok")
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.SetTestTimeout(time.Minute)
	env.SetHeartbeatDetails(watchProgress{Started: time.Now().Add(-time.Hour + 200*time.Millisecond)})
	env.RegisterActivity(New(Options{}))
	start := time.Now()
	v, err := env.ExecuteActivity(WatchUntilFreshName, &WatchUntilFreshInput{Target: Target{Root: root, Contract: contract},
		Checks: []string{"risk_service_fresh"}, Timeout: time.Hour, Poll: 50 * time.Millisecond})
	require.NoError(t, err)
	var res WatchUntilFreshResult
	require.NoError(t, v.Get(&res))
	require.False(t, res.Fresh)
	require.Contains(t, res.Reason, "timeout after 1h0m0s")
	require.Less(t, time.Since(start), 30*time.Second, "the first attempt's hour is nearly spent")
}

// TestWatchUntilFreshOneClock: the wait is measured on the activities'
// clock, the one the engine judges freshness with (a clock that steps a
// second per reading makes the wait last seconds, though it takes ms).
func TestWatchUntilFreshOneClock(t *testing.T) {
	path := loadTestContract(t, nil)
	root := t.TempDir()
	base := time.Now().UTC()
	writeReport(t, root, "reports/risk_service/latest.json", base, "ok")
	var readings atomic.Int64
	clock := func() time.Time { return base.Add(time.Duration(readings.Add(1)) * time.Second) }
	env := activityEnv(New(Options{Now: clock, DisableFileEvents: true}))
	v, err := env.ExecuteActivity(WatchUntilFreshName, &WatchUntilFreshInput{
		Target: Target{Environment: "test", Root: root, Contract: path}, Checks: []string{"risk_service_fresh"}, Timeout: time.Minute})
	require.NoError(t, err)
	var res WatchUntilFreshResult
	require.NoError(t, v.Get(&res))
	require.True(t, res.Fresh, res.Reason)
	n := readings.Load()
	require.GreaterOrEqual(t, n, int64(3), "start, the engine's now, the end")
	// The first reading is the start and the last the end: the wait is
	// their difference in clock seconds.
	require.Equal(t, float64((n-1)*1000), res.WaitedMS)
}
