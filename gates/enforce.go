package gates

import (
	"fmt"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/rootfs"
)

// notEnforced is a check the contract leaves unenforced (enforced: false,
// config/enforce.go): a pass that reads nothing, with the original's "...
// not enforced" reason, the not-enforced severity and the evidence paths
// the original records then (hashed when present, as its evidence bundle
// hashes them). Detail says that nothing was judged.
func (e *evalEnv) notEnforced(ck *config.Check) Result {
	ne := ck.NotEnforced
	r := Result{
		Name: ck.Name, Severity: ne.Severity, Kind: ck.Kind, Producer: ck.Producer,
		Verdict: VerdictPass, Reason: ne.Reason,
		Detail: "not enforced (contract: enforced: false); nothing was judged",
	}
	for _, rel := range ne.EvidencePaths {
		if e.isDir(rel) {
			r.Evidence = append(r.Evidence, EvidenceFile{Path: e.abs(rel)})
			continue
		}
		ef, err := e.hashFile(rel)
		if err != nil {
			// An evidence file that exists but cannot be read is an
			// error, as for any check (never blocking: the severity is
			// warning or info); the reason keeps its words.
			r.Verdict = VerdictError
			r.Detail += "; evidence " + err.Error()
			ef = EvidenceFile{Path: e.abs(rel)}
		}
		r.Evidence = append(r.Evidence, ef)
	}
	r.EvidencePaths = make([]string, 0, len(r.Evidence))
	for _, ef := range r.Evidence {
		r.EvidencePaths = append(r.EvidencePaths, ef.Path)
	}
	r.Pass = r.Verdict == VerdictPass
	return r
}

// commandArgv is the argv a command check runs: its live_argv when the
// live scope is enforced, else its ci_argv in CI mode, else its argv
// (live_argv and ci_argv are not set together, config/enforce.go).
func (e *evalEnv) commandArgv(spec *config.CommandSpec) []string {
	if spec.LiveArgv != nil && e.live.enforced() {
		return spec.LiveArgv
	}
	return ciOr(e.ci, spec.CIArgv, spec.Argv)
}

// ReplayArgv is the argv of the contract's replay step under rootDir: its
// live_argv when the contract's live scope is enforced there (read as a
// gate run reads it; an account map or policy that cannot be read counts
// as live, so the stricter argv runs), else its argv. The error is one of
// opening the root.
func ReplayArgv(c *config.Contract, rootDir string) ([]string, error) {
	rp := c.Replay
	if rp == nil {
		return nil, nil
	}
	if rp.LiveArgv == nil || c.LiveScope == nil {
		return rp.Argv, nil
	}
	root, err := rootfs.Open(rootDir)
	if err != nil {
		return nil, fmt.Errorf("read live scope: %w", err)
	}
	defer root.Close()
	e := &evalEnv{root: rootDir, fs: root}
	if e.readLiveScope(c.LiveScope).enforced() {
		return rp.LiveArgv, nil
	}
	return rp.Argv, nil
}
