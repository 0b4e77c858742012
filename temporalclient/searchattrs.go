package temporalclient

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/temporal"
)

// EnsureSearchAttributes adds the keys that namespace ns lacks, through the
// operator API. It is idempotent and fails when a key exists with another
// type.
func EnsureSearchAttributes(ctx context.Context, op operatorservice.OperatorServiceClient, ns string, keys []temporal.SearchAttributeKey) error {
	resp, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil {
		return fmt.Errorf("list search attributes of %q: %w", ns, err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for _, k := range keys {
		have, ok := resp.GetCustomAttributes()[k.GetName()]
		switch {
		case !ok:
			missing[k.GetName()] = k.GetValueType()
		case have != k.GetValueType():
			return fmt.Errorf("register search attribute %q in %q: exists as %s, want %s", k.GetName(), ns, have, k.GetValueType())
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := op.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        ns,
		SearchAttributes: missing,
	}); err != nil {
		return fmt.Errorf("add search attributes to %q: %w", ns, err)
	}
	return nil
}
