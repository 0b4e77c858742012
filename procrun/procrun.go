// Package procrun runs an argv without a shell, in its own process group,
// with a timeout that kills the whole group, optional heartbeats, and the
// tail of its output. The gate engine's command checks and the activities'
// replay and restart drivers share it.
package procrun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/strictcycle/strictcycle/redact"
)

// TailBytes is how much of a command's output a result keeps.
const TailBytes = 2000

// HeadBytes is how much of the start of each of stdout and stderr a
// result keeps (the hbot runner quotes the start of a checker's output in
// its reasons).
const HeadBytes = 4096

// Spec is one argv to run without a shell.
type Spec struct {
	Argv []string
	Dir  string
	// Env is set in the child's environment after the base variables
	// (see Environ) and the PassEnv ones.
	Env map[string]string
	// PassEnv names variables of this process's environment the child
	// receives as well. Nothing else of this process's environment
	// (REDIS_URL, TEMPORAL_API_KEY, ...) reaches the child.
	PassEnv []string
	// Redactor masks secrets in the output tail; nil masks nothing.
	Redactor *redact.Redactor
	Timeout  time.Duration
	// Heartbeat, when set, is called every HeartbeatEvery while it runs.
	Heartbeat      func(elapsed time.Duration)
	HeartbeatEvery time.Duration
}

// Result is how a command ended. A non-zero exit is a result.
type Result struct {
	ExitCode int
	Tail     string
	Duration time.Duration
	TimedOut bool
	// StdoutHead and StderrHead are the first HeadBytes of each stream,
	// secrets masked, as valid UTF-8.
	StdoutHead, StderrHead string
}

// ErrStart marks a command that could not be started (not found, not
// executable, bad cwd): a configuration problem, not a transient one.
var ErrStart = errors.New("cannot start")

// Run runs spec.Argv in its own process group and kills the whole group
// on timeout or cancellation, so that children of a script die with it.
// It returns an error only when the command could not be started or ctx
// was cancelled; a timeout is a result (TimedOut, exit code -1).
func Run(ctx context.Context, spec Spec) (Result, error) {
	if len(spec.Argv) == 0 || spec.Argv[0] == "" {
		return Result{}, fmt.Errorf("run command: empty argv: %w", ErrStart)
	}
	runCtx := ctx
	if spec.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, spec.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(runCtx, spec.Argv[0], spec.Argv[1:]...)
	cmd.Dir = spec.Dir
	cmd.Env = Environ(spec.PassEnv, spec.Env)
	// The window is longer than the tail by the longest secret, so that a
	// secret ending inside the tail is seen whole and masked.
	tail := &tailBuffer{max: TailBytes + spec.Redactor.MaxLen()}
	headMax := HeadBytes + spec.Redactor.MaxLen()
	stdout := &headTee{tail: tail, max: headMax}
	stderr := &headTee{tail: tail, max: headMax}
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	setProcessGroup(cmd)
	// WaitDelay bounds the wait for pipes held open by grandchildren that
	// escaped the group kill.
	cmd.WaitDelay = 2 * time.Second

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Result{}, fmt.Errorf("start %q: %w: %w", spec.Argv[0], ErrStart, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var tick <-chan time.Time
	if spec.Heartbeat != nil && spec.HeartbeatEvery > 0 {
		t := time.NewTicker(spec.HeartbeatEvery)
		defer t.Stop()
		tick = t.C
	}
	var waitErr error
loop:
	for {
		select {
		case waitErr = <-done:
			break loop
		case <-tick:
			spec.Heartbeat(time.Since(start))
		}
	}
	res := Result{Tail: tail.redacted(spec.Redactor, TailBytes), Duration: time.Since(start), ExitCode: -1,
		StdoutHead: stdout.redacted(spec.Redactor), StderrHead: stderr.redacted(spec.Redactor)}
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("run %q: %w", spec.Argv[0], err)
	}
	if errors.Is(runCtx.Err(), context.DeadlineExceeded) {
		res.TimedOut = true
		res.ExitCode = -1
		return res, nil
	}
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) && !errors.Is(waitErr, exec.ErrWaitDelay) {
		return res, fmt.Errorf("wait %q: %w", spec.Argv[0], waitErr)
	}
	return res, nil
}

// baseEnv are the variables of this process's environment every child
// receives when they are set.
var baseEnv = [...]string{"PATH", "HOME", "LANG", "LC_ALL", "TZ"}

// Environ is a child's whole environment: PATH, HOME, LANG, LC_ALL, TZ and
// pass taken from this process's environment when set, then extra in key
// order.
func Environ(pass []string, extra map[string]string) []string {
	env := []string{}
	seen := map[string]bool{}
	for _, n := range slices.Concat(baseEnv[:], pass) {
		if v, ok := os.LookupEnv(n); ok && !seen[n] {
			seen[n] = true
			env = append(env, n+"="+v)
		}
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		env = append(env, k+"="+extra[k])
	}
	return env
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
	cut bool // bytes were dropped from the front
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
		b.cut = true
	}
	return len(p), nil
}

// redacted returns the last max bytes with r's secrets masked.
func (b *tailBuffer) redacted(r *redact.Redactor, max int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return r.Tail(b.buf, b.cut, max)
}

// String returns the tail as valid UTF-8 (a cut rune is dropped).
func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.ToValidUTF8(string(b.buf), "")
}

// headTee keeps the first max bytes of one stream and passes everything on
// to the shared tail.
type headTee struct {
	tail *tailBuffer
	mu   sync.Mutex
	max  int
	head []byte
}

func (h *headTee) Write(p []byte) (int, error) {
	h.mu.Lock()
	if room := h.max - len(h.head); room > 0 {
		h.head = append(h.head, p[:min(room, len(p))]...)
	}
	h.mu.Unlock()
	return h.tail.Write(p)
}

// redacted is the head with r's secrets masked, cut to HeadBytes (a cut
// rune dropped). The head is longer than that by the longest secret, so a
// secret starting inside it is seen whole.
func (h *headTee) redacted(r *redact.Redactor) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := r.String(string(h.head))
	if len(s) > HeadBytes {
		s = s[:HeadBytes]
	}
	return strings.ToValidUTF8(s, "")
}
