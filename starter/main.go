// Command strictcycle is the operator CLI: gate runs, strict cycles,
// schedules, drills and history inspection. It links no Temporal server;
// the demo, the embedded server, the bench and the simulated stack are in
// the dev binary (go run ./dev).
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// Exit codes, as the Python gate runner: 0 PASS, 2 FAIL, 1 error (bad
// flags, contract or root are 1, not 2: a broken invocation is never read as
// a gate decision).
const (
	exitPass  = 0
	exitError = 1
	exitFail  = 2
)

func main() {
	// go-redis prints dial retries on its own; this CLI reports every
	// Redis error itself, with the operation that failed.
	redis.SetLogger(quietRedis{})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: strictcycle <command> [flags]

gate engine (no Temporal needed):
  gates      evaluate a gate contract over a stack root and write artifacts

strict cycles (need a worker: go run ./worker, or go run ./dev server):
  run        start a strict cycle (--wait shows live progress; exit 0 PASS, 2 FAIL, 1 error)
  status     the phase, round and failures of an environment's cycle
  show       a readable timeline of a cycle from its history
  list       cycles filtered by status, environment and time
  approve    approve the restart of a protected service
  abort      abort a running cycle (it decides FAIL)
  waive      waive a critical check with a reason and an expiry
  schedule   create|list|pause|unpause|trigger|delete the per-environment schedule
  drill      run a recovery drill on one service

local:
  health     probe a worker's /healthz (for container healthchecks)

The demo, the embedded dev server, the bench and the simulated stack:
go run ./dev help

Run "strictcycle <command> -h" for a command's flags.
`

// statusFailLine is the line every exit with exitFail prints first.
const statusFailLine = "[promotion-gates] status=FAIL"

// run is the CLI after signal handling. Two promises hold whatever the
// command does:
//   - exit 2 (FAIL) always comes with a "[promotion-gates] status=FAIL"
//     line on stdout: a command that decided FAIL without printing it gets
//     it printed here, so a reader of the output never sees a FAIL code
//     without a FAIL line;
//   - a panic in the command's goroutine is an error (exit 1) with a
//     message, never a FAIL and never a crash. A panic in another goroutine,
//     or a Go fatal error (out of memory, concurrent map writes), cannot be
//     recovered in the process: the Go runtime then exits 2 on its own.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return guarded(stdout, stderr, func(out io.Writer) int { return dispatch(ctx, args, out, stderr) })
}

// guarded runs cmd with stdout watched and keeps both promises of run.
func guarded(stdout, stderr io.Writer, cmd func(stdout io.Writer) int) (code int) {
	out := &statusWatch{w: stdout}
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(stderr, "strictcycle: internal error (panic): %v\n%s", p, debug.Stack())
			code = exitError
		}
	}()
	code = cmd(out)
	if fail, open := out.state(); code == exitFail && !fail {
		if open {
			fmt.Fprintln(out)
		}
		fmt.Fprintln(out, statusFailLine)
	}
	return code
}

// statusWatch passes writes through and notes whether a line starting with
// statusFailLine was written.
type statusWatch struct {
	w       io.Writer
	mu      sync.Mutex
	line    []byte // the start of the current line, up to len(statusFailLine)
	midLine bool   // the current line went past len(statusFailLine)
	fail    bool
}

func (s *statusWatch) Write(p []byte) (int, error) {
	s.mu.Lock()
	for _, c := range p {
		if c == '\n' {
			s.line, s.midLine = s.line[:0], false
			continue
		}
		if s.midLine {
			continue
		}
		s.line = append(s.line, c)
		if len(s.line) == len(statusFailLine) {
			if bytes.Equal(s.line, []byte(statusFailLine)) {
				s.fail = true
			}
			s.midLine = true
		}
	}
	s.mu.Unlock()
	return s.w.Write(p)
}

// state says whether the fail line was written, and whether the last line
// is still open (no newline yet).
func (s *statusWatch) state() (fail, open bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fail, len(s.line) > 0
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError
	}
	cmds := map[string]func(context.Context, []string, io.Writer, io.Writer) int{
		"gates":    gatesCmd,
		"run":      runCmd,
		"status":   statusCmd,
		"show":     showCmd,
		"list":     listCmd,
		"approve":  approveCmd,
		"abort":    abortCmd,
		"waive":    waiveCmd,
		"schedule": scheduleCmd,
		"drill":    drillCmd,
		"health":   healthCmd,
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return exitPass
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "strictcycle: unknown command %q\n\n%s", args[0], usage)
		return exitError
	}
	return cmd(ctx, args[1:], stdout, stderr)
}

// quietRedis drops go-redis's internal log lines.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}
