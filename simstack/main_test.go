package simstack

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"
)

// producerEnv makes the test binary act as the `strictcycle sim` CLI when
// re-executed as `<test binary> sim <verb> …`, so the supervisor and drill
// tests spawn real processes without building a binary.
const producerEnv = "SIMSTACK_TEST_PRODUCER"

func TestMain(m *testing.M) {
	if os.Getenv(producerEnv) == "1" && len(os.Args) > 1 && os.Args[1] == "sim" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := Command(ctx, os.Args[2:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}
