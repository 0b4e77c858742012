package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The shipped contract declares the native checkers with the scripts'
// defaults, and each reads (and is watched on) what its script read.
func TestNativeKindsInDay28(t *testing.T) {
	c, err := LoadContract("hbot-day28")
	require.NoError(t, err)
	byName := map[string]*Check{}
	for i := range c.Checks {
		byName[c.Checks[i].Name] = &c.Checks[i]
	}
	sec := byName["secrets_hygiene"]
	require.Equal(t, KindSecretsHygiene, sec.Kind)
	assert.True(t, sec.SecretsHygiene.IncludeLogs)
	assert.Equal(t, int64(5_000_000), sec.SecretsHygiene.MaxBytes())
	assert.Equal(t, &ReportSpec{Path: "reports/security/latest.json", TimestampKeys: []string{"ts_utc"}, Condition: `status == "pass"`}, sec.NativeReport())
	assert.Equal(t, []string{"docs/**", "reports/**", "env/.env", "data/**/logs/**", "scripts/release/run_secrets_hygiene_check.py"}, sec.WatchPaths())

	pol := byName["multi_bot_policy_scope"]
	require.Equal(t, KindMultiBotPolicy, pol.Kind)
	assert.Equal(t, "reports/policy/latest.json", pol.NativeReport().Path)
	assert.Equal(t, []string{"config/multi_bot_policy_v1.json", "config/exchange_account_map.json", "config/portfolio_limits_v1.json",
		"config/reconciliation_thresholds.json", "config/multi_bot_policy_v1.json"}, pol.WatchPaths())
	assert.Nil(t, byName["preflight_checks"].NativeReport())
}

func TestNativeKindsValidation(t *testing.T) {
	_, err := ParseContract([]byte(`
name: x
freshness: {window: 20m}
checks:
  - {name: a, severity: critical, kind: multi_bot_policy, multi_bot_policy: {policy: /etc/p.json, report_dir: ../out}}
  - {name: b, severity: critical, kind: secrets_hygiene, secrets_hygiene: {env_file: "", max_file_bytes: -5}, files: [x]}
  - {name: c, severity: critical, kind: files_present, files: [x], secrets_hygiene: {}}
`))
	require.Error(t, err)
	for _, want := range []string{
		`checks[0] (a): multi_bot_policy.policy: path "/etc/p.json" is absolute`,
		`checks[0] (a): multi_bot_policy.report_dir: path "../out" escapes the root`,
		`checks[1] (b): secrets_hygiene.max_file_bytes -5 is negative`,
		`checks[1] (b): block "files" does not belong to kind "secrets_hygiene"`,
		`checks[2] (c): block "secrets_hygiene" does not belong to kind "files_present"`,
	} {
		assert.Contains(t, err.Error(), want)
	}
}
