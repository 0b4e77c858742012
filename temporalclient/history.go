package temporalclient

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
)

// History reads the whole history of a run (runID "" is the latest run of
// id), page by page; the error names the workflow.
func History(ctx context.Context, cl client.Client, id, runID string) ([]*historypb.HistoryEvent, error) {
	it := cl.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("read history of %s: %w", id, err)
		}
		events = append(events, e)
	}
	return events, nil
}
