// Command dev holds everything for development, apart from the production
// binaries (./worker, ./starter): the one-command demo, an embedded Temporal
// server with its Web UI and a worker inside, the bench harness, and the
// simulated hbot stack. It links the Temporal server; the worker and the
// operator CLI do not.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/strictcycle/strictcycle/simstack"
)

// Exit codes, as the operator CLI: 0 PASS (or done), 2 FAIL, 1 error.
const (
	exitPass  = 0
	exitError = 1
	exitFail  = 2
)

func main() {
	// go-redis prints dial retries on its own; the commands report every
	// Redis error themselves.
	redis.SetLogger(quietRedis{})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: go run ./dev <command> [flags]

  demo     the whole story in one command: an embedded Temporal server with its
           Web UI, a worker, a simulated hbot stack with one service down, and a
           strict cycle that recovers it, driven with the operator CLI
  server   an embedded Temporal server (SQLite file, Web UI) with a strictcycle
           worker inside; point the operator CLI (go run ./starter) at it
  bench    measure the figures of docs/PERFORMANCE.md (--json: one JSON object
           as the last line)
  sim      the simulated hbot stack (seed, run, start, stop, restart, status,
           replay, contract); also a small binary of its own: ./dev/hbotsim

Run "go run ./dev <command> -h" for a command's flags.
`

// run dispatches args; a panic in the command is an error (exit 1), never
// Go's exit 2, which means FAIL here.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(stderr, "dev: internal error (panic): %v\n%s", p, debug.Stack())
			code = exitError
		}
	}()
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError
	}
	cmds := map[string]func(context.Context, []string, io.Writer, io.Writer) int{
		"demo":   demoCmd,
		"server": serverCmd,
		"bench":  benchCmd,
		"sim":    simstack.Command,
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return exitPass
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "dev: unknown command %q\n\n%s", args[0], usage)
		return exitError
	}
	return cmd(ctx, args[1:], stdout, stderr)
}

func fail(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "dev: %v\n", err)
	return exitError
}

// quietRedis drops go-redis's internal log lines.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}
