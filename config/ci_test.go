package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ci_argv and ci_condition are validated like argv and condition; the
// shipped hbot-head varies what the original varies under --ci.
func TestCIVariants(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"bad ci_condition", strings.Replace(base, `condition: status == "pass"}`, `condition: status == "pass", ci_condition: "status =="}`, 1),
			`validate contract: checks[0] (a): report.ci_condition: compile "status ==": unexpected token EOF (1:9)`},
		{"empty ci_argv item", base + "pre_steps:\n  - {name: p, argv: [a], ci_argv: [a, '']}\n",
			`validate contract: pre_steps[0] (p): ci_argv[1]: must not be empty`},
		{"ci_argv placeholder", base + "pre_steps:\n  - {name: p, argv: [a], ci_argv: [a, '{day}']}\n",
			`validate contract: pre_steps[0] (p): ci_argv[1]: placeholder {day} is not {today_utc}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseContract([]byte(tt.yaml))
			require.EqualError(t, err, tt.want)
		})
	}
	c, err := LoadContract("hbot-head")
	require.NoError(t, err)
	ci := map[string]string{}
	for _, ck := range c.Checks {
		if ck.Command != nil && ck.Command.CIArgv != nil {
			ci[ck.Name] = strings.Join(ck.Command.CIArgv[2:], " ")
		}
		if ck.Report != nil && ck.Report.CICondition != "" {
			ci[ck.Name] = ck.Report.CICondition
		}
	}
	for _, s := range c.PreSteps {
		if s.CIArgv != nil {
			ci[s.Name] = strings.Join(s.CIArgv[2:], " ")
		}
	}
	assert.Equal(t, map[string]string{
		"paper_exchange_functional_golden_path": "--strict",
		"accounting_integrity_v2":               "--max-age-min 15.0",
		"market_data_freshness":                 "--max-age-min 15.0",
		"alerting_health":                       `lower(trim(string(status ?? ""))) == "ok"`,
		"alerting-health-probe":                 "--strict",
	}, ci)
}
