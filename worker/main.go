// Command worker runs the strictcycle Temporal worker against a Temporal
// cluster (TEMPORAL_* settings). It links no Temporal server: for an
// embedded dev server with a worker inside, run `go run ./dev server`.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/worker/workerapp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

// run is the process after signal handling; args, lookup and stdout are
// parameters so that tests can drive it. A panic in its goroutine becomes an
// error (exit 1 with a message) instead of Go's crash with exit 2. Panics in
// activities and workflow code are the SDK's to recover (an activity
// failure, a workflow task retried); a panic in another goroutine or a Go
// fatal error (out of memory) cannot be recovered and exits 2.
func run(ctx context.Context, args []string, lookup func(string) (string, bool), stdout io.Writer) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error (panic): %v\n%s", p, debug.Stack())
		}
	}()
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	checkConfig := fs.Bool("check-config", false, "load and validate the configuration, print it with secrets redacted, and exit")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}

	cfg, err := config.Load(lookup)
	if err != nil {
		return fmt.Errorf("load config: %w", err)
	}
	if *checkConfig {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(workerapp.Redacted(cfg))
	}

	logger, err := workerapp.NewLogger(cfg.LogLevel)
	if err != nil {
		return err
	}
	defer func() { _ = logger.Sync() }()
	redis.SetLogger(workerapp.RedisLogger{Z: logger.Named("redis")})
	return workerapp.RunWorker(ctx, cfg, logger, workerapp.RunOptions{})
}
