package devserver

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/server/common/dynamicconfig"
)

// The dev server lifts the transfer queue's per-shard load rate (its one
// shard is the whole server), and a caller's DynamicConfig still wins.
func TestDynamicConfigTransferPollRate(t *testing.T) {
	key := dynamicconfig.TransferProcessorMaxPollRPS.Key()
	dc := dynamicConfig(withDefaults(Options{}))
	require.Equal(t, TransferPollRPS, dc[key])
	require.Greater(t, TransferPollRPS, 20, "the server's default is 20 per shard")

	dc = dynamicConfig(withDefaults(Options{DynamicConfig: map[string]any{"history.transferProcessorMaxPollRPS": 20}}))
	require.Equal(t, 20, dc[key])
}
