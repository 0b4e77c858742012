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

	"github.com/strictcycle/strictcycle/gates"
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
	Name    string   `json:"name"`
	Verdict string   `json:"verdict"`
	AgeMin  *float64 `json:"age_min,omitempty"`
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
	start := time.Now()
	if len(in.Checks) == 0 {
		return nil, nonRetryable(ErrTypeBadInput, errors.New("watch until fresh: no checks named"))
	}
	// Commands are not re-run on every event: their last artifact is judged.
	c, e, err := a.engine(in.Target, true)
	if err != nil {
		return nil, err
	}
	if err := checkNames(c, in.Checks); err != nil {
		return nil, err
	}
	timeout := in.Timeout
	if timeout <= 0 {
		timeout = c.Recovery.WatchTimeout
	}
	if timeout <= 0 {
		timeout = DefaultWatchTimeout
	}
	poll := in.Poll
	if poll <= 0 {
		poll = defaultPoll
	}
	logger := activity.GetLogger(ctx)

	var patterns []string
	for _, ch := range in.Checks {
		patterns = append(patterns, e.WatchPaths(ch)...)
	}
	var w *dirWatcher
	if !a.disableFileEvents && len(patterns) > 0 {
		if w, err = newDirWatcher(in.Root, patterns); err != nil {
			logger.Warn("file events unavailable, polling only", "error", err)
			w = nil
		} else {
			defer w.close()
		}
	}
	var events <-chan fsnotify.Event
	var watchErrs <-chan error
	if w != nil {
		events, watchErrs = w.fw.Events, w.fw.Errors
	}

	progress := watchProgress{Started: a.now()}
	if activity.HasHeartbeatDetails(ctx) {
		var prev watchProgress
		if err := activity.GetHeartbeatDetails(ctx, &prev); err == nil && !prev.Started.IsZero() {
			progress.Started = prev.Started
		}
	}
	remaining := timeout - a.now().Sub(progress.Started)
	if remaining < 0 {
		remaining = 0
	}
	deadline := time.NewTimer(remaining)
	defer deadline.Stop()
	ticker := time.NewTicker(poll)
	defer ticker.Stop()

	res := &WatchUntilFreshResult{}
	for {
		rep, err := e.Run(ctx, gates.RunOptions{Only: in.Checks})
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("watch until fresh %q: evaluate: %w", strings.Join(in.Checks, ","), err)
		}
		done, sums, blocking := watchState(in, rep)
		res.Checks = sums
		progress.Evaluations++
		progress.Events, progress.Polls = res.Events, res.Polls
		progress.Checks = make([]checkAge, 0, len(sums))
		for _, s := range sums {
			progress.Checks = append(progress.Checks, checkAge{Name: s.Name, Verdict: s.Verdict, AgeMin: s.AgeMinutes})
		}
		activity.RecordHeartbeat(ctx, progress)
		if a.onEvaluate != nil {
			a.onEvaluate(progress.Evaluations)
		}
		if done {
			// Fresh tells whether the checks are fresh, in both modes: a
			// WantStale wait that saw them go stale ends with Fresh false.
			res.Fresh = !in.WantStale
			res.WaitedMS = ms(time.Since(start))
			if in.WantStale {
				res.Reason = "stale: " + blocking
			} else {
				res.Reason = "fresh"
			}
			return res, nil
		}

	wait:
		for {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-deadline.C:
				// With WantStale, a timeout means they all still pass.
				res.Fresh = in.WantStale
				res.WaitedMS = ms(time.Since(start))
				res.Reason = fmt.Sprintf("timeout after %s: %s", timeout, blocking)
				return res, nil
			case <-ticker.C:
				res.Polls++
				break wait
			case err := <-watchErrs:
				// An overflow loses events: evaluate now, polling covers
				// the rest.
				logger.Warn("file watcher error", "error", err)
				break wait
			case ev := <-events:
				if !w.relevant(ev) {
					continue
				}
				// Debounce: one write is several events (create, write,
				// rename); evaluate once after they settle.
				settle := time.NewTimer(a.debounce)
			drain:
				for {
					select {
					case ev := <-events:
						w.relevant(ev) // adds watches on new directories
					case <-settle.C:
						break drain
					case <-ctx.Done():
						settle.Stop()
						return nil, ctx.Err()
					}
				}
				res.Events++
				break wait
			}
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
		desc := fmt.Sprintf("%s %s %s", r.Name, r.Verdict, r.Reason)
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
		if matchGlob(p, rel) {
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

// matchGlob matches a slash path against a pattern where ** spans any
// number of directories and other segments follow path.Match.
func matchGlob(pattern, name string) bool {
	return matchSegs(strings.Split(pattern, "/"), strings.Split(name, "/"))
}

func matchSegs(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(name); i++ {
				if matchSegs(pat[1:], name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, err := path.Match(pat[0], name[0]); err != nil || !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}
