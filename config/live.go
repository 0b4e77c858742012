package config

// The HEAD runner's live scope (--live-promotion-gates-mode auto, its
// default): live-only gates are enforced when at least one bot of the
// exchange account map has account_mode "live" and is enabled in the
// multi-bot policy (enabled defaults to true). Enforced, some checks turn
// critical (portfolio risk, ops DB writer, the trading ladder), word their
// failure differently, and the ladder appends itself to critical_failures
// while running. A contract written for the non-live scope declares those
// changes per check, so a live bot cannot leave a warning where the
// original blocks.

// KindTradingLadder is the HEAD runner's trading_validation_ladder.
const KindTradingLadder = "trading_ladder"

// LiveScopeSpec names the files the live scope is read from.
type LiveScopeSpec struct {
	AccountMap string `yaml:"account_map,omitempty" json:"account_map,omitempty"`
	Policy     string `yaml:"policy,omitempty" json:"policy,omitempty"`
}

// Files are the account map and the policy, defaults applied.
func (l *LiveScopeSpec) Files() (accountMap, policy string) {
	return orDefault(l.AccountMap, "config/exchange_account_map.json"), orDefault(l.Policy, "config/multi_bot_policy_v1.json")
}

// LiveSpec is what a check becomes when the live scope is enforced (or
// cannot be read: then it is assumed, so the check fails closed).
type LiveSpec struct {
	Severity   string `yaml:"severity,omitempty" json:"severity,omitempty"`
	PassReason string `yaml:"pass_reason,omitempty" json:"pass_reason,omitempty"`
	FailReason string `yaml:"fail_reason,omitempty" json:"fail_reason,omitempty"`
	// FailsFirst: the check appends itself to critical_failures while
	// running (the ladder, when enforced).
	FailsFirst bool `yaml:"fails_first,omitempty" json:"fails_first,omitempty"`
}

// TradingLadderSpec names the ladder's evidence files; each defaults to
// the original's.
type TradingLadderSpec struct {
	GoLiveChecklist  string `yaml:"go_live_checklist,omitempty" json:"go_live_checklist,omitempty"`
	MultiDaySummary  string `yaml:"multi_day_summary,omitempty" json:"multi_day_summary,omitempty"`
	TestnetReadiness string `yaml:"testnet_readiness,omitempty" json:"testnet_readiness,omitempty"`
	TestnetScorecard string `yaml:"testnet_scorecard,omitempty" json:"testnet_scorecard,omitempty"`
	TestnetMultiDay  string `yaml:"testnet_multi_day,omitempty" json:"testnet_multi_day,omitempty"`
}

// Files are the five evidence files in the ladder's order: go-live
// checklist, ROAD-1 multi-day summary, testnet readiness, testnet daily
// scorecard, ROAD-5 testnet multi-day summary.
func (t *TradingLadderSpec) Files() [5]string {
	return [5]string{
		orDefault(t.GoLiveChecklist, "reports/ops/go_live_checklist_evidence_latest.json"),
		orDefault(t.MultiDaySummary, "reports/strategy/multi_day_summary_latest.json"),
		orDefault(t.TestnetReadiness, "reports/ops/testnet_readiness_latest.json"),
		orDefault(t.TestnetScorecard, "reports/strategy/testnet_daily_scorecard_latest.json"),
		orDefault(t.TestnetMultiDay, "reports/strategy/testnet_multi_day_summary_latest.json"),
	}
}

func (t *TradingLadderSpec) validate(ps *problems, at string) {
	for _, f := range t.Files() {
		ps.relPath(at+": trading_ladder", f)
	}
}

func (l *LiveScopeSpec) validate(ps *problems) {
	a, p := l.Files()
	ps.relPath("live_scope.account_map", a)
	ps.relPath("live_scope.policy", p)
}

// live validates a check's live block and the kind that needs the scope.
func (ps *problems) live(at string, ck *Check, c *Contract) {
	if ck.Live != nil {
		if c.LiveScope == nil {
			ps.addf("%s: live needs the contract's live_scope", at)
		}
		switch ck.Live.Severity {
		case "", SeverityCritical, SeverityWarning, SeverityInfo:
		default:
			ps.addf("%s: live.severity %q is not critical|warning|info", at, ck.Live.Severity)
		}
		for _, f := range []struct{ name, text string }{{"live.pass_reason", ck.Live.PassReason}, {"live.fail_reason", ck.Live.FailReason}} {
			if _, err := ParsePlaceholders(f.text); err != nil {
				ps.addf("%s: %s: %v", at, f.name, err)
			}
		}
	}
	if ck.Kind == KindTradingLadder && c.LiveScope == nil {
		ps.addf("%s: kind trading_ladder needs the contract's live_scope (it is bypassed without a live bot)", at)
	}
}
