package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/temporalclient"
	"github.com/strictcycle/strictcycle/workflows"
)

// scheduleCmd manages the per-environment schedule. Temporal Schedules
// replace the Python watch loop; overlap is skipped, so a slow cycle never
// piles up behind itself. Its action is a ScheduledCycle, which runs the
// cycle under the environment's one cycle id: a manual `run` and a
// scheduled cycle exclude each other by that id.
func scheduleCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return fail(stderr, errors.New("schedule: want create|list|pause|unpause|trigger|delete"))
	}
	verb := args[0]
	c, err := newCommon("schedule "+verb, stderr)
	if err != nil {
		return fail(stderr, err)
	}
	t := c.targetFlags()
	every := c.fs.Duration("every", c.cfg.ScheduleEvery, "interval between cycles (STRICTCYCLE_SCHEDULE_EVERY)")
	noCommands := c.fs.Bool("no-commands", false, "judge command checks on their last artifacts")
	note := c.fs.String("note", "", "pause/unpause note")
	register := c.fs.Bool("register-search-attributes", false, "create: first register strictcycle's search attributes in the namespace (idempotent)")
	if !c.parse(args[1:], stderr) {
		return exitError
	}
	if verb == "create" {
		// Refused before anything is dialled or created.
		if err := config.ValidateScheduleEvery(*every); err != nil {
			return fail(stderr, fmt.Errorf("flag --every: %w", err))
		}
		if _, err := c.resolveTarget(t); err != nil {
			return fail(stderr, err)
		}
	}
	cl, err := c.dial(ctx)
	if err != nil {
		return fail(stderr, err)
	}
	defer cl.Close()
	sc := cl.ScheduleClient()
	id := workflows.ScheduleID(c.cfg.Environment)
	h := sc.GetHandle(ctx, id)
	switch verb {
	case "create":
		if *register {
			if err := temporalclient.EnsureSearchAttributes(ctx, cl.OperatorService(), c.cfg.Temporal.Namespace, workflows.SearchAttributeKeys()); err != nil {
				return fail(stderr, fmt.Errorf("register search attributes: %w", err))
			}
		}
		in := &workflows.StrictCycleInput{Target: *t, NoCommands: *noCommands}
		spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: *every}}}
		action := &client.ScheduleWorkflowAction{
			ID:        workflows.ScheduledID(c.cfg.Environment),
			Workflow:  workflows.ScheduledCycleName,
			Args:      []any{in},
			TaskQueue: c.cfg.TaskQueue,
			// The wrapper lives as long as its cycle, plus the start.
			WorkflowExecutionTimeout: workflows.CycleTimeout + 5*time.Minute,
		}
		_, err := sc.Create(ctx, client.ScheduleOptions{
			ID: id, Spec: spec, Action: action, Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		})
		if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
			// Create is idempotent: an existing schedule takes the new
			// interval and input (the compose setup job runs on every up).
			err = h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(u client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
				sched := u.Description.Schedule
				sched.Spec = &spec
				sched.Action = action
				if sched.Policy == nil {
					sched.Policy = &client.SchedulePolicies{}
				}
				sched.Policy.Overlap = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
				return &client.ScheduleUpdate{Schedule: &sched}, nil
			}})
			if err != nil {
				return fail(stderr, fmt.Errorf("update schedule %s: %w", id, err))
			}
			fmt.Fprintf(stdout, "schedule %s updated\n", id)
		} else if err != nil {
			return fail(stderr, fmt.Errorf("create schedule %s: %w", id, err))
		}
		fmt.Fprintf(stdout, "schedule %s: a strict cycle every %s in %s (overlap: skip)\n", id, every, c.cfg.Environment)
	case "list":
		it, err := sc.List(ctx, client.ScheduleListOptions{})
		if err != nil {
			return fail(stderr, fmt.Errorf("list schedules: %w", err))
		}
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				return fail(stderr, fmt.Errorf("list schedules: %w", err))
			}
			fmt.Fprintf(stdout, "%-40s paused=%t next=%v\n", e.ID, e.Paused, e.NextActionTimes)
		}
	case "pause":
		if err := h.Pause(ctx, client.SchedulePauseOptions{Note: *note}); err != nil {
			return fail(stderr, fmt.Errorf("pause schedule %s: %w", id, err))
		}
		fmt.Fprintf(stdout, "schedule %s paused\n", id)
	case "unpause":
		if err := h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: *note}); err != nil {
			return fail(stderr, fmt.Errorf("unpause schedule %s: %w", id, err))
		}
		fmt.Fprintf(stdout, "schedule %s unpaused\n", id)
	case "trigger":
		if err := h.Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP}); err != nil {
			return fail(stderr, fmt.Errorf("trigger schedule %s: %w", id, err))
		}
		fmt.Fprintf(stdout, "schedule %s triggered\n", id)
	case "delete":
		if err := h.Delete(ctx); err != nil {
			return fail(stderr, fmt.Errorf("delete schedule %s: %w", id, err))
		}
		fmt.Fprintf(stdout, "schedule %s deleted\n", id)
	default:
		return fail(stderr, fmt.Errorf("schedule: unknown verb %q (want create|list|pause|unpause|trigger|delete)", verb))
	}
	return exitPass
}
