package gates_test

// Property tests of the gate engine over generated report trees whose ground
// truth is known: every file is generated from a truth (healthy and fresh,
// stale, in the future, bad status, large or out-of-range lag, torn, a
// duplicate key, missing, a FIFO, a directory, a symlink out of the root or
// to /dev/zero, ...), and a check is healthy only when the files it judges
// are. The properties:
//
//   - soundness: a check never passes unless its truth is healthy, and the
//     status is PASS exactly when every critical check passes;
//   - exactness: a healthy check passes (so soundness is not met by failing
//     everything);
//   - monotonicity: making one input worse never turns a not-pass into a
//     pass, nor FAIL into PASS;
//   - evidence id: evidence_bundle_id depends only on the status, the
//     failures, the sorted evidence paths and the manifest sha256 (spec §3.2).
//
// Run longer with -rapid.checks=2000; a failure prints the generated tree.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/gates"
)

var propNow = time.Date(2026, 2, 26, 2, 0, 0, 0, time.UTC)

const (
	propWindow   = 15 * time.Minute
	propSkew     = 2 * time.Minute
	propLagLimit = 10
	propMaxDelta = 5
	propCond     = `status == "ok" and lag <= 10`
	lagKey       = "lag_produced_minus_ingested_since_baseline"
	deltaKey     = "delta_produced_minus_ingested_since_baseline"
	// hangLimit bounds one gate run: a run that blocks (a FIFO opened for
	// reading) fails the property instead of hanging the package.
	hangLimit = 3 * time.Second
)

// Truths of one generated file.
const (
	tHealthy   = "healthy"
	tOlder     = "older"      // an older readable candidate of a family
	tStale     = "stale"      // time older than the allowed age
	tFuture    = "future"     // time beyond the future skew (up to year 9999)
	tBadStatus = "bad_status" // status critical, go false, lag map absent
	tBigLag    = "big_lag"    // a lag over the limit
	tHugeLag   = "huge_lag"   // a lag out of float/int64 range or precision
	tWrongType = "wrong_type" // status true, go "true", lag "3"
	tTorn      = "torn"       // truncated JSON
	tEmpty     = "empty"      // zero bytes
	tDupKey    = "dup_key"    // a bad value, then the same key with a good one
	tNaiveTS   = "naive_ts"   // a timestamp without an offset
	tNoTS      = "no_ts"      // no timestamp key at all
	tMissing   = "missing"
	tFIFO      = "fifo"
	tDir       = "dir"
	tLinkOut   = "symlink_out" // a symlink to a healthy file outside the root
	tDevZero   = "dev_zero"    // a symlink to /dev/zero
)

// Kinds of generated check.
const (
	kReport  = "report"  // one report file
	kFamily  = "family"  // the freshest of a glob of candidates
	kDay2    = "day2"    // day2 gate: eval file plus source compare family
	kPresent = "present" // files_present
)

// Roles of a file within its check, which decide the truths it may take and
// the worsening operations that keep the truth of the check well defined.
type role int

const (
	roleReport   role = iota // the file of a report check
	roleNewest               // the newest candidate of a family (by name, time and mtime)
	roleOlder                // an older candidate of a family
	roleEval                 // the day2 eval file
	roleSCNewest             // the newest source compare file
	roleSCOlder              // an older source compare file
	rolePresent              // the file of a files_present check
)

var roleTruths = map[role][]string{
	roleReport: {tHealthy, tHealthy, tStale, tFuture, tBadStatus, tBigLag, tHugeLag, tWrongType, tTorn, tEmpty,
		tDupKey, tNaiveTS, tNoTS, tMissing, tFIFO, tDir, tLinkOut, tDevZero},
	// A family's newest candidate is never missing (another would be the
	// newest) and never lacks a time (which candidate is newest would then
	// depend on the rule chosen); a torn, empty, non-regular or beyond-skew
	// newest must not be passed over for an older one.
	roleNewest: {tHealthy, tHealthy, tStale, tFuture, tBadStatus, tBigLag, tHugeLag, tWrongType, tTorn, tEmpty,
		tDupKey, tFIFO, tDir, tLinkOut, tDevZero},
	roleOlder: {tOlder, tOlder, tBadStatus},
	roleEval: {tHealthy, tHealthy, tStale, tFuture, tBadStatus, tWrongType, tTorn, tEmpty, tDupKey, tNaiveTS,
		tNoTS, tMissing, tFIFO, tDir, tLinkOut, tDevZero},
	roleSCNewest: {tHealthy, tHealthy, tFuture, tBadStatus, tBigLag, tHugeLag, tWrongType, tTorn, tEmpty, tDupKey,
		tFIFO, tDir, tLinkOut, tDevZero},
	roleSCOlder: {tOlder, tOlder, tBigLag},
	rolePresent: {tHealthy, tHealthy, tMissing, tFIFO, tDir, tLinkOut, tDevZero},
}

// member is one JSON object member; v is raw JSON text.
type member struct{ k, v string }

// entry is one path of the tree.
type entry struct {
	rel   string
	role  role
	truth string
	// kind of filesystem object: a regular file (doc or raw), or one of
	// tMissing, tFIFO, tDir, tLinkOut, tDevZero.
	kind  string
	doc   []member // JSON object members, in order
	raw   []byte   // bytes written as is (torn, empty); nil means doc
	ts    time.Time
	mtime time.Time
}

func (e *entry) body() []byte {
	if e.raw != nil {
		return e.raw
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, m := range e.doc {
		if i > 0 {
			b.WriteString(", ")
		}
		k, _ := json.Marshal(m.k)
		b.Write(k)
		b.WriteString(": ")
		b.WriteString(m.v)
	}
	b.WriteByte('}')
	return []byte(b.String())
}

func (e *entry) clone() *entry {
	c := *e
	c.doc = slices.Clone(e.doc)
	c.raw = slices.Clone(e.raw)
	return &c
}

// checkModel is one generated check with the files it judges.
type checkModel struct {
	name     string
	kind     string
	severity string
	maxAge   time.Duration
	files    []*entry
	evidence []*entry // extra evidence files (not part of the truth)
}

// healthy is the ground truth of the check.
func (c *checkModel) healthy() bool {
	switch c.kind {
	case kDay2:
		return c.files[0].truth == tHealthy && c.files[1].truth == tHealthy
	default:
		return c.files[0].truth == tHealthy
	}
}

func (c *checkModel) hasFIFOEvidence() bool {
	return slices.ContainsFunc(c.evidence, func(e *entry) bool { return e.kind == tFIFO })
}

func (c *checkModel) config() config.Check {
	ck := config.Check{Name: c.name, Severity: c.severity, PassReason: c.name + " ok", FailReason: c.name + " bad"}
	for _, e := range c.evidence {
		ck.Evidence = append(ck.Evidence, e.rel)
	}
	dir := "reports/" + c.name
	switch c.kind {
	case kReport:
		ck.Kind = config.KindReport
		ck.Report = &config.ReportSpec{Path: c.files[0].rel, TimestampKeys: []string{"ts_utc", "last_update_utc"},
			MaxAge: c.maxAge, Condition: propCond}
	case kFamily:
		ck.Kind = config.KindReport
		ck.Report = &config.ReportSpec{Globs: []string{dir + "/snap_*.json"}, TimestampKeys: []string{"ts_utc", "last_update_utc"},
			MaxAge: c.maxAge, Condition: propCond}
	case kDay2:
		ck.Kind = config.KindDay2Gate
		ck.Day2 = &config.Day2Spec{Eval: c.files[0].rel, SourceCompareGlob: dir + "/source_compare_*.json",
			RequireGo: true, RequireFresh: true, RequireLag: true, MaxDelta: propMaxDelta}
	case kPresent:
		ck.Kind = config.KindFilesPresent
		ck.Files = []string{c.files[0].rel}
	}
	return ck
}

// tree is a generated stack root.
type tree struct {
	checks   []*checkModel
	manifest *entry // docs/ops/release_manifest_*.md, nil for none
}

func (tr *tree) contract() *config.Contract {
	c := &config.Contract{Name: "prop", Freshness: config.Freshness{Window: propWindow, CIWindow: propWindow, FutureSkew: propSkew}}
	for _, m := range tr.checks {
		c.Checks = append(c.Checks, m.config())
	}
	return c
}

func (tr *tree) entries() []*entry {
	var out []*entry
	for _, c := range tr.checks {
		out = append(out, c.files...)
		out = append(out, c.evidence...)
	}
	if tr.manifest != nil {
		out = append(out, tr.manifest)
	}
	return out
}

func (tr *tree) clone() *tree {
	out := &tree{}
	for _, c := range tr.checks {
		cc := *c
		cc.files, cc.evidence = nil, nil
		for _, f := range c.files {
			cc.files = append(cc.files, f.clone())
		}
		for _, f := range c.evidence {
			cc.evidence = append(cc.evidence, f.clone())
		}
		out.checks = append(out.checks, &cc)
	}
	if tr.manifest != nil {
		out.manifest = tr.manifest.clone()
	}
	return out
}

// String prints the tree for a failure message.
func (tr *tree) String() string {
	var b strings.Builder
	for _, c := range tr.checks {
		fmt.Fprintf(&b, "check %s (%s, %s, max_age %s, healthy=%v)\n", c.name, c.kind, c.severity, c.maxAge, c.healthy())
		for _, f := range append(slices.Clone(c.files), c.evidence...) {
			fmt.Fprintf(&b, "  %s [%s/%s] %s\n", f.rel, f.truth, f.kind, truncateBody(f))
		}
	}
	if tr.manifest != nil {
		fmt.Fprintf(&b, "manifest %s [%s]\n", tr.manifest.rel, tr.manifest.kind)
	}
	return b.String()
}

func truncateBody(e *entry) string {
	if e.kind != "" {
		return ""
	}
	s := string(e.body())
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return s
}

func stamp(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

func q(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// drawTS draws the report time of a truth: fresh within maxAge, stale beyond
// it, or beyond the future skew (sometimes year 9999).
func drawTS(t *rapid.T, truth string, maxAge time.Duration, label string) time.Time {
	switch truth {
	case tStale:
		return propNow.Add(-maxAge - time.Duration(rapid.Int64Range(60, 90*24*3600).Draw(t, label+"_stale_s"))*time.Second)
	case tFuture:
		if rapid.IntRange(0, 3).Draw(t, label+"_y9999") == 0 {
			return time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
		}
		return propNow.Add(propSkew + time.Duration(rapid.Int64Range(60, 400*24*3600).Draw(t, label+"_future_s"))*time.Second)
	default:
		return propNow.Add(-time.Duration(rapid.Int64Range(0, int64((maxAge-time.Minute)/time.Second)).Draw(t, label+"_age_s")) * time.Second)
	}
}

func hugeNumber(t *rapid.T, label string, negative bool) string {
	pos := []string{"1e300", "9.3e18", "9223372036854775808", "1e19", "12345678901234567890123", "1e400"}
	if negative {
		pos = append(pos, "-1e300", "-9.3e18", "-9223372036854775809")
	}
	return rapid.SampledFrom(pos).Draw(t, label)
}

// fillReport writes a report document (status, lag, a time key) for truth.
func fillReport(t *rapid.T, e *entry, maxAge time.Duration, label string) {
	tsKey := rapid.SampledFrom([]string{"ts_utc", "last_update_utc"}).Draw(t, label+"_tskey")
	ts := drawTS(t, e.truth, maxAge, label)
	e.ts = ts
	status, lag := q("ok"), strconv.Itoa(rapid.IntRange(0, propLagLimit).Draw(t, label+"_lag"))
	switch e.truth {
	case tBadStatus:
		status = q(rapid.SampledFrom([]string{"critical", "fail", "OK", "ok ", ""}).Draw(t, label+"_status"))
	case tBigLag:
		lag = strconv.Itoa(rapid.IntRange(propLagLimit+1, 1<<20).Draw(t, label+"_biglag"))
	case tHugeLag:
		lag = hugeNumber(t, label+"_huge", false)
	case tWrongType:
		status = rapid.SampledFrom([]string{"true", "1", `["ok"]`, `{"ok":true}`, "null"}).Draw(t, label+"_wrongtype")
	}
	e.doc = []member{{tsKey, q(ts.Format(time.RFC3339))}, {"status", status}, {"lag", lag}}
	switch e.truth {
	case tDupKey:
		// encoding/json keeps the last of two equal keys: the bad value
		// first, the good one last.
		e.doc = []member{{tsKey, q(ts.Format(time.RFC3339))}, {"status", q("critical")}, {"lag", lag}, {"status", q("ok")}}
	case tNaiveTS:
		e.doc[0].v = q(ts.Format("2006-01-02T15:04:05"))
	case tNoTS:
		e.doc = e.doc[1:]
	}
}

// fillEval writes a day2 eval document.
func fillEval(t *rapid.T, e *entry, label string) {
	ts := drawTS(t, e.truth, propWindow, label)
	e.ts = ts
	goVal := "true"
	switch e.truth {
	case tBadStatus:
		goVal = "false"
	case tWrongType:
		goVal = rapid.SampledFrom([]string{`"true"`, "1", "null"}).Draw(t, label+"_go")
	}
	e.doc = []member{{"ts_utc", q(ts.Format(time.RFC3339))}, {"go", goVal}}
	switch e.truth {
	case tDupKey:
		e.doc = []member{{"ts_utc", q(ts.Format(time.RFC3339))}, {"go", "false"}, {"go", "true"}}
	case tNaiveTS:
		e.doc[0].v = q(ts.Format("2006-01-02T15:04:05"))
	case tNoTS:
		e.doc = e.doc[1:]
	}
}

// fillSC writes a source compare document at time ts.
func fillSC(t *rapid.T, e *entry, label string) {
	key := rapid.SampledFrom([]string{lagKey, deltaKey}).Draw(t, label+"_key")
	streams := []string{"hb.audit.v1", "hb.market_data.v1"}
	vals := make([]string, len(streams))
	for i := range streams {
		vals[i] = strconv.Itoa(rapid.IntRange(-50, propMaxDelta).Draw(t, fmt.Sprintf("%s_lag%d", label, i)))
	}
	if e.truth == tOlder {
		for i := range vals {
			vals[i] = "0" // the tempting older file: perfect lags
		}
	}
	switch e.truth {
	case tBigLag:
		vals[0] = strconv.Itoa(rapid.IntRange(propMaxDelta+1, 1<<20).Draw(t, label+"_biglag"))
	case tHugeLag:
		vals[0] = hugeNumber(t, label+"_huge", true)
	case tWrongType:
		vals[0] = rapid.SampledFrom([]string{`"3"`, "true", "null", "2.5"}).Draw(t, label+"_wrongtype")
	}
	m := "{" + q(streams[0]) + ": " + vals[0] + ", " + q(streams[1]) + ": " + vals[1] + "}"
	e.doc = []member{{"ts_utc", q(e.ts.Format(time.RFC3339))}, {key, m}}
	switch e.truth {
	case tBadStatus:
		e.doc = []member{{"ts_utc", q(e.ts.Format(time.RFC3339))}, {"streams", "{}"}}
	case tDupKey:
		e.doc = []member{{"ts_utc", q(e.ts.Format(time.RFC3339))}, {key, `{"hb.audit.v1": 900}`}, {key, `{"hb.audit.v1": 0}`}}
	}
}

// shapeKind turns file-level truths into filesystem objects and raw bytes.
func shapeKind(t *rapid.T, e *entry, label string) {
	switch e.truth {
	case tMissing, tFIFO, tDir, tLinkOut, tDevZero:
		e.kind = e.truth
	case tTorn:
		b := e.body()
		e.raw = b[:rapid.IntRange(1, len(b)-1).Draw(t, label+"_cut")]
	case tEmpty:
		e.raw = []byte{}
	}
}

// healthyFor is the healthy content a symlink out of the root points to: a
// check that followed it would pass.
func healthyFor(r role, rel string, ts time.Time) *entry {
	e := &entry{rel: rel, role: r, truth: tHealthy, ts: ts}
	switch r {
	case roleEval:
		e.doc = []member{{"ts_utc", q(ts.Format(time.RFC3339))}, {"go", "true"}}
	case roleSCNewest, roleSCOlder:
		e.doc = []member{{"ts_utc", q(ts.Format(time.RFC3339))}, {lagKey, `{"hb.audit.v1": 0}`}}
	case rolePresent:
		e.raw = []byte("present\n")
	default:
		e.doc = []member{{"ts_utc", q(ts.Format(time.RFC3339))}, {"status", q("ok")}, {"lag", "0"}}
	}
	return e
}

func mtimeOf(ts time.Time) time.Time {
	if lim := propNow.Add(24 * time.Hour); ts.After(lim) {
		return lim // filesystems cannot store year 9999; still the newest
	}
	return ts
}

func drawCheck(t *rapid.T, i int) *checkModel {
	kind := rapid.SampledFrom([]string{kReport, kReport, kFamily, kFamily, kDay2, kPresent}).Draw(t, fmt.Sprintf("c%d_kind", i))
	c := &checkModel{
		name:     fmt.Sprintf("c%d_%s", i, kind),
		kind:     kind,
		severity: rapid.SampledFrom([]string{config.SeverityCritical, config.SeverityCritical, config.SeverityWarning, config.SeverityInfo}).Draw(t, fmt.Sprintf("c%d_sev", i)),
		maxAge:   rapid.SampledFrom([]time.Duration{propWindow, 10 * time.Minute, time.Hour, 24 * time.Hour}).Draw(t, fmt.Sprintf("c%d_maxage", i)),
	}
	if kind == kDay2 {
		c.maxAge = propWindow // the day2 gate judges its eval file against the window
	}
	dir := "reports/" + c.name
	label := func(s string) string { return fmt.Sprintf("c%d_%s", i, s) }
	pick := func(r role, l string) string { return rapid.SampledFrom(roleTruths[r]).Draw(t, label(l)) }
	switch kind {
	case kReport:
		e := &entry{rel: dir + "/latest.json", role: roleReport, truth: pick(roleReport, "truth")}
		fillReport(t, e, c.maxAge, label("f0"))
		e.mtime = mtimeOf(e.ts)
		shapeKind(t, e, label("f0"))
		c.files = []*entry{e}
	case kFamily, kDay2:
		newestRole, olderRole := roleNewest, roleOlder
		if kind == kDay2 {
			newestRole, olderRole = roleSCNewest, roleSCOlder
			ev := &entry{rel: dir + "/day2_eval.json", role: roleEval, truth: pick(roleEval, "eval")}
			fillEval(t, ev, label("eval"))
			ev.mtime = mtimeOf(ev.ts)
			shapeKind(t, ev, label("eval"))
			c.files = append(c.files, ev)
		}
		newest := &entry{role: newestRole, truth: pick(newestRole, "newest")}
		// A broken newest still has a time: the one its name and mtime carry.
		nt := newest.truth
		if !slices.Contains([]string{tStale, tFuture}, nt) {
			nt = tHealthy
		}
		if kind == kDay2 && nt == tStale {
			nt = tHealthy
		}
		newest.ts = drawTS(t, nt, c.maxAge, label("newest"))
		prefix := dir + "/snap_"
		if kind == kDay2 {
			prefix = dir + "/source_compare_"
		}
		newest.rel = prefix + stamp(newest.ts) + ".json"
		if kind == kDay2 {
			fillSC(t, newest, label("newest"))
		} else {
			ts := newest.ts
			fillReport(t, newest, c.maxAge, label("newest"))
			newest.ts = ts
			newest.doc[0].v = q(ts.Format(time.RFC3339))
			if newest.truth == tNaiveTS {
				newest.doc[0].v = q(ts.Format("2006-01-02T15:04:05"))
			}
		}
		newest.mtime = mtimeOf(newest.ts)
		shapeKind(t, newest, label("newest"))
		c.files = append(c.files, newest)
		prev := newest.ts
		if prev.After(propNow) {
			// Older candidates sit in the window, tempting a pass-over.
			prev = propNow
		}
		n := rapid.IntRange(0, 2).Draw(t, label("older_n"))
		for j := range n {
			o := &entry{role: olderRole, truth: rapid.SampledFrom(roleTruths[olderRole]).Draw(t, label(fmt.Sprintf("older%d", j)))}
			o.ts = prev.Add(-time.Duration(rapid.Int64Range(1, 300).Draw(t, label(fmt.Sprintf("older%d_gap", j)))) * time.Second)
			prev = o.ts
			o.rel = prefix + stamp(o.ts) + ".json"
			if kind == kDay2 {
				fillSC(t, o, label(fmt.Sprintf("older%d", j)))
			} else {
				o.doc = []member{{"ts_utc", q(o.ts.Format(time.RFC3339))}, {"status", q("ok")}, {"lag", "0"}}
				if o.truth == tBadStatus {
					o.doc[1].v = q("critical")
				}
			}
			o.mtime = mtimeOf(o.ts)
			c.files = append(c.files, o)
		}
	case kPresent:
		e := &entry{rel: dir + "/marker.txt", role: rolePresent, truth: pick(rolePresent, "truth"), raw: []byte("present\n")}
		e.ts, e.mtime = propNow, propNow
		shapeKind(t, e, label("f0"))
		c.files = []*entry{e}
	}
	ne := rapid.IntRange(0, 2).Draw(t, label("evidence_n"))
	for j := range ne {
		ev := &entry{rel: fmt.Sprintf("docs/evidence/%s_%d.txt", c.name, j), raw: []byte(c.name + " evidence\n"), ts: propNow, mtime: propNow}
		ev.truth = rapid.SampledFrom([]string{tHealthy, tHealthy, tHealthy, tMissing, tFIFO}).Draw(t, label(fmt.Sprintf("evidence%d", j)))
		if ev.truth != tHealthy {
			ev.kind = ev.truth
		}
		c.evidence = append(c.evidence, ev)
	}
	return c
}

func drawTree(t *rapid.T) *tree {
	tr := &tree{}
	n := rapid.IntRange(1, 5).Draw(t, "checks")
	for i := range n {
		tr.checks = append(tr.checks, drawCheck(t, i))
	}
	switch rapid.IntRange(0, 5).Draw(t, "manifest") {
	case 0, 1:
	case 5:
		tr.manifest = &entry{rel: "docs/ops/release_manifest_20260220.md", truth: tFIFO, kind: tFIFO}
	default:
		tr.manifest = &entry{rel: "docs/ops/release_manifest_20260220.md", truth: tHealthy, raw: []byte("# manifest\n"), ts: propNow, mtime: propNow}
	}
	return tr
}

// materialize writes the tree under dir/root and returns the root; a
// symlink out points to a healthy file under dir/outside.
func materialize(t *rapid.T, dir string, tr *tree) string {
	root := filepath.Join(dir, "root")
	outside := filepath.Join(dir, "outside")
	must := func(err error) {
		if err != nil {
			t.Fatalf("materialize tree: %v", err)
		}
	}
	must(os.MkdirAll(root, 0o755))
	for _, e := range tr.entries() {
		p := filepath.Join(root, filepath.FromSlash(e.rel))
		must(os.MkdirAll(filepath.Dir(p), 0o755))
		switch e.kind {
		case tMissing:
			continue
		case tFIFO:
			must(syscall.Mkfifo(p, 0o644))
		case tDir:
			must(os.MkdirAll(p, 0o755))
		case tDevZero:
			must(os.Symlink("/dev/zero", p))
			continue
		case tLinkOut:
			target := filepath.Join(outside, filepath.FromSlash(e.rel))
			must(os.MkdirAll(filepath.Dir(target), 0o755))
			h := healthyFor(e.role, e.rel, propNow.Add(-time.Minute))
			must(os.WriteFile(target, h.body(), 0o644))
			must(os.Symlink(target, p))
			continue
		default:
			must(os.WriteFile(p, e.body(), 0o644))
		}
		if !e.mtime.IsZero() {
			must(os.Chtimes(p, e.mtime, e.mtime))
		}
	}
	return root
}

var errHung = errors.New("gate run did not return (a blocking open?)")

// runEngine runs the contract over root at propNow. A run that does not
// return within hangLimit is reported as errHung after the FIFOs of the tree
// are opened for writing, which releases a reader blocked on them.
func runEngine(root string, tr *tree, c *config.Contract, runID string) (*gates.Report, error) {
	e, err := gates.New(c, gates.Options{Root: root, Now: func() time.Time { return propNow }})
	if err != nil {
		return nil, err
	}
	type out struct {
		rep *gates.Report
		err error
	}
	done := make(chan out, 1)
	go func() {
		rep, err := e.Run(context.Background(), gates.RunOptions{RunID: runID})
		done <- out{rep, err}
	}()
	select {
	case o := <-done:
		return o.rep, o.err
	case <-time.After(hangLimit):
		// Release readers until the run returns: it may block again on
		// the next FIFO it opens.
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			releaseFIFOs(root, tr)
			select {
			case <-done:
				return nil, errHung
			case <-tick.C:
			}
		}
	}
}

func releaseFIFOs(root string, tr *tree) {
	for _, e := range tr.entries() {
		if e.kind != tFIFO {
			continue
		}
		p := filepath.Join(root, filepath.FromSlash(e.rel))
		if f, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	}
}

// evaluate materializes tr in a fresh directory and runs the engine.
func evaluate(t *rapid.T, base string, tr *tree, runID string) *gates.Report {
	dir, err := os.MkdirTemp(base, "tree")
	if err != nil {
		t.Fatalf("temp dir: %v", err)
	}
	defer os.RemoveAll(dir)
	root := materialize(t, dir, tr)
	rep, err := runEngine(root, tr, tr.contract(), runID)
	if err != nil {
		t.Fatalf("run engine: %v\n%s", err, tr)
	}
	// An unreadable newest release manifest adds one critical error
	// result after the contract's checks (the manifest is an input of the
	// evidence id: it is never passed over for an older one).
	wantChecks := len(tr.checks)
	if tr.manifest != nil && tr.manifest.kind != "" {
		wantChecks++
		if n := len(rep.Checks); n == wantChecks {
			m := rep.Checks[n-1]
			if m.Name != "release_manifest_ref" || m.Pass || m.Severity != config.SeverityCritical {
				t.Fatalf("manifest %s [%s]: last result %s pass=%v severity=%s, want a critical not-pass release_manifest_ref",
					tr.manifest.rel, tr.manifest.kind, m.Name, m.Pass, m.Severity)
			}
		}
	}
	if len(rep.Checks) != wantChecks {
		t.Fatalf("report has %d checks, want %d\n%s", len(rep.Checks), wantChecks, tr)
	}
	return rep
}

func byName(rep *gates.Report) map[string]gates.Result {
	m := map[string]gates.Result{}
	for _, r := range rep.Checks {
		m[r.Name] = r
	}
	return m
}

// assertRollUp: status FAIL exactly when a critical check is not pass; the
// failures are the critical non-passing checks in contract order.
func assertRollUp(t *rapid.T, tr *tree, rep *gates.Report) {
	var want []string
	for i, c := range tr.checks {
		r := rep.Checks[i]
		if r.Name != c.name {
			t.Fatalf("check %d is %q, want %q (contract order)", i, r.Name, c.name)
		}
		if r.Pass != (r.Verdict == gates.VerdictPass) {
			t.Fatalf("%s: pass=%v but verdict %s", r.Name, r.Pass, r.Verdict)
		}
		if r.Severity != c.severity {
			t.Fatalf("%s: severity %q, want %q", r.Name, r.Severity, c.severity)
		}
		if c.severity == config.SeverityCritical && !r.Pass {
			want = append(want, c.name)
		}
	}
	if len(rep.Checks) > len(tr.checks) {
		want = append(want, rep.Checks[len(tr.checks)].Name)
	}
	wantStatus := gates.StatusPass
	if len(want) > 0 {
		wantStatus = gates.StatusFail
	}
	if rep.Status != wantStatus || !slices.Equal(rep.CriticalFailures, want) {
		t.Fatalf("status %s failures %v, want %s %v\n%s", rep.Status, rep.CriticalFailures, wantStatus, want, tr)
	}
}

func TestPropertySoundness(t *testing.T) {
	base := t.TempDir()
	rapid.Check(t, func(t *rapid.T) {
		tr := drawTree(t)
		rep := evaluate(t, base, tr, "prop")
		allCritical := true
		for i, c := range tr.checks {
			r := rep.Checks[i]
			if r.Pass && !c.healthy() {
				t.Fatalf("%s passed but its truth is not healthy (%s): %s\n%s", c.name, truths(c), r.Text(), tr)
			}
			if c.healthy() && !c.hasFIFOEvidence() && !r.Pass {
				t.Fatalf("%s is healthy but did not pass: %s %s\n%s", c.name, r.Verdict, r.Text(), tr)
			}
			if c.severity == config.SeverityCritical && !c.healthy() {
				allCritical = false
			}
		}
		if tr.manifest != nil && tr.manifest.kind != "" {
			allCritical = false // an unreadable manifest fails the run
		}
		if rep.Status == gates.StatusPass && !allCritical {
			t.Fatalf("status PASS with an unhealthy critical check\n%s", tr)
		}
		assertRollUp(t, tr, rep)
	})
}

func truths(c *checkModel) string {
	var s []string
	for _, f := range c.files {
		s = append(s, path.Base(f.rel)+"="+f.truth)
	}
	return strings.Join(s, ", ")
}

// Worsening operations.
const (
	opOlder     = "older"
	opWorse     = "worse_status"
	opLargerLag = "larger_lag"
	opTorn      = "torn"
	opDelete    = "delete"
	opFIFO      = "fifo"
	opDir       = "dir"
	opLinkOut   = "symlink_out"
	opDevZero   = "dev_zero"
	opDupKey    = "dup_key"
)

// applicable lists the worsening operations on e that keep the check's
// candidate order: the newest candidate of a family is never deleted or
// made older (another candidate would then be the newest, legitimately).
func applicable(e *entry) []string {
	ops := []string{opFIFO, opDir, opLinkOut, opDevZero}
	newest := e.role == roleNewest || e.role == roleSCNewest
	if !newest {
		ops = append(ops, opDelete)
	}
	if e.kind != "" || e.raw != nil || e.doc == nil {
		return ops
	}
	ops = append(ops, opWorse, opDupKey)
	if len(e.body()) >= 2 {
		ops = append(ops, opTorn)
	}
	if hasLag(e) {
		ops = append(ops, opLargerLag)
	}
	if !newest && tsOf(e) != nil && !tsOf(e).After(propNow) {
		ops = append(ops, opOlder)
	}
	return ops
}

func hasLag(e *entry) bool {
	return slices.ContainsFunc(e.doc, func(m member) bool { return m.k == "lag" || m.k == lagKey || m.k == deltaKey })
}

// tsOf is the first parseable offset time of the document, if any.
func tsOf(e *entry) *time.Time {
	for _, m := range e.doc {
		if m.k != "ts_utc" && m.k != "last_update_utc" {
			continue
		}
		var s string
		if json.Unmarshal([]byte(m.v), &s) != nil {
			return nil
		}
		ts, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return nil
		}
		return &ts
	}
	return nil
}

func applyOp(t *rapid.T, e *entry, op string) {
	switch op {
	case opFIFO, opDir, opLinkOut, opDevZero:
		e.kind = map[string]string{opFIFO: tFIFO, opDir: tDir, opLinkOut: tLinkOut, opDevZero: tDevZero}[op]
	case opDelete:
		e.kind = tMissing
	case opTorn:
		b := e.body()
		e.raw = b[:rapid.IntRange(1, len(b)-1).Draw(t, "torn_cut")]
	case opOlder:
		d := time.Duration(rapid.Int64Range(1, 30*24*3600).Draw(t, "older_s")) * time.Second
		for i, m := range e.doc {
			if m.k == "ts_utc" || m.k == "last_update_utc" {
				var s string
				if json.Unmarshal([]byte(m.v), &s) != nil {
					continue
				}
				if ts, err := time.Parse(time.RFC3339, s); err == nil {
					e.doc[i].v = q(ts.Add(-d).Format(time.RFC3339))
				}
			}
		}
		e.mtime = e.mtime.Add(-d)
	case opWorse:
		for i, m := range e.doc {
			switch m.k {
			case "status":
				e.doc[i].v = q("critical")
			case "go":
				e.doc[i].v = "false"
			case lagKey, deltaKey:
				e.doc[i].v = `{"hb.audit.v1": 100000}`
			}
		}
	case opLargerLag:
		add := rapid.Int64Range(1, 1<<40).Draw(t, "lag_add")
		for i, m := range e.doc {
			switch m.k {
			case "lag":
				e.doc[i].v = bump(m.v, add)
			case lagKey, deltaKey:
				var lags map[string]json.RawMessage
				if json.Unmarshal([]byte(m.v), &lags) != nil {
					continue
				}
				keys := make([]string, 0, len(lags))
				for k := range lags {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				parts := make([]string, 0, len(keys))
				for _, k := range keys {
					parts = append(parts, q(k)+": "+bump(string(lags[k]), add))
				}
				e.doc[i].v = "{" + strings.Join(parts, ", ") + "}"
			}
		}
	case opDupKey:
		// The same key again, last, with a healthy value: a reader that
		// keeps the last of duplicates would see a passing report.
		for _, m := range e.doc {
			switch m.k {
			case "status":
				e.doc = append(e.doc, member{"status", q("ok")})
			case "go":
				e.doc = append(e.doc, member{"go", "true"})
			case lagKey, deltaKey:
				e.doc = append(e.doc, member{m.k, `{"hb.audit.v1": 0}`})
			case "lag":
				e.doc = append(e.doc, member{"lag", "0"})
			default:
				continue
			}
			return
		}
		e.doc = append(e.doc, member{e.doc[0].k, e.doc[0].v})
	}
}

// bump adds add to an integer literal; other literals are left as they are.
func bump(v string, add int64) string {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n > math.MaxInt64-add {
		return v
	}
	return strconv.FormatInt(n+add, 10)
}

func TestPropertyMonotonicity(t *testing.T) {
	base := t.TempDir()
	rapid.Check(t, func(t *rapid.T) {
		tr := drawTree(t)
		before := evaluate(t, base, tr, "prop")
		worse := tr.clone()
		ci := rapid.IntRange(0, len(worse.checks)-1).Draw(t, "worsen_check")
		c := worse.checks[ci]
		e := c.files[rapid.IntRange(0, len(c.files)-1).Draw(t, "worsen_file")]
		op := rapid.SampledFrom(applicable(e)).Draw(t, "op")
		applyOp(t, e, op)
		after := evaluate(t, base, worse, "prop")
		b, a := byName(before), byName(after)
		for _, cm := range worse.checks {
			if !b[cm.name].Pass && a[cm.name].Pass {
				t.Fatalf("%s of %s turned %s (%s) into pass (%s)\nbefore:\n%s\nafter:\n%s",
					op, e.rel, b[cm.name].Verdict, b[cm.name].Text(), a[cm.name].Text(), tr, worse)
			}
		}
		if before.Status == gates.StatusFail && after.Status == gates.StatusPass {
			t.Fatalf("%s of %s turned FAIL into PASS\n%s", op, e.rel, worse)
		}
		assertRollUp(t, worse, after)
	})
}

// sortedEvidencePaths is the spec's sorted(set(evidence paths of checks)).
func sortedEvidencePaths(rep *gates.Report) []string {
	set := map[string]bool{}
	for _, c := range rep.Checks {
		for _, p := range c.EvidencePaths {
			set[p] = true
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func TestPropertyEvidenceBundleID(t *testing.T) {
	base := t.TempDir()
	rapid.Check(t, func(t *rapid.T) {
		tr := drawTree(t)
		// FIFOs are left out here: the id is about what was read.
		for _, e := range tr.entries() {
			if e.kind == tFIFO {
				e.kind, e.truth = tMissing, tMissing
			}
		}
		dir, err := os.MkdirTemp(base, "tree")
		if err != nil {
			t.Fatalf("temp dir: %v", err)
		}
		defer os.RemoveAll(dir)
		root := materialize(t, dir, tr)
		run := func(c *config.Contract, runID string) *gates.Report {
			rep, err := runEngine(root, tr, c, runID)
			if err != nil {
				t.Fatalf("run engine: %v\n%s", err, tr)
			}
			return rep
		}
		rep := run(tr.contract(), "run-a")
		paths := sortedEvidencePaths(rep)
		id := rep.EvidenceBundle.EvidenceBundleID
		// A function of the spec's four inputs, the paths sorted and unique.
		if want := gates.EvidenceBundleID(rep.Status, rep.CriticalFailures, paths, rep.ReleaseManifestRef.SHA256); id != want {
			t.Fatalf("evidence_bundle_id %s, want %s from status, failures, %d sorted paths, manifest sha", id, want, len(paths))
		}
		arts := make([]string, 0, len(rep.EvidenceBundle.Artifacts))
		for _, a := range rep.EvidenceBundle.Artifacts {
			arts = append(arts, a.Path)
		}
		if !slices.Equal(arts, paths) || rep.EvidenceBundle.ArtifactCount != len(paths) {
			t.Fatalf("artifacts %v (count %d), want the sorted unique evidence paths %v", arts, rep.EvidenceBundle.ArtifactCount, paths)
		}
		if tr.manifest != nil && tr.manifest.kind == "" && rep.ReleaseManifestRef.SHA256 == "" {
			t.Fatalf("manifest %s present but not hashed", tr.manifest.rel)
		}

		// No run id or clock in it: another run id gives the same id (and
		// another content digest, which does bind the run).
		again := run(tr.contract(), "run-b")
		if again.EvidenceBundle.EvidenceBundleID != id {
			t.Fatalf("evidence_bundle_id changed with the run id: %s then %s", id, again.EvidenceBundle.EvidenceBundleID)
		}
		if again.ContentDigest == rep.ContentDigest {
			t.Fatalf("content digest %s does not bind the run id", rep.ContentDigest)
		}

		// Another order of evaluation and of evidence discovery: the checks
		// shuffled, each check's evidence list shuffled. The paths and
		// verdicts are the same; the failures follow the new contract order.
		perm := rapid.Permutation(tr.checks).Draw(t, "check_order")
		pc := (&tree{checks: perm, manifest: tr.manifest}).contract()
		for i := range pc.Checks {
			pc.Checks[i].Evidence = rapid.Permutation(pc.Checks[i].Evidence).Draw(t, fmt.Sprintf("evidence_order_%d", i))
		}
		shuffled := run(pc, "run-c")
		if got := sortedEvidencePaths(shuffled); !slices.Equal(got, paths) {
			t.Fatalf("evidence paths differ with the check order: %v vs %v", got, paths)
		}
		verdicts := byName(rep)
		var failures []string
		for _, c := range shuffled.Checks {
			if c.Verdict != verdicts[c.Name].Verdict {
				t.Fatalf("%s: verdict %s in one order, %s in another", c.Name, verdicts[c.Name].Verdict, c.Verdict)
			}
			if c.Severity == config.SeverityCritical && !c.Pass {
				failures = append(failures, c.Name)
			}
		}
		if want := gates.EvidenceBundleID(rep.Status, failures, paths, rep.ReleaseManifestRef.SHA256); shuffled.EvidenceBundle.EvidenceBundleID != want {
			t.Fatalf("evidence_bundle_id after reordering %s, want %s", shuffled.EvidenceBundle.EvidenceBundleID, want)
		}
		if len(rep.CriticalFailures) <= 1 && shuffled.EvidenceBundle.EvidenceBundleID != id {
			t.Fatalf("evidence_bundle_id changed with the evaluation order (%d failures)", len(rep.CriticalFailures))
		}

		// The manifest's bytes are one of the inputs.
		if tr.manifest != nil && tr.manifest.kind == "" {
			p := filepath.Join(root, filepath.FromSlash(tr.manifest.rel))
			if err := os.WriteFile(p, []byte("# manifest, amended\n"), 0o644); err != nil {
				t.Fatalf("rewrite manifest: %v", err)
			}
			if changed := run(tr.contract(), "run-a"); changed.EvidenceBundle.EvidenceBundleID == id {
				t.Fatalf("evidence_bundle_id did not change with the manifest's content")
			}
		}
	})
}
