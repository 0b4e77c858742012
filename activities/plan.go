package activities

import (
	"context"
	"time"

	"github.com/strictcycle/strictcycle/config"
)

// DescribeContractName is the activity that hands the workflow the parts of
// the contract it orchestrates with (workflows never read files).
const DescribeContractName = "DescribeContract"

// Plan is what a workflow needs to know about a contract.
type Plan struct {
	Contract      string                 `json:"contract"`
	Checks        []PlanCheck            `json:"checks"`
	Services      map[string]PlanService `json:"services"`
	ReplayCheck   string                 `json:"replay_check,omitempty"`
	ReplayTimeout time.Duration          `json:"replay_timeout,omitempty"`
	WaitFirst     time.Duration          `json:"wait_first"`
	WatchTimeout  time.Duration          `json:"watch_timeout"`
	MaxRounds     int                    `json:"max_rounds"`
	MaxRestarts   int                    `json:"max_restarts"`
	Window        time.Duration          `json:"window"`
}

// PlanCheck is one check's name, severity and producing service.
type PlanCheck struct {
	Name     string `json:"name"`
	Severity string `json:"severity"`
	Kind     string `json:"kind"`
	Producer string `json:"producer,omitempty"`
}

// PlanService is one restart target.
type PlanService struct {
	Protected bool   `json:"protected"`
	Driver    string `json:"driver"`
}

// Recovery defaults applied when a contract leaves them unset.
const (
	DefaultWaitFirst     = 30 * time.Second
	DefaultWatchTimeout  = 3 * time.Minute
	DefaultMaxRounds     = 2
	DefaultReplayTimeout = 30 * time.Minute
)

// DescribeContract loads the contract and returns its Plan.
func (a *Activities) DescribeContract(ctx context.Context, in *Target) (*Plan, error) {
	// a.contract uses the injected loader (config.LoadContract by default)
	// and makes a load failure non-retryable ErrTypeBadContract.
	c, err := a.contract(*in)
	if err != nil {
		return nil, err
	}
	return PlanOf(c, in.CI), nil
}

// PlanOf derives the Plan of a loaded contract.
func PlanOf(c *config.Contract, ci bool) *Plan {
	p := &Plan{
		Contract:     c.Name,
		Services:     make(map[string]PlanService, len(c.Services)),
		WaitFirst:    c.Recovery.WaitFirst,
		WatchTimeout: c.Recovery.WatchTimeout,
		MaxRounds:    c.Recovery.MaxRounds,
		MaxRestarts:  c.Recovery.MaxRestarts,
		Window:       c.Freshness.Window,
	}
	if ci && c.Freshness.CIWindow > 0 {
		p.Window = c.Freshness.CIWindow
	}
	if p.WaitFirst == 0 {
		p.WaitFirst = DefaultWaitFirst
	}
	if p.WatchTimeout == 0 {
		p.WatchTimeout = DefaultWatchTimeout
	}
	if p.MaxRounds == 0 {
		p.MaxRounds = DefaultMaxRounds
	}
	for _, ch := range c.Checks {
		p.Checks = append(p.Checks, PlanCheck{Name: ch.Name, Severity: ch.Severity, Kind: ch.Kind, Producer: ch.Producer})
	}
	for name, s := range c.Services {
		d := s.Driver
		if d == "" {
			d = c.Recovery.Driver
		}
		p.Services[name] = PlanService{Protected: s.Protected, Driver: d}
	}
	if c.Replay != nil {
		p.ReplayCheck = c.Replay.Check
		p.ReplayTimeout = c.Replay.Timeout
		if p.ReplayTimeout == 0 {
			p.ReplayTimeout = DefaultReplayTimeout
		}
	}
	return p
}
