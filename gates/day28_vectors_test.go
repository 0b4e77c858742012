package gates

import (
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The Day-28 run of the Python gate runner (spec §3.4: the file
// promotion_gates_20260222T131109Z.json|.md of the hbot repository at
// 959d6cc, produced on Windows under day28WinRoot) as literal test vectors:
// its status, failures, checks, evidence artifacts and release manifest
// hash, its evidence_bundle_id and its markdown. The real files are read by
// the hbotfixture suite (make test-hbot); these figures keep the default
// suite independent of them.

const day28WinRoot = `F:\Environement\git-repo\hummingbot_custo\hbot\`

const day28BundleID = "aaf948c18881235ebd628fe110ae1a947292ff8a73b9c0b8f4be8448eb2bea53"

// day28ManifestSHA256 is release_manifest_ref.sha256 (release_manifest_20260221.md).
const day28ManifestSHA256 = "da3131b9342c7d55630a88c306060a30fb88047b1a1c683c3d20a48d03d1e7e8"

type day28RunCheck struct {
	name, reason string
	pass         bool
	evidence     []string // relative to day28WinRoot
}

var day28RunChecks = []day28RunCheck{
	{"preflight_checks", "required files present", true, []string{`config\reconciliation_thresholds.json`, `config\parity_thresholds.json`, `config\portfolio_limits_v1.json`, `config\multi_bot_policy_v1.json`, `scripts\release\run_backtest_regression.py`, `scripts\release\run_replay_regression_cycle.py`, `scripts\release\check_multi_bot_policy.py`, `scripts\release\check_strategy_catalog_consistency.py`, `scripts\release\check_coordination_policy.py`, `scripts\release\run_tests.py`, `scripts\release\run_secrets_hygiene_check.py`, `config\coordination_policy_v1.json`, `docs\validation\backtest_regression_spec.md`}},
	{"multi_bot_policy_scope", "multi-bot policy scope is consistent across risk/reconciliation/account-map", true, []string{`reports\policy\latest.json`, `config\multi_bot_policy_v1.json`}},
	{"strategy_catalog_consistency", "strategy catalog configs resolve to shared code and declared bundles", true, []string{`reports\strategy_catalog\latest.json`, `config\strategy_catalog\catalog_v1.json`}},
	{"coordination_policy_scope", "coordination service runs only in policy-permitted scope/mode", true, []string{`reports\policy\coordination_policy_latest.json`, `config\coordination_policy_v1.json`}},
	{"unit_service_integration_tests", "deterministic test suite + coverage threshold passed", true, []string{`reports\tests\latest.json`, `reports\tests\latest.md`}},
	{"secrets_hygiene", "no secret leakage markers in docs/reports/log artifacts", true, []string{`reports\security\latest.json`, `scripts\release\run_secrets_hygiene_check.py`}},
	{"smoke_checks", "bot4 smoke activity artifacts found", true, []string{`data\bot4\logs\epp_v24\bot4_a\minute.csv`, `data\bot4\logs\epp_v24\bot4_d\minute.csv`}},
	{"paper_smoke_matrix", "bot3 paper-mode intent verified", true, []string{`reports\exchange_snapshots\latest.json`}},
	{"replay_regression_cycle", "replay regression cycle PASS", true, []string{`reports\replay_regression\latest.json`, `scripts\release\run_replay_regression_cycle.py`}},
	{"regression_backtest_harness", "regression harness PASS", true, []string{`reports\backtest_regression\latest.json`, `scripts\release\run_backtest_regression.py`}},
	{"reconciliation_status", "reconciliation healthy and fresh", true, []string{`reports\reconciliation\latest.json`}},
	{"parity_thresholds", "parity pass and fresh", true, []string{`reports\parity\latest.json`}},
	{"portfolio_risk_status", "portfolio risk healthy and fresh", true, []string{`reports\portfolio_risk\latest.json`}},
	{"alerting_health", "alert webhook evidence is present/recent", true, []string{`reports\reconciliation\last_webhook_sent.json`}},
	{"event_store_integrity_freshness", "event store integrity missing/stale or missing correlations detected", false, []string{`reports\event_store\integrity_20260222.json`}},
	{"day2_event_store_gate", "day2 gate not yet GO", true, []string{`reports\event_store\day2_gate_eval_latest.json`}},
}

// day28Artifacts are evidence_bundle.artifacts: path (relative to
// day28WinRoot) and sha256, sorted by path.
var day28Artifacts = [][2]string{
	{`config\coordination_policy_v1.json`, "2ebb09ec616e921ce0d7f9ae1e978f7216984939c0244488f15b63089caf2815"},
	{`config\multi_bot_policy_v1.json`, "eddded58c3923cbf14686e297084686d49b74ab0766565adbaeaf1270add35dd"},
	{`config\parity_thresholds.json`, "71cb2b0dbf461ba1b88191308b4daaadf2433740aaace9cf8197c9185d7c8224"},
	{`config\portfolio_limits_v1.json`, "e03aacc170d2a0dec6236846a3614d55316f3a1ee107f660e102f76f546dad03"},
	{`config\reconciliation_thresholds.json`, "5ea94828eb8c5736c66a50d5c3331a87d9a4c14363d680813638dfa1be9519cc"},
	{`config\strategy_catalog\catalog_v1.json`, "2fbce9b3ede5a35e442824f982098e834d34950606521959e007e7f038ef5380"},
	{`data\bot4\logs\epp_v24\bot4_a\minute.csv`, "bd3e782ec0234a416337966ae43daab4536ddf08ac7b03aa8ce3234d2b77dda9"},
	{`data\bot4\logs\epp_v24\bot4_d\minute.csv`, "a9be7cdb628f2647c364dfcabb9f0fdff4780721d9dbeced6f5a4b4e793d0dbc"},
	{`docs\validation\backtest_regression_spec.md`, "7fa32faa3844b80a566d3243a69b26ada9be74f8d66776a4fbd045e1b881acd9"},
	{`reports\backtest_regression\latest.json`, "b57959256aff4ab4e1ce8a81cdc0346306c67911e9d1f85a713e192d40f01a6c"},
	{`reports\event_store\day2_gate_eval_latest.json`, "b75aeff13e96348f0cf688ba25d81a8271734831f66412fffa8de7022c0edcb8"},
	{`reports\event_store\integrity_20260222.json`, "a87bf09cd34cce96db006c97a06545c7a2fbd7fe46d6a2f519c1c06c16121d72"},
	{`reports\exchange_snapshots\latest.json`, "b949615ac4640945db8785f008e596246895e4f68b8ce39f593a30b9f139e232"},
	{`reports\parity\latest.json`, "4467624dee871827e71535c52bd8569269fb25005a25769647c2196c4390bd9c"},
	{`reports\policy\coordination_policy_latest.json`, "19ac322f523ddd276ae9428d9bbb0ab0c0e5bf93188ae051c4de4e08b7f710e4"},
	{`reports\policy\latest.json`, "7d2b69a522adccac38c7909f3b66ea5a9f28002d0c9cb71ee0bacc763d1aeb69"},
	{`reports\portfolio_risk\latest.json`, "942c07d6a11c306cd5f2d4fb249c414165dbee2b4fef06710e14055e71c86455"},
	{`reports\reconciliation\last_webhook_sent.json`, "6071d8307c61a3e11d8838f6e633a0ca55a7aa2d6771205108da93487ca7c88d"},
	{`reports\reconciliation\latest.json`, "37261d0ce582078b4d688134267507794d308d9169ab375bfee32f71fe739870"},
	{`reports\replay_regression\latest.json`, "6aa3fc983949315adaa50b7128611cda7085f61523bbc78f7c5503d3728ad88b"},
	{`reports\security\latest.json`, "c3475713525650368ec3cfa35513b96a6ab1fdd8f2ec7250c4b1ff54c1d584f9"},
	{`reports\strategy_catalog\latest.json`, "9f59838fe7215b130c9196873c46996ceb3f3c16e2347b7b8a2fe3d40bf4df92"},
	{`reports\tests\latest.json`, "ee1debf81046aac905dfde04f1ccfd6effa2f2486cedcb37a257eb360ad2e3dc"},
	{`reports\tests\latest.md`, "2df3b94219091313b1a94260dca784ab7eafbb85f44f29a1f062d9b59c8dfb43"},
	{`scripts\release\check_coordination_policy.py`, "3c11873a867b47073a4d2cba8b6b41db2b85271389d50418f31be1131aae4f3e"},
	{`scripts\release\check_multi_bot_policy.py`, "9c7b50f6ae693884964a9cc6234e38b670561e7a10399c04b459e8d651243ddc"},
	{`scripts\release\check_strategy_catalog_consistency.py`, "b3efe7873369592ff0b5747406683765e547f9ce1bb888e66b226c998f1c0d2e"},
	{`scripts\release\run_backtest_regression.py`, "b81418c240c277eebd1a685c103a77936d890ec8d763bc0d7412b0c86ca5ea64"},
	{`scripts\release\run_replay_regression_cycle.py`, "c20f4bceef356a572433a936500007247e8a5d74fab6a18727ada4c28244d1cd"},
	{`scripts\release\run_secrets_hygiene_check.py`, "ee612b9c38833b576330d88597dacc8b6bbeb02e8d357ff97d8e384a207e2e9c"},
	{`scripts\release\run_tests.py`, "5156a5f50997aba7332de8c4349669fee9ad5c59fc5c45395c02790f258a8961"},
}

const day28Markdown = `# Promotion Gates Summary

- ts_utc: 2026-02-22T13:11:09.384578+00:00
- status: FAIL
- critical_failures_count: 1
- evidence_bundle_id: aaf948c18881235ebd628fe110ae1a947292ff8a73b9c0b8f4be8448eb2bea53

## Critical Failures
- event_store_integrity_freshness

## Checks
- [PASS] preflight_checks: required files present
- [PASS] multi_bot_policy_scope: multi-bot policy scope is consistent across risk/reconciliation/account-map
- [PASS] strategy_catalog_consistency: strategy catalog configs resolve to shared code and declared bundles
- [PASS] coordination_policy_scope: coordination service runs only in policy-permitted scope/mode
- [PASS] unit_service_integration_tests: deterministic test suite + coverage threshold passed
- [PASS] secrets_hygiene: no secret leakage markers in docs/reports/log artifacts
- [PASS] smoke_checks: bot4 smoke activity artifacts found
- [PASS] paper_smoke_matrix: bot3 paper-mode intent verified
- [PASS] replay_regression_cycle: replay regression cycle PASS
- [PASS] regression_backtest_harness: regression harness PASS
- [PASS] reconciliation_status: reconciliation healthy and fresh
- [PASS] parity_thresholds: parity pass and fresh
- [PASS] portfolio_risk_status: portfolio risk healthy and fresh
- [PASS] alerting_health: alert webhook evidence is present/recent
- [FAIL] event_store_integrity_freshness: event store integrity missing/stale or missing correlations detected
- [PASS] day2_event_store_gate: day2 gate not yet GO

## Evidence Artifacts
- F:\Environement\git-repo\hummingbot_custo\hbot\config\coordination_policy_v1.json (sha256=2ebb09ec616e921ce0d7f9ae1e978f7216984939c0244488f15b63089caf2815)
- F:\Environement\git-repo\hummingbot_custo\hbot\config\multi_bot_policy_v1.json (sha256=eddded58c3923cbf14686e297084686d49b74ab0766565adbaeaf1270add35dd)
- F:\Environement\git-repo\hummingbot_custo\hbot\config\parity_thresholds.json (sha256=71cb2b0dbf461ba1b88191308b4daaadf2433740aaace9cf8197c9185d7c8224)
- F:\Environement\git-repo\hummingbot_custo\hbot\config\portfolio_limits_v1.json (sha256=e03aacc170d2a0dec6236846a3614d55316f3a1ee107f660e102f76f546dad03)
- F:\Environement\git-repo\hummingbot_custo\hbot\config\reconciliation_thresholds.json (sha256=5ea94828eb8c5736c66a50d5c3331a87d9a4c14363d680813638dfa1be9519cc)
- F:\Environement\git-repo\hummingbot_custo\hbot\config\strategy_catalog\catalog_v1.json (sha256=2fbce9b3ede5a35e442824f982098e834d34950606521959e007e7f038ef5380)
- F:\Environement\git-repo\hummingbot_custo\hbot\data\bot4\logs\epp_v24\bot4_a\minute.csv (sha256=bd3e782ec0234a416337966ae43daab4536ddf08ac7b03aa8ce3234d2b77dda9)
- F:\Environement\git-repo\hummingbot_custo\hbot\data\bot4\logs\epp_v24\bot4_d\minute.csv (sha256=a9be7cdb628f2647c364dfcabb9f0fdff4780721d9dbeced6f5a4b4e793d0dbc)
- F:\Environement\git-repo\hummingbot_custo\hbot\docs\validation\backtest_regression_spec.md (sha256=7fa32faa3844b80a566d3243a69b26ada9be74f8d66776a4fbd045e1b881acd9)
- F:\Environement\git-repo\hummingbot_custo\hbot\reports\backtest_regression\latest.json (sha256=b57959256aff4ab4e1ce8a81cdc0346306c67911e9d1f85a713e192d40f01a6c)
- F:\Environement\git-repo\hummingbot_custo\hbot\reports\event_store\day2_gate_eval_latest.json (sha256=b75aeff13e96348f0cf688ba25d81a8271734831f66412fffa8de7022c0edcb8)
- F:\Environement\git-repo\hummingbot_custo\hbot\reports\event_store\integrity_20260222.json (sha256=a87bf09cd34cce96db006c97a06545c7a2fbd7fe46d6a2f519c1c06c16121d72)
- F:\Environement\git-repo\hummingbot_custo\hbot\reports\exchange_snapshots\latest.json (sha256=b949615ac4640945db8785f008e596246895e4f68b8ce39f593a30b9f139e232)
- F:\Environement\git-repo\hummingbot_custo\hbot\reports\parity\latest.json (sha256=4467624dee871827e71535c52bd8569269fb25005a25769647c2196c4390bd9c)
- F:\Environement\git-repo\hummingbot_custo\hbot\reports\policy\coordination_policy_latest.json (sha256=19ac322f523ddd276ae9428d9bbb0ab0c0e5bf93188ae051c4de4e08b7f710e4)
- F:\Environement\git-repo\hummingbot_custo\hbot\reports\policy\latest.json (sha256=7d2b69a522adccac38c7909f3b66ea5a9f28002d0c9cb71ee0bacc763d1aeb69)
- F:\Environement\git-repo\hummingbot_custo\hbot\reports\portfolio_risk\latest.json (sha256=942c07d6a11c306cd5f2d4fb249c414165dbee2b4fef06710e14055e71c86455)
- F:\Environement\git-repo\hummingbot_custo\hbot\reports\reconciliation\last_webhook_sent.json (sha256=6071d8307c61a3e11d8838f6e633a0ca55a7aa2d6771205108da93487ca7c88d)
- F:\Environement\git-repo\hummingbot_custo\hbot\reports\reconciliation\latest.json (sha256=37261d0ce582078b4d688134267507794d308d9169ab375bfee32f71fe739870)
- F:\Environement\git-repo\hummingbot_custo\hbot\reports\replay_regression\latest.json (sha256=6aa3fc983949315adaa50b7128611cda7085f61523bbc78f7c5503d3728ad88b)
- F:\Environement\git-repo\hummingbot_custo\hbot\reports\security\latest.json (sha256=c3475713525650368ec3cfa35513b96a6ab1fdd8f2ec7250c4b1ff54c1d584f9)
- F:\Environement\git-repo\hummingbot_custo\hbot\reports\strategy_catalog\latest.json (sha256=9f59838fe7215b130c9196873c46996ceb3f3c16e2347b7b8a2fe3d40bf4df92)
- F:\Environement\git-repo\hummingbot_custo\hbot\reports\tests\latest.json (sha256=ee1debf81046aac905dfde04f1ccfd6effa2f2486cedcb37a257eb360ad2e3dc)
- F:\Environement\git-repo\hummingbot_custo\hbot\reports\tests\latest.md (sha256=2df3b94219091313b1a94260dca784ab7eafbb85f44f29a1f062d9b59c8dfb43)
- F:\Environement\git-repo\hummingbot_custo\hbot\scripts\release\check_coordination_policy.py (sha256=3c11873a867b47073a4d2cba8b6b41db2b85271389d50418f31be1131aae4f3e)
- F:\Environement\git-repo\hummingbot_custo\hbot\scripts\release\check_multi_bot_policy.py (sha256=9c7b50f6ae693884964a9cc6234e38b670561e7a10399c04b459e8d651243ddc)
- F:\Environement\git-repo\hummingbot_custo\hbot\scripts\release\check_strategy_catalog_consistency.py (sha256=b3efe7873369592ff0b5747406683765e547f9ce1bb888e66b226c998f1c0d2e)
- F:\Environement\git-repo\hummingbot_custo\hbot\scripts\release\run_backtest_regression.py (sha256=b81418c240c277eebd1a685c103a77936d890ec8d763bc0d7412b0c86ca5ea64)
- F:\Environement\git-repo\hummingbot_custo\hbot\scripts\release\run_replay_regression_cycle.py (sha256=c20f4bceef356a572433a936500007247e8a5d74fab6a18727ada4c28244d1cd)
- F:\Environement\git-repo\hummingbot_custo\hbot\scripts\release\run_secrets_hygiene_check.py (sha256=ee612b9c38833b576330d88597dacc8b6bbeb02e8d357ff97d8e384a207e2e9c)
- F:\Environement\git-repo\hummingbot_custo\hbot\scripts\release\run_tests.py (sha256=5156a5f50997aba7332de8c4349669fee9ad5c59fc5c45395c02790f258a8961)
`

func day28WinPaths(rels []string) []string {
	out := make([]string, len(rels))
	for i, r := range rels {
		out[i] = day28WinRoot + r
	}
	return out
}

// day28Report rebuilds the Day-28 run's report from the vectors above.
func day28Report() *Report {
	r := &Report{
		TsUTC: "2026-02-22T13:11:09.384578+00:00", Status: "FAIL",
		CriticalFailures: []string{"event_store_integrity_freshness"},
	}
	for _, c := range day28RunChecks {
		r.Checks = append(r.Checks, Result{Name: c.name, Severity: "critical", Pass: c.pass, Reason: c.reason, EvidencePaths: day28WinPaths(c.evidence)})
	}
	for _, a := range day28Artifacts {
		r.EvidenceBundle.Artifacts = append(r.EvidenceBundle.Artifacts, EvidenceFile{Path: day28WinRoot + a[0], Exists: true, SHA256: a[1]})
	}
	r.EvidenceBundle.ArtifactCount = len(r.EvidenceBundle.Artifacts)
	r.EvidenceBundle.EvidenceBundleID = day28BundleID
	return r
}

// TestEvidenceBundleIDOfDay28Run: the id of the Day-28 run from its inputs
// (the spec's third vector: a 3 130-byte raw string with Windows paths),
// and the artifact list is the sorted set of the checks' evidence paths.
func TestEvidenceBundleIDOfDay28Run(t *testing.T) {
	r := day28Report()
	set := map[string]bool{}
	for _, c := range r.Checks {
		for _, p := range c.EvidencePaths {
			set[p] = true
		}
	}
	paths := make([]string, 0, len(set))
	for p := range set {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var artifactPaths []string
	for _, a := range r.EvidenceBundle.Artifacts {
		artifactPaths = append(artifactPaths, a.Path)
	}
	assert.Equal(t, paths, artifactPaths, "artifacts are the sorted set of evidence paths")
	assert.Len(t, paths, 31)
	assert.Equal(t, day28BundleID, EvidenceBundleID(r.Status, r.CriticalFailures, paths, day28ManifestSHA256))
	// Every input counts: the manifest hash, the order of the paths, the status.
	assert.NotEqual(t, day28BundleID, EvidenceBundleID(r.Status, r.CriticalFailures, paths, ""))
	assert.NotEqual(t, day28BundleID, EvidenceBundleID("PASS", r.CriticalFailures, paths, day28ManifestSHA256))
	rev := append([]string(nil), paths...)
	rev[0], rev[1] = rev[1], rev[0]
	assert.NotEqual(t, day28BundleID, EvidenceBundleID(r.Status, r.CriticalFailures, rev, day28ManifestSHA256))
}

// TestMarkdownOfDay28Run: the markdown of the Day-28 run, byte for byte.
func TestMarkdownOfDay28Run(t *testing.T) {
	assert.Equal(t, day28Markdown, string(Markdown(day28Report())))
}
