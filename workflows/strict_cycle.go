package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/strictcycle/strictcycle/cycletypes"
)

// Phases reported by the status query and the StrictCyclePhase attribute
// (declared in cycletypes).
const (
	PhasePlan       = cycletypes.PhasePlan
	PhaseReplay     = cycletypes.PhaseReplay
	PhaseGates      = cycletypes.PhaseGates
	PhaseWaitFirst  = cycletypes.PhaseWaitFirst
	PhaseApproval   = cycletypes.PhaseApproval
	PhaseRestart    = cycletypes.PhaseRestart
	PhaseWatch      = cycletypes.PhaseWatch
	PhaseRecheck    = cycletypes.PhaseRecheck
	PhaseFinalGates = cycletypes.PhaseFinalGates
	PhasePublish    = cycletypes.PhasePublish
	PhaseDone       = cycletypes.PhaseDone
)

// Query and update names.
const (
	QueryStatus   = "status"
	UpdateApprove = "approve"
	UpdateAbort   = "abort"
	UpdateWaive   = "waive"
)

// Version change ids (workflow.GetVersion).
const (
	versionWaitFirst = "wait-first-natural-refresh"
	// versionContractHash: activity inputs carry the sha256 of the contract
	// the plan loaded, so every activity judges the same contract.
	versionContractHash = "contract-hash-in-inputs"
	// versionWaivedNoRestart: a service whose checks are all waived is not
	// restarted (as a protected one already was not).
	versionWaivedNoRestart = "waived-service-not-restarted"
)

// ApprovalTimeout bounds how long a cycle waits for an operator to approve
// the restart of a protected service before it fails closed.
const ApprovalTimeout = 30 * time.Minute

// MaxWaiver is the longest a waiver may last.
const MaxWaiver = 24 * time.Hour

// MinWaiver is the shortest a waiver may last: a waiver that expires at once
// would still end an approval wait (every check it covers looks waived at
// that instant) and then waive nothing.
const MinWaiver = time.Minute

// CycleStatus is what the status query returns.
type CycleStatus struct {
	Phase     cycletypes.Phase    `json:"phase"`
	Round     int                 `json:"round"`
	MaxRounds int                 `json:"max_rounds"`
	Status    cycletypes.Status   `json:"status,omitempty"`
	Failures  []string            `json:"failures"`
	WaitingOn []string            `json:"waiting_on,omitempty"`
	Restarts  []Restart           `json:"restarts"`
	Pending   []string            `json:"pending_approvals,omitempty"`
	Approved  []string            `json:"approved,omitempty"`
	Waivers   []cycletypes.Waiver `json:"waivers,omitempty"`
	Aborted   string              `json:"aborted,omitempty"`
	Since     time.Time           `json:"since"`
}

// ApproveRequest approves restarting a protected service.
type ApproveRequest struct {
	Service string `json:"service"`
	By      string `json:"by"`
}

// AbortRequest stops the cycle; it decides FAIL (fail closed).
type AbortRequest struct {
	Reason string `json:"reason"`
	By     string `json:"by"`
}

// WaiveRequest waives a critical check until Expires.
type WaiveRequest struct {
	Check   string        `json:"check"`
	Reason  string        `json:"reason"`
	By      string        `json:"by"`
	For     time.Duration `json:"for"`
	Expires time.Time     `json:"expires,omitempty"`
}

// MaxWaivers bounds the waivers one cycle accepts: each is kept in its
// history, status and decision.
const MaxWaivers = 64

// Validate checks what the request carries, without the cycle: the
// operator CLI calls it before it sends, the update's validator again.
func (r ApproveRequest) Validate() error {
	if r.Service == "" {
		return errors.New("approve: service is required")
	}
	return operatorName("approve", r.By)
}

// Validate checks what the request carries (see ApproveRequest.Validate).
func (r AbortRequest) Validate() error {
	if err := cycletypes.CheckOperatorText("abort: reason", r.Reason, cycletypes.MaxOperatorReason); err != nil {
		return err
	}
	return operatorName("abort", r.By)
}

// Validate checks what the request carries (see ApproveRequest.Validate);
// the expiry (MinWaiver to MaxWaiver away) is checked against the cycle's
// clock by the update's validator.
func (r WaiveRequest) Validate() error {
	if r.Check == "" {
		return errors.New("waive: check is required")
	}
	if err := cycletypes.CheckOperatorText("waive: reason", r.Reason, cycletypes.MaxOperatorReason); err != nil {
		return err
	}
	if err := operatorName("waive", r.By); err != nil {
		return err
	}
	if !r.Expires.IsZero() && r.For != 0 {
		return errors.New("waive: give for or expires, not both")
	}
	return nil
}

func operatorName(cmd, by string) error {
	return cycletypes.CheckOperatorText(cmd+": by", by, cycletypes.MaxOperatorName)
}

// strictCycle is the state of one StrictCycle run.
type strictCycle struct {
	in   *StrictCycleInput
	plan *cycletypes.Plan
	// contractSHA256 is the plan's contract hash, carried in every later
	// activity input (empty in runs recorded before it was).
	contractSHA256 string
	status         CycleStatus
	runID          string
	wfID           string

	approved map[string]bool
	waivers  []cycletypes.Waiver
	abortReq *AbortRequest
	cancel   workflow.CancelFunc
}

// StrictCycle runs replay, gate run, watch until fresh, recovery rounds and
// the decision. A failure no restart can cure fails closed at once; an
// activity that cannot complete fails closed with its error as the reason.
func StrictCycle(ctx workflow.Context, in *StrictCycleInput) (*StrictCycleResult, error) {
	if in == nil || in.Environment == "" || in.Root == "" || in.Contract == "" {
		return nil, temporal.NewNonRetryableApplicationError("strict cycle input needs environment, root and contract", cycletypes.ErrTypeBadInput, nil)
	}
	info := workflow.GetInfo(ctx)
	s := &strictCycle{
		in:       in,
		runID:    info.WorkflowExecution.RunID,
		wfID:     info.WorkflowExecution.ID,
		approved: map[string]bool{},
	}
	s.status.Since = workflow.Now(ctx)
	if err := s.setup(ctx); err != nil {
		return nil, err
	}
	return s.run(ctx)
}

func (s *strictCycle) setup(ctx workflow.Context) error {
	if err := checkEnvironment(ctx, s.in.Environment); err != nil {
		return err
	}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (CycleStatus, error) {
		st := s.status
		st.Waivers = slices.Clone(s.waivers)
		return st, nil
	}); err != nil {
		return fmt.Errorf("set status query: %w", err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateApprove,
		func(ctx workflow.Context, req ApproveRequest) (string, error) {
			s.approved[req.Service] = true
			s.status.Approved = append(s.status.Approved, req.Service)
			workflow.GetLogger(ctx).Info("restart approved", "service", req.Service, "by", req.By)
			return "approved " + req.Service, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(req ApproveRequest) error {
			if err := req.Validate(); err != nil {
				return err
			}
			if s.approved[req.Service] {
				return fmt.Errorf("approve: service %q is already approved", req.Service)
			}
			if s.plan == nil {
				return errors.New("approve: cycle has not loaded its contract yet")
			}
			if _, ok := s.plan.Services[req.Service]; !ok {
				return fmt.Errorf("approve: service %q is not in contract %s", req.Service, s.plan.Contract)
			}
			return nil
		}}); err != nil {
		return fmt.Errorf("set approve update: %w", err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateAbort,
		func(ctx workflow.Context, req AbortRequest) (string, error) {
			if s.abortReq == nil {
				s.abortReq = &req
				s.status.Aborted = fmt.Sprintf("%s: %s", req.By, req.Reason)
				if s.cancel != nil {
					s.cancel()
				}
			}
			return "aborting", nil
		},
		workflow.UpdateHandlerOptions{Validator: func(req AbortRequest) error {
			if err := req.Validate(); err != nil {
				return err
			}
			if s.status.Phase == PhasePublish || s.status.Phase == PhaseDone {
				return fmt.Errorf("abort: cycle is already %s", s.status.Phase)
			}
			return nil
		}}); err != nil {
		return fmt.Errorf("set abort update: %w", err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateWaive,
		func(ctx workflow.Context, req WaiveRequest) (cycletypes.Waiver, error) {
			exp := req.Expires
			if exp.IsZero() {
				exp = workflow.Now(ctx).Add(req.For)
			}
			w := cycletypes.Waiver{Check: req.Check, Reason: req.Reason, By: req.By, Expires: exp}
			s.waivers = append(s.waivers, w)
			workflow.GetLogger(ctx).Info("check waived", "check", req.Check, "by", req.By, "expires", exp)
			return w, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(req WaiveRequest) error {
			return s.validateWaive(ctx, req)
		}}); err != nil {
		return fmt.Errorf("set waive update: %w", err)
	}
	return nil
}

func (s *strictCycle) validateWaive(ctx workflow.Context, req WaiveRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	if len(s.waivers) >= MaxWaivers {
		return fmt.Errorf("waive: this cycle already holds %d waivers", MaxWaivers)
	}
	if s.plan == nil {
		return errors.New("waive: cycle has not loaded its contract yet")
	}
	i := slices.IndexFunc(s.plan.Checks, func(c cycletypes.PlanCheck) bool { return c.Name == req.Check })
	if i < 0 {
		return fmt.Errorf("waive: check %q is not in contract %s", req.Check, s.plan.Contract)
	}
	now := workflow.Now(ctx)
	exp := req.Expires
	if exp.IsZero() {
		exp = now.Add(req.For)
	}
	if !exp.After(now) {
		return errors.New("waive: expiry must be in the future")
	}
	// Sub saturates, so an expiry in year 9999 is refused here too.
	if d := exp.Sub(now); d > MaxWaiver {
		return fmt.Errorf("waive: expiry %s is more than %s away", exp.Format(time.RFC3339), MaxWaiver)
	} else if d < MinWaiver {
		return fmt.Errorf("waive: expiry %s is less than %s away", exp.Format(time.RFC3339), MinWaiver)
	}
	return nil
}

func (s *strictCycle) setPhase(ctx workflow.Context, phase cycletypes.Phase, waiting ...string) {
	s.status.Phase = phase
	s.status.WaitingOn = waiting
	// Shown by the Web UI and `temporal workflow describe` while it runs.
	details := fmt.Sprintf("**%s** (round %d/%d)", phase, s.status.Round, s.maxRounds())
	if len(waiting) > 0 {
		details += " waiting on " + strings.Join(waiting, ", ")
	}
	if len(s.status.Failures) > 0 {
		details += "; failing: " + strings.Join(s.status.Failures, ", ")
	}
	workflow.SetCurrentDetails(ctx, details)
	// The phase attribute is best effort: a failure to upsert must not stop
	// a cycle, and upserts are cheap commands in history.
	_ = workflow.UpsertTypedSearchAttributes(ctx, SAPhase.ValueSet(string(phase)))
}

// target is the stack every activity works on, with the planned contract's
// hash once the plan is loaded.
func (s *strictCycle) target() cycletypes.Target {
	t := s.in.Target
	t.ContractSHA256 = s.contractSHA256
	return t
}

// artifactRoot is where decision artifacts go; a dry run writes none.
func (s *strictCycle) artifactRoot() string {
	if s.in.DryRun {
		return ""
	}
	return s.in.Root
}

func (s *strictCycle) run(root workflow.Context) (*StrictCycleResult, error) {
	logger := workflow.GetLogger(root)
	_ = workflow.UpsertTypedSearchAttributes(root, SAEnvironment.ValueSet(s.in.Environment), SAStatus.ValueSet(string(cycletypes.StatusRunning)))

	// Activities run under a cancellable context so an abort stops them at
	// once; the decision is published under the root context.
	ctx, cancel := workflow.WithCancel(root)
	s.cancel = cancel
	res := &StrictCycleResult{}

	s.setPhase(root, PhasePlan)
	var plan cycletypes.Plan
	if err := workflow.ExecuteActivity(withOptions(ctx, planOptions, "load contract "+s.in.Contract), cycletypes.DescribeContractName, s.target()).Get(ctx, &plan); err != nil {
		return s.decide(root, res, nil, fmt.Sprintf("load contract %s: %s", s.in.Contract, errMessage(err)))
	}
	s.plan = &plan
	s.contractSHA256 = plannedContract(ctx, &plan)
	s.status.MaxRounds = s.maxRounds()

	if plan.ReplayCheck != "" && !s.in.SkipReplay {
		s.setPhase(root, PhaseReplay)
		var rr cycletypes.RunReplayResult
		opts := replayOptions
		opts.StartToCloseTimeout = plan.ReplayTimeout + time.Minute
		err := workflow.ExecuteActivity(withOptions(ctx, opts, "replay regression"), cycletypes.RunReplayName,
			&cycletypes.RunReplayInput{Target: s.target(), RunID: s.runID}).Get(ctx, &rr)
		if err != nil {
			if s.aborted() {
				return s.decide(root, res, nil, "")
			}
			// The replay check is judged on whatever artifact exists; a
			// replay that could not run leaves it stale or failing.
			logger.Warn("replay did not complete", "error", err)
		}
	}

	s.setPhase(root, PhaseGates)
	summary, err := s.evaluate(ctx, nil, true)
	if err != nil {
		return s.decide(root, res, nil, s.errReason("gate run", err))
	}
	s.status.Status = summary.Status
	s.status.Failures = summary.CriticalFailures

	recovered := false
	for round := 1; summary.Status != cycletypes.StatusPass && round <= s.maxRounds(); round++ {
		groups, blocking := s.classify(summary)
		if blocking != "" {
			res.Reason = blocking
			break
		}
		s.status.Round = round
		res.Rounds = round
		recovered = true
		end, err := s.recoverRound(ctx, round, groups, res)
		if err != nil {
			return s.decide(root, res, summary, s.errReason(fmt.Sprintf("recovery round %d", round), err))
		}
		if end.Stop {
			res.Reason = end.Reason
			break
		}
		s.setPhase(root, PhaseRecheck)
		affected := affectedChecks(groups)
		recheck, err := s.evaluate(ctx, affected, false)
		if err != nil {
			return s.decide(root, res, summary, s.errReason("recheck", err))
		}
		if recheck.Status == cycletypes.StatusPass {
			break
		}
		// Carry the rechecked verdicts into the next round's classification.
		summary = mergeSummary(summary, recheck)
		if round == s.maxRounds() {
			res.Reason = fmt.Sprintf("still failing after %d recovery rounds: %s", round, strings.Join(recheck.CriticalFailures, ","))
		}
	}
	if recovered {
		s.setPhase(root, PhaseFinalGates)
		final, err := s.evaluate(ctx, nil, true)
		if err != nil {
			return s.decide(root, res, summary, s.errReason("final gate run", err))
		}
		summary = final
	}
	return s.decide(root, res, summary, res.Reason)
}

// plannedContract is the contract hash later activities must find, behind a
// version so that runs recorded before it replay with empty hashes.
func plannedContract(ctx workflow.Context, plan *cycletypes.Plan) string {
	if workflow.GetVersion(ctx, versionContractHash, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return ""
	}
	return plan.ContractSHA256
}

func (s *strictCycle) maxRounds() int {
	if s.in.MaxRounds > 0 {
		return s.in.MaxRounds
	}
	if s.plan != nil {
		return s.plan.MaxRounds
	}
	return cycletypes.DefaultMaxRounds
}

func (s *strictCycle) aborted() bool { return s.abortReq != nil }

func (s *strictCycle) errReason(what string, err error) string {
	if s.aborted() {
		return ""
	}
	return fmt.Sprintf("%s could not complete: %s", what, errMessage(err))
}

func (s *strictCycle) evaluate(ctx workflow.Context, only []string, write bool) (*cycletypes.GateSummary, error) {
	var out cycletypes.GateSummary
	summary := "gate run"
	if len(only) > 0 {
		summary = "recheck " + strings.Join(only, ",")
	}
	err := workflow.ExecuteActivity(withOptions(ctx, evaluateOptions, summary), cycletypes.EvaluateGatesName,
		&cycletypes.EvaluateGatesInput{
			Target:         s.target(),
			NoCommands:     s.in.NoCommands,
			Only:           only,
			Waivers:        slices.Clone(s.waivers),
			RunID:          s.runID,
			WriteArtifacts: write && !s.in.DryRun,
		}).Get(ctx, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// serviceGroup is the stale or missing checks one service produces.
type serviceGroup struct {
	Service string
	Checks  []string
}

// classify splits the critical failures into recoverable groups (stale or
// missing checks whose producer is a contract service) and returns a reason
// when any failure is not recoverable, so the cycle fails closed at once.
func (s *strictCycle) classify(sum *cycletypes.GateSummary) ([]serviceGroup, string) {
	var groups []serviceGroup
	var blocking []string
	for _, c := range sum.Checks {
		if c.Severity != cycletypes.SeverityCritical || c.Pass || c.Verdict == cycletypes.VerdictWaived {
			continue
		}
		_, known := s.plan.Services[c.Producer]
		recoverable := c.Verdict.Recoverable() && known
		if !recoverable {
			blocking = append(blocking, fmt.Sprintf("%s (%s)", c.Name, c.Verdict))
			continue
		}
		i := slices.IndexFunc(groups, func(g serviceGroup) bool { return g.Service == c.Producer })
		if i < 0 {
			groups = append(groups, serviceGroup{Service: c.Producer})
			i = len(groups) - 1
		}
		groups[i].Checks = append(groups[i].Checks, c.Name)
	}
	if len(blocking) > 0 {
		return nil, "non-recoverable critical failure: " + strings.Join(blocking, ", ")
	}
	return groups, ""
}

func affectedChecks(groups []serviceGroup) []string {
	var out []string
	for _, g := range groups {
		out = append(out, g.Checks...)
	}
	return out
}

// roundEnd is how a recovery round ended: Stop with a Reason when a
// service cannot be recovered in this cycle (the cycle then decides).
type roundEnd struct {
	Stop   bool
	Reason string
}

func stopRound(format string, args ...any) roundEnd {
	return roundEnd{Stop: true, Reason: fmt.Sprintf(format, args...)}
}

// watched is one service the round waits for after its restart: its
// checks, the time its report must reach (the restart time; zero when
// another cycle holds the lock) and the index of its restart record.
type watched struct {
	group     serviceGroup
	notBefore time.Time
	record    int
}

// recoverRound waits for a natural refresh (round 1), then restarts each
// still-stale producer once and watches its reports until fresh.
func (s *strictCycle) recoverRound(ctx workflow.Context, round int, groups []serviceGroup, res *StrictCycleResult) (roundEnd, error) {
	pending, err := s.waitFirst(ctx, round, groups)
	if err != nil || len(pending) == 0 {
		return roundEnd{}, err
	}
	var restarted []watched
	for _, g := range pending {
		if s.waivedAll(ctx, g.Checks) && workflow.GetVersion(ctx, versionWaivedNoRestart, workflow.DefaultVersion, 1) >= 1 {
			// Every check this restart was for is waived: a restart would
			// not change the decision, and a failed one would fail it.
			workflow.GetLogger(ctx).Info("restart skipped: every check waived", "service", g.Service, "round", round)
			continue
		}
		skip, end, err := s.awaitApproval(ctx, round, g, res)
		if err != nil || end.Stop {
			return end, err
		}
		if skip {
			continue
		}
		w, end, err := s.restart(ctx, round, g, res)
		if err != nil || end.Stop {
			return end, err
		}
		restarted = append(restarted, w)
	}
	return roundEnd{}, s.watchRestarted(ctx, round, restarted, res)
}

// waitFirst gives the stale reports of round 1 a bounded chance to refresh
// by themselves and returns the groups still stale after it.
func (s *strictCycle) waitFirst(ctx workflow.Context, round int, groups []serviceGroup) ([]serviceGroup, error) {
	v := workflow.GetVersion(ctx, versionWaitFirst, workflow.DefaultVersion, 1)
	if round != 1 || v < 1 || s.plan.WaitFirst <= 0 {
		return groups, nil
	}
	s.setPhase(ctx, PhaseWaitFirst, servicesOf(groups)...)
	targets := make([]watched, len(groups))
	for i, g := range groups {
		targets[i] = watched{group: g}
	}
	results, err := s.watchAll(ctx, targets, false, s.plan.WaitFirst)
	if err != nil {
		return nil, err
	}
	var pending []serviceGroup
	for i, g := range groups {
		if !results[i].Fresh {
			pending = append(pending, g)
		}
	}
	return pending, nil
}

// awaitApproval holds the restart of a protected service until an operator
// approves it, waives all its checks (skip), aborts, or ApprovalTimeout.
func (s *strictCycle) awaitApproval(ctx workflow.Context, round int, g serviceGroup, res *StrictCycleResult) (bool, roundEnd, error) {
	if !s.plan.Services[g.Service].Protected || s.approved[g.Service] || s.in.DryRun {
		return false, roundEnd{}, nil
	}
	s.status.Pending = appendUnique(s.status.Pending, g.Service)
	s.setPhase(ctx, PhaseApproval, g.Service)
	ok, err := workflow.AwaitWithTimeout(ctx, ApprovalTimeout, func() bool {
		return s.approved[g.Service] || s.aborted() || s.waivedAll(ctx, g.Checks)
	})
	if err != nil {
		return false, roundEnd{}, err
	}
	s.status.Pending = slices.DeleteFunc(s.status.Pending, func(p string) bool { return p == g.Service })
	if s.aborted() {
		return false, roundEnd{}, temporal.NewCanceledError()
	}
	if s.waivedAll(ctx, g.Checks) && !s.approved[g.Service] {
		// Every check this restart was for is waived: nothing to do.
		return true, roundEnd{}, nil
	}
	if !ok {
		s.record(res, round, g.Service, cycletypes.RestartProtected, time.Time{})
		return false, stopRound("protected service %s was not approved within %s", g.Service, ApprovalTimeout), nil
	}
	return false, roundEnd{}, nil
}

// restart restarts one service and says what to watch after it; a refusal
// (budget, dry run, protected) stops the round.
func (s *strictCycle) restart(ctx workflow.Context, round int, g serviceGroup, res *StrictCycleResult) (watched, roundEnd, error) {
	s.setPhase(ctx, PhaseRestart, g.Service)
	var rr cycletypes.RestartServiceResult
	err := workflow.ExecuteActivity(withOptions(ctx, restartOptions, fmt.Sprintf("restart %s (round %d)", g.Service, round)), cycletypes.RestartServiceName,
		&cycletypes.RestartServiceInput{
			Target: s.target(), Service: g.Service, RunID: s.runID, Round: round,
			Approved: s.approved[g.Service], DryRun: s.in.DryRun,
		}).Get(ctx, &rr)
	if err != nil {
		return watched{}, roundEnd{}, err
	}
	s.record(res, round, g.Service, rr.Outcome, rr.At)
	w := watched{group: g, record: len(res.Restarts) - 1}
	switch rr.Outcome {
	case cycletypes.RestartDone, cycletypes.RestartAlreadyDone:
		w.notBefore = rr.At
		return w, roundEnd{}, nil
	case cycletypes.RestartLockHeld:
		// Another cycle holds the service's lock and is restarting it: do
		// not restart again, wait for its report like ours.
		return w, roundEnd{}, nil
	case cycletypes.RestartBudgetExhausted:
		return w, stopRound("restart budget exhausted for %s (%d/%d in window): %s", g.Service, rr.BudgetUsed, rr.BudgetMax, strings.Join(g.Checks, ",")), nil
	case cycletypes.RestartDryRun:
		return w, stopRound("dry run: would restart %s for %s", g.Service, strings.Join(g.Checks, ",")), nil
	case cycletypes.RestartProtected:
		return w, stopRound("protected service %s needs an approval", g.Service), nil
	case cycletypes.RestartUnhealthy:
		// Restarted once and not healthy: a second restart in this round
		// would only repeat it, so the round fails closed with the reason.
		return w, stopRound("restarted %s but it is not healthy: %s", g.Service, rr.Detail), nil
	default:
		return w, stopRound("restart %s: unexpected outcome %q", g.Service, rr.Outcome), nil
	}
}

// watchRestarted watches the restarted services until their reports are
// fresh and records how long each took; one that stays stale is left to
// the recheck.
func (s *strictCycle) watchRestarted(ctx workflow.Context, round int, restarted []watched, res *StrictCycleResult) error {
	groups := make([]serviceGroup, len(restarted))
	for i, w := range restarted {
		groups[i] = w.group
	}
	s.setPhase(ctx, PhaseWatch, servicesOf(groups)...)
	results, err := s.watchAll(ctx, restarted, true, s.plan.WatchTimeout)
	if err != nil {
		return err
	}
	var stillStale []string
	for i, r := range results {
		if r.Fresh {
			res.Restarts[restarted[i].record].FreshAfterMS = r.WaitedMS
		} else {
			stillStale = append(stillStale, fmt.Sprintf("%s (%s)", restarted[i].group.Service, r.Reason))
		}
	}
	if len(stillStale) > 0 {
		workflow.GetLogger(ctx).Warn("reports not fresh after restart", "round", round, "services", stillStale)
	}
	return nil
}

// waivedAll reports whether every named check has an unexpired waiver.
func (s *strictCycle) waivedAll(ctx workflow.Context, checks []string) bool {
	now := workflow.Now(ctx)
	for _, c := range checks {
		if !slices.ContainsFunc(s.waivers, func(w cycletypes.Waiver) bool { return w.Check == c && w.Expires.After(now) }) {
			return false
		}
	}
	return len(checks) > 0
}

func (s *strictCycle) record(res *StrictCycleResult, round int, service string, outcome cycletypes.RestartOutcome, at time.Time) {
	r := Restart{Round: round, Service: service, Outcome: outcome, At: at}
	res.Restarts = append(res.Restarts, r)
	s.status.Restarts = append(s.status.Restarts, r)
}

// watchAll waits for each service's checks in parallel; afterRestart
// names the wait in the history (user metadata, not part of replay).
func (s *strictCycle) watchAll(ctx workflow.Context, targets []watched, afterRestart bool, timeout time.Duration) ([]cycletypes.WatchUntilFreshResult, error) {
	futures := make([]workflow.Future, len(targets))
	for i, w := range targets {
		opts := watchOptions
		opts.StartToCloseTimeout = timeout + time.Minute
		summary := "wait for a natural refresh of " + w.group.Service
		if afterRestart {
			summary = "watch " + w.group.Service + " until fresh after restart"
		}
		futures[i] = workflow.ExecuteActivity(withOptions(ctx, opts, summary), cycletypes.WatchUntilFreshName,
			&cycletypes.WatchUntilFreshInput{Target: s.target(), Service: w.group.Service, Checks: w.group.Checks, NotBefore: w.notBefore, Timeout: timeout})
	}
	out := make([]cycletypes.WatchUntilFreshResult, len(targets))
	var errs []error
	for i, f := range futures {
		if err := f.Get(ctx, &out[i]); err != nil {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

// decide finalises the result from the last gate summary and publishes it.
// With no summary (nothing could be evaluated) the decision is FAIL.
func (s *strictCycle) decide(ctx workflow.Context, res *StrictCycleResult, sum *cycletypes.GateSummary, reason string) (*StrictCycleResult, error) {
	res.Status = cycletypes.StatusFail
	if sum != nil {
		res.Status = sum.Status
		res.CriticalFailures = sum.CriticalFailures
		res.EvidenceBundleID = sum.EvidenceBundleID
		res.ContentDigest = sum.ContentDigest
		res.ArtifactPath = sum.ArtifactPath
		for _, c := range sum.Checks {
			if c.Verdict == cycletypes.VerdictWaived {
				res.Waived = append(res.Waived, c.Name)
			}
		}
	}
	res.DryRun = s.in.DryRun
	if s.aborted() {
		res.Status = cycletypes.StatusFail
		reason = fmt.Sprintf("aborted by %s: %s", s.abortReq.By, s.abortReq.Reason)
	}
	if res.Status == cycletypes.StatusPass {
		reason = ""
		if len(res.Restarts) > 0 {
			reason = fmt.Sprintf("passed after %d restart(s) in %d round(s)", len(res.Restarts), res.Rounds)
		}
	} else if reason == "" {
		reason = "critical failures: " + strings.Join(res.CriticalFailures, ",")
	}
	if res.CriticalFailures == nil {
		res.CriticalFailures = []string{}
	}
	res.Reason = reason
	res.DecidedAt = workflow.Now(ctx)
	s.status.Status = res.Status
	s.status.Failures = res.CriticalFailures

	s.setPhase(ctx, PhasePublish)
	var pub cycletypes.PublishDecisionResult
	restarts := make([]string, 0, len(res.Restarts))
	for _, r := range res.Restarts {
		restarts = append(restarts, fmt.Sprintf("%d:%s:%s", r.Round, r.Service, r.Outcome))
	}
	err := workflow.ExecuteActivity(withOptions(ctx, publishOptions, "publish "+string(res.Status)), cycletypes.PublishDecisionName,
		&cycletypes.PublishDecisionInput{
			Environment: s.in.Environment, WorkflowID: s.wfID, RunID: s.runID,
			Status: res.Status, CriticalFailures: res.CriticalFailures,
			EvidenceBundleID: res.EvidenceBundleID, ArtifactPath: res.ArtifactPath,
			Rounds: res.Rounds, Restarts: restarts, Reason: res.Reason, DecidedAt: res.DecidedAt,
			Waived: res.Waived, DryRun: res.DryRun, Root: s.artifactRoot(),
		}).Get(ctx, &pub)
	if err != nil {
		// The decision stands in history and in the result even when Redis
		// could not take it; say so instead of failing the workflow.
		res.PublishError = errMessage(err)
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx,
		SAStatus.ValueSet(string(res.Status)),
		SAFailures.ValueSet(res.CriticalFailures),
		SARestarts.ValueSet(int64(countRestarts(res.Restarts))),
		SAPhase.ValueSet(string(PhaseDone)))
	s.status.Phase = PhaseDone
	s.status.WaitingOn = nil
	return res, nil
}

func countRestarts(rs []Restart) int {
	n := 0
	for _, r := range rs {
		if r.Outcome.Restarted() {
			n++
		}
	}
	return n
}

// mergeSummary overlays rechecked checks on the previous full summary.
func mergeSummary(full, recheck *cycletypes.GateSummary) *cycletypes.GateSummary {
	out := *full
	out.Checks = slices.Clone(full.Checks)
	for _, rc := range recheck.Checks {
		for i := range out.Checks {
			if out.Checks[i].Name == rc.Name {
				out.Checks[i] = rc
			}
		}
	}
	return &out
}

func servicesOf(groups []serviceGroup) []string {
	out := make([]string, 0, len(groups))
	for _, g := range groups {
		out = append(out, g.Service)
	}
	return out
}

func appendUnique(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

// errMessage unwraps Temporal's activity error to its cause's message.
func errMessage(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) {
		return "canceled"
	}
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		return "timeout (" + timeout.TimeoutType().String() + ")"
	}
	return err.Error()
}
