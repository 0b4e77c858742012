package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestValidateEnvironment(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"prod", true},
		{"a", true},
		{"0", true},
		{"prod_eu_2", true},
		{strings.Repeat("a", 63), true},
		{"", false},
		{strings.Repeat("a", 64), false},
		{"_prod", false},
		{"Prod", false},
		{"prod env", false},
		{"prod'", false},
		{"ab' OR WorkflowId STARTS_WITH 'x", false},
		{`pr"od`, false},
		{"prod\n", false},
		{"prod:eu", false},
		{"prod/eu", false},
		{"prod.eu", false},
		// A hyphen would make "strictcycle-<env>-<purpose>" ambiguous:
		// env "ab-cycle" purpose "x" and env "ab" purpose "cycle-x".
		{"ab-cycle-z", false},
		{"prod-", false},
		{"é", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateEnvironment(tt.name)
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), "environment name ")
		})
	}
}

// The variable and the --every flag share one rule.
func TestValidateScheduleEvery(t *testing.T) {
	require.NoError(t, ValidateScheduleEvery(time.Minute))
	require.NoError(t, ValidateScheduleEvery(15*time.Minute))
	require.EqualError(t, ValidateScheduleEvery(time.Second), "schedule interval 1s is shorter than 1m0s")
	require.EqualError(t, ValidateScheduleEvery(time.Minute-time.Nanosecond), "schedule interval 59.999999999s is shorter than 1m0s")
	require.Error(t, ValidateScheduleEvery(0))
	require.Error(t, ValidateScheduleEvery(-time.Hour))

	_, err := Load(func(k string) (string, bool) {
		if k == "STRICTCYCLE_SCHEDULE_EVERY" {
			return "1s", true
		}
		return "", false
	})
	require.EqualError(t, err, "STRICTCYCLE_SCHEDULE_EVERY: schedule interval 1s is shorter than 1m0s")

	_, err = Load(func(k string) (string, bool) {
		if k == "STRICTCYCLE_ENVIRONMENT" {
			return "ab-cycle-z", true
		}
		return "", false
	})
	require.ErrorContains(t, err, `STRICTCYCLE_ENVIRONMENT: environment name "ab-cycle-z" must match`)
}
