package workflows

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/strictcycle/strictcycle/cycletypes"
)

// childOptions records the options of every child workflow started, and
// the summary the Web UI shows for every activity.
type childOptions struct {
	interceptor.WorkerInterceptorBase
	got       []workflow.ChildWorkflowOptions
	summaries []string
}

func (c *childOptions) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	i := &childOptionsInbound{root: c}
	i.Next = next
	return i
}

type childOptionsInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	root *childOptions
}

func (i *childOptionsInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	o := &childOptionsOutbound{root: i.root}
	o.Next = outbound
	return i.Next.Init(o)
}

type childOptionsOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	root *childOptions
}

func (o *childOptionsOutbound) ExecuteActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	o.root.summaries = append(o.root.summaries, workflow.GetActivityOptions(ctx).Summary)
	return o.Next.ExecuteActivity(ctx, activityType, args...)
}

func (o *childOptionsOutbound) ExecuteChildWorkflow(ctx workflow.Context, childWorkflowType string, args ...any) workflow.ChildWorkflowFuture {
	o.root.got = append(o.root.got, workflow.GetChildWorkflowOptions(ctx))
	return o.Next.ExecuteChildWorkflow(ctx, childWorkflowType, args...)
}

// The scheduled cycle runs under the cycle id with the cycle's timeout, and
// outlives its wrapper: a terminated schedule action must not kill a cycle
// in the middle of a restart (the server's default would terminate it).
func TestScheduledCycleChildOptions(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	co := &childOptions{}
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{co}})
	stack := newFakeStack()
	stack.register(env)
	env.RegisterWorkflowWithOptions(StrictCycle, workflowOptions(StrictCycleName))
	env.ExecuteWorkflow(ScheduledCycle, &StrictCycleInput{Target: cycletypes.Target{Environment: "test", Root: "/r", Contract: "fake"}})
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, co.got, 1)
	o := co.got[0]
	require.Equal(t, "strictcycle-test-cycle", o.WorkflowID)
	require.Equal(t, CycleTimeout, o.WorkflowExecutionTimeout)
	require.Equal(t, enumspb.PARENT_CLOSE_POLICY_ABANDON, o.ParentClosePolicy)
	require.Equal(t, enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, o.WorkflowIDReusePolicy)
	require.Equal(t, "scheduled strict cycle of test", o.StaticSummary)
}

// A cycle that ends in an error makes the schedule's action an error, never
// a result without a status.
func TestScheduledCycleChildErrorIsAnError(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(StrictCycle, workflowOptions(StrictCycleName))
	env.OnWorkflow(StrictCycleName, mock.Anything, mock.Anything).Return(nil, errors.New("cycle blew up"))
	env.ExecuteWorkflow(ScheduledCycle, &StrictCycleInput{Target: cycletypes.Target{Environment: "test", Root: "/r", Contract: "fake"}})
	err := env.GetWorkflowError()
	require.ErrorContains(t, err, "cycle strictcycle-test-cycle run ")
	require.ErrorContains(t, err, "cycle blew up")
}

// The history an engineer reads names each step: the wait for a natural
// refresh, the restart, the watch after it, the recheck, the publication.
func TestStrictCycleActivitySummaries(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	co := &childOptions{}
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{co}})
	stack := newFakeStack()
	stack.verdict["event_store_integrity_freshness"] = cycletypes.VerdictStale
	stack.register(env)
	env.ExecuteWorkflow(StrictCycle, &StrictCycleInput{Target: cycletypes.Target{Environment: "test", Root: "/r", Contract: "fake"}})
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, []string{
		"load contract fake",
		"gate run",
		"wait for a natural refresh of event-store-service",
		"restart event-store-service (round 1)",
		"watch event-store-service until fresh after restart",
		"recheck event_store_integrity_freshness",
		"gate run",
		"publish PASS",
	}, co.summaries)
}
