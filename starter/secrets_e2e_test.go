package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/strictcycle/strictcycle/redistest"
	"github.com/strictcycle/strictcycle/temporalclient"
	"github.com/strictcycle/strictcycle/worker/workerapp"
	"github.com/strictcycle/strictcycle/workflows"
)

// syncBuffer is a zap sink safe for the worker's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Sync() error { return nil }

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A real cycle with the Redis password in REDIS_URL (a redis-server with
// --requirepass) and a redis_ping check in the contract: the password is in
// none of the worker's logs (its own and the SDK's, at debug level), the
// workflow history, the gate artifacts, the published decision or the
// decision stream. The replay and a command check print their whole
// environment and a file holding the password: the worker's REDIS_URL and
// TEMPORAL_API_KEY are not in their environment, and the password they
// print is masked before it is stored anywhere.
func TestE2ESecretsNeverLeak(t *testing.T) {
	const (
		pw     = "e2e-Redis-s3cret-pw"
		apiKey = "e2e-temporal-api-key-77"
	)
	sh, err := exec.LookPath("sh")
	require.NoError(t, err)
	const leaky = "env; cat leak.txt"
	s := newE2EStack(t, func(doc map[string]any) {
		doc["checks"] = append(doc["checks"].([]any), map[string]any{
			"name": "bus_ping", "severity": "critical", "kind": "redis_ping",
			"pass_reason": "redis answers", "fail_reason": "redis down"}, map[string]any{
			"name": "leaky_command", "severity": "critical", "kind": "command",
			"command": map[string]any{"argv": []any{sh, "-c", leaky}}})
		replay := doc["replay"].(map[string]any)
		replay["argv"] = append([]any{sh, "-c", leaky + `; exec "$@"`, "sh"}, replay["argv"].([]any)...)
	})
	addr := redistest.Start(t, pw).Addr()
	s.cfg.Redis.URL = "redis://default:" + pw + "@" + addr + "/0"
	// The worker process's environment holds the secrets; the API key is
	// not in the configuration (the dev server has no TLS), so nothing
	// would mask it: it must not reach a child at all.
	t.Setenv("REDIS_URL", s.cfg.Redis.URL)
	t.Setenv("TEMPORAL_API_KEY", apiKey)
	require.NoError(t, os.WriteFile(filepath.Join(s.root, "leak.txt"), []byte("leaked "+pw+"\n"), 0o600))

	logs := &syncBuffer{}
	logger := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), logs, zapcore.DebugLevel))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl, err := workerapp.Dial(ctx, s.cfg, logger)
	require.NoError(t, err)
	defer cl.Close()
	wctx, stopWorker := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- workerapp.Run(wctx, cl, s.cfg, logger, workerapp.RunOptions{}) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			stopWorker()
			require.NoError(t, <-done)
		})
	}
	defer stop()

	run, err := startCycle(ctx, cl, s.cfg.TaskQueue, s.input())
	require.NoError(t, err)
	var res workflows.StrictCycleResult
	require.NoError(t, run.Get(ctx, &res))
	require.Equal(t, "PASS", string(res.Status), res.Reason)

	// (b) workflow history: every event, every payload.
	events, err := temporalclient.History(ctx, cl, run.GetID(), run.GetRunID())
	require.NoError(t, err)
	require.NotEmpty(t, events)
	var replayed bool
	for _, ev := range events {
		js, err := protojson.Marshal(ev)
		require.NoError(t, err)
		require.NotContains(t, string(js), pw, "history event %d (%s)", ev.GetEventId(), ev.GetEventType())
		require.NotContains(t, string(js), apiKey, "history event %d (%s)", ev.GetEventId(), ev.GetEventType())
		if r := ev.GetActivityTaskCompletedEventAttributes().GetResult(); r != nil {
			for _, p := range r.GetPayloads() {
				replayed = replayed || strings.Contains(string(p.GetData()), "leaked [redacted]")
			}
		}
	}
	require.True(t, replayed, "the replay's masked output is in the history")
	require.Contains(t, strings.Join(Timeline(events), "\n"), "decision PASS")

	// (c) gate artifacts, including the redis_ping result.
	dir := filepath.Dir(res.ArtifactPath)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.NotEmpty(t, entries)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		require.NotContains(t, string(b), pw, e.Name())
		require.NotContains(t, string(b), apiKey, e.Name())
		require.NotContains(t, string(b), "REDIS_URL=", e.Name())
	}
	latest, err := os.ReadFile(filepath.Join(dir, "latest.json"))
	require.NoError(t, err)
	require.Contains(t, string(latest), `"name": "bus_ping"`)
	require.Contains(t, string(latest), `leaked [redacted]`, "the command's masked output is in the artifact")

	// The published decision, read back with the password.
	rc := redis.NewClient(&redis.Options{Addr: addr, Password: pw})
	defer rc.Close()
	dec, err := rc.Get(ctx, s.cfg.Redis.KeyPrefix+":"+s.cfg.Environment+":promotion_gate:latest").Result()
	require.NoError(t, err)
	require.Contains(t, dec, `"status":"PASS"`)
	require.NotContains(t, dec, pw)
	msgs, err := rc.XRange(ctx, s.cfg.Redis.Stream, "-", "+").Result()
	require.NoError(t, err)
	require.NotEmpty(t, msgs, "the decision is on the stream")
	for _, m := range msgs {
		js, err := json.Marshal(m.Values)
		require.NoError(t, err)
		require.NotContains(t, string(js), pw)
		require.NotContains(t, string(js), apiKey)
	}

	// (a) logs, once the worker has stopped.
	stop()
	text := logs.String()
	require.Contains(t, text, "worker started")
	require.Contains(t, text, `"redis":"redis://default:xxxxx@`+addr+`/0"`)
	require.NotContains(t, text, pw)
	require.NotContains(t, text, apiKey)
}
