package gates

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
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
//     check an error at once, whatever its rank (the glob's listing gives
//     each match's type: only symlinks and explicit paths are resolved).
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

// cand is one candidate: its path and, for a glob match, the type its
// directory listing gave.
type cand struct {
	rel     string
	mode    fs.FileMode
	listed  bool
	stamped bool      // the name carries a stamp
	stamp   time.Time // its rank time, when stamped
}

// newCand is a candidate with its name stamp worked out once.
func newCand(rel string, mode fs.FileMode, listed bool) cand {
	c := cand{rel: rel, mode: mode, listed: listed}
	c.stamp, c.stamped = nameStamp(path.Base(rel))
	return c
}

// candMemo is the candidate list built from glob results that the
// directory cache served unchanged: the same slices (the cache never
// modifies one) give the same candidates, so a family of thousands is not
// walked again to build them.
type candMemo struct {
	firsts []*rootfs.Match
	lens   []int
	cands  []cand
}

// candidatesFrom builds (or reuses, see candMemo) the candidate list of
// explicit paths and the results of globs, without duplicates.
func (e *evalEnv) candidatesFrom(use string, paths, globs []string, matches [][]rootfs.Match) []cand {
	key := use + "\x00" + e.root + "\x00" + strings.Join(paths, "\x00") + "\x01" + strings.Join(globs, "\x00")
	firsts := make([]*rootfs.Match, len(matches))
	lens := make([]int, len(matches))
	total := len(paths)
	for i, ms := range matches {
		if len(ms) > 0 {
			firsts[i] = &ms[0]
		}
		lens[i] = len(ms)
		total += len(ms)
	}
	if e.cands != nil {
		if v, ok := e.cands.Load(key); ok {
			m := v.(*candMemo)
			if slices.Equal(m.firsts, firsts) && slices.Equal(m.lens, lens) {
				return m.cands
			}
		}
	}
	seen := make(map[string]struct{}, len(paths))
	out := make([]cand, 0, total)
	for _, p := range paths {
		if _, dup := seen[p]; !dup {
			seen[p] = struct{}{}
			out = append(out, newCand(p, 0, false))
		}
	}
	for gi, ms := range matches {
		last := gi == len(matches)-1
		for _, m := range ms {
			if _, dup := seen[m.Path]; dup {
				continue
			}
			// The matches of one glob are unique: only a later glob
			// needs to know them.
			if !last {
				seen[m.Path] = struct{}{}
			}
			out = append(out, newCand(m.Path, m.Type, true))
		}
	}
	if e.cands != nil {
		e.cands.Store(key, &candMemo{firsts: firsts, lens: lens, cands: out})
	}
	return out
}

// chooseCandidate applies the candidate rule to cands. It returns nil when
// no candidate exists, and an error only for a symlink out of the root.
// With noTime the first existing candidate is returned unread.
func (e *evalEnv) chooseCandidate(cands []cand, keys []string, allowMtime, noTime bool) (*scanned, int, error) {
	if noTime {
		for _, c := range cands {
			if _, err := e.fs.Lstat(c.rel); errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return &scanned{rel: c.rel, rankBy: firstExisting}, len(cands), nil
		}
		return nil, 0, nil
	}
	return e.chooseRanked(cands, keys, allowMtime, 0)
}

// errFamilyChanged: a candidate of a reduced list (see family) vanished
// before it was read, so the candidates left out may decide: the caller
// lists the family again in full.
var errFamilyChanged = errors.New("family changed while it was read")

// chooseRanked is rules 2 to 4 over cands. below is the number of
// existing candidates left out of cands because they rank below one in it
// (see family): they count in n, and if a candidate of cands vanishes
// before it is read, errFamilyChanged says they may decide now.
func (e *evalEnv) chooseRanked(cands []cand, keys []string, allowMtime bool, below int) (*scanned, int, error) {
	if len(cands) == 1 && below == 0 {
		// One candidate: nothing to rank.
		rel := cands[0].rel
		c, err := e.judgeCandidate(rel, keys, allowMtime)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, 0, nil
		}
		if err != nil {
			return nil, 0, err
		}
		c.rankBy = "mtime"
		if _, ok := nameStamp(path.Base(rel)); ok {
			c.rankBy = "name stamp"
			e.refuseFutureName(c)
		}
		return c, 1, nil
	}
	// One pass ranks every candidate (and refuses a symlink out) and keeps
	// the top group; only that group is read. If all of it vanished before
	// it was read, the pass runs again without it.
	var gone map[int]bool
	for {
		type ranked struct {
			i  int
			by string
		}
		var top []ranked
		var best time.Time
		n := 0
		for i := range cands {
			if gone[i] {
				continue
			}
			rank, by, err := e.rank(&cands[i])
			if err != nil {
				return nil, 0, err
			}
			if by == "" {
				continue // does not exist
			}
			n++
			switch {
			case top == nil || rank.After(best):
				top, best = append(top[:0], ranked{i, by}), rank
			case rank.Equal(best):
				top = append(top, ranked{i, by})
			}
		}
		if top == nil {
			if below > 0 {
				return nil, 0, errFamilyChanged
			}
			return nil, 0, nil
		}
		var decider *scanned
		for _, t := range top {
			c, err := e.judgeCandidate(cands[t.i].rel, keys, allowMtime)
			if errors.Is(err, fs.ErrNotExist) {
				if below > 0 {
					return nil, 0, errFamilyChanged
				}
				if gone == nil {
					gone = map[int]bool{}
				}
				gone[t.i] = true // vanished before it was read: no candidate
				n--
				continue
			}
			if err != nil {
				return nil, 0, err
			}
			c.rank, c.rankBy = best, t.by
			if decider == nil || (c.problem != nil && decider.problem == nil) {
				decider = c
			}
		}
		if decider != nil {
			if decider.rankBy == "name stamp" {
				e.refuseFutureName(decider)
			}
			return decider, n + below, nil
		}
	}
}

// rank is a candidate's rank time and what it came from (rule 2); by is
// empty when the candidate does not exist. A glob match with a name stamp
// that its listing shows is no symlink costs no system call; the others
// (explicit paths, unstamped names, symlinks) are stat'ed through the root,
// and a symlink out of the root is an error (rule 4).
func (e *evalEnv) rank(c *cand) (time.Time, string, error) {
	stamp, stamped := c.stamp, c.stamped
	if c.listed && stamped && c.mode&fs.ModeSymlink == 0 {
		return stamp, "name stamp", nil
	}
	fi, err := e.fs.Stat(c.rel)
	switch {
	case rootfs.IsEscape(err):
		return time.Time{}, "", wrapRead(c.rel, err)
	case errors.Is(err, fs.ErrNotExist):
		if _, lerr := e.fs.Lstat(c.rel); errors.Is(lerr, fs.ErrNotExist) {
			return time.Time{}, "", nil
		}
		// A dangling symlink named like a report: the read names it.
		return noMetadata, "no metadata", nil
	case err != nil:
		return noMetadata, "no metadata", nil
	case stamped:
		return stamp, "name stamp", nil
	}
	return fi.ModTime().UTC(), "mtime", nil
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

// nameStamp is the end of the last second or day a file name's stamp
// names: the last run of exactly 8 digits that is a date (20260226),
// together with the clock after it when one follows (T014648, T014648Z),
// up to the end of that second; a date alone counts to the end of its day.
// A run that is not a valid date or time is skipped for an earlier one. It
// scans the name once, without allocating: a family of thousands of names
// is ranked on every run.
func nameStamp(base string) (time.Time, bool) {
	sec, day, ok := stampSecs(base)
	if !ok {
		return time.Time{}, false
	}
	return stampEnd(sec, day), true
}

// nameStampSpan is the span of time a name stamp stands for: its second,
// or its whole day for a date alone.
func nameStampSpan(base string) (from, to time.Time, ok bool) {
	sec, day, ok := stampSecs(base)
	if !ok {
		return time.Time{}, time.Time{}, false
	}
	return time.Unix(sec, 0).UTC(), stampEnd(sec, day), true
}

// stampEnd is the last instant of the second (or, for a date alone, the
// day) that starts at sec.
func stampEnd(sec int64, day bool) time.Time {
	if day {
		sec += 86399
	}
	return time.Unix(sec, int64(time.Second-1)).UTC()
}

// stampSecs finds the stamp of a name (see nameStamp) and returns the Unix
// second it starts at, and whether it is a date alone. Every stamp's span
// ends at a whole second minus 1 ns, so stamps compare by the last second
// of their span without building a time.
func stampSecs(base string) (sec int64, day, ok bool) {
	end := len(base)
	for end > 0 {
		// The last digit run ending at or before end.
		for end > 0 && !isDigit(base[end-1]) {
			end--
		}
		start := end
		for start > 0 && isDigit(base[start-1]) {
			start--
		}
		if end-start == 8 {
			if sec, day, ok := stampAt(base, start); ok {
				return sec, day, true
			}
		}
		end = start
	}
	return 0, false, false
}

// stampAt parses the date at base[i:i+8] and the clock that may follow.
// It validates the fields itself and computes the second from the day
// number (time.Date normalises, which costs more than the whole scan).
func stampAt(base string, i int) (sec int64, day, ok bool) {
	y, mo, d := digits(base[i:i+4]), digits(base[i+4:i+6]), digits(base[i+6:i+8])
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) {
		return 0, false, false
	}
	days := daysFromCivil(y, mo, d)
	j := i + 8
	if j+7 <= len(base) && base[j] == 'T' && allDigits(base[j+1:j+7]) && (j+7 == len(base) || !isDigit(base[j+7])) {
		h, mi, s := digits(base[j+1:j+3]), digits(base[j+3:j+5]), digits(base[j+5:j+7])
		if h > 23 || mi > 59 || s > 59 {
			return 0, false, false
		}
		return days*86400 + int64(h*3600+mi*60+s), false, true
	}
	return days * 86400, true, true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is the number of days from 1970-01-01 to y-m-d in the
// proleptic Gregorian calendar (H. Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func digits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
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

// readChosen decodes a chosen candidate that was picked unread, recording
// its evidence, or the problem that keeps it from being judged (it decides
// all the same: a chosen file is never passed over).
func (e *evalEnv) readChosen(c *scanned) map[string]any {
	obj, ef, err := e.readReport(c.rel, nil)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.problem = &tsProblem{VerdictError, fmt.Sprintf("%s: vanished while the gate read it", c.rel)}
		return nil
	case err != nil:
		c.ef, c.problem = ef, &tsProblem{VerdictError, err.Error()}
		return nil
	}
	c.ef = ef
	return obj
}

// refuseFutureName makes a decider whose name stamp lies beyond now +
// future_skew not judgeable: a file named for year 9999 would otherwise
// outrank every report the producer writes from now on and decide on its
// own content for ever, hiding a newer critical report.
func (e *evalEnv) refuseFutureName(c *scanned) {
	from, _, ok := nameStampSpan(path.Base(c.rel))
	if c.problem != nil || !ok || !from.After(e.now.Add(e.skew)) {
		return
	}
	c.problem = &tsProblem{VerdictError, fmt.Sprintf("%s: named for %s, beyond now + %s",
		c.rel, from.Format(time.RFC3339), fmtDur(e.skew))}
}
