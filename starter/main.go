// Command strictcycle is the operator CLI: gate runs, strict cycles,
// schedules, drills, history inspection, and a one-command demo.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
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

strict cycles (need a worker: go run ./worker --dev):
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
  demo       run the whole story on a simulated stack with an embedded server
  sim        drive the simulated hbot stack (seed, run, start, stop, restart, status, replay)
  health     probe a worker's /healthz (for container healthchecks)
  bench      measure the figures of docs/PERFORMANCE.md (gate time, cycle latency, watch, load, RSS)

Run "strictcycle <command> -h" for a command's flags.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError
	}
	cmds := map[string]func(context.Context, []string, io.Writer, io.Writer) int{
		"gates":    gatesCmd,
		"sim":      simCmd,
		"run":      runCmd,
		"status":   statusCmd,
		"show":     showCmd,
		"list":     listCmd,
		"approve":  approveCmd,
		"abort":    abortCmd,
		"waive":    waiveCmd,
		"schedule": scheduleCmd,
		"drill":    drillCmd,
		"demo":     demoCmd,
		"bench":    benchCmd,
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
