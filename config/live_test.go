package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A live block and the trading_ladder kind need the contract's live_scope;
// a live severity is one of the three; live reasons follow the template
// grammar.
func TestLiveScopeErrors(t *testing.T) {
	with := func(line string) string {
		return strings.Replace(base, "    kind: report\n", "    kind: report\n"+line, 1)
	}
	scope := "live_scope: {account_map: config/m.json}\n"
	tests := []struct{ name, yaml, want string }{
		{"live without live_scope", with("    live: {severity: critical}\n"),
			`validate contract: checks[0] (a): live needs the contract's live_scope`},
		{"bad live severity", scope + with("    live: {severity: fatal}\n"),
			`validate contract: checks[0] (a): live.severity "fatal" is not critical|warning|info`},
		{"bad live reason", scope + with("    live: {fail_reason: \"x {y!}\"}\n"),
			`validate contract: checks[0] (a): live.fail_reason: placeholder {y!} is not {rc}, {age_min:%.Nf}, {output:N}, {field}, {field|default}, {field:upper|lower|join|sorted[|default]}`},
		{"ladder without live_scope", strings.Replace(base, "    kind: report\n    report: {path: reports/a.json, condition: status == \"pass\"}\n", "    kind: trading_ladder\n    trading_ladder: {}\n", 1),
			`validate contract: checks[0] (a): kind trading_ladder needs the contract's live_scope (it is bypassed without a live bot)`},
		{"live_scope escapes", "live_scope: {policy: ../p.json}\n" + base,
			`validate contract: live_scope.policy: path "../p.json" escapes the root`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseContract([]byte(tt.yaml))
			require.EqualError(t, err, tt.want)
		})
	}
	c, err := LoadContract("hbot-head")
	require.NoError(t, err)
	require.NotNil(t, c.LiveScope)
	live := map[string]string{}
	for _, ck := range c.Checks {
		if ck.Live != nil {
			live[ck.Name] = ck.Live.Severity
		}
	}
	assert.Equal(t, map[string]string{"portfolio_risk_status": "critical", "ops_db_writer_freshness": "critical", "trading_validation_ladder": "critical"}, live)
}
