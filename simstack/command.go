package simstack

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
)

// RunCommand is `sim run`: it parses args (--root, --service, --interval,
// --redis, --non-atomic, --skew) and runs that producer until ctx is done.
// The starter binary and test binaries share it.
func RunCommand(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", "", "stack root")
	service := fs.String("service", "", "service to simulate")
	interval := fs.Duration("interval", DefaultInterval, "write interval")
	redisURL := fs.String("redis", "", "Redis URL (event-store-service publishes to hb.* streams)")
	nonAtomic := fs.Bool("non-atomic", false, "write reports in place in two halves (fault injection)")
	skew := fs.Duration("skew", 0, "clock skew added to every timestamp")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("parse sim run flags: %w", err)
	}
	if *root == "" || *service == "" {
		return fmt.Errorf("parse sim run flags: --root and --service are required")
	}
	p, err := NewProducer(*root, *service, ProducerOptions{
		Interval: *interval, RedisURL: *redisURL, NonAtomic: *nonAtomic, Skew: *skew, Log: stderr,
	})
	if err != nil {
		return err
	}
	defer p.Close()
	fmt.Fprintf(stderr, "simstack producer started service=%s pid=%d interval=%s\n", *service, os.Getpid(), *interval)
	err = p.Run(ctx)
	fmt.Fprintf(stderr, "simstack producer stopped service=%s\n", *service)
	return err
}
