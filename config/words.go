package config

import (
	"sort"
	"strings"
)

// KnownWords names the built-in reason functions a check may select with
// words: the original's reasons that depend on values a template cannot
// coerce as Python does. Each is computed from the original's own reading
// of the report the check judged; the verdict stays the check's.
var KnownWords = map[string]string{
	"performance_dossier": "the rolling-expectancy reasons of performance_dossier_expectancy_ci (summary.rolling_expectancy_*)",
	"history_backfill":    "the enforced reasons of history_market_bar_v2_backfill (age, status, missing_count_after, sample_mismatch_count)",
}

func (ps *problems) words(at string, ck *Check) {
	if ck.Words == "" {
		return
	}
	if _, ok := KnownWords[ck.Words]; !ok {
		names := make([]string, 0, len(KnownWords))
		for n := range KnownWords {
			names = append(names, n)
		}
		sort.Strings(names)
		ps.addf("%s: words %q is not one of %s", at, ck.Words, strings.Join(names, "|"))
	}
	if !ck.judgesReport() {
		ps.addf("%s: words is for checks that judge a report", at)
	}
}
