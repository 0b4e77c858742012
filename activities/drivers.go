package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/procrun"
	"github.com/strictcycle/strictcycle/redact"
)

// Driver restarts, stops and starts one service of the stack.
type Driver interface {
	Restart(ctx context.Context, svc ServiceRef) error
	Stop(ctx context.Context, svc ServiceRef) error
	Start(ctx context.Context, svc ServiceRef) error
	// Name is the driver kind (docker, compose, exec).
	Name() string
}

// ServiceRef is the service a driver acts on.
type ServiceRef struct {
	// Name is the compose service name (a key of Contract.Services).
	Name string
	// Root is the stack root: cwd of compose and exec, {root} in templates.
	Root string
	Spec config.Service
}

// DriverFactory builds the driver of one service; a configuration error is
// wrapped in a *DriverConfigError.
type DriverFactory func(rec config.Recovery, svc config.Service, name string) (Driver, error)

// DriverConfigError is a misconfigured driver: retrying cannot help.
type DriverConfigError struct{ Err error }

func (e *DriverConfigError) Error() string { return e.Err.Error() }
func (e *DriverConfigError) Unwrap() error { return e.Err }

func configErr(format string, args ...any) error {
	return &DriverConfigError{Err: fmt.Errorf(format, args...)}
}

// serviceNameRE is what a service name may look like before it goes into
// an argv or a URL: no shell metacharacters, no leading dash (an option).
var serviceNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)

// containerNameRE is Docker's rule for container names.
var containerNameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

func validServiceName(name string) error {
	if !serviceNameRE.MatchString(name) {
		return configErr("service name %q: must match %s", name, serviceNameRE)
	}
	return nil
}

// driverKind is the driver a service uses: its own, the recovery default,
// else docker (the Engine API needs no CLI in the worker image).
func driverKind(rec config.Recovery, svc config.Service) string {
	switch {
	case svc.Driver != "":
		return svc.Driver
	case rec.Driver != "":
		return rec.Driver
	default:
		return config.DriverDocker
	}
}

// NewDriver is the default DriverFactory.
func NewDriver(rec config.Recovery, svc config.Service, name string) (Driver, error) {
	if err := validServiceName(name); err != nil {
		return nil, err
	}
	switch kind := driverKind(rec, svc); kind {
	case config.DriverDocker:
		return NewDockerDriver(rec.Docker), nil
	case config.DriverCompose:
		return &composeDriver{cfg: rec.Compose}, nil
	case config.DriverExec:
		if len(rec.Exec.Restart) == 0 && len(rec.Exec.Stop) == 0 && len(rec.Exec.Start) == 0 {
			return nil, configErr("exec driver for %q: no restart, stop or start template", name)
		}
		return &execDriver{cfg: rec.Exec}, nil
	default:
		return nil, configErr("driver for %q: unknown driver %q (want docker, compose or exec)", name, kind)
	}
}

// driversWithSecrets is NewDriver whose compose and exec drivers mask the
// worker's secrets in what their commands print.
func driversWithSecrets(secrets *redact.Redactor) DriverFactory {
	return func(rec config.Recovery, svc config.Service, name string) (Driver, error) {
		d, err := NewDriver(rec, svc, name)
		switch d := d.(type) {
		case *composeDriver:
			d.secrets = secrets
		case *execDriver:
			d.secrets = secrets
		}
		return d, err
	}
}

// --- docker: Engine API over the unix socket ---

// DefaultDockerSocket is the Engine API socket when none is configured.
const DefaultDockerSocket = "/var/run/docker.sock"

// DockerDriver talks to the Docker Engine API over a unix socket with plain
// HTTP: no docker CLI. It finds containers by the compose labels
// com.docker.compose.project and com.docker.compose.service; when several
// containers match (a scaled service), it acts on all of them, as
// `docker compose restart <service>` does, and fails at the first error.
type DockerDriver struct {
	socket  string
	project string
	// stopTimeout is the ?t= grace period before the engine kills.
	stopTimeout time.Duration
	// healthTimeout bounds the wait for healthy after a restart.
	healthTimeout time.Duration
	client        *http.Client
}

// NewDockerDriver returns the docker driver for cfg.
func NewDockerDriver(cfg config.DockerDriver) *DockerDriver {
	socket := cfg.Socket
	if socket == "" {
		socket = DefaultDockerSocket
	}
	t := cfg.Timeout
	if t <= 0 {
		t = 10 * time.Second
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		MaxIdleConns:    2,
		IdleConnTimeout: 30 * time.Second,
	}
	// The engine answers a restart after the stop grace period and the
	// start; the client allows that plus a margin.
	ht := cfg.HealthTimeout
	if ht <= 0 {
		ht = DefaultHealthTimeout
	}
	return &DockerDriver{socket: socket, project: cfg.Project, stopTimeout: t, healthTimeout: ht,
		client: &http.Client{Transport: tr, Timeout: t + 60*time.Second}}
}

// Name implements Driver.
func (d *DockerDriver) Name() string { return config.DriverDocker }

// Restart implements Driver: RestartHealthy without the report.
func (d *DockerDriver) Restart(ctx context.Context, svc ServiceRef) error {
	_, err := d.RestartHealthy(ctx, svc)
	return err
}

// Stop implements Driver.
func (d *DockerDriver) Stop(ctx context.Context, svc ServiceRef) error {
	return d.act(ctx, svc, "stop")
}

// Start implements Driver.
func (d *DockerDriver) Start(ctx context.Context, svc ServiceRef) error {
	return d.act(ctx, svc, "start")
}

func (d *DockerDriver) act(ctx context.Context, svc ServiceRef, action string) error {
	if err := validServiceName(svc.Name); err != nil {
		return err
	}
	ids, err := d.containers(ctx, svc)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := d.post(ctx, svc, id, action); err != nil {
			return err
		}
	}
	return nil
}

// post asks the engine to restart, stop or start one container.
func (d *DockerDriver) post(ctx context.Context, svc ServiceRef, id, action string) error {
	q := ""
	if action != "start" {
		q = "?t=" + strconv.Itoa(int(d.stopTimeout.Seconds()))
	}
	status, body, err := d.do(ctx, http.MethodPost, "/containers/"+url.PathEscape(id)+"/"+action+q)
	if err != nil {
		return fmt.Errorf("docker %s container %q (service %q): %w", action, id, svc.Name, err)
	}
	// 304: already started / already stopped.
	if status != http.StatusNoContent && status != http.StatusNotModified {
		return fmt.Errorf("docker %s container %q (service %q): %w", action, id, svc.Name, engineError(status, body))
	}
	return nil
}

// containers resolves the service to container ids: by compose labels, or
// by the configured container name when no project is configured.
func (d *DockerDriver) containers(ctx context.Context, svc ServiceRef) ([]string, error) {
	if d.project == "" && svc.Spec.Container != "" {
		// The name goes into the Engine API URL path: refuse "..", a slash
		// or anything the contract validation would have refused.
		if !containerNameRE.MatchString(svc.Spec.Container) {
			return nil, configErr("docker container %q (service %q): must match %s", svc.Spec.Container, svc.Name, containerNameRE)
		}
		return []string{svc.Spec.Container}, nil
	}
	labels := []string{}
	if d.project != "" {
		labels = append(labels, "com.docker.compose.project="+d.project)
	}
	labels = append(labels, "com.docker.compose.service="+svc.Name)
	filters, err := json.Marshal(map[string][]string{"label": labels})
	if err != nil {
		return nil, fmt.Errorf("docker find service %q: %w", svc.Name, err)
	}
	path := "/containers/json?all=1&filters=" + url.QueryEscape(string(filters))
	status, body, err := d.do(ctx, http.MethodGet, path)
	if err != nil {
		return nil, fmt.Errorf("docker find service %q: %w", svc.Name, err)
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("docker find service %q: %w", svc.Name, engineError(status, body))
	}
	var list []struct {
		ID     string            `json:"Id"`
		Labels map[string]string `json:"Labels"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("docker find service %q: decode container list: %w", svc.Name, err)
	}
	if len(list) == 0 {
		// Not retried: a service the engine has no container for is a
		// deployment or contract mistake (project or service name), and
		// restarting nothing cannot make its report fresh.
		return nil, configErr("docker find service %q: no container with labels %s", svc.Name, strings.Join(labels, ", "))
	}
	ids := make([]string, 0, len(list))
	projects := map[string]bool{}
	for _, c := range list {
		ids = append(ids, c.ID)
		projects[c.Labels["com.docker.compose.project"]] = true
	}
	if d.project == "" && len(projects) > 1 {
		return nil, configErr("docker find service %q: containers of %d compose projects match; set recovery.docker.project", svc.Name, len(projects))
	}
	slices.Sort(ids)
	return ids, nil
}

func (d *DockerDriver) do(ctx context.Context, method, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://docker"+path, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("engine API at %s: %w", d.socket, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("engine API at %s: read response: %w", d.socket, err)
	}
	return resp.StatusCode, body, nil
}

// engineError carries the engine's {"message": ...}.
func engineError(status int, body []byte) error {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		return fmt.Errorf("engine API %d: %s", status, e.Message)
	}
	return fmt.Errorf("engine API %d: %s", status, strings.TrimSpace(string(body)))
}

// --- compose: `docker compose ... <action> <service>` as an argv ---

const defaultCommandTimeout = 3 * time.Minute

type composeDriver struct {
	cfg     config.ComposeDriver
	secrets *redact.Redactor
}

func (d *composeDriver) Name() string { return config.DriverCompose }

func (d *composeDriver) Restart(ctx context.Context, svc ServiceRef) error {
	return d.run(ctx, svc, "restart")
}
func (d *composeDriver) Stop(ctx context.Context, svc ServiceRef) error {
	return d.run(ctx, svc, "stop")
}
func (d *composeDriver) Start(ctx context.Context, svc ServiceRef) error {
	return d.run(ctx, svc, "start")
}

// composeArgv builds [command...] [--env-file F] [-f file]... [--profile p]...
// <action> <service>. Profiles are passed for restart/stop/start too, as
// the operator's own command line would have them: older compose v2
// releases activate a targeted service's profile for up/run only (v2.40.3,
// the one tested on a real engine, restarts a profiled service named
// explicitly without them).
func composeArgv(cfg config.ComposeDriver, svc ServiceRef, action string) []string {
	argv := slices.Clone(cfg.Command)
	if len(argv) == 0 {
		argv = []string{"docker", "compose"}
	}
	if cfg.EnvFile != "" {
		argv = append(argv, "--env-file", cfg.EnvFile)
	}
	for _, f := range cfg.Files {
		argv = append(argv, "-f", f)
	}
	var profiles []string
	for _, p := range slices.Concat(cfg.Profiles, svc.Spec.Profiles) {
		if !slices.Contains(profiles, p) {
			profiles = append(profiles, p)
		}
	}
	for _, p := range profiles {
		argv = append(argv, "--profile", p)
	}
	return append(argv, action, svc.Name)
}

func (d *composeDriver) run(ctx context.Context, svc ServiceRef, action string) error {
	if err := validServiceName(svc.Name); err != nil {
		return err
	}
	return runDriverArgv(ctx, "compose", action, svc, composeArgv(d.cfg, svc, action), defaultCommandTimeout, d.cfg.ChildEnv, d.secrets)
}

// --- exec: configured argv templates ---

type execDriver struct {
	cfg     config.ExecDriver
	secrets *redact.Redactor
}

func (d *execDriver) Name() string { return config.DriverExec }

func (d *execDriver) Restart(ctx context.Context, svc ServiceRef) error {
	return d.run(ctx, svc, "restart", d.cfg.Restart)
}
func (d *execDriver) Stop(ctx context.Context, svc ServiceRef) error {
	return d.run(ctx, svc, "stop", d.cfg.Stop)
}
func (d *execDriver) Start(ctx context.Context, svc ServiceRef) error {
	return d.run(ctx, svc, "start", d.cfg.Start)
}

// expandTemplate substitutes {service} and {root} inside each argument. The
// service name is validated first; nothing goes through a shell.
func expandTemplate(tmpl []string, svc ServiceRef) ([]string, error) {
	if err := validServiceName(svc.Name); err != nil {
		return nil, err
	}
	r := strings.NewReplacer("{service}", svc.Name, "{root}", svc.Root)
	argv := make([]string, len(tmpl))
	for i, a := range tmpl {
		argv[i] = r.Replace(a)
	}
	return argv, nil
}

func (d *execDriver) run(ctx context.Context, svc ServiceRef, action string, tmpl []string) error {
	if len(tmpl) == 0 {
		return configErr("exec %s %q: no %s template configured", action, svc.Name, action)
	}
	argv, err := expandTemplate(tmpl, svc)
	if err != nil {
		return err
	}
	t := d.cfg.Timeout
	if t <= 0 {
		t = defaultCommandTimeout
	}
	return runDriverArgv(ctx, "exec", action, svc, argv, t, d.cfg.ChildEnv, d.secrets)
}

// runDriverArgv runs a driver command with cwd = root and an explicit
// environment (the base variables and those ce names, never the worker's
// others); a non-zero exit is an error carrying the output tail, masked
// against secrets and ce's secret values.
func runDriverArgv(ctx context.Context, kind, action string, svc ServiceRef, argv []string, timeout time.Duration,
	ce config.ChildEnv, secrets *redact.Redactor) error {
	red := secrets.With(redact.FromEnv(ce.SecretEnv)...)
	res, err := procrun.Run(ctx, procrun.Spec{Argv: argv, Dir: svc.Root, Timeout: timeout, PassEnv: ce.Names(), Redactor: red})
	if errors.Is(err, procrun.ErrStart) {
		return configErr("%s %s %q: %w", kind, action, svc.Name, err)
	}
	if err != nil {
		return fmt.Errorf("%s %s %q: %w", kind, action, svc.Name, err)
	}
	if res.TimedOut {
		return fmt.Errorf("%s %s %q: timeout after %s: %s", kind, action, svc.Name, timeout, lastLine(res.Tail))
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("%s %s %q: exit %d: %s", kind, action, svc.Name, res.ExitCode, strings.TrimSpace(res.Tail))
	}
	return nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
