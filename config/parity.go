package config

// KindParityGate is the HEAD runner's parity_thresholds: the parity report
// of the shadow parity service and its drift audit are judged together.
// A report condition cannot see a second file, and a check that judged the
// parity report alone would pass where the original fails on a stale or
// failing drift audit.
const KindParityGate = "parity_gate"

// ParitySpec is the parity_gate block.
type ParitySpec struct {
	// Report is the parity family (freshest of paths and globs); its
	// condition, when set, replaces the original's status == "pass".
	Report ReportSpec `yaml:"report" json:"report"`
	// DriftPaths and DriftGlobs are the drift audit family, judged by
	// ts_utc only (the original has no fallback for it).
	DriftPaths []string `yaml:"drift_paths,omitempty" json:"drift_paths,omitempty"`
	DriftGlobs []string `yaml:"drift_globs,omitempty" json:"drift_globs,omitempty"`
	// RequireInformativeCore is --require-parity-informative-core: an
	// active bot whose three core metrics are all insufficient fails.
	RequireInformativeCore bool `yaml:"require_informative_core,omitempty" json:"require_informative_core,omitempty"`
}

// Reads lists the parity and drift audit files and patterns.
func (p *ParitySpec) Reads() []string {
	out := p.Report.Reads()
	out = append(out, p.DriftPaths...)
	return append(out, p.DriftGlobs...)
}

func (p *ParitySpec) validate(ps *problems, at string) {
	ps.report(at+": parity.report", &p.Report)
	if p.Report.NoFreshness {
		ps.addf("%s: parity.report.no_freshness: the parity report is always judged for freshness", at)
	}
	if len(p.DriftPaths) == 0 && len(p.DriftGlobs) == 0 {
		ps.addf("%s: parity: needs drift_paths or drift_globs (the drift audit is part of the check)", at)
		return
	}
	drift := ReportSpec{Paths: p.DriftPaths, Globs: p.DriftGlobs}
	ps.report(at+": parity.drift", &drift)
}
