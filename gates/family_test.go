package gates

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/rootfs"
)

// familyEnv is an evalEnv on root with fresh caches whose clock is an hour
// ahead, so that the files just written count as older than the racy
// window and the caches store them.
func familyEnv(t testing.TB, root string) (*evalEnv, func()) {
	t.Helper()
	ck := config.Check{Name: "f", Kind: config.KindReport, Producer: "svc", Report: &config.ReportSpec{Path: "x.json"}}
	eng, err := New(oneCheckContract(ck), Options{Root: root, Now: func() time.Time { return fixedNow }})
	require.NoError(t, err)
	ahead := func() time.Time { return time.Now().Add(time.Hour) }
	eng.cache.parsed.now, eng.dirs.Now = ahead, ahead
	r, err := rootfs.Open(root)
	require.NoError(t, err)
	return eng.env(fixedNow, r), func() { r.Close() }
}

// chooseFull is the candidate rule over the full candidate list (every
// match of every glob, sorted, as candidatesFrom builds it): the reference
// the reduced family must agree with.
func chooseFull(e *evalEnv, paths, globs, keys []string, allowMtime bool) (*scanned, int, int, error) {
	matches := make([][]rootfs.Match, len(globs))
	for gi, g := range globs {
		ms, err := e.fs.GlobMatches(g, nil)
		if err != nil {
			return nil, 0, 0, err
		}
		matches[gi] = ms
	}
	saved := e.cands
	e.cands = nil
	cands := e.candidatesFrom("report", paths, globs, matches)
	e.cands = saved
	c, n, err := e.chooseCandidate(cands, keys, allowMtime, false)
	return c, n, len(cands), err
}

// TestPropertyFamilyAgreesWithFullList: on generated families (second and
// day stamps with ties, unstamped names ranked by mtime, names for year
// 9999, torn and timeless reports, FIFOs, directories, symlinks inside,
// out of the root and dangling, explicit paths that are also matches),
// choosing through the one-pass reduced family gives what the full sorted
// candidate list gives: the same decider, rank, problem, evidence and
// decoded report, the same counts, the same error. A second choice on the
// same engine (the family memo) agrees too.
func TestPropertyFamilyAgreesWithFullList(t *testing.T) {
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret.json"), []byte(`{"ts_utc":"2026-02-26T01:59:00+00:00"}`), 0o644))
	rapid.Check(t, func(rt *rapid.T) {
		root, err := os.MkdirTemp("", "family-prop-")
		require.NoError(rt, err)
		defer os.RemoveAll(root)
		fam := filepath.Join(root, "reports/fam")
		require.NoError(rt, os.MkdirAll(filepath.Join(fam, "sub"), 0o755))
		// A few instants, so that stamps and mtimes tie.
		instants := []time.Time{fixedNow.Add(-50 * time.Minute), fixedNow.Add(-10 * time.Minute), fixedNow.Add(-10*time.Minute + 30*time.Second), fixedNow.Add(-3 * time.Minute)}
		n := rapid.IntRange(0, 10).Draw(rt, "n")
		for i := range n {
			at := rapid.SampledFrom(instants).Draw(rt, fmt.Sprintf("at%d", i))
			var stamp string
			switch rapid.IntRange(0, 5).Draw(rt, fmt.Sprintf("stamp%d", i)) {
			case 0:
				stamp = at.Format("20060102T150405Z")
			case 1:
				stamp = at.Format("20060102T150405")
			case 2:
				stamp = at.Format("20060102")
			case 3:
				stamp = "99991231T235959Z"
			case 4:
				stamp = "20261301T000000Z" // not a date: unstamped
			default:
				stamp = fmt.Sprintf("x%d", i) // unstamped
			}
			dir := fam
			if rapid.IntRange(0, 4).Draw(rt, fmt.Sprintf("sub%d", i)) == 0 {
				dir = filepath.Join(fam, "sub")
			}
			prefix := rapid.SampledFrom([]string{"fam_", "fam_", "fam_", "other_"}).Draw(rt, fmt.Sprintf("prefix%d", i))
			p := filepath.Join(dir, fmt.Sprintf("%s%s_%d.json", prefix, stamp, i))
			switch rapid.IntRange(0, 9).Draw(rt, fmt.Sprintf("kind%d", i)) {
			case 0:
				require.NoError(rt, os.WriteFile(p, []byte(`{"ts_utc":`), 0o644)) // torn
			case 1:
				require.NoError(rt, os.WriteFile(p, []byte(`{"status":"ok"}`), 0o644)) // timeless
			case 2:
				require.NoError(rt, syscall.Mkfifo(p, 0o644))
			case 3:
				require.NoError(rt, os.Mkdir(p, 0o755))
			case 4:
				require.NoError(rt, os.Symlink(filepath.Join(outside, "secret.json"), p))
			case 5:
				require.NoError(rt, os.Symlink("missing.json", p))
			case 6:
				require.NoError(rt, os.WriteFile(p+".target", []byte(`{"ts_utc":"`+at.Format(time.RFC3339)+`"}`), 0o644))
				require.NoError(rt, os.Symlink(filepath.Base(p)+".target", p))
			default:
				require.NoError(rt, os.WriteFile(p, []byte(`{"ts_utc":"`+at.Format(time.RFC3339)+`","status":"ok"}`), 0o644))
			}
			mt := rapid.SampledFrom(instants).Draw(rt, fmt.Sprintf("mtime%d", i))
			_ = os.Chtimes(p, mt, mt) // a symlink's target, or nothing for a dangling one
		}
		var paths []string
		for i, cand := range []string{"reports/fam/latest.json", "reports/fam/fam_x0_0.json", "reports/fam/latest.json", "./reports/fam/fam_x0_0.json"} {
			if rapid.Bool().Draw(rt, fmt.Sprintf("path%d", i)) {
				paths = append(paths, cand)
			}
		}
		if rapid.Bool().Draw(rt, "latest") {
			at := rapid.SampledFrom(instants).Draw(rt, "latestAt")
			require.NoError(rt, os.WriteFile(filepath.Join(fam, "latest.json"), []byte(`{"ts_utc":"`+at.Format(time.RFC3339)+`"}`), 0o644))
		}
		glob := rapid.SampledFrom([]string{"reports/fam/fam_*.json", "reports/**/fam_*.json", "reports/fam/*"}).Draw(rt, "glob")
		keys := rapid.SampledFrom([][]string{nil, {"ts_utc"}, {"ts_utc", "last_update_utc"}}).Draw(rt, "keys")
		allowMtime := rapid.Bool().Draw(rt, "allowMtime")

		ref, done := familyEnv(t, root)
		defer done()
		wc, wn, wtotal, werr := chooseFull(ref, paths, []string{glob}, keys, allowMtime)
		e, done2 := familyEnv(t, root)
		defer done2()
		for round := range 2 { // the second round reuses the family memo
			c, n, total, err := e.chooseAmong("report", paths, []string{glob}, keys, allowMtime, false)
			if fmt.Sprint(err) != fmt.Sprint(werr) {
				rt.Fatalf("round %d: error %v, full list says %v", round, err, werr)
			}
			if n != wn || total != wtotal {
				rt.Fatalf("round %d: %d of %d candidates, full list says %d of %d", round, n, total, wn, wtotal)
			}
			if (c == nil) != (wc == nil) {
				rt.Fatalf("round %d: decider %v, full list says %v", round, c, wc)
			}
			if c != nil && !reflect.DeepEqual(*c, *wc) {
				rt.Fatalf("round %d: decider\n%+v\nfull list says\n%+v", round, *c, *wc)
			}
		}
	})
}

// A reduced family whose decider vanishes before it is read falls back to
// the full list: the next newest decides, and the count leaves the
// vanished file out, as the full list does.
func TestFamilyDeciderVanishes(t *testing.T) {
	root := t.TempDir()
	for i, at := range []time.Time{fixedNow.Add(-9 * time.Minute), fixedNow.Add(-5 * time.Minute), fixedNow.Add(-2 * time.Minute)} {
		writeFile(t, root, fmt.Sprintf("reports/fam/fam_%s.json", at.Format("20060102T150405Z")), `{"ts_utc":"`+at.Format(time.RFC3339)+`","i":`+fmt.Sprint(i)+`}`)
	}
	// An unstamped report, older than all (ranked by its mtime).
	old := writeFile(t, root, "reports/fam/fam_old.json", `{"ts_utc":"2026-02-26T01:00:00+00:00"}`)
	require.NoError(t, os.Chtimes(old, fixedNow.Add(-time.Hour), fixedNow.Add(-time.Hour)))
	e, done := familyEnv(t, root)
	defer done()
	f, err := e.family("report", nil, "reports/fam/fam_*.json")
	require.NoError(t, err)
	require.Len(t, f.top, 1)
	require.Len(t, f.others, 1)
	require.Equal(t, 2, f.below)
	// The newest goes between the listing and the read.
	require.NoError(t, os.Remove(filepath.Join(root, filepath.FromSlash(f.top[0].rel))))
	c, n, err := e.chooseRanked(f.cands(nil), nil, false, f.below)
	require.ErrorIs(t, err, errFamilyChanged)
	require.Nil(t, c)
	require.Zero(t, n)
	c, n, total, err := e.chooseAmong("report", nil, []string{"reports/fam/fam_*.json"}, nil, false, false)
	require.NoError(t, err)
	require.Equal(t, "reports/fam/fam_20260226T015500Z.json", c.rel)
	require.Equal(t, 3, n)
	require.Equal(t, 3, total)

	// The same between the listing and the read inside one choice: the
	// full list decides, with the same result.
	writeFile(t, root, "reports/fam/fam_20260226T015900Z.json", `{"ts_utc":"2026-02-26T01:59:00+00:00"}`)
	e2, done2 := familyEnv(t, root)
	defer done2()
	afterFamilyScan = func(f family) {
		require.Len(t, f.top, 1)
		require.NoError(t, os.Remove(filepath.Join(root, filepath.FromSlash(f.top[0].rel))))
	}
	defer func() { afterFamilyScan = nil }()
	c, n, total, err = e2.chooseAmong("report", nil, []string{"reports/fam/fam_*.json"}, nil, false, false)
	require.NoError(t, err)
	require.Equal(t, "reports/fam/fam_20260226T015500Z.json", c.rel)
	require.Equal(t, 3, n)
	require.Equal(t, 3, total)
}
