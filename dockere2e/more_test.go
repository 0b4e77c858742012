//go:build dockere2e

package dockere2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/strictcycle/strictcycle/activities"
	"github.com/strictcycle/strictcycle/simstack"
	"github.com/strictcycle/strictcycle/workflows"
)

// A recovery drill on a real container: the docker driver stops it, its
// report goes stale, the gate fails closed, the driver starts it, the
// report turns fresh, and the gate passes.
func TestDockerRecoveryDrillOnRealContainer(t *testing.T) {
	s := newStack(t, stackOptions{contract: func(s *stack, doc map[string]any) {
		f := doc["freshness"].(map[string]any)
		f["window"], f["ci_window"] = "5s", "5s"
	}})
	// The drill starts from PASS: the replay report is there.
	require.NoError(t, simstack.RunReplay(s.root))
	name := s.container(target)
	before := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	in := &workflows.RecoveryDrillInput{Target: s.input().Target, Service: target, Check: targetCheck, StaleTimeout: time.Minute}
	run, err := s.cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.WorkflowID(s.cfg.Environment, "drill-"+target), TaskQueue: s.cfg.TaskQueue,
	}, workflows.RecoveryDrillName, in)
	require.NoError(t, err)
	var res workflows.RecoveryDrillResult
	require.NoError(t, run.Get(ctx, &res))
	for _, st := range res.Steps {
		require.True(t, st.OK, "%s: %s", st.Name, st.Detail)
	}
	require.Equal(t, "pass", string(res.Status))
	require.Equal(t, 1, s.events(name, "stop", before), "stopped once")
	require.Equal(t, 1, s.events(name, "start", before), "started once")
	require.Equal(t, 0, s.events(name, "restart", before))
	require.True(t, s.state(name).Running)
	tl := s.timeline(run)
	require.Contains(t, tl, "stop "+target+" via docker")
	require.Contains(t, tl, "start "+target+" via docker")
	require.Contains(t, tl, "drill pass")
}

// The compose driver with the real `docker compose`: --env-file (the
// project name and HBOT_ROOT come from it), -f (the file is not in the
// working directory) and --profile (every simulated service is in the
// hbotsim profile).
func TestComposeDriverRestartsWithEnvFileFileAndProfile(t *testing.T) {
	s := newStack(t, stackOptions{env: hungProducer, contract: func(s *stack, doc map[string]any) {
		// The contract's paths are relative to the root: the compose file
		// and the env file go under it.
		dir := filepath.Join(s.root, "compose-sim")
		require.NoError(t, os.MkdirAll(dir, 0o755))
		for src, dst := range map[string]string{composeFile: "hbotsim-compose.yml", s.envFile: "sim.env"} {
			b, err := os.ReadFile(src)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, dst), b, 0o600))
		}
		rec := doc["recovery"].(map[string]any)
		rec["driver"] = "compose"
		delete(rec, "docker")
		rec["compose"] = map[string]any{
			"command": []string{"docker", "compose"}, "env_file": "compose-sim/sim.env", "files": []string{"compose-sim/hbotsim-compose.yml"},
			"profiles": []string{"hbotsim"}, "pass_env": []string{"DOCKER_HOST"},
		}
	}})
	name := s.container(target)
	// Without the env file compose refuses (HBOT_ROOT is required) and
	// restarts nothing: the restart count below would say otherwise.
	// compose 2.40 needs neither of the others for a running project: it
	// finds the project by the env file's name from its containers' labels
	// without -f, and activates the profile of a service named explicitly;
	// the driver passes both anyway (older compose and a project not up).
	cmd := exec.Command("docker", "compose", "-f", "compose-sim/hbotsim-compose.yml", "--profile", "hbotsim", "restart", target)
	cmd.Dir = s.root
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "compose without --env-file: %s", out)
	require.Contains(t, string(out), "HBOT_ROOT must be set")
	s.backdate(targetReport)
	before := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run, res, _ := s.cycle(ctx)

	require.Equal(t, "PASS", string(res.Status), res.Reason)
	require.Len(t, res.Restarts, 1)
	require.Equal(t, activities.RestartDone, res.Restarts[0].Outcome)
	require.Equal(t, 1, s.events(name, "restart", s.t0), "exactly one restart, by the cycle")
	require.Equal(t, 1, s.events(name, "start", before), "exactly one real start")
	tl := s.timeline(run)
	require.Contains(t, tl, target+" restarted via compose")
	require.Contains(t, tl, "decision PASS")
}

// The worker in a container, as docker-compose.yml deploys it: the FROM
// scratch image, non-root with the socket's group, the Docker socket
// mounted, host networking to reach the test's Temporal server and Redis on
// loopback. It restarts a sibling producer container and the cycle passes;
// the image's own healthcheck (strictcycle health) reports healthy.
func TestDockerWorkerInContainerRestartsSibling(t *testing.T) {
	s := newStack(t, stackOptions{env: hungProducer, noWorker: true, contract: func(s *stack, doc map[string]any) {
		doc["recovery"].(map[string]any)["docker"].(map[string]any)["socket"] = activities.DefaultDockerSocket
	}})
	// The producers run as root; the worker (uid 65532) writes the gate
	// artifacts and the replay report under the root.
	require.NoError(t, filepath.Walk(s.root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chmod(p, fi.Mode().Perm()|0o666|func() os.FileMode {
			if fi.IsDir() {
				return 0o777
			}
			return 0
		}())
	}))
	var st syscall.Stat_t
	require.NoError(t, syscall.Stat(socket, &st))
	port := freePort(t)
	worker := s.project + "-strictcycle-worker"
	hbotsim := filepath.Join(binDir, "hbotsim")
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := execOut("docker", "logs", "--tail", "50", worker)
			t.Logf("worker log:\n%s", out)
		}
		_, _ = execOut("docker", "rm", "-f", worker)
	})
	docker(t, "run", "-d", "--name", worker, "--network", "host",
		"--user", "65532:65532", "--group-add", strconv.Itoa(int(st.Gid)),
		"-v", s.root+":"+s.root, "-v", socket+":"+activities.DefaultDockerSocket, "-v", hbotsim+":"+hbotsim+":ro",
		"-e", "TEMPORAL_ADDRESS="+s.srv.FrontendAddr(), "-e", "TEMPORAL_NAMESPACE=default",
		"-e", "REDIS_URL="+s.cfg.Redis.URL, "-e", "STRICTCYCLE_REDIS_PREFIX="+s.cfg.Redis.KeyPrefix,
		"-e", "STRICTCYCLE_DECISION_STREAM="+s.cfg.Redis.Stream, "-e", "STRICTCYCLE_TRANSITION_STREAM="+s.cfg.Redis.TransitionStream,
		"-e", "STRICTCYCLE_ENVIRONMENT="+s.cfg.Environment, "-e", "STRICTCYCLE_ROOT="+s.root,
		"-e", "STRICTCYCLE_CONTRACT="+s.contract, "-e", "STRICTCYCLE_TASK_QUEUE="+s.cfg.TaskQueue,
		"-e", fmt.Sprintf("STRICTCYCLE_METRICS_ADDR=127.0.0.1:%d", port),
		workerImage)
	s.waitHealth(worker, "healthy", 90*time.Second)

	name := s.container(target)
	s.backdate(targetReport)
	before := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run, res, _ := s.cycle(ctx)
	require.Equal(t, "PASS", string(res.Status), res.Reason)
	require.Len(t, res.Restarts, 1)
	require.Equal(t, activities.RestartDone, res.Restarts[0].Outcome)
	require.Equal(t, 1, s.events(name, "restart", before), "exactly one restart")
	require.Equal(t, 1, s.events(name, "start", before), "exactly one real start")
	require.Equal(t, "healthy", s.state(worker).Health)
	tl := s.timeline(run)
	require.Contains(t, tl, target+" restarted via docker")
	require.Contains(t, tl, "healthy after a ")
	require.Contains(t, tl, "decision PASS")
}
