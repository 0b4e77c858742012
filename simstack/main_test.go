package simstack

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"
)

// producerEnv makes the test binary act as `strictcycle sim run`, so the
// supervisor tests spawn real producer processes without building the CLI.
const producerEnv = "SIMSTACK_TEST_PRODUCER"

func TestMain(m *testing.M) {
	if os.Getenv(producerEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := RunCommand(ctx, os.Args[1:], os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
