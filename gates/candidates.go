package gates

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/strictcycle/strictcycle/rootfs"
)

// The candidate rule (docs/COMPATIBILITY.md, "Choosing among candidates")
// is the one way every multi-file check picks the file it judges: the
// freshest-of-family report checks and day2's source_compare_*.json.
//
//  1. Candidates are listed in a fixed order: explicit paths first, then
//     each glob's matches sorted by name, without duplicates. A candidate
//     that does not exist (or vanished before it was read) is no candidate.
//  2. Each candidate gets a rank time from its metadata alone, without
//     being opened: its name stamp (…_20260226T014648Z… up to the end of
//     that second, …_20260226… up to the end of that day), else its mtime.
//     A candidate whose metadata cannot be read ranks above everything.
//  3. The candidate with the highest rank decides, whatever it holds: it is
//     read and judged (a torn, unreadable, non-regular, timeless or future
//     file is a not-pass naming it). Ties: every tied candidate is read; one
//     that cannot be judged wins, else the earlier one in the order of 1.
//     Only the decider (and its ties) is read: a family of thousands costs
//     one directory listing and one read.
//  4. A symlink out of the root anywhere among the candidates makes the
//     check an error at once, whatever its rank (found from the directory
//     listing: only symlinks are resolved).
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
	obj     map[string]any // the decoded report, when judgeable
}

// noMetadata ranks a candidate whose metadata cannot be read above every
// real time.
var noMetadata = time.Unix(1<<62, 0)

// chooseCandidate applies the candidate rule to rels. It returns nil when
// no candidate exists, and an error only for a symlink out of the root.
// With noTime the first existing candidate is returned unread.
func (e *evalEnv) chooseCandidate(rels []string, keys []string, allowMtime, noTime bool) (*scanned, int, error) {
	if noTime {
		for _, rel := range rels {
			if _, err := e.fs.Lstat(rel); errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return &scanned{rel: rel, rankBy: firstExisting}, len(rels), nil
		}
		return nil, 0, nil
	}
	if len(rels) == 1 {
		// One candidate: nothing to rank.
		c, err := e.judgeCandidate(rels[0], keys, allowMtime)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, 0, nil
		}
		if err != nil {
			return nil, 0, err
		}
		c.rankBy = "mtime"
		if _, ok := nameStamp(path.Base(rels[0])); ok {
			c.rankBy = "name stamp"
		}
		return c, 1, nil
	}
	ranked, err := e.rankCandidates(rels)
	if err != nil {
		return nil, 0, err
	}
	// Newest first; the sort is stable, so ties keep the order of rule 1.
	sort.SliceStable(ranked, func(i, j int) bool { return ranked[i].rank.After(ranked[j].rank) })
	n := len(ranked)
	for i := 0; i < len(ranked); {
		j := i + 1
		for j < len(ranked) && ranked[j].rank.Equal(ranked[i].rank) {
			j++
		}
		var best *scanned
		for _, r := range ranked[i:j] {
			c, err := e.judgeCandidate(r.rel, keys, allowMtime)
			if errors.Is(err, fs.ErrNotExist) {
				n-- // vanished before it was read: no candidate
				continue
			}
			if err != nil {
				return nil, 0, err
			}
			c.rank, c.rankBy = r.rank, r.rankBy
			if best == nil || (c.problem != nil && best.problem == nil) {
				best = c
			}
		}
		if best != nil {
			return best, n, nil
		}
		i = j
	}
	return nil, 0, nil
}

// rankCandidates ranks every existing candidate by its metadata (rule 2)
// and refuses a symlink out of the root among them (rule 4). A candidate
// with a name stamp costs no system call of its own: existence and type
// come from one listing of its directory.
func (e *evalEnv) rankCandidates(rels []string) ([]*scanned, error) {
	listings := map[string]map[string]fs.FileMode{}
	out := make([]*scanned, 0, len(rels))
	for _, rel := range rels {
		dir, base := path.Split(rel)
		dir = strings.TrimSuffix(dir, "/")
		if dir == "" {
			dir = "."
		}
		entries, listed := listings[dir]
		if !listed {
			entries = e.listDir(dir)
			listings[dir] = entries
		}
		stamp, stamped := nameStamp(base)
		mode, inListing := entries[base]
		switch {
		case entries != nil && !inListing:
			continue // does not exist
		case entries != nil && stamped && mode&fs.ModeSymlink == 0:
			out = append(out, &scanned{rel: rel, rank: stamp, rankBy: "name stamp"})
			continue
		}
		// Unstamped, a symlink, or a directory that could not be listed:
		// stat it through the root (following a symlink that stays inside;
		// one that leads out is an error at once).
		fi, err := e.fs.Stat(rel)
		switch {
		case rootfs.IsEscape(err):
			return nil, wrapRead(rel, err)
		case errors.Is(err, fs.ErrNotExist):
			if _, lerr := e.fs.Lstat(rel); errors.Is(lerr, fs.ErrNotExist) {
				continue
			}
			// A dangling symlink named like a report: the read names it.
			out = append(out, &scanned{rel: rel, rank: noMetadata, rankBy: "no metadata"})
		case err != nil:
			out = append(out, &scanned{rel: rel, rank: noMetadata, rankBy: "no metadata"})
		case stamped:
			out = append(out, &scanned{rel: rel, rank: stamp, rankBy: "name stamp"})
		default:
			out = append(out, &scanned{rel: rel, rank: fi.ModTime().UTC(), rankBy: "mtime"})
		}
	}
	return out, nil
}

// listDir maps the names in dir to their types, from one directory read;
// nil when dir cannot be listed (each candidate is then stat'ed).
func (e *evalEnv) listDir(dir string) map[string]fs.FileMode {
	des, err := fs.ReadDir(e.fs.FS(), dir)
	if err != nil {
		return nil
	}
	m := make(map[string]fs.FileMode, len(des))
	for _, d := range des {
		m[d.Name()] = d.Type()
	}
	return m
}

// judgeCandidate reads one candidate whole and resolves its time. The
// error is fs.ErrNotExist when it does not exist, or an escape.
func (e *evalEnv) judgeCandidate(rel string, keys []string, allowMtime bool) (*scanned, error) {
	c := &scanned{rel: rel, ef: EvidenceFile{Path: e.abs(rel)}}
	obj, ef, err := e.readReport(rel, nil)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, err
	case errors.Is(err, errEscape):
		return nil, err
	case err != nil:
		c.ef = ef
		c.problem = &tsProblem{VerdictError, err.Error()}
		return c, nil
	}
	c.ef = ef
	if len(keys) == 0 {
		keys = []string{TSSourceTsUTC}
	}
	ts, prob := e.resolveTimestamp(rel, obj, keys, allowMtime)
	if prob != nil {
		c.problem = prob
		return c, nil
	}
	c.ts, c.obj = ts, obj
	return c, nil
}

// stampRE finds an hbot artifact stamp (20260226T014648Z) or a date
// (20260226) in a file name.
var stampRE = regexp.MustCompile(`(?:^|[^0-9])([0-9]{8})(T[0-9]{6}Z?)?(?:[^0-9]|$)`)

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
	return fmt.Sprintf("%s (newest by %s of %d candidates)", c.rel, c.rankBy, n)
}
