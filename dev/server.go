package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/devserver"
	"github.com/strictcycle/strictcycle/worker/workerapp"
	"github.com/strictcycle/strictcycle/workflows"
)

// serverCmd is `dev server`: the embedded Temporal server (SQLite file
// STRICTCYCLE_DEV_DB, ports STRICTCYCLE_DEV_PORT and _DEV_UI_PORT) with the
// Web UI, and the production worker's code (workerapp.RunWorker) running
// in this process against it, until Ctrl-C.
func serverCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: go run ./dev server

An embedded Temporal server (SQLite file, Web UI) with a strictcycle worker
inside, until Ctrl-C; point the operator CLI (go run ./starter) at it.
It takes no flags. It reads the worker's variables (the README's table;
go run ./worker --check-config prints them) and these of its own:
  STRICTCYCLE_DEV_DB        SQLite file (default .strictcycle/temporal.db; ":memory:" for none)
  STRICTCYCLE_DEV_PORT      frontend port (default 7233)
  STRICTCYCLE_DEV_UI_PORT   Web UI port (default 8233; 0 disables)
`)
	}
	if err := fs.Parse(args); err != nil {
		return exitError
	}
	cfg, err := config.Load(os.LookupEnv)
	if err != nil {
		return fail(stderr, fmt.Errorf("load config: %w", err))
	}
	logger, err := workerapp.NewLogger(cfg.LogLevel)
	if err != nil {
		return fail(stderr, err)
	}
	defer func() { _ = logger.Sync() }()
	redis.SetLogger(workerapp.RedisLogger{Z: logger.Named("redis")})
	if err := runServer(ctx, cfg, logger, func(r serverReady) {
		fmt.Fprintf(stdout, "temporal: %s, web UI: %s, worker on task queue %q\n", r.Frontend, r.UI, cfg.TaskQueue)
	}); err != nil {
		return fail(stderr, err)
	}
	return exitPass
}

// serverReady tells where the embedded server listens.
type serverReady struct {
	Frontend, UI string
	Worker       workerapp.Ready
}

// runServer starts the embedded server with cfg's dev settings, then runs
// the worker on it until ctx is done. onReady (optional) is called once
// the worker polls.
func runServer(ctx context.Context, cfg config.Config, logger *zap.Logger, onReady func(serverReady)) error {
	srv, err := devserver.Start(ctx, devserver.Options{
		DBFile:           cfg.Temporal.DevDB,
		FrontendPort:     cfg.Temporal.DevPort,
		UIPort:           cfg.Temporal.DevUIPort,
		Namespace:        cfg.Temporal.Namespace,
		SearchAttributes: workflows.SearchAttributeKeys(),
		Logger:           logger.Named("devserver"),
	})
	if err != nil {
		return fmt.Errorf("start dev server: %w", err)
	}
	defer srv.Stop()
	// The dev server is plain gRPC on loopback, without credentials.
	cfg.Temporal = config.Temporal{Address: srv.FrontendAddr(), Namespace: cfg.Temporal.Namespace}
	return workerapp.RunWorker(ctx, cfg, logger, workerapp.RunOptions{OnReady: func(r workerapp.Ready) {
		if onReady != nil {
			onReady(serverReady{Frontend: srv.FrontendAddr(), UI: srv.UIURL(), Worker: r})
		}
	}})
}
