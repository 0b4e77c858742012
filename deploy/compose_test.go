package deploy

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/require"
)

const composeFile = "../docker-compose.yml"

// baseEnv is the minimum an operator must provide: the secrets.
func baseEnv() map[string]string {
	return map[string]string{
		"REDIS_PASSWORD":    "test-redis-secret",
		"POSTGRES_PASSWORD": "test-postgres-secret",
		"HBOT_ROOT":         "/srv/hbot",
	}
}

func load(t *testing.T, env map[string]string) (*types.Project, error) {
	t.Helper()
	abs, err := filepath.Abs(composeFile)
	require.NoError(t, err)
	return loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  filepath.Dir(abs),
		ConfigFiles: []types.ConfigFile{{Filename: abs}},
		Environment: env,
	}, func(o *loader.Options) {
		o.SetProjectName("strictcycle", true)
		o.SkipResolveEnvironment = true
	})
}

func mustLoad(t *testing.T, env map[string]string) *types.Project {
	t.Helper()
	p, err := load(t, env)
	require.NoError(t, err)
	return p
}

func TestComposeServices(t *testing.T) {
	p := mustLoad(t, baseEnv())
	names := p.ServiceNames()
	sort.Strings(names)
	require.Equal(t, []string{"postgresql", "redis", "strictcycle-setup", "strictcycle-worker", "temporal", "temporal-namespace", "temporal-schema", "temporal-ui"}, names)
	require.Contains(t, p.Volumes, "postgres-data")
	require.Contains(t, p.Volumes, "redis-data")
}

func TestComposeHealthchecks(t *testing.T) {
	p := mustLoad(t, baseEnv())
	for name, svc := range p.Services {
		t.Run(name, func(t *testing.T) {
			require.NotNil(t, svc.HealthCheck, "service %s has no healthcheck", name)
			require.False(t, svc.HealthCheck.Disable, "service %s disables its healthcheck", name)
			require.NotEmpty(t, svc.HealthCheck.Test)
			require.Contains(t, []string{"CMD", "CMD-SHELL"}, svc.HealthCheck.Test[0])
		})
	}
	tests := []struct {
		service string
		want    string // a word the healthcheck command must contain
	}{
		{"postgresql", "pg_isready"},
		{"redis", "redis-cli"},
		{"temporal", "health"},
		{"strictcycle-worker", "/healthz"},
	}
	for _, tt := range tests {
		t.Run(tt.service+"/command", func(t *testing.T) {
			require.Contains(t, strings.Join(p.Services[tt.service].HealthCheck.Test, " "), tt.want)
		})
	}
	// The redis probe authenticates.
	require.Contains(t, strings.Join(p.Services["redis"].HealthCheck.Test, " "), "-a")
}

func TestComposeDependsOn(t *testing.T) {
	p := mustLoad(t, baseEnv())
	tests := []struct {
		service, dep, condition string
	}{
		{"strictcycle-worker", "temporal", types.ServiceConditionHealthy},
		{"strictcycle-worker", "redis", types.ServiceConditionHealthy},
		{"temporal", "postgresql", types.ServiceConditionHealthy},
		{"temporal-ui", "temporal", types.ServiceConditionHealthy},
		{"strictcycle-setup", "temporal", types.ServiceConditionHealthy},
	}
	for _, tt := range tests {
		t.Run(tt.service+"->"+tt.dep, func(t *testing.T) {
			d, ok := p.Services[tt.service].DependsOn[tt.dep]
			require.True(t, ok, "%s does not depend on %s", tt.service, tt.dep)
			require.Equal(t, tt.condition, d.Condition)
		})
	}
	require.Equal(t, "no", p.Services["strictcycle-setup"].Restart)
}

func TestComposeWorkerMounts(t *testing.T) {
	tests := []struct {
		name    string
		hbot    string
		wantSrc string
	}{
		{name: "configured", hbot: "/srv/hbot", wantSrc: "/srv/hbot"},
		{name: "other path", hbot: "/opt/kzay/hbot", wantSrc: "/opt/kzay/hbot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := baseEnv()
			env["HBOT_ROOT"] = tt.hbot
			w := mustLoad(t, env).Services["strictcycle-worker"]
			var hbot, sock *types.ServiceVolumeConfig
			for i := range w.Volumes {
				v := &w.Volumes[i]
				switch v.Target {
				case "/hbot":
					hbot = v
				case "/var/run/docker.sock":
					sock = v
				}
			}
			require.NotNil(t, hbot, "no /hbot mount")
			require.Equal(t, types.VolumeTypeBind, hbot.Type)
			require.Equal(t, tt.wantSrc, hbot.Source)
			require.False(t, hbot.ReadOnly, "the worker writes gate artifacts under reports/")
			require.NotNil(t, sock, "no docker.sock mount")
			require.Equal(t, types.VolumeTypeBind, sock.Type)
			require.Equal(t, "/var/run/docker.sock", sock.Source)
		})
	}
}

func TestComposeWorkerEnvironment(t *testing.T) {
	p := mustLoad(t, baseEnv())
	w := p.Services["strictcycle-worker"]
	keys := []string{
		"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY",
		"TEMPORAL_TLS_CA", "REDIS_URL", "REDIS_PASSWORD", "STRICTCYCLE_ENVIRONMENT", "STRICTCYCLE_ROOT",
		"STRICTCYCLE_CONTRACT", "STRICTCYCLE_TASK_QUEUE", "STRICTCYCLE_METRICS_ADDR", "STRICTCYCLE_LOG_LEVEL",
		"STRICTCYCLE_SCHEDULE_EVERY",
	}
	for _, k := range keys {
		require.Contains(t, w.Environment, k, "worker lacks %s", k)
	}
	val := func(k string) string {
		v := w.Environment[k]
		require.NotNil(t, v, k)
		return *v
	}
	require.Equal(t, "temporal:7233", val("TEMPORAL_ADDRESS"))
	require.Equal(t, "/hbot", val("STRICTCYCLE_ROOT"))
	require.Equal(t, "test-redis-secret", val("REDIS_PASSWORD"))
	require.Equal(t, "redis://redis:6379/0", val("REDIS_URL"), "the password travels in REDIS_PASSWORD, not the URL")
	require.True(t, strings.HasSuffix(val("STRICTCYCLE_METRICS_ADDR"), ":9464"))
	require.True(t, slices.Contains(w.HealthCheck.Test, "http://127.0.0.1:9464/healthz"))

	// The schedule job sees the same settings.
	s := p.Services["strictcycle-setup"]
	for _, k := range keys {
		require.Contains(t, s.Environment, k, "setup lacks %s", k)
	}
}

func TestComposeSecretsAreRequired(t *testing.T) {
	tests := []struct {
		name    string
		drop    string
		wantErr string
	}{
		{name: "redis password", drop: "REDIS_PASSWORD", wantErr: "REDIS_PASSWORD must be set"},
		{name: "postgres password", drop: "POSTGRES_PASSWORD", wantErr: "POSTGRES_PASSWORD must be set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := baseEnv()
			delete(env, tt.drop)
			_, err := load(t, env)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

// TestComposeNoPlaintextSecretDefault reads the raw file: every compose
// reference to a secret variable is the required form ${NAME:?…}, never ${NAME:-default}
// or ${NAME-default}, and no secret is written out literally.
func TestComposeNoPlaintextSecretDefault(t *testing.T) {
	raw := readCompose(t)
	for _, name := range []string{"REDIS_PASSWORD", "POSTGRES_PASSWORD"} {
		// $${NAME} is expanded in the container, not by compose: skip it.
		refs := regexp.MustCompile(`(?:^|[^$])\$\{`+name+`([^}]*)\}`).FindAllStringSubmatch(raw, -1)
		require.NotEmpty(t, refs, name)
		for _, r := range refs {
			require.True(t, strings.HasPrefix(r[1], ":?"), "%s is referenced as ${%s%s}: secrets must be required, with no default", name, name, r[1])
		}
		// `NAME: value` or `NAME=value` with a literal value.
		literal := regexp.MustCompile(`(?m)` + name + `\s*[:=]\s*([^$\s"'][^\s]*)\s*$`)
		require.Empty(t, literal.FindAllString(raw, -1), "%s has a literal value", name)
	}
	// The rendered worker never carries a password inside a URL.
	require.NotRegexp(t, `redis://:[^@]+@`, raw)
}

// TestComposeRequiredVariablesOnly loads with the secrets and nothing else:
// every other variable has a safe default.
func TestComposeRequiredVariablesOnly(t *testing.T) {
	p := mustLoad(t, map[string]string{"REDIS_PASSWORD": "x", "POSTGRES_PASSWORD": "y"})
	w := p.Services["strictcycle-worker"]
	var src string
	for _, v := range w.Volumes {
		if v.Target == "/hbot" {
			src = v.Source
		}
	}
	require.True(t, filepath.IsAbs(src))
	require.Equal(t, "hbot", filepath.Base(src), "HBOT_ROOT defaults to ../hbot beside the repo")
	require.Equal(t, "default", *w.Environment["TEMPORAL_NAMESPACE"])
	require.Equal(t, "hbot-day28", *w.Environment["STRICTCYCLE_CONTRACT"])
}

// TestComposeTemporalUsesDeployConfig: the Temporal server of the compose
// file runs deploy/temporal-server.yaml and its schema job
// deploy/temporal-schema.sh, the files make test-cluster proves on a real
// server and PostgreSQL, and every variable compose gives them is one they
// read (a misspelt name would silently fall back to a default).
func TestComposeTemporalUsesDeployConfig(t *testing.T) {
	p := mustLoad(t, baseEnv())
	tmpl, err := os.ReadFile("temporal-server.yaml")
	require.NoError(t, err)
	script, err := os.ReadFile("temporal-schema.sh")
	require.NoError(t, err)
	readByTemplate := map[string]bool{}
	for _, m := range regexp.MustCompile(`env "([A-Z_]+)"`).FindAllStringSubmatch(string(tmpl), -1) {
		readByTemplate[m[1]] = true
	}
	readByScript := map[string]bool{}
	for _, m := range regexp.MustCompile(`\$\{([A-Z_]+)`).FindAllStringSubmatch(string(script), -1) {
		readByScript[m[1]] = true
	}
	for _, name := range []string{"DBNAME", "VISIBILITY_DBNAME", "POSTGRES_SEEDS", "POSTGRES_PWD"} {
		require.True(t, readByTemplate[name], "the server config reads %s", name)
		require.True(t, readByScript[name], "the schema script reads %s", name)
	}

	mounted := func(svc types.ServiceConfig) {
		t.Helper()
		for _, v := range svc.Volumes {
			if v.Target == "/etc/temporal/strictcycle" {
				require.Equal(t, "deploy", filepath.Base(v.Source))
				require.True(t, v.ReadOnly)
				return
			}
		}
		t.Fatalf("%s does not mount deploy/ at /etc/temporal/strictcycle", svc.Name)
	}
	srv := p.Services["temporal"]
	mounted(srv)
	require.Contains(t, strings.Join(srv.Entrypoint, " "), "temporal-server --config-file /etc/temporal/strictcycle/temporal-server.yaml --allow-no-auth start")
	for k := range srv.Environment {
		require.True(t, readByTemplate[k], "compose sets %s on temporal, which deploy/temporal-server.yaml does not read", k)
	}
	require.Equal(t, types.ServiceConditionCompletedSuccessfully, srv.DependsOn["temporal-schema"].Condition)

	schema := p.Services["temporal-schema"]
	mounted(schema)
	require.Equal(t, []string{"sh", "/etc/temporal/strictcycle/temporal-schema.sh"}, []string(schema.Entrypoint))
	for k := range schema.Environment {
		require.True(t, readByScript[k], "compose sets %s on temporal-schema, which deploy/temporal-schema.sh does not read", k)
	}
	require.Equal(t, "no", schema.Restart)
	for _, svc := range []string{"strictcycle-worker", "strictcycle-setup"} {
		require.Equal(t, types.ServiceConditionCompletedSuccessfully, p.Services[svc].DependsOn["temporal-namespace"].Condition, svc)
	}
}
