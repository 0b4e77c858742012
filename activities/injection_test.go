package activities

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
)

// TestDockerLabelFilterEncoded: the compose project and service go into the
// Engine API query as one JSON filter, URL-encoded, so a project holding
// "&", "=" or spaces cannot add query parameters or labels.
func TestDockerLabelFilterEncoded(t *testing.T) {
	const project = "desk&all=0 x=\"y\"#z"
	fe := newFakeEngine(t, fakeContainer{ID: "c1", Labels: composeLabels(project, "risk-service"), Running: true})
	d := NewDockerDriver(config.DockerDriver{Socket: fe.socket, Project: project})
	require.NoError(t, d.Restart(context.Background(), ServiceRef{Name: "risk-service"}))
	calls, _ := fe.snapshot()
	require.Equal(t, []string{
		"GET /containers/json?all=1&filters=%7B%22label%22%3A%5B%22com.docker.compose.project%3Ddesk%5Cu0026all%3D0+x%3D%5C%22y%5C%22%23z%22%2C%22com.docker.compose.service%3Drisk-service%22%5D%7D",
		"GET /containers/c1/json",
		"POST /containers/c1/restart?t=10",
		"GET /containers/c1/json",
	}, calls)
	fe.mu.Lock()
	defer fe.mu.Unlock()
	require.Equal(t, []map[string][]string{{"label": {"com.docker.compose.project=" + project, "com.docker.compose.service=risk-service"}}}, fe.filters)
}

// TestDockerRefusesInjectedNames: service names and container names that
// could act as options or URL paths are refused before any Engine call.
func TestDockerRefusesInjectedNames(t *testing.T) {
	tests := []struct {
		name    string
		svc     string
		spec    config.Service
		wantErr string
	}{
		{"leading dashes", "--help", config.Service{}, `service name "--help": must match ^[a-z0-9][a-z0-9_.-]*$`},
		{"newline", "svc\nrm", config.Service{}, `service name "svc\nrm": must match ^[a-z0-9][a-z0-9_.-]*$`},
		{"subshell", "$(id)", config.Service{}, `service name "$(id)": must match ^[a-z0-9][a-z0-9_.-]*$`},
		{"backticks", "`id`", config.Service{}, "service name \"`id`\": must match ^[a-z0-9][a-z0-9_.-]*$"},
		{"container path traversal", "svc", config.Service{Container: "../../images/x"},
			`docker container "../../images/x" (service "svc"): must match ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`},
		{"container dot-dot", "svc", config.Service{Container: ".."},
			`docker container ".." (service "svc"): must match ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fe := newFakeEngine(t)
			d := NewDockerDriver(config.DockerDriver{Socket: fe.socket})
			for _, act := range []func(context.Context, ServiceRef) error{d.Restart, d.Stop, d.Start} {
				err := act(context.Background(), ServiceRef{Name: tt.svc, Spec: tt.spec})
				require.EqualError(t, err, tt.wantErr)
				var ce *DriverConfigError
				require.True(t, errors.As(err, &ce), "a config error: not retried")
			}
			calls, _ := fe.snapshot()
			require.Empty(t, calls, "no Engine API call")
		})
	}
}

// TestExecTemplateServiceInsideFlag: {service} inside a flag is expanded in
// place, as one argument, with no shell.
func TestExecTemplateServiceInsideFlag(t *testing.T) {
	self, err := os.Executable()
	require.NoError(t, err)
	root := t.TempDir()
	rec := config.Recovery{Driver: config.DriverExec, Exec: config.ExecDriver{Restart: []string{self, "helper:record", "--name={service}", "--root={root}", "{service}"}}}
	d, err := NewDriver(rec, config.Service{}, "risk-service")
	require.NoError(t, err)
	require.NoError(t, d.Restart(context.Background(), ServiceRef{Name: "risk-service", Root: root}))
	got := readHelperArgv(t, root)
	require.Len(t, got, 1)
	require.Equal(t, []string{"--name=risk-service", "--root=" + root, "risk-service"}, got[0].Args)
}
