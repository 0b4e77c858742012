package gates

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
)

func day28Check(t *testing.T, name string) config.Check {
	t.Helper()
	c, err := config.LoadContract("hbot-day28")
	require.NoError(t, err)
	for _, ck := range c.Checks {
		if ck.Name == name {
			ck.Producer = ""
			return ck
		}
	}
	t.Fatalf("no check %q", name)
	return config.Check{}
}

// copyFixture copies the named files of a generated Day-28 root into a
// fresh root.
func copyFixture(t *testing.T, rels ...string) string {
	t.Helper()
	src := day28Root(t)
	root := t.TempDir()
	for _, rel := range rels {
		data, err := os.ReadFile(filepath.Join(src, rel))
		require.NoError(t, err)
		writeFile(t, root, rel, string(data))
	}
	return root
}

var catalogFiles = []string{
	"config/strategy_catalog/catalog_v1.json",
	"config/strategy_catalog/templates/controller_template.yml",
	"config/strategy_catalog/templates/script_template.yml",
	"controllers/epp_v2_4.py",
	"data/bot1/conf/controllers/epp_v2_4_bot1_bitget_live_microcap.yml",
	"data/bot1/conf/controllers/epp_v2_4_bot1_bitget_live_notrade.yml",
	"data/bot1/conf/scripts/v2_epp_v2_4_bot1_bitget_live_microcap.yml",
	"data/bot1/conf/scripts/v2_epp_v2_4_bot1_bitget_live_notrade.yml",
	"data/bot3/conf/controllers/epp_v2_4_bot3_paper_smoke.yml",
	"data/bot3/conf/scripts/v2_epp_v2_4_bot3_paper_smoke.yml",
	"data/bot4/conf/controllers/epp_v2_4_bot4_binance_smoke.yml",
	"data/bot4/conf/scripts/v2_epp_v2_4_bot4_binance_smoke.yml",
}

func TestStrategyCatalog(t *testing.T) {
	const fail = "strategy catalog consistency failed (rc=2): "
	tests := []struct {
		name   string
		mutate func(t *testing.T, root string)
		v      Verdict
		reason string
	}{
		{"fixture passes", func(*testing.T, string) {}, VerdictPass, "strategy catalog configs resolve to shared code and declared bundles"},
		{"inline list is a real list", func(t *testing.T, root string) {
			writeFile(t, root, "data/bot4/conf/scripts/v2_epp_v2_4_bot4_binance_smoke.yml", "controllers_config: [epp_v2_4_bot4_binance_smoke.yml]\n")
		}, VerdictPass, "strategy catalog configs resolve to shared code and declared bundles"},
		{"wrong controller reference", func(t *testing.T, root string) {
			writeFile(t, root, "data/bot4/conf/scripts/v2_epp_v2_4_bot4_binance_smoke.yml", "controllers_config:\n  - other.yml\n")
		}, VerdictFail, fail + "epp_v2_4_binance_testnet_smoke_bot4: script config does not reference expected controller file epp_v2_4_bot4_binance_smoke.yml"},
		{"missing controller code", func(t *testing.T, root string) {
			require.NoError(t, os.Remove(filepath.Join(root, "controllers/epp_v2_4.py")))
		}, VerdictFail, ""},
		{"missing template and script", func(t *testing.T, root string) {
			require.NoError(t, os.Remove(filepath.Join(root, "config/strategy_catalog/templates/script_template.yml")))
			require.NoError(t, os.Remove(filepath.Join(root, "data/bot3/conf/scripts/v2_epp_v2_4_bot3_paper_smoke.yml")))
		}, VerdictFail, fail + "missing script template; epp_v2_4_bitget_paper_smoke_bot3: missing script config data/bot3/conf/scripts/v2_epp_v2_4_bot3_paper_smoke.yml"},
		{"empty bundles", func(t *testing.T, root string) {
			writeFile(t, root, "config/strategy_catalog/catalog_v1.json", `{"approved_bundles": []}`)
		}, VerdictFail, fail + "catalog consistency exception: catalog_v1.json must contain a non-empty approved_bundles list"},
		{"catalog not an object", func(t *testing.T, root string) {
			writeFile(t, root, "config/strategy_catalog/catalog_v1.json", `[]`)
		}, VerdictFail, fail + "catalog consistency exception: expected object in config/strategy_catalog/catalog_v1.json"},
		{"mode not allowed", func(t *testing.T, root string) {
			writeFile(t, root, "config/strategy_catalog/catalog_v1.json", `{"naming_contract":{"allowed_modes":["paper_smoke"]},"approved_bundles":[
{"bundle_id":"b","mode":"live_yolo","controller_config":"data/bot3/conf/controllers/epp_v2_4_bot3_paper_smoke.yml","script_config":"data/bot3/conf/scripts/v2_epp_v2_4_bot3_paper_smoke.yml"}]}`)
		}, VerdictFail, fail + "b: mode live_yolo is not in naming_contract.allowed_modes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := copyFixture(t, catalogFiles...)
			tt.mutate(t, root)
			r := runOne(t, root, day28Check(t, "strategy_catalog_consistency"))
			assert.Equal(t, tt.v, r.Verdict)
			if tt.reason != "" {
				assert.Equal(t, tt.reason, r.Text())
			} else {
				assert.Contains(t, r.Text(), "shared controller code missing for controller_name=epp_v2_4")
			}
		})
	}
}

func TestCoordinationPolicy(t *testing.T) {
	const fail = "coordination policy check failed (rc=2): "
	files := []string{"config/coordination_policy_v1.json", "config/multi_bot_policy_v1.json", "compose/docker-compose.yml"}
	tests := []struct {
		name   string
		mutate func(t *testing.T, root string)
		v      Verdict
		reason string
	}{
		{"fixture passes", func(*testing.T, string) {}, VerdictPass, "coordination service runs only in policy-permitted scope/mode"},
		{"map environment", func(t *testing.T, root string) {
			writeFile(t, root, "compose/docker-compose.yml", `services:
  coordination-service:
    environment:
      COORD_POLICY_PATH: /workspace/hbot/config/coordination_policy_v1.json
      COORD_ENABLED: ${COORD_ENABLED:-false}
      COORD_REQUIRE_ML_ENABLED: ${COORD_REQUIRE_ML_ENABLED:-true}
      COORD_HEALTH_PATH: /workspace/hbot/reports/coordination/latest.json
`)
		}, VerdictPass, "coordination service runs only in policy-permitted scope/mode"},
		{"token only in a comment or another service", func(t *testing.T, root string) {
			writeFile(t, root, "compose/docker-compose.yml", `services:
  other:
    depends_on:
      coordination-service:
        condition: service_started
    environment:
      - COORD_ENABLED=${COORD_ENABLED:-false}
  coordination-service:
    # COORD_POLICY_PATH=/workspace/hbot/config/coordination_policy_v1.json
    environment:
      - COORD_POLICY_PATH=/workspace/hbot/config/coordination_policy_v1.json
      - COORD_REQUIRE_ML_ENABLED=${COORD_REQUIRE_ML_ENABLED:-true}
      - COORD_HEALTH_PATH=/workspace/hbot/reports/coordination/latest.json
`)
		}, VerdictFail, fail + "coordination-service compose env missing token: COORD_ENABLED=${COORD_ENABLED:-false}"},
		{"service missing", func(t *testing.T, root string) {
			writeFile(t, root, "compose/docker-compose.yml", "services: {}\n")
		}, VerdictFail, fail + "coordination-service block missing in compose file"},
		{"compose missing", func(t *testing.T, root string) {
			require.NoError(t, os.Remove(filepath.Join(root, "compose/docker-compose.yml")))
		}, VerdictFail, fail + "coordination policy check exception: compose/docker-compose.yml: no such file"},
		{"disabled bot and bounds", func(t *testing.T, root string) {
			writeFile(t, root, "config/coordination_policy_v1.json", `{"allowed_instances":["bot2","bot3"],"target_base_pct":{"min":0.8,"max":0.2}}`)
		}, VerdictFail, fail + "bot2: coordination allowed_instances must be enabled in multi_bot_policy_v1; " +
			"bot2: coordination allowed mode must be live/testnet_probe, got disabled; " +
			"bot3: coordination allowed mode must be live/testnet_probe, got paper_only; target_base_pct bounds invalid: min=0.8 max=0.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := copyFixture(t, files...)
			tt.mutate(t, root)
			r := runOne(t, root, day28Check(t, "coordination_policy_scope"))
			assert.Equal(t, tt.v, r.Verdict)
			assert.Equal(t, tt.reason, r.Text())
		})
	}
}

func TestDay2Gate(t *testing.T) {
	const fail = "day2 gate not yet GO: "
	const okEval = `{"ts_utc":"2026-02-26T01:58:00Z","go":true}`
	tests := []struct {
		name    string
		eval    string
		compare map[string]string
		v       Verdict
		reason  string
	}{
		{"go, fresh, lag ok", okEval, map[string]string{
			"source_compare_20260226T010000Z.json": `{"ts_utc":"2026-02-26T01:00:00Z","lag_produced_minus_ingested_since_baseline":{"a":6,"b":-40}}`,
		}, VerdictPass, "day2 gate GO"},
		{"delta fallback fails", okEval, map[string]string{
			"source_compare_20260226T010000Z.json": `{"ts_utc":"2026-02-26T01:00:00Z","delta_produced_minus_ingested_since_baseline":{"b":7,"a":7,"c":1}}`,
		}, VerdictFail, fail + "lag max_delta=7 > 6 worst_stream=a offending=a=7,b=7 (reports/event_store/source_compare_20260226T010000Z.json, delta_produced_minus_ingested_since_baseline)"},
		{"newest by name stamp, not by ts", okEval, map[string]string{
			"source_compare_20260226T015000Z.json": `{"ts_utc":"2026-02-26T00:00:00Z","lag_produced_minus_ingested_since_baseline":{"a":100}}`,
			"source_compare_20260226T010000Z.json": `{"ts_utc":"2026-02-26T01:00:00Z","lag_produced_minus_ingested_since_baseline":{"a":0}}`,
		}, VerdictFail, fail + "lag max_delta=100 > 6 worst_stream=a offending=a=100 (reports/event_store/source_compare_20260226T015000Z.json, lag_produced_minus_ingested_since_baseline)"},
		{"a file named for the future decides as not judgeable", okEval, map[string]string{
			"source_compare_99990101T000000Z.json": `{"ts_utc":"2026-02-26T01:59:00Z","lag_produced_minus_ingested_since_baseline":{"a":0}}`,
			"source_compare_20260226T015000Z.json": `{"ts_utc":"2026-02-26T01:50:00Z","lag_produced_minus_ingested_since_baseline":{"a":100}}`,
		}, VerdictFail, fail + "lag unknown: newest source compare file (by name stamp of 2) cannot be judged: reports/event_store/source_compare_99990101T000000Z.json: named for 9999-01-01T00:00:00Z, beyond now + 2m"},
		{"lag map missing fails", okEval, map[string]string{
			"source_compare_20260226T010000Z.json": `{"ts_utc":"2026-02-26T01:00:00Z"}`,
		}, VerdictFail, fail + "lag map missing in reports/event_store/source_compare_20260226T010000Z.json (no lag_/delta_produced_minus_ingested_since_baseline)"},
		{"no compare file fails", okEval, nil, VerdictFail,
			fail + "lag unknown: no source compare file matches reports/event_store/source_compare_*.json"},
		{"go string is not boolean", `{"ts_utc":"2026-02-26T01:58:00Z","go":"false"}`, nil, VerdictError,
			fail + `reports/event_store/day2_gate_eval_latest.json: go is not a JSON boolean (got "false")`},
		{"stale only", `{"ts_utc":"2026-02-26T01:00:00Z","go":true}`, map[string]string{
			"source_compare_20260226T010000Z.json": `{"ts_utc":"2026-02-26T01:00:00Z","lag_produced_minus_ingested_since_baseline":{"a":0}}`,
		}, VerdictStale, fail + "stale: age 60.0m > 15m (ts_utc 2026-02-26T01:00:00Z)"},
		{"naive ts", `{"ts_utc":"2026-02-26T01:00:00","go":true}`, nil, VerdictError,
			fail + `reports/event_store/day2_gate_eval_latest.json: ts_utc "2026-02-26T01:00:00" has no UTC offset`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, root, "reports/event_store/day2_gate_eval_latest.json", tt.eval)
			for name, body := range tt.compare {
				writeFile(t, root, "reports/event_store/"+name, body)
			}
			r := runOne(t, root, day28Check(t, "day2_event_store_gate"))
			assert.Equal(t, tt.v, r.Verdict)
			assert.Equal(t, tt.reason, r.Text())
		})
	}
}
