package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultHealthTimeout bounds the wait for a restarted container to turn
// healthy when recovery.docker.health_timeout is not set. It stays well
// under the restart activity's start-to-close limit (2m) together with the
// stop grace period.
const DefaultHealthTimeout = 60 * time.Second

// healthPoll is how often the engine is asked for a container's health
// while the driver waits (the engine runs the probe at its own interval).
const healthPoll = 250 * time.Millisecond

// Health statuses a HealthWait ends with.
const (
	HealthHealthy   = "healthy"
	HealthRunning   = "running" // no healthcheck: running is all there is to know
	HealthUnhealthy = "unhealthy"
	HealthExited    = "exited"
	HealthStarting  = "starting" // still starting when the wait ran out
)

// HealthWait is what a driver saw after a restart while it waited, bounded,
// for the service's containers to turn healthy.
type HealthWait struct {
	// Status is the worst container's final status (Health* constants).
	Status string
	// Waited is the time from the engine's answer to the last restart to
	// the end of the wait.
	Waited time.Duration
	// Detail names what was done per container and how it ended.
	Detail string
}

// NotHealthyError is a restart that happened but did not leave the service
// healthy: a container exited again, turned unhealthy, or was still
// starting when the wait ran out. The restart is not retried (it would only
// repeat); the round fails closed with the engine's last health log line.
type NotHealthyError struct {
	Service string
	Wait    HealthWait
}

func (e *NotHealthyError) Error() string {
	return fmt.Sprintf("service %q is %s after %s: %s", e.Service, e.Wait.Status, e.Wait.Waited.Round(time.Millisecond), e.Wait.Detail)
}

// healthRestarter is a Driver whose restart waits for the service's health
// and says what it saw (the docker driver).
type healthRestarter interface {
	RestartHealthy(ctx context.Context, svc ServiceRef) (HealthWait, error)
}

// containerInfo is the part of GET /containers/{id}/json the driver reads.
type containerInfo struct {
	ID    string `json:"Id"`
	Name  string `json:"Name"`
	State struct {
		Status   string `json:"Status"`
		Running  bool   `json:"Running"`
		ExitCode int    `json:"ExitCode"`
		Health   *struct {
			Status string `json:"Status"`
			Log    []struct {
				ExitCode int    `json:"ExitCode"`
				Output   string `json:"Output"`
			} `json:"Log"`
		} `json:"Health"`
	} `json:"State"`
}

// name is the container's name without the leading slash, else its id.
func (c *containerInfo) name() string {
	if n := strings.TrimPrefix(c.Name, "/"); n != "" {
		return n
	}
	return c.ID
}

// lastHealthLog is the engine's last health probe output, one line.
func (c *containerInfo) lastHealthLog() string {
	h := c.State.Health
	if h == nil || len(h.Log) == 0 {
		return "no health probe has run"
	}
	l := h.Log[len(h.Log)-1]
	out := strings.Join(strings.Fields(l.Output), " ")
	if len(out) > 300 {
		out = out[:300] + "…"
	}
	return fmt.Sprintf("last health probe exit %d: %s", l.ExitCode, out)
}

// RestartHealthy restarts every container of the service — starting, not
// restarting, one that is not running — then waits, bounded by the health
// timeout, until each is healthy (running when it has no healthcheck). A
// container that exits or turns unhealthy ends the wait with a
// *NotHealthyError carrying the engine's last health log line.
func (d *DockerDriver) RestartHealthy(ctx context.Context, svc ServiceRef) (HealthWait, error) {
	if err := validServiceName(svc.Name); err != nil {
		return HealthWait{}, err
	}
	ids, err := d.containers(ctx, svc)
	if err != nil {
		return HealthWait{}, err
	}
	var done []string
	for _, id := range ids {
		c, err := d.inspect(ctx, svc, id)
		if err != nil {
			return HealthWait{}, err
		}
		action := "restart"
		if !c.State.Running {
			action = "start"
		}
		if err := d.post(ctx, svc, id, action); err != nil {
			return HealthWait{}, err
		}
		done = append(done, fmt.Sprintf("%s %s (was %s)", pastTenseOf(action), c.name(), c.State.Status))
	}
	w, err := d.waitHealthy(ctx, svc, ids)
	w.Detail = strings.Join(done, ", ") + "; " + w.Detail
	if err != nil {
		var nh *NotHealthyError
		if errors.As(err, &nh) {
			nh.Wait = w
		}
		return w, err
	}
	return w, nil
}

func pastTenseOf(action string) string {
	if action == "stop" {
		return "stopped"
	}
	return action + "ed"
}

// waitHealthy polls each container until it is healthy (or running without
// a healthcheck), fails at the first that exited or is unhealthy, and gives
// up at the health timeout.
func (d *DockerDriver) waitHealthy(ctx context.Context, svc ServiceRef, ids []string) (HealthWait, error) {
	start := time.Now()
	deadline := start.Add(d.healthTimeout)
	var ends []string
	status := HealthHealthy
	for _, id := range ids {
		st, end, err := d.waitOne(ctx, svc, id, deadline)
		ends = append(ends, end)
		if err != nil {
			return HealthWait{Status: st, Waited: time.Since(start), Detail: strings.Join(ends, ", ")}, err
		}
		if st == HealthRunning && status == HealthHealthy {
			status = HealthRunning
		}
	}
	return HealthWait{Status: status, Waited: time.Since(start), Detail: strings.Join(ends, ", ")}, nil
}

// waitOne waits for one container; it returns the final status and a
// sentence saying how it ended.
func (d *DockerDriver) waitOne(ctx context.Context, svc ServiceRef, id string, deadline time.Time) (string, string, error) {
	t := time.NewTicker(healthPoll)
	defer t.Stop()
	for {
		c, err := d.inspect(ctx, svc, id)
		if err != nil {
			return "", "", err
		}
		if st, end, final := judgeHealth(c); final {
			if st == HealthExited || st == HealthUnhealthy {
				return st, end, &NotHealthyError{Service: svc.Name}
			}
			return st, end, nil
		}
		if !time.Now().Before(deadline) {
			end := fmt.Sprintf("%s still %s after the %s health wait (%s)", c.name(), HealthStarting, d.healthTimeout, c.lastHealthLog())
			return HealthStarting, end, &NotHealthyError{Service: svc.Name}
		}
		select {
		case <-ctx.Done():
			return "", "", fmt.Errorf("docker wait for health of %q (service %q): %w", id, svc.Name, ctx.Err())
		case <-t.C:
		}
	}
}

// judgeHealth says whether the container's state ends the wait, and how.
func judgeHealth(c *containerInfo) (status, end string, final bool) {
	switch {
	case !c.State.Running:
		return HealthExited, fmt.Sprintf("%s %s with code %d after the restart (%s)", c.name(), c.State.Status, c.State.ExitCode, c.lastHealthLog()), true
	case c.State.Health == nil:
		return HealthRunning, c.name() + " running (no healthcheck)", true
	case c.State.Health.Status == HealthHealthy:
		return HealthHealthy, c.name() + " healthy", true
	case c.State.Health.Status == HealthUnhealthy:
		return HealthUnhealthy, fmt.Sprintf("%s unhealthy (%s)", c.name(), c.lastHealthLog()), true
	}
	return HealthStarting, "", false
}

// inspect reads one container's state.
func (d *DockerDriver) inspect(ctx context.Context, svc ServiceRef, id string) (*containerInfo, error) {
	status, body, err := d.do(ctx, http.MethodGet, "/containers/"+url.PathEscape(id)+"/json")
	if err != nil {
		return nil, fmt.Errorf("docker inspect container %q (service %q): %w", id, svc.Name, err)
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("docker inspect container %q (service %q): %w", id, svc.Name, engineError(status, body))
	}
	var c containerInfo
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, fmt.Errorf("docker inspect container %q (service %q): decode: %w", id, svc.Name, err)
	}
	return &c, nil
}
