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
)

// TailBytes is how much of a command's output a result keeps.
const TailBytes = 2000

// Spec is one argv to run without a shell.
type Spec struct {
	Argv    []string
	Dir     string
	Env     map[string]string
	Timeout time.Duration
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
	cmd.Env = os.Environ()
	keys := make([]string, 0, len(spec.Env))
	for k := range spec.Env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+spec.Env[k])
	}
	tail := &tailBuffer{max: TailBytes}
	cmd.Stdout = tail
	cmd.Stderr = tail
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
	res := Result{Tail: tail.String(), Duration: time.Since(start), ExitCode: -1}
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

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

// String returns the tail as valid UTF-8 (a cut rune is dropped).
func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.ToValidUTF8(string(b.buf), "")
}
