package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
)

// The list query holds only values from a grammar or a closed set, and
// matches the environment exactly.
func TestListQuery(t *testing.T) {
	since := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	q, err := ListQuery("ab", "fail", false, since)
	require.NoError(t, err)
	require.Equal(t, "WorkflowType = 'StrictCycle' AND StrictCycleEnvironment = 'ab' AND StrictCycleStatus = 'FAIL' AND StartTime > '2026-11-30T00:00:00Z'", q)
	q, err = ListQuery("ignored'", "", true, since)
	require.NoError(t, err, "--all-envs puts no environment in the query")
	require.Equal(t, "WorkflowType = 'StrictCycle' AND StartTime > '2026-11-30T00:00:00Z'", q)

	_, err = ListQuery("ab' OR 'x'='x", "", false, since)
	require.ErrorContains(t, err, `list cycles: environment name "ab' OR 'x'='x" must match`)
	_, err = ListQuery("ab", "PASS' OR 'x'='x", false, since)
	require.EqualError(t, err, `list cycles: status "PASS' OR 'x'='x" is not PASS, FAIL or RUNNING`)
}

func TestDrillTarget(t *testing.T) {
	c := &config.Contract{
		Name:     "c",
		Services: map[string]config.Service{"event-store-service": {}},
		Checks: []config.Check{
			{Name: "integrity", Severity: config.SeverityCritical},
			{Name: "note", Severity: config.SeverityWarning},
		},
	}
	tests := []struct {
		service, check, want string
	}{
		{"event-store-service", "integrity", ""},
		{"nope", "integrity", `drill: service "nope" is not in the services of contract c`},
		{"event-store-service", "nope", `drill: check "nope" is not in contract c`},
		{"event-store-service", "note", `drill: check "note" is warning, not critical, in contract c`},
	}
	for _, tt := range tests {
		t.Run(tt.service+"/"+tt.check, func(t *testing.T) {
			err := drillTarget(c, tt.service, tt.check)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tt.want)
		})
	}
}
