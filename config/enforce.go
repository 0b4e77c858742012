package config

import (
	"fmt"
	"sort"
	"strings"
)

// The HEAD runner judges two checks only when the stack's history rollout
// is on (HB_HISTORY_* in its environment); with its defaults it passes them
// unread, as warnings, saying "... not enforced" (spec §2.3 rows 1m.1 and
// 1m.2). A contract declares that state per check: enforced: false with a
// not_enforced block (the words, the severity and the evidence paths the
// original records then); enforced: true (or no enforced field) judges the
// check as its kind says. Nothing else may pass unread: not_enforced is
// refused on any other check.

// NotEnforceable names the checks a contract may leave unenforced: those
// the original passes unread with its default flags and environment.
var NotEnforceable = map[string]string{
	"history_market_bar_v2_backfill": "the original enforces it only when a shared-history read mode, HB_HISTORY_PROVIDER_ENABLED or HB_HISTORY_SEED_ENABLED is on",
	"history_seed_rollout":           "the original enforces it only when HB_HISTORY_SEED_ENABLED is on",
}

// notEnforcedWords must be in a not-enforced reason, so that the artifact
// and latest.md say it plainly.
const notEnforcedWords = "not enforced"

// NotEnforcedSpec is what a check records while it is not enforced: a pass
// with Reason (the original's words), Severity (warning or info: such a
// check never blocks) and EvidencePaths (recorded, present or not, as the
// original records them).
type NotEnforcedSpec struct {
	Reason        string   `yaml:"reason" json:"reason"`
	Severity      string   `yaml:"severity" json:"severity"`
	EvidencePaths []string `yaml:"evidence_paths,omitempty" json:"evidence_paths,omitempty"`
}

// IsEnforced says whether the check is judged: true unless the contract
// sets enforced: false.
func (ck *Check) IsEnforced() bool { return ck.Enforced == nil || *ck.Enforced }

func (ps *problems) enforcement(at string, ck *Check) {
	ne := ck.NotEnforced
	if ck.Enforced != nil && ne == nil {
		ps.addf("%s: enforced needs a not_enforced block (what the check records while it is not enforced)", at)
	}
	if ne == nil {
		return
	}
	if _, ok := NotEnforceable[ck.Name]; !ok {
		names := make([]string, 0, len(NotEnforceable))
		for n := range NotEnforceable {
			names = append(names, n)
		}
		sort.Strings(names)
		ps.addf("%s: not_enforced is only for the checks the original runner leaves unenforced by default (%s)", at, strings.Join(names, ", "))
	}
	if !strings.Contains(ne.Reason, notEnforcedWords) {
		ps.addf("%s: not_enforced.reason %q must say %q", at, ne.Reason, notEnforcedWords)
	}
	if ps2, err := ParsePlaceholders(ne.Reason); err != nil || len(ps2) > 0 {
		ps.addf("%s: not_enforced.reason must be plain text (no placeholders: nothing is read)", at)
	}
	switch ne.Severity {
	case SeverityWarning, SeverityInfo:
	default:
		ps.addf("%s: not_enforced.severity %q is not warning|info (a check that is not enforced never blocks)", at, ne.Severity)
	}
	for i, p := range ne.EvidencePaths {
		ps.relPath(fmt.Sprintf("%s: not_enforced.evidence_paths[%d]", at, i), p)
	}
}

// liveArgv validates a live_argv: a non-empty argv, a contract that reads
// the live scope, and no ci_argv beside it (which of the two would apply
// under --ci with a live bot is not something the original defines for
// one step).
func (ps *problems) liveArgv(at string, live, ci []string, c *Contract) {
	if live == nil {
		return
	}
	ps.argv(at+".live_argv", live, false)
	if c.LiveScope == nil {
		ps.addf("%s.live_argv needs the contract's live_scope (it applies when a live bot is enabled)", at)
	}
	if ci != nil {
		ps.addf("%s: live_argv and ci_argv together are not supported (set one)", at)
	}
}
