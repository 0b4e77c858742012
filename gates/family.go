package gates

import (
	"errors"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/strictcycle/strictcycle/rootfs"
)

// chooseAmong applies the candidate rule (see candidates.go) to the
// explicit paths and the matches of globs; total is the number of
// candidates listed (rule 1), existing or not. With freshness and one glob
// (every report family) the glob's listing is reduced in one pass to what
// can decide (family): a family of thousands of stamped names is neither
// sorted nor turned into thousands of candidates. Any other case, and a
// reduced family one of whose candidates vanished before it was read, goes
// through the full list (candidatesFrom), with the same result.
func (e *evalEnv) chooseAmong(use string, paths, globs, keys []string, allowMtime, noTime bool) (c *scanned, n, total int, err error) {
	if !noTime && len(globs) == 1 {
		f, err := e.family(use, paths, globs[0])
		if err != nil {
			return nil, 0, 0, err
		}
		if afterFamilyScan != nil {
			afterFamilyScan(f)
		}
		cands := f.cands(paths)
		c, n, err := e.chooseRanked(cands, keys, allowMtime, f.below)
		if !errors.Is(err, errFamilyChanged) {
			return c, n, len(cands) + f.below, err
		}
	}
	matches := make([][]rootfs.Match, len(globs))
	for gi, g := range globs {
		ms, err := e.globMatches(g)
		if err != nil {
			return nil, 0, 0, err
		}
		matches[gi] = ms
	}
	cands := e.candidatesFrom(use, paths, globs, matches)
	c, n, err = e.chooseCandidate(cands, keys, allowMtime, noTime)
	return c, n, len(cands), err
}

// afterFamilyScan, when set (by tests only), runs between the listing of
// a family and the reading of its candidates.
var afterFamilyScan func(family)

// family is what the candidate rule needs of one glob's matches. A listed
// match with a name stamp that is no symlink ranks by its stamp without a
// system call and never fails to rank, so of those only the ones with the
// highest stamp (top) can decide; the others are only counted (below).
// Every other match (a symlink, a name without a stamp) is kept (others):
// it is ranked by a stat, and a symlink out of the root is an error
// whatever its rank (rule 4).
type family struct {
	top    []cand // sorted by path
	others []cand // sorted by path
	below  int
}

// familyMemo is a family and the directories its walk listed: it stands
// while every one of them is unchanged.
type familyMemo struct {
	listed rootfs.Listed
	f      family
}

// cands is the candidate list the rule ranks: paths (without duplicates)
// in their order, then the family's kept matches sorted by path, which is
// the order of rule 1 restricted to the candidates that can decide.
func (f *family) cands(paths []string) []cand {
	out := make([]cand, 0, len(paths)+len(f.top)+len(f.others))
	for i, p := range paths {
		if !slices.Contains(paths[:i], p) {
			out = append(out, newCand(p, 0, false))
		}
	}
	i, j := 0, 0
	for i < len(f.top) || j < len(f.others) {
		if j == len(f.others) || (i < len(f.top) && f.top[i].rel < f.others[j].rel) {
			out = append(out, f.top[i])
			i++
		} else {
			out = append(out, f.others[j])
			j++
		}
	}
	return out
}

// family lists glob in one pass (rootfs.GlobScan), or reuses the family of
// an earlier run whose directories are unchanged. Matches that are one of
// paths are left out: the explicit path comes first (rule 1).
func (e *evalEnv) family(use string, paths []string, glob string) (family, error) {
	key := "family\x00" + use + "\x00" + e.root + "\x00" + strings.Join(paths, "\x00") + "\x01" + glob
	if e.cands != nil {
		if v, ok := e.cands.Load(key); ok {
			if m := v.(*familyMemo); e.fs.Unchanged(m.listed) {
				return m.f, nil
			}
		}
	}
	// The explicit paths by directory, to leave them out of the matches
	// without building each match's path.
	var explicit map[string][]string
	for _, p := range paths {
		// A match's path is its name in the root directory ("."), else
		// dir + "/" + name, dir clean: only such a path can be one.
		d, b := path.Split(p)
		switch {
		case b == "":
			continue
		case d == "":
			d = "."
		default:
			d = d[:len(d)-1]
		}
		if d != "." || p == b {
			if explicit == nil {
				explicit = map[string][]string{}
			}
			explicit[d] = append(explicit[d], b)
		}
	}
	type ent struct {
		dir, name string
		typ       fs.FileMode
		end       int64 // the last second of the stamp's span
		stamped   bool
	}
	var top, others []ent
	var best int64
	below := 0
	lastDir, skip := "", []string(nil)
	listed, err := e.fs.GlobScan(glob, e.dirs, func(dir, name string, typ fs.FileMode) {
		if explicit != nil {
			if dir != lastDir {
				lastDir, skip = dir, explicit[dir]
			}
			if slices.Contains(skip, name) {
				return
			}
		}
		// Stamps compare by the last second of their span (every span
		// ends 1 ns before a whole second): no time is built per name.
		sec, day, stamped := stampSecs(name)
		if day {
			sec += 86399
		}
		switch {
		case !stamped || typ&fs.ModeSymlink != 0:
			others = append(others, ent{dir, name, typ, sec, stamped})
		case len(top) == 0 || sec > best:
			below += len(top)
			top, best = append(top[:0], ent{dir, name, typ, sec, true}), sec
		case sec == best:
			top = append(top, ent{dir, name, typ, sec, true})
		default:
			below++
		}
	})
	if err != nil {
		return family{}, err
	}
	toCands := func(es []ent) []cand {
		out := make([]cand, len(es))
		for i, x := range es {
			rel := x.name
			if x.dir != "." {
				rel = x.dir + "/" + x.name
			}
			out[i] = cand{rel: rel, mode: x.typ, listed: true, stamped: x.stamped}
			if x.stamped {
				out[i].stamp = time.Unix(x.end, int64(time.Second-1)).UTC()
			}
		}
		slices.SortFunc(out, func(a, b cand) int { return strings.Compare(a.rel, b.rel) })
		return out
	}
	f := family{top: toCands(top), others: toCands(others), below: below}
	if e.cands != nil && listed.Complete() {
		e.cands.Store(key, &familyMemo{listed: listed, f: f})
	}
	return f, nil
}
