package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/workflows"
)

// cli runs the strictcycle CLI in-process with the stack's configuration
// in the environment, as an operator would run it.
func (s *e2eStack) cli(args ...string) (int, string) {
	s.setCLIEnv()
	return runCLI(args...)
}

// setCLIEnv puts the stack's configuration in the process environment.
func (s *e2eStack) setCLIEnv() {
	s.t.Setenv("TEMPORAL_ADDRESS", s.cfg.Temporal.Address)
	s.t.Setenv("REDIS_URL", s.cfg.Redis.URL)
	s.t.Setenv("STRICTCYCLE_REDIS_PREFIX", s.cfg.Redis.KeyPrefix)
	s.t.Setenv("STRICTCYCLE_DECISION_STREAM", s.cfg.Redis.Stream)
	s.t.Setenv("STRICTCYCLE_TRANSITION_STREAM", s.cfg.Redis.TransitionStream)
	s.t.Setenv("STRICTCYCLE_ENVIRONMENT", s.cfg.Environment)
	s.t.Setenv("STRICTCYCLE_ROOT", s.root)
	s.t.Setenv("STRICTCYCLE_CONTRACT", s.cfg.Contract)
}

// runCLI runs the CLI with the environment as it is; safe to call from
// several goroutines at once.
func runCLI(args ...string) (int, string) {
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := run(ctx, args, &out, &errOut)
	return code, out.String() + errOut.String()
}

// The operator's commands against a real server: run --wait with its exit
// code, show, list, status; schedule create/list/trigger/pause/delete.
func TestE2ECLI(t *testing.T) {
	s := newE2EStack(t, nil)
	s.startWorker()

	code, out := s.cli("run", "--wait")
	require.Equal(t, exitPass, code, out)
	require.Contains(t, out, "decision: PASS (passed after 1 restart(s) in 1 round(s))")
	require.Contains(t, out, "[promotion-gates] status=PASS")

	code, out = s.cli("show")
	require.Equal(t, exitPass, code, out)
	for _, want := range []string{"StrictCycle started", "RestartService", "event-store-service restarted via exec", "decision PASS"} {
		require.Contains(t, out, want)
	}

	code, out = s.cli("run", "--wait", "--root", "/nonexistent/hbot")
	require.Equal(t, exitError, code, "a missing root is an error, not a FAIL: %s", out)
	require.Contains(t, out, `root "/nonexistent/hbot" is not a directory`)

	code, out = s.cli("run", "--wait")
	require.Equal(t, exitPass, code, "a second cycle after the first ended: %s", out)

	code, out = s.cli("status")
	require.Equal(t, exitPass, code, out)
	require.Contains(t, out, `"phase": "done"`)

	id := workflows.WorkflowID(s.cfg.Environment, "cycle")
	require.Eventually(t, func() bool {
		code, out = s.cli("list", "--status", "PASS")
		return code == exitPass && strings.Contains(out, id)
	}, 30*time.Second, 200*time.Millisecond, out)

	code, out = s.cli("waive", "--check", "nope", "--reason", "x", "--by", "t")
	require.Equal(t, exitError, code, "no running cycle to waive on: %s", out)

	code, out = s.cli("schedule", "create", "--every", "1h", "--register-search-attributes")
	require.Equal(t, exitPass, code, out)
	code, out = s.cli("schedule", "create", "--every", "2h")
	require.Equal(t, exitPass, code, out)
	require.Contains(t, out, "updated")
	code, out = s.cli("schedule", "list")
	require.Equal(t, exitPass, code, out)
	require.Contains(t, out, workflows.ScheduleID(s.cfg.Environment))
	code, out = s.cli("schedule", "pause", "--note", "maintenance")
	require.Equal(t, exitPass, code, out)
	code, out = s.cli("schedule", "trigger")
	require.Equal(t, exitPass, code, out)
	// show and status find the scheduled cycle as the environment's newest
	// cycle: it runs under the same id, started by the schedule's wrapper.
	require.Eventually(t, func() bool {
		code, out = s.cli("show")
		return code == exitPass && strings.Contains(out, "workflow "+id+"\n") &&
			strings.Contains(out, "StrictCycle started") && strings.Contains(out, " by "+workflows.ScheduledID(s.cfg.Environment)+"-") &&
			strings.Contains(out, "decision PASS")
	}, time.Minute, 200*time.Millisecond, out)
	code, out = s.cli("schedule", "delete")
	require.Equal(t, exitPass, code, out)
	code, out = s.cli("schedule", "bogus")
	require.Equal(t, exitError, code, out)
}

// A protected service waits for an operator: `status` shows the pending
// approval, `approve` lets the restart happen, and the cycle passes.
func TestE2EApproveProtectedService(t *testing.T) {
	s := newE2EStack(t, func(doc map[string]any) {
		doc["services"].(map[string]any)[DemoService] = map[string]any{"protected": true}
	})
	s.startWorker()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run, err := startCycle(ctx, s.cl, s.cfg.TaskQueue, s.input())
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		st, err := queryStatus(ctx, s.cl, run.GetID(), run.GetRunID())
		return err == nil && st.Phase == workflows.PhaseApproval
	}, time.Minute, 50*time.Millisecond)

	code, out := s.cli("status")
	require.Equal(t, exitPass, code, out)
	require.Contains(t, out, `"pending_approvals": [`)
	code, out = s.cli("waive", "--check", "no_such_check", "--reason", "x", "--by", "op")
	require.Equal(t, exitError, code, out)
	require.Contains(t, out, `waive: check "no_such_check" is not in contract simstack-demo`)
	code, out = s.cli("approve", "--service", DemoService, "--by", "op")
	require.Equal(t, exitPass, code, out)

	var res workflows.StrictCycleResult
	require.NoError(t, run.Get(ctx, &res))
	require.Equal(t, "PASS", string(res.Status), res.Reason)
	require.Len(t, res.Restarts, 1)
	require.Equal(t, DemoService, res.Restarts[0].Service)
}

// A second cycle in an environment where one runs is refused with the
// running one named.
func TestE2ESecondCycleRefused(t *testing.T) {
	s := newE2EStack(t, func(doc map[string]any) {
		doc["services"].(map[string]any)[DemoService] = map[string]any{"protected": true}
	})
	s.startWorker()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run, err := startCycle(ctx, s.cl, s.cfg.TaskQueue, s.input())
	require.NoError(t, err)
	code, out := s.cli("run")
	require.Equal(t, exitError, code, out)
	require.Contains(t, out, "a cycle is already running in environment "+s.cfg.Environment)
	code, out = s.cli("abort", "--reason", "test over", "--by", "op")
	require.Equal(t, exitPass, code, out)
	var res workflows.StrictCycleResult
	require.NoError(t, run.Get(ctx, &res))
	require.Equal(t, "FAIL", string(res.Status))
	require.Equal(t, "aborted by op: test over", res.Reason)
}
