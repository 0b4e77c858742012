package main

import (
	"context"
	"io"

	"github.com/strictcycle/strictcycle/simstack"
)

// simCmd is `strictcycle sim …`: seed, run, start/stop/restart/status,
// up/down, replay and contract for the simulated hbot stack (see
// simstack.Command for the verbs). It returns the process exit code.
func simCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return simstack.Command(ctx, args, stdout, stderr)
}
