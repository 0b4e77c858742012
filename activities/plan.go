package activities

import (
	"context"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/cycletypes"
	"github.com/strictcycle/strictcycle/gates"
)

// Recovery defaults applied when a contract leaves them unset (declared in
// cycletypes, where the workflows read them too).
const (
	DefaultWaitFirst     = cycletypes.DefaultWaitFirst
	DefaultWatchTimeout  = cycletypes.DefaultWatchTimeout
	DefaultMaxRounds     = cycletypes.DefaultMaxRounds
	DefaultReplayTimeout = cycletypes.DefaultReplayTimeout
)

// DescribeContract loads the contract and returns its Plan.
func (a *Activities) DescribeContract(ctx context.Context, in *Target) (*Plan, error) {
	// a.contract uses the injected loader (config.LoadContractDigest by default)
	// and makes a load failure non-retryable ErrTypeBadContract.
	c, sum, err := a.contractDigest(*in)
	if err != nil {
		return nil, err
	}
	p := PlanOf(c, in.CI)
	p.ContractSHA256 = sum
	return p, nil
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
	if p.Window <= 0 {
		p.Window = gates.DefaultWindow
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
		p.Checks = append(p.Checks, PlanCheck{Name: ch.Name, Severity: cycletypes.Severity(ch.Severity), Kind: ch.Kind, Producer: ch.Producer})
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
