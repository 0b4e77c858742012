// Command hbotsim is the simulated hbot stack on its own: the producers
// (`hbotsim sim run`), the replay, and the start/stop/restart verbs that the
// demo contract's exec driver runs. It takes the same arguments as
// `go run ./dev sim …` (the leading "sim" is optional) and links only the
// simulator, so that each producer process stays small: the dev binary
// starts one per simulated service.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/strictcycle/strictcycle/simstack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "sim" {
		args = args[1:]
	}
	code := simstack.Command(ctx, args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
