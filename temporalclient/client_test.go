package temporalclient_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/devserver"
	"github.com/strictcycle/strictcycle/temporalclient"
)

// EnsureSearchAttributes on a real server (a test dependency: the package
// itself links none): it adds what is missing, is idempotent, and refuses
// a key that exists with another type.
func TestEnsureSearchAttributes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server: skipped with -short")
	}
	const ns = "temporalclient-test"
	srv, err := devserver.Start(t.Context(), devserver.Options{DBFile: filepath.Join(t.TempDir(), "t.db"), Namespace: ns})
	require.NoError(t, err)
	t.Cleanup(srv.Stop)

	cfg := config.Default()
	cfg.Temporal.Address, cfg.Temporal.Namespace = srv.FrontendAddr(), ns
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c, err := temporalclient.Dial(ctx, cfg)
	require.NoError(t, err)
	defer c.Close()
	op := c.OperatorService()

	keys := []temporal.SearchAttributeKey{
		temporal.NewSearchAttributeKeyKeyword("TcEnvironment"),
		temporal.NewSearchAttributeKeyInt64("TcRound"),
	}
	require.NoError(t, temporalclient.EnsureSearchAttributes(ctx, op, ns, keys))
	have := list(t, op, ns)
	require.Equal(t, enumspb.INDEXED_VALUE_TYPE_KEYWORD, have["TcEnvironment"])
	require.Equal(t, enumspb.INDEXED_VALUE_TYPE_INT, have["TcRound"])

	require.NoError(t, temporalclient.EnsureSearchAttributes(ctx, op, ns, keys), "a second call changes nothing")

	err = temporalclient.EnsureSearchAttributes(ctx, op, ns, []temporal.SearchAttributeKey{temporal.NewSearchAttributeKeyBool("TcRound")})
	require.EqualError(t, err, `register search attribute "TcRound" in "temporalclient-test": exists as Int, want Bool`)
}

func list(t *testing.T, op operatorservice.OperatorServiceClient, ns string) map[string]enumspb.IndexedValueType {
	t.Helper()
	resp, err := op.ListSearchAttributes(t.Context(), &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	require.NoError(t, err)
	return resp.GetCustomAttributes()
}

// Without a logger option the SDK's log lines are dropped, never printed
// on stdout by the SDK's default logger; an API key implies TLS.
func TestClientOptions(t *testing.T) {
	cfg := config.Default()
	cfg.Temporal.Address, cfg.Temporal.Namespace = "temporal:7233", "prod"
	opts, err := temporalclient.ClientOptions(cfg)
	require.NoError(t, err)
	require.Equal(t, "temporal:7233", opts.HostPort)
	require.Equal(t, "prod", opts.Namespace)
	require.NotNil(t, opts.Logger)
	require.Nil(t, opts.ConnectionOptions.TLS)

	cfg.Temporal.APIKey = "key"
	opts, err = temporalclient.ClientOptions(cfg)
	require.NoError(t, err)
	require.NotNil(t, opts.ConnectionOptions.TLS)
	require.NotNil(t, opts.Credentials)
}
