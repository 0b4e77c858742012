package workerapp_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.uber.org/zap/zaptest"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/devserver"
	"github.com/strictcycle/strictcycle/worker/workerapp"
	"github.com/strictcycle/strictcycle/workflows"
)

// echo is the test's own workflow, registered beside the project's.
func echo(ctx workflow.Context, s string) (string, error) { return "echo " + s, nil }

// startServer starts an embedded Temporal server (a test dependency only:
// the worker binary links no server) with namespace ns and no search
// attribute of the project's, so that RunWorker's own registration is what
// puts them there.
func startServer(t *testing.T, ns string) string {
	t.Helper()
	srv, err := devserver.Start(t.Context(), devserver.Options{DBFile: filepath.Join(t.TempDir(), "temporal.db"), Namespace: ns})
	require.NoError(t, err)
	t.Cleanup(srv.Stop)
	return srv.FrontendAddr()
}

// TestRunWorker runs the worker process against a Temporal server on free
// ports, runs a workflow through it, and reads /metrics and /healthz.
func TestRunWorker(t *testing.T) {
	mr := miniredis.RunT(t)
	cfg := config.Default()
	cfg.Temporal.Namespace = "strictcycle-worker-test"
	cfg.Temporal.Address = startServer(t, cfg.Temporal.Namespace)
	cfg.TaskQueue = "workerapp-test"
	cfg.MetricsAddr = "127.0.0.1:0"
	cfg.Redis.URL = "redis://" + mr.Addr() + "/0"

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ready := make(chan workerapp.Ready, 1)
	done := make(chan error, 1)
	go func() {
		done <- workerapp.RunWorker(ctx, cfg, zaptest.NewLogger(t), workerapp.RunOptions{
			Register: func(r worker.Registry) { r.RegisterWorkflow(echo) },
			OnReady:  func(r workerapp.Ready) { ready <- r },
		})
	}()
	var r workerapp.Ready
	select {
	case r = <-ready:
	case err := <-done:
		t.Fatalf("RunWorker returned before ready: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("worker not ready after a minute")
	}
	require.NotEmpty(t, r.MetricsAddr)
	require.Equal(t, cfg.Temporal.Address, r.TemporalAddr)

	c, err := client.Dial(client.Options{HostPort: r.TemporalAddr, Namespace: cfg.Temporal.Namespace})
	require.NoError(t, err)
	defer c.Close()

	// The project's search attributes are registered in the namespace (by
	// RunWorker: the server started without them).
	attrs := listAttributes(t, c, cfg.Temporal.Namespace)
	for _, k := range workflows.SearchAttributeKeys() {
		require.Equal(t, k.GetValueType(), attrs[k.GetName()], k.GetName())
	}

	runCtx, runCancel := context.WithTimeout(ctx, 30*time.Second)
	defer runCancel()
	run, err := c.ExecuteWorkflow(runCtx, client.StartWorkflowOptions{ID: "echo-1", TaskQueue: cfg.TaskQueue}, echo, "hi")
	require.NoError(t, err)
	var got string
	require.NoError(t, run.Get(runCtx, &got))
	require.Equal(t, "echo hi", got)

	base := "http://" + r.MetricsAddr
	require.Eventually(t, func() bool {
		body, code := get(t, base+"/metrics")
		return code == http.StatusOK &&
			strings.Contains(body, "temporal_workflow_completed") &&
			strings.Contains(body, "strictcycle_worker_up{") &&
			strings.Contains(body, "go_goroutines")
	}, 10*time.Second, 50*time.Millisecond)

	body, code := get(t, base+"/healthz")
	require.Equal(t, http.StatusOK, code, body)
	var health map[string]string
	require.NoError(t, json.Unmarshal([]byte(body), &health))
	require.Equal(t, map[string]string{"status": "ok", "temporal": "ok", "redis": "ok"}, health)

	// Redis down is reported, but the worker stays healthy.
	mr.Close()
	body, code = get(t, base+"/healthz")
	require.Equal(t, http.StatusOK, code, body)
	require.NotContains(t, body, `"redis":"ok"`)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("RunWorker did not return after cancel")
	}
	_, err = http.Get(base + "/healthz")
	require.Error(t, err, "metrics server still listening after stop")
}

// TestRunMetricsPortTaken fails before the worker starts.
func TestRunMetricsPortTaken(t *testing.T) {
	cfg := config.Default()
	cfg.Temporal.Address = startServer(t, cfg.Temporal.Namespace)
	cfg.TaskQueue = "workerapp-port-test"
	cfg.Redis.URL = "redis://127.0.0.1:1/0"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	cfg.MetricsAddr = ln.Addr().String()

	err = workerapp.RunWorker(t.Context(), cfg, zaptest.NewLogger(t), workerapp.RunOptions{})
	require.ErrorContains(t, err, "listen metrics "+cfg.MetricsAddr)
	require.False(t, errors.Is(err, context.Canceled))
}

func get(t *testing.T, url string) (string, int) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return err.Error(), 0
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b), resp.StatusCode
}

func listAttributes(t *testing.T, c client.Client, ns string) map[string]enumspb.IndexedValueType {
	t.Helper()
	resp, err := c.OperatorService().ListSearchAttributes(t.Context(), &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	require.NoError(t, err)
	return resp.GetCustomAttributes()
}
