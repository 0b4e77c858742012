package gates

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"time"
)

// The candidate rule (docs/COMPATIBILITY.md, "Choosing among candidates")
// is the one way every multi-file check picks the file it judges: the
// freshest-of-family report checks and day2's source_compare_*.json.
//
//  1. Candidates are listed in a fixed order: explicit paths first, then
//     each glob's matches sorted by name, without duplicates. A candidate
//     that does not exist (or vanished before it was read) is no candidate.
//  2. Each candidate is read once, streaming, keeping only its top-level
//     timestamp keys, its hash and its size (never its body), and gets a
//     rank time:
//     - a judgeable candidate (a regular file, within the size cap, one valid
//     JSON object, a usable timestamp) ranks by its own time: the first
//     timestamp key present, or its mtime where the check allows it. A time
//     beyond the future skew still ranks (year 9999 ranks highest).
//     - a candidate that cannot be judged (not a regular file, too large,
//     unreadable, torn or invalid JSON, a bad or absent timestamp) ranks by
//     the latest time its metadata allows: its name stamp
//     (…_20260226T014648Z… up to the end of that second, …_20260226… up to
//     the end of that day) or its mtime, whichever is later. No metadata at
//     all ranks above everything.
//  3. The candidate with the highest rank time decides, whatever it is: a
//     judgeable one is judged (condition and freshness: a future one is
//     stale), one that cannot be judged is a not-pass whose reason names it.
//     Ties keep the earlier candidate in the order of 1, except that a
//     candidate that cannot be judged wins a tie against one that can.
//  4. A symlink out of the root anywhere among the candidates makes the
//     check an error at once, whatever its rank.
//  5. Only the decider's body is decoded (read again, in full; the bytes of
//     that read are the ones hashed and judged).
//
// A check without freshness (no_freshness) has no times to rank: its first
// existing candidate decides.

// scanned is what the rule keeps of one candidate.
type scanned struct {
	rel     string
	ef      EvidenceFile // Exists when the file was read to its end
	ts      tsInfo       // its own time, when judgeable
	problem *tsProblem   // why it cannot be judged; nil when judgeable
	rank    time.Time
	rankBy  string
	obj     map[string]any // set only when the candidate was the only one
}

// noMetadata ranks a candidate whose metadata cannot be read above every
// real time.
var noMetadata = time.Unix(1<<62, 0)

// chooseCandidate applies the candidate rule to rels. It returns nil when
// no candidate exists, and an error only for a symlink out of the root.
func (e *evalEnv) chooseCandidate(rels []string, keys []string, allowMtime, noTime bool) (*scanned, int, error) {
	if len(keys) == 0 {
		keys = []string{TSSourceTsUTC}
	}
	keep := func(k string) bool {
		for _, want := range keys {
			if k == want {
				return true
			}
		}
		return false
	}
	single := len(rels) == 1
	var best *scanned
	n := 0
	for _, rel := range rels {
		if noTime {
			if _, err := e.fs.Lstat(rel); errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return &scanned{rel: rel, rankBy: firstExisting}, len(rels), nil
		}
		c, err := e.scan(rel, keys, allowMtime, single, keep)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		n++
		if best == nil || c.rank.After(best.rank) || (c.rank.Equal(best.rank) && c.problem != nil && best.problem == nil) {
			best = c
		}
	}
	return best, n, nil
}

// scan reads one candidate for its rank. With full set the whole object is
// kept (the only candidate: it is judged from this read).
func (e *evalEnv) scan(rel string, keys []string, allowMtime, full bool, keep func(string) bool) (*scanned, error) {
	c := &scanned{rel: rel, ef: EvidenceFile{Path: e.abs(rel)}}
	filter := keep
	if full {
		filter = nil
	}
	obj, ef, err := e.readReport(rel, filter)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, err
	case errors.Is(err, errEscape):
		return nil, err
	case err != nil:
		c.ef = ef
		c.problem = &tsProblem{VerdictError, err.Error()}
	default:
		c.ef = ef
		ts, prob := e.resolveTimestamp(rel, obj, keys, allowMtime)
		if prob == nil {
			c.ts, c.rank, c.rankBy = ts, ts.t, ts.source
			if full {
				c.obj = obj
			}
			return c, nil
		}
		c.problem = prob
	}
	c.rank, c.rankBy = e.metadataTime(rel)
	return c, nil
}

// stampRE finds an hbot artifact stamp (20260226T014648Z) or a date
// (20260226) in a file name.
var stampRE = regexp.MustCompile(`(?:^|[^0-9])([0-9]{8})(T[0-9]{6}Z?)?(?:[^0-9]|$)`)

// metadataTime is the latest time a candidate's metadata allows: its name
// stamp (to the end of the second or day it names) or its mtime (not
// following a final symlink), whichever is later.
func (e *evalEnv) metadataTime(rel string) (time.Time, string) {
	var t time.Time
	by := ""
	if st, ok := nameStamp(path.Base(rel)); ok {
		t, by = st, "name stamp"
	}
	if fi, err := e.fs.Lstat(rel); err == nil {
		if mt := fi.ModTime().UTC(); by == "" || mt.After(t) {
			t, by = mt, "mtime"
		}
	}
	if by == "" {
		return noMetadata, "no metadata"
	}
	return t, by
}

// nameStamp is the end of the last second or day a file name's stamp names.
func nameStamp(base string) (time.Time, bool) {
	ms := stampRE.FindAllStringSubmatch(base, -1)
	for i := len(ms) - 1; i >= 0; i-- {
		day, clock := ms[i][1], ms[i][2]
		if clock != "" {
			if t, err := time.Parse("20060102T150405", day+clock[:7]); err == nil {
				return t.Add(time.Second - time.Nanosecond), true
			}
			continue
		}
		if t, err := time.Parse("20060102", day); err == nil {
			return t.Add(24*time.Hour - time.Nanosecond), true
		}
	}
	return time.Time{}, false
}

// firstExisting is the rank of a check without freshness.
const firstExisting = "first existing"

// describe says which candidate decided and why, for Result.Chosen.
func (c *scanned) describe(n int) string {
	if c.rankBy == firstExisting {
		return fmt.Sprintf("%s (first existing of %d candidates)", c.rel, n)
	}
	if c.problem != nil {
		return fmt.Sprintf("%s (newest by %s of %d candidates; cannot be judged)", c.rel, c.rankBy, n)
	}
	return fmt.Sprintf("%s (freshest by %s of %d candidates)", c.rel, c.rankBy, n)
}
