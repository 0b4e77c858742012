package simstack

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

// RunCommand is `sim run`: it parses args (--root, --service, --interval,
// --redis, --non-atomic, --torn-pause, --skew, --start-delay) and runs that
// producer until ctx is done.
// The dev binary, dev/hbotsim and test binaries share it.
func RunCommand(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", "", "stack root")
	service := fs.String("service", "", "service to simulate")
	interval := fs.Duration("interval", DefaultInterval, "write interval")
	redisURL := fs.String("redis", "", "Redis URL (event-store-service publishes to hb.* streams)")
	nonAtomic := fs.Bool("non-atomic", false, "write reports in place in two halves (fault injection)")
	skew := fs.Duration("skew", 0, "clock skew added to every timestamp")
	tornPause := fs.Duration("torn-pause", 0, "with --non-atomic: gap between the two halves of a write (default 200ms)")
	startDelay := fs.Duration("start-delay", 0, "wait this long before the first write (a slow-booting service)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("parse sim run flags: %w", err)
	}
	if *root == "" || *service == "" {
		return fmt.Errorf("parse sim run flags: --root and --service are required")
	}
	p, err := NewProducer(*root, *service, ProducerOptions{
		Interval: *interval, RedisURL: *redisURL, NonAtomic: *nonAtomic, NonAtomicPause: *tornPause, Skew: *skew, Log: stderr,
	})
	if err != nil {
		return err
	}
	defer p.Close()
	fmt.Fprintf(stderr, "simstack producer started service=%s pid=%d interval=%s\n", *service, os.Getpid(), *interval)
	if err := sleepCtx(ctx, *startDelay); err != nil {
		fmt.Fprintf(stderr, "simstack producer stopped service=%s\n", *service)
		return nil
	}
	err = p.Run(ctx)
	fmt.Fprintf(stderr, "simstack producer stopped service=%s\n", *service)
	return err
}

// sleepCtx waits d, or until ctx is done (then it returns ctx's error).
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
