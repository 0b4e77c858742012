package devserver_test

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.uber.org/zap/zaptest"

	"github.com/strictcycle/strictcycle/devserver"
)

var (
	saKeyword = temporal.NewSearchAttributeKeyKeyword("DevTestKeyword")
	saInt     = temporal.NewSearchAttributeKeyInt64("DevTestInt")
	saList    = temporal.NewSearchAttributeKeyKeywordList("DevTestList")
)

// greet is the test's own workflow: it sets a registered search attribute
// and returns a greeting.
func greet(ctx workflow.Context, name string) (string, error) {
	if err := workflow.UpsertTypedSearchAttributes(ctx, saKeyword.ValueSet("done")); err != nil {
		return "", err
	}
	return "hello " + name, nil
}

func start(t *testing.T, opts devserver.Options) *devserver.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if opts.Logger == nil {
		opts.Logger = zaptest.NewLogger(t)
	}
	srv, err := devserver.Start(ctx, opts)
	require.NoError(t, err)
	t.Cleanup(srv.Stop)
	return srv
}

func dial(t *testing.T, srv *devserver.Server, ns string) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: srv.FrontendAddr(), Namespace: ns})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func customAttributes(t *testing.T, c client.Client, ns string) map[string]enumspb.IndexedValueType {
	t.Helper()
	resp, err := c.OperatorService().ListSearchAttributes(t.Context(), &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	require.NoError(t, err)
	return resp.GetCustomAttributes()
}

// TestFileStoreReusedAcrossRestarts runs a workflow on a file-backed
// server with the UI, restarts the server on the same file, and finds the
// workflow, its namespace and its search attributes again.
func TestFileStoreReusedAcrossRestarts(t *testing.T) {
	db := filepath.Join(t.TempDir(), "nested", "temporal.db")
	const ns = "strictcycle-test"
	uiPort, err := devserver.FreePort(devserver.DefaultIP)
	require.NoError(t, err)

	srv := start(t, devserver.Options{
		DBFile:           db,
		UIPort:           uiPort,
		Namespace:        ns,
		SearchAttributes: []temporal.SearchAttributeKey{saKeyword, saInt},
	})
	require.NotEmpty(t, srv.FrontendAddr())
	c := dial(t, srv, ns)

	attrs := customAttributes(t, c, ns)
	require.Equal(t, enumspb.INDEXED_VALUE_TYPE_KEYWORD, attrs[saKeyword.GetName()])
	require.Equal(t, enumspb.INDEXED_VALUE_TYPE_INT, attrs[saInt.GetName()])
	// The default namespace is registered too, with the same attributes.
	require.Contains(t, customAttributes(t, c, devserver.DefaultNamespace), saKeyword.GetName())

	// The Web UI answers.
	require.Equal(t, "http://"+net.JoinHostPort(devserver.DefaultIP, strconv.Itoa(uiPort)), srv.UIURL())
	for _, path := range []string{"/", "/healthz"} {
		resp, err := http.Get(srv.UIURL() + path)
		require.NoError(t, err)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
	}

	// A workflow runs to completion on a worker.
	w := worker.New(c, "devserver-test", worker.Options{})
	w.RegisterWorkflow(greet)
	require.NoError(t, w.Start())
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "greet-1", TaskQueue: "devserver-test"}, greet, "dev")
	require.NoError(t, err)
	var got string
	require.NoError(t, run.Get(ctx, &got))
	require.Equal(t, "hello dev", got)
	w.Stop()
	c.Close()
	srv.Stop()
	srv.Stop() // idempotent

	// Same file, new ports, a search attribute declared since the file was
	// created: the history is there and the new attribute is added.
	srv2 := start(t, devserver.Options{
		DBFile:           db,
		Namespace:        ns,
		SearchAttributes: []temporal.SearchAttributeKey{saKeyword, saInt, saList},
	})
	require.Empty(t, srv2.UIURL())
	c2 := dial(t, srv2, ns)
	desc, err := c2.DescribeWorkflowExecution(ctx, "greet-1", run.GetRunID())
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, desc.GetWorkflowExecutionInfo().GetStatus())
	var again string
	require.NoError(t, c2.GetWorkflow(ctx, "greet-1", run.GetRunID()).Get(ctx, &again))
	require.Equal(t, "hello dev", again)

	attrs = customAttributes(t, c2, ns)
	require.Equal(t, enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST, attrs[saList.GetName()])
	require.Equal(t, enumspb.INDEXED_VALUE_TYPE_KEYWORD, attrs[saKeyword.GetName()])

	// Visibility kept the upserted attribute.
	require.Eventually(t, func() bool {
		resp, err := c2.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: ns, Query: `DevTestKeyword = "done"`})
		return err == nil && resp.GetCount() == 1
	}, 10*time.Second, 50*time.Millisecond)
}

// TestMemoryStore starts an in-memory server with the default namespace.
func TestMemoryStore(t *testing.T) {
	srv := start(t, devserver.Options{DBFile: devserver.MemoryDB})
	c := dial(t, srv, devserver.DefaultNamespace)
	_, err := c.CheckHealth(t.Context(), &client.CheckHealthRequest{})
	require.NoError(t, err)
	require.Empty(t, customAttributes(t, c, devserver.DefaultNamespace))
}

// TestUIPortTaken fails the start instead of letting the UI server exit
// the process.
func TestUIPortTaken(t *testing.T) {
	srv := start(t, devserver.Options{})
	_, p, err := net.SplitHostPort(srv.FrontendAddr())
	require.NoError(t, err)
	port, err := strconv.Atoi(p)
	require.NoError(t, err)
	_, err = devserver.Start(t.Context(), devserver.Options{UIPort: port, Logger: zaptest.NewLogger(t)})
	require.ErrorContains(t, err, "check ui port")
}
