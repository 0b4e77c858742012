package activities

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.temporal.io/sdk/activity"

	"github.com/strictcycle/strictcycle/cycletypes"
	"github.com/strictcycle/strictcycle/gates"
	"github.com/strictcycle/strictcycle/rootfs"
)

// watchProgress is the heartbeat detail of WatchUntilFresh.
type watchProgress struct {
	// Started is when the first attempt began: a retried attempt (after a
	// worker died) waits only for what is left of the timeout.
	Started     time.Time  `json:"started"`
	Evaluations int        `json:"evaluations"`
	Events      int        `json:"events"`
	Polls       int        `json:"polls"`
	Checks      []checkAge `json:"checks"`
}

type checkAge struct {
	Name    string             `json:"name"`
	Verdict cycletypes.Verdict `json:"verdict"`
	AgeMin  *float64           `json:"age_min,omitempty"`
}

// WatchUntilFresh re-evaluates in.Checks until they all pass with a report
// time at or after in.NotBefore (or, with WantStale, until one of them no
// longer passes), or until the timeout. It reacts to file events on the
// directories the checks read, debounced by a few ms, and polls every
// in.Poll as a fallback (events can be missed: a directory created late,
// a ** glob, an NFS mount, an inotify limit). Every evaluation heartbeats.
// A timeout is a result (Fresh false), not an error. Fresh always says
// whether the checks are fresh: with WantStale, false means they went stale
// and true (at the timeout) that they kept passing.
func (a *Activities) WatchUntilFresh(ctx context.Context, in *WatchUntilFreshInput) (*WatchUntilFreshResult, error) {
	// One clock: a.now measures the wait, the time left after a retry and
	// the heartbeat's start.
	start := a.now()
	wt, err := a.newWatch(ctx, in)
	if err != nil {
		return nil, err
	}
	defer wt.close()

	progress := watchProgress{Started: resumedStart(ctx, start)}
	remaining := max(wt.timeout-a.now().Sub(progress.Started), 0)
	deadline := time.NewTimer(remaining)
	defer deadline.Stop()
	ticker := time.NewTicker(wt.poll)
	defer ticker.Stop()

	res := &WatchUntilFreshResult{}
	for {
		done, blocking, err := a.watchEvaluate(ctx, wt, res, &progress)
		if err != nil {
			return nil, err
		}
		if done {
			// Fresh tells whether the checks are fresh, in both modes: a
			// WantStale wait that saw them go stale ends with Fresh false.
			res.Fresh = !in.WantStale
			res.WaitedMS = ms(a.now().Sub(start))
			res.Reason = "fresh"
			if in.WantStale {
				res.Reason = "stale: " + blocking
			}
			return res, nil
		}
		woke, err := a.waitForChange(ctx, wt, deadline.C, ticker.C)
		if err != nil {
			return nil, err
		}
		switch woke {
		case wokeDeadline:
			// With WantStale, a timeout means they all still pass.
			res.Fresh = in.WantStale
			res.WaitedMS = ms(a.now().Sub(start))
			res.Reason = fmt.Sprintf("timeout after %s: %s", wt.timeout, blocking)
			return res, nil
		case wokePoll:
			res.Polls++
		case wokeEvent:
			res.Events++
		}
	}
}

// watch is one WatchUntilFresh's engine, bounds and file watcher.
type watch struct {
	in      *WatchUntilFreshInput
	engine  *gates.Engine
	timeout time.Duration
	poll    time.Duration
	// files is nil when file events are off or unavailable: polling only.
	files *dirWatcher
}

// newWatch validates the input, builds the engine (commands are not re-run
// on every event: their last artifact is judged) and opens the file watcher.
func (a *Activities) newWatch(ctx context.Context, in *WatchUntilFreshInput) (*watch, error) {
	if len(in.Checks) == 0 {
		return nil, nonRetryable(ErrTypeBadInput, errors.New("watch until fresh: no checks named"))
	}
	c, e, err := a.engine(in.Target, true)
	if err != nil {
		return nil, err
	}
	if err := checkNames(c, in.Checks); err != nil {
		return nil, err
	}
	wt := &watch{in: in, engine: e, timeout: in.Timeout, poll: in.Poll}
	if wt.timeout <= 0 {
		wt.timeout = c.Recovery.WatchTimeout
	}
	if wt.timeout <= 0 {
		wt.timeout = DefaultWatchTimeout
	}
	if wt.poll <= 0 {
		wt.poll = defaultPoll
	}
	var patterns []string
	for _, ch := range in.Checks {
		patterns = append(patterns, e.WatchPaths(ch)...)
	}
	if !a.disableFileEvents && len(patterns) > 0 {
		if wt.files, err = newDirWatcher(in.Root, patterns); err != nil {
			activity.GetLogger(ctx).Warn("file events unavailable, polling only", "error", err)
			wt.files = nil
		}
	}
	return wt, nil
}

func (wt *watch) close() {
	if wt.files != nil {
		wt.files.close()
	}
}

// resumedStart is when the first attempt began: a retried attempt (after a
// worker died) waits only for what is left of the timeout.
func resumedStart(ctx context.Context, now time.Time) time.Time {
	if activity.HasHeartbeatDetails(ctx) {
		var prev watchProgress
		if err := activity.GetHeartbeatDetails(ctx, &prev); err == nil && !prev.Started.IsZero() {
			return prev.Started
		}
	}
	return now
}

// watchEvaluate runs the checks once, records them in res and heartbeats
// the progress; it says whether the wait is over and what blocks it.
func (a *Activities) watchEvaluate(ctx context.Context, wt *watch, res *WatchUntilFreshResult, progress *watchProgress) (bool, string, error) {
	rep, err := wt.engine.Run(ctx, gates.RunOptions{Only: wt.in.Checks})
	if err != nil {
		if ctx.Err() != nil {
			return false, "", ctx.Err()
		}
		return false, "", fmt.Errorf("watch until fresh %q: evaluate: %w", strings.Join(wt.in.Checks, ","), err)
	}
	done, sums, blocking := watchState(wt.in, rep)
	res.Checks = sums
	progress.Evaluations++
	progress.Events, progress.Polls = res.Events, res.Polls
	progress.Checks = make([]checkAge, 0, len(sums))
	for _, s := range sums {
		progress.Checks = append(progress.Checks, checkAge{Name: s.Name, Verdict: s.Verdict, AgeMin: s.AgeMinutes})
	}
	activity.RecordHeartbeat(ctx, *progress)
	if a.onEvaluate != nil {
		a.onEvaluate(progress.Evaluations)
	}
	return done, blocking, nil
}

// wake says why waitForChange returned.
type wake int

const (
	wokeDeadline wake = iota
	wokePoll
	wokeEvent
	wokeWatchError
)

// waitForChange blocks until something may have changed the checks: a
// relevant file event (debounced), a watcher error (an overflow loses
// events: evaluate now, polling covers the rest), the poll tick or the
// deadline.
func (a *Activities) waitForChange(ctx context.Context, wt *watch, deadline, tick <-chan time.Time) (wake, error) {
	var events <-chan fsnotify.Event
	var watchErrs <-chan error
	if wt.files != nil {
		events, watchErrs = wt.files.fw.Events, wt.files.fw.Errors
	}
	for {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-deadline:
			return wokeDeadline, nil
		case <-tick:
			return wokePoll, nil
		case err := <-watchErrs:
			activity.GetLogger(ctx).Warn("file watcher error", "error", err)
			return wokeWatchError, nil
		case ev := <-events:
			if !wt.files.relevant(ev) {
				continue
			}
			if err := a.settle(ctx, wt.files); err != nil {
				return 0, err
			}
			return wokeEvent, nil
		}
	}
}

// settle drains the events of one write (create, write, rename are several
// events) until none came for the debounce period, so they cause one
// evaluation.
func (a *Activities) settle(ctx context.Context, w *dirWatcher) error {
	settle := time.NewTimer(a.debounce)
	defer settle.Stop()
	for {
		select {
		case ev := <-w.fw.Events:
			w.relevant(ev) // adds watches on new directories
		case <-settle.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// watchState decides whether the wait is over and names what blocks it.
func watchState(in *WatchUntilFreshInput, rep *gates.Report) (done bool, sums []CheckSummary, blocking string) {
	byName := make(map[string]*gates.Result, len(rep.Checks))
	for i := range rep.Checks {
		byName[rep.Checks[i].Name] = &rep.Checks[i]
	}
	allOK, anyNotPass := true, false
	var notOK, passing []string
	for _, name := range in.Checks {
		r, ok := byName[name]
		if !ok {
			allOK, anyNotPass = false, true
			notOK = append(notOK, name+" missing: not in the report")
			continue
		}
		sums = append(sums, summarizeResult(r))
		desc := fmt.Sprintf("%s %s %s", r.Name, r.Verdict, r.Text())
		switch {
		case !r.Pass:
			allOK, anyNotPass = false, true
			notOK = append(notOK, desc)
		case !in.NotBefore.IsZero() && (r.ReportTime == nil || r.ReportTime.Before(in.NotBefore)):
			allOK = false
			rt := "no report time"
			if r.ReportTime != nil {
				rt = "report time " + r.ReportTime.UTC().Format(time.RFC3339Nano)
			}
			notOK = append(notOK, fmt.Sprintf("%s %s %s before not_before %s", r.Name, r.Verdict, rt, in.NotBefore.UTC().Format(time.RFC3339Nano)))
			passing = append(passing, desc)
		default:
			passing = append(passing, desc)
		}
	}
	if in.WantStale {
		if anyNotPass {
			return true, sums, strings.Join(notOK, "; ")
		}
		return false, sums, strings.Join(passing, "; ")
	}
	return allOK, sums, strings.Join(notOK, "; ")
}

// dirWatcher watches the directories of root-relative files and globs: the
// nearest existing directory of each, re-resolved when a directory is
// created so that a report directory made after the start is watched too.
type dirWatcher struct {
	root     string
	patterns []string // slash-separated, root-relative, cleaned
	fw       *fsnotify.Watcher
}

// maxWatchedDirs bounds the directories a ** glob may add.
const maxWatchedDirs = 256

func newDirWatcher(root string, patterns []string) (*dirWatcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("create file watcher: %w", err)
	}
	w := &dirWatcher{root: filepath.Clean(root), fw: fw}
	for _, p := range patterns {
		p = path.Clean(filepath.ToSlash(p))
		if path.IsAbs(p) || p == ".." || strings.HasPrefix(p, "../") {
			continue // the engine refuses those; never watch outside the root
		}
		w.patterns = append(w.patterns, p)
	}
	if err := w.resolve(); err != nil {
		fw.Close()
		return nil, err
	}
	return w, nil
}

func (w *dirWatcher) close() { w.fw.Close() }

// resolve adds a watch on the nearest existing directory of each pattern's
// static prefix, and on the existing subdirectories of a ** prefix.
func (w *dirWatcher) resolve() error {
	added := len(w.fw.WatchList())
	add := func(dir string) error {
		if added >= maxWatchedDirs {
			return nil
		}
		if err := w.fw.Add(dir); err != nil {
			return fmt.Errorf("watch directory %q: %w", dir, err)
		}
		added++
		return nil
	}
	for _, p := range w.patterns {
		base := staticDir(p)
		dir := filepath.Join(w.root, filepath.FromSlash(base))
		for {
			if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
				break
			}
			if dir == w.root {
				break
			}
			dir = filepath.Dir(dir)
		}
		if err := add(dir); err != nil {
			return err
		}
		if strings.Contains(p, "**") && dir == filepath.Join(w.root, filepath.FromSlash(base)) {
			_ = filepath.WalkDir(dir, func(sub string, d os.DirEntry, err error) error {
				if err != nil || !d.IsDir() || sub == dir {
					return nil
				}
				if added >= maxWatchedDirs {
					return filepath.SkipAll
				}
				return add(sub)
			})
		}
	}
	return nil
}

// relevant says whether an event may change a watched check: a created
// directory (watches are re-resolved) or a change to a matching file.
func (w *dirWatcher) relevant(ev fsnotify.Event) bool {
	if !ev.Has(fsnotify.Create) && !ev.Has(fsnotify.Write) && !ev.Has(fsnotify.Rename) && !ev.Has(fsnotify.Remove) {
		return false
	}
	if ev.Has(fsnotify.Create) {
		if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
			_ = w.resolve()
			return true
		}
	}
	rel, err := filepath.Rel(w.root, ev.Name)
	if err != nil {
		return false
	}
	rel = filepath.ToSlash(rel)
	for _, p := range w.patterns {
		if rootfs.MatchPath(p, rel) {
			return true
		}
	}
	return false
}

// staticDir is the directory part of a pattern before its first wildcard.
func staticDir(p string) string {
	segs := strings.Split(p, "/")
	var out []string
	for _, s := range segs[:len(segs)-1] {
		if strings.ContainsAny(s, "*?[") {
			break
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return "."
	}
	return strings.Join(out, "/")
}
