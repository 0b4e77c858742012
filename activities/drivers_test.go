package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/cycletypes"
)

// fakeEngine is a protocol-level fake of the Docker Engine API: the
// endpoints the docker driver uses, with container state, on a unix socket.
type fakeEngine struct {
	mu         sync.Mutex
	containers []fakeContainer
	calls      []string // "METHOD path?rawquery"
	filters    []map[string][]string
	socket     string
}

type fakeContainer struct {
	ID      string
	Labels  map[string]string
	Running bool
	Starts  int
	// Health, when set, is the State.Health.Status inspect reports, with
	// one failing probe in the log.
	Health string
}

func newFakeEngine(t *testing.T, containers ...fakeContainer) *fakeEngine {
	t.Helper()
	// A short directory: unix socket paths are limited to ~108 bytes.
	dir, err := os.MkdirTemp("", "dockerapi")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	fe := &fakeEngine{containers: containers, socket: filepath.Join(dir, "docker.sock")}
	l, err := net.Listen("unix", fe.socket)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(fe.serve))
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return fe
}

func (fe *fakeEngine) serve(w http.ResponseWriter, r *http.Request) {
	fe.mu.Lock()
	defer fe.mu.Unlock()
	call := r.Method + " " + r.URL.Path
	if r.URL.RawQuery != "" {
		call += "?" + r.URL.RawQuery
	}
	fe.calls = append(fe.calls, call)
	fail := func(code int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]string{"message": msg})
	}
	if r.Method == http.MethodGet && r.URL.Path == "/containers/json" {
		var f map[string][]string
		if err := json.Unmarshal([]byte(r.URL.Query().Get("filters")), &f); err != nil {
			fail(http.StatusBadRequest, "invalid filter: "+err.Error())
			return
		}
		fe.filters = append(fe.filters, f)
		var out []map[string]any
		for _, c := range fe.containers {
			match := r.URL.Query().Get("all") == "1" || c.Running
			for _, l := range f["label"] {
				k, v, _ := strings.Cut(l, "=")
				if c.Labels[k] != v {
					match = false
				}
			}
			if match {
				state := "exited"
				if c.Running {
					state = "running"
				}
				out = append(out, map[string]any{"Id": c.ID, "Names": []string{"/" + c.ID}, "Labels": c.Labels, "State": state})
			}
		}
		if out == nil {
			out = []map[string]any{}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if r.Method == http.MethodGet && len(parts) == 3 && parts[0] == "containers" && parts[2] == "json" {
		fe.inspect(w, parts[1], fail)
		return
	}
	if r.Method != http.MethodPost || len(parts) != 3 || parts[0] != "containers" {
		fail(http.StatusNotFound, "page not found")
		return
	}
	for i := range fe.containers {
		c := &fe.containers[i]
		if c.ID != parts[1] {
			continue
		}
		switch parts[2] {
		case "restart":
			c.Running = true
			c.Starts++
		case "stop":
			if !c.Running {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			c.Running = false
		case "start":
			if c.Running {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			c.Running = true
			c.Starts++
		default:
			fail(http.StatusNotFound, "page not found")
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	fail(http.StatusNotFound, "No such container: "+parts[1])
}

// inspect answers GET /containers/{id}/json: the state, no healthcheck.
func (fe *fakeEngine) inspect(w http.ResponseWriter, id string, fail func(int, string)) {
	for _, c := range fe.containers {
		if c.ID != id {
			continue
		}
		status := "exited"
		if c.Running {
			status = "running"
		}
		st := map[string]any{"Status": status, "Running": c.Running}
		if c.Health != "" {
			st["Health"] = map[string]any{"Status": c.Health, "Log": []map[string]any{{"ExitCode": 1, "Output": "report is 7200s old > RECON_HEALTH_MAX_SEC=20\n"}}}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"Id": c.ID, "Name": "/" + c.ID, "State": st})
		return
	}
	fail(http.StatusNotFound, "No such container: "+id)
}

func (fe *fakeEngine) snapshot() ([]string, []fakeContainer) {
	fe.mu.Lock()
	defer fe.mu.Unlock()
	return append([]string{}, fe.calls...), append([]fakeContainer{}, fe.containers...)
}

func composeLabels(project, service string) map[string]string {
	return map[string]string{"com.docker.compose.project": project, "com.docker.compose.service": service}
}

func TestDockerDriver(t *testing.T) {
	const listRisk = "GET /containers/json?all=1&filters=%7B%22label%22%3A%5B%22com.docker.compose.project%3Dkzay-capital%22%2C%22com.docker.compose.service%3Drisk-service%22%5D%7D"
	tests := []struct {
		name       string
		containers []fakeContainer
		project    string
		service    config.Service
		svc        string
		action     string
		wantCalls  []string
		wantErr    string
		wantStarts map[string]int
	}{
		{
			name:       "restart finds the container by compose labels",
			containers: []fakeContainer{{ID: "c1", Labels: composeLabels("kzay-capital", "risk-service"), Running: true}, {ID: "c2", Labels: composeLabels("other", "risk-service"), Running: true}},
			project:    "kzay-capital", svc: "risk-service", action: "restart",
			wantCalls:  []string{listRisk, "GET /containers/c1/json", "POST /containers/c1/restart?t=10", "GET /containers/c1/json"},
			wantStarts: map[string]int{"c1": 1, "c2": 0},
		},
		{
			name:       "stop then start of a stopped container",
			containers: []fakeContainer{{ID: "c1", Labels: composeLabels("kzay-capital", "risk-service"), Running: true}},
			project:    "kzay-capital", svc: "risk-service", action: "stop",
			wantCalls: []string{listRisk, "POST /containers/c1/stop?t=10"},
		},
		{
			name:       "scaled service: every replica restarts, an exited one is started",
			containers: []fakeContainer{{ID: "b", Labels: composeLabels("kzay-capital", "risk-service"), Running: true}, {ID: "a", Labels: composeLabels("kzay-capital", "risk-service")}},
			project:    "kzay-capital", svc: "risk-service", action: "restart",
			wantCalls: []string{listRisk, "GET /containers/a/json", "POST /containers/a/start", "GET /containers/b/json", "POST /containers/b/restart?t=10",
				"GET /containers/a/json", "GET /containers/b/json"},
			wantStarts: map[string]int{"a": 1, "b": 1},
		},
		{
			name:       "no container",
			containers: []fakeContainer{{ID: "c1", Labels: composeLabels("kzay-capital", "signal-service")}},
			project:    "kzay-capital", svc: "risk-service", action: "restart",
			wantCalls: []string{listRisk},
			wantErr:   `docker find service "risk-service": no container with labels com.docker.compose.project=kzay-capital, com.docker.compose.service=risk-service`,
		},
		{
			name:    "container name without a project, engine error message carried",
			service: config.Service{Container: "desk-snapshot"}, svc: "exchange-snapshot", action: "restart",
			wantCalls: []string{"GET /containers/desk-snapshot/json"},
			wantErr:   `docker inspect container "desk-snapshot" (service "exchange-snapshot"): engine API 404: No such container: desk-snapshot`,
		},
		{
			name:       "no project and two projects match",
			containers: []fakeContainer{{ID: "c1", Labels: composeLabels("p1", "redis")}, {ID: "c2", Labels: composeLabels("p2", "redis")}},
			svc:        "redis", action: "restart",
			wantCalls: []string{"GET /containers/json?all=1&filters=%7B%22label%22%3A%5B%22com.docker.compose.service%3Dredis%22%5D%7D"},
			wantErr:   `docker find service "redis": containers of 2 compose projects match; set recovery.docker.project`,
		},
		{
			name: "injection refused before any call",
			svc:  "svc;rm -rf /", action: "restart",
			wantErr: "service name \"svc;rm -rf /\": must match",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fe := newFakeEngine(t, tt.containers...)
			d := NewDockerDriver(config.DockerDriver{Socket: fe.socket, Project: tt.project})
			ref := ServiceRef{Name: tt.svc, Spec: tt.service}
			var err error
			switch tt.action {
			case "restart":
				err = d.Restart(context.Background(), ref)
			case "stop":
				err = d.Stop(context.Background(), ref)
			}
			calls, state := fe.snapshot()
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			if len(tt.wantCalls) == 0 {
				require.Empty(t, calls)
			} else {
				require.Equal(t, tt.wantCalls, calls)
			}
			for id, n := range tt.wantStarts {
				for _, c := range state {
					if c.ID == id {
						require.Equal(t, n, c.Starts, id)
					}
				}
			}
		})
	}
}

func TestDockerDriverStopStart(t *testing.T) {
	fe := newFakeEngine(t, fakeContainer{ID: "c1", Labels: composeLabels("kzay-capital", "event-store-service"), Running: true})
	d := NewDockerDriver(config.DockerDriver{Socket: fe.socket, Project: "kzay-capital"})
	ref := ServiceRef{Name: "event-store-service"}
	ctx := context.Background()
	require.NoError(t, d.Stop(ctx, ref))
	require.NoError(t, d.Stop(ctx, ref), "304 not modified is success")
	require.NoError(t, d.Start(ctx, ref))
	calls, state := fe.snapshot()
	require.Equal(t, []string{"POST /containers/c1/stop?t=10", "POST /containers/c1/stop?t=10", "POST /containers/c1/start"},
		[]string{calls[1], calls[3], calls[5]})
	require.True(t, state[0].Running)
	require.Equal(t, 1, state[0].Starts)
}

func TestDockerDriverNoEngine(t *testing.T) {
	d := NewDockerDriver(config.DockerDriver{Socket: filepath.Join(t.TempDir(), "missing.sock"), Project: "p"})
	err := d.Restart(context.Background(), ServiceRef{Name: "redis"})
	require.ErrorContains(t, err, `docker find service "redis": engine API at `)
	require.ErrorContains(t, err, "missing.sock")
}

func TestComposeDriverArgv(t *testing.T) {
	self, err := os.Executable()
	require.NoError(t, err)
	tests := []struct {
		name     string
		cfg      config.ComposeDriver
		service  config.Service
		action   string
		wantArgs []string
	}{
		{
			name: "hbot restart with env file, file and profiles",
			cfg: config.ComposeDriver{Command: []string{self, "helper:record"}, EnvFile: "infra/env/.env",
				Files: []string{"infra/compose/docker-compose.yml"}, Profiles: []string{"external"}},
			service:  config.Service{Profiles: []string{"paper-exchange", "external"}},
			action:   "restart",
			wantArgs: []string{"--env-file", "infra/env/.env", "-f", "infra/compose/docker-compose.yml", "--profile", "external", "--profile", "paper-exchange", "restart", "paper-exchange-service"},
		},
		{
			name:     "bare stop",
			cfg:      config.ComposeDriver{Command: []string{self, "helper:record"}},
			action:   "stop",
			wantArgs: []string{"stop", "paper-exchange-service"},
		},
		{
			name:     "start with two files",
			cfg:      config.ComposeDriver{Command: []string{self, "helper:record"}, Files: []string{"a.yml", "b.yml"}},
			action:   "start",
			wantArgs: []string{"-f", "a.yml", "-f", "b.yml", "start", "paper-exchange-service"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			d, err := NewDriver(config.Recovery{Driver: config.DriverCompose, Compose: tt.cfg}, tt.service, "paper-exchange-service")
			require.NoError(t, err)
			require.Equal(t, "compose", d.Name())
			ref := ServiceRef{Name: "paper-exchange-service", Root: root, Spec: tt.service}
			switch tt.action {
			case "restart":
				err = d.Restart(context.Background(), ref)
			case "stop":
				err = d.Stop(context.Background(), ref)
			case "start":
				err = d.Start(context.Background(), ref)
			}
			require.NoError(t, err)
			got := readHelperArgv(t, root)
			require.Len(t, got, 1)
			require.Equal(t, tt.wantArgs, got[0].Args)
			wantDir, _ := filepath.EvalSymlinks(root)
			gotDir, _ := filepath.EvalSymlinks(got[0].Dir)
			require.Equal(t, wantDir, gotDir, "cwd is the root")
		})
	}
}

func TestComposeDefaultArgv(t *testing.T) {
	got := composeArgv(config.ComposeDriver{EnvFile: "infra/env/.env", Files: []string{"infra/compose/docker-compose.yml"}},
		ServiceRef{Name: "risk-service"}, "restart")
	require.Equal(t, []string{"docker", "compose", "--env-file", "infra/env/.env", "-f", "infra/compose/docker-compose.yml", "restart", "risk-service"}, got)
}

func TestExecDriver(t *testing.T) {
	self, err := os.Executable()
	require.NoError(t, err)
	root := t.TempDir()
	rec := config.Recovery{Driver: config.DriverExec, Exec: config.ExecDriver{
		Restart: []string{self, "helper:record", "restart", "--name={service}", "{root}/scripts/{service}.sh"},
		Stop:    []string{self, "helper:fail", "{service}"},
	}}
	d, err := NewDriver(rec, config.Service{}, "risk-service")
	require.NoError(t, err)
	ref := ServiceRef{Name: "risk-service", Root: root}

	require.NoError(t, d.Restart(context.Background(), ref))
	got := readHelperArgv(t, root)
	require.Equal(t, []string{"restart", "--name=risk-service", root + "/scripts/risk-service.sh"}, got[0].Args)

	err = d.Stop(context.Background(), ref)
	require.EqualError(t, err, `exec stop "risk-service": exit 3: no such service: risk-service`)

	err = d.Start(context.Background(), ref)
	var ce *DriverConfigError
	require.ErrorAs(t, err, &ce)
	require.EqualError(t, err, `exec start "risk-service": no start template configured`)
}

func TestDriverRefusesInjection(t *testing.T) {
	self, err := os.Executable()
	require.NoError(t, err)
	root := t.TempDir()
	rec := config.Recovery{Driver: config.DriverExec, Exec: config.ExecDriver{Restart: []string{self, "helper:record", "{service}"}}}
	for _, name := range []string{"svc;rm -rf /", "$(id)", "`id`", "-f", "a b", "Risk", "../x", ""} {
		t.Run(name, func(t *testing.T) {
			_, err := NewDriver(rec, config.Service{}, name)
			var ce *DriverConfigError
			require.ErrorAs(t, err, &ce)
			require.ErrorContains(t, err, fmt.Sprintf("service name %q: must match", name))
			// The drivers check again at call time.
			for _, d := range []Driver{&execDriver{cfg: rec.Exec}, &composeDriver{cfg: config.ComposeDriver{Command: []string{self, "helper:record"}}}} {
				err := d.Restart(context.Background(), ServiceRef{Name: name, Root: root})
				require.True(t, errors.As(err, &ce), "%s: %v", d.Name(), err)
			}
			_, statErr := os.Stat(filepath.Join(root, "helper_argv.json"))
			require.True(t, os.IsNotExist(statErr), "nothing ran")
		})
	}
}

func TestNewDriverKinds(t *testing.T) {
	tests := []struct {
		rec     config.Recovery
		svc     config.Service
		want    string
		wantErr string
	}{
		{rec: config.Recovery{}, want: "docker"},
		{rec: config.Recovery{Driver: "compose"}, want: "compose"},
		{rec: config.Recovery{Driver: "compose"}, svc: config.Service{Driver: "docker"}, want: "docker"},
		{rec: config.Recovery{Driver: "exec"}, wantErr: `exec driver for "redis": no restart, stop or start template`},
		{rec: config.Recovery{Driver: "k8s"}, wantErr: `driver for "redis": unknown driver "k8s" (want docker, compose or exec)`},
	}
	for _, tt := range tests {
		t.Run(tt.want+tt.wantErr, func(t *testing.T) {
			d, err := NewDriver(tt.rec, tt.svc, "redis")
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, d.Name())
		})
	}
}

// TestRestartServiceDockerEndToEnd runs RestartService with the real docker
// driver against the fake Engine API and real Redis: one engine restart per
// (run, service, round), whatever the retries.
func TestRestartServiceDockerEndToEnd(t *testing.T) {
	fe := newFakeEngine(t, fakeContainer{ID: "abc123", Labels: composeLabels("kzay-capital", "risk-service"), Running: true})
	store, _, _ := testStore(t)
	c := &config.Contract{Name: "docker-e2e", Services: map[string]config.Service{"risk-service": {}},
		Recovery: config.Recovery{Driver: config.DriverDocker, Docker: config.DockerDriver{Socket: fe.socket, Project: "kzay-capital", Timeout: 5 * time.Second}}}
	env := activityEnv(New(Options{Store: store, LoadContract: staticContract(c)}))
	in := &RestartServiceInput{Target: Target{Environment: "e2e", Root: t.TempDir(), Contract: "docker-e2e"}, Service: "risk-service", RunID: "run-1", Round: 1}
	var outcomes []cycletypes.RestartOutcome
	for range 2 {
		v, err := env.ExecuteActivity(RestartServiceName, in)
		require.NoError(t, err)
		var res RestartServiceResult
		require.NoError(t, v.Get(&res))
		require.Equal(t, "docker", res.Driver)
		outcomes = append(outcomes, res.Outcome)
	}
	require.Equal(t, []cycletypes.RestartOutcome{RestartDone, RestartAlreadyDone}, outcomes)
	calls, state := fe.snapshot()
	require.Equal(t, []string{
		"GET /containers/json?all=1&filters=%7B%22label%22%3A%5B%22com.docker.compose.project%3Dkzay-capital%22%2C%22com.docker.compose.service%3Drisk-service%22%5D%7D",
		"GET /containers/abc123/json",
		"POST /containers/abc123/restart?t=5",
		"GET /containers/abc123/json",
	}, calls)
	require.Equal(t, 1, state[0].Starts)
}
