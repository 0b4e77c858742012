package procrun

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/redact"
)

// TestMain lets the test binary act as the commands the tests run:
// "helper:sleep D" sleeps; "helper:spawn" starts a sleeping grandchild,
// records its pid in child.pid, and sleeps.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && strings.HasPrefix(os.Args[1], "helper:") {
		os.Exit(helperMain(strings.TrimPrefix(os.Args[1], "helper:"), os.Args[2:]))
	}
	os.Exit(m.Run())
}

func helperMain(mode string, args []string) int {
	switch mode {
	case "sleep":
		d, err := time.ParseDuration(args[0])
		if err != nil {
			return 2
		}
		time.Sleep(d)
		return 0
	case "spawn":
		self, err := os.Executable()
		if err != nil {
			return 2
		}
		child := exec.Command(self, "helper:sleep", "60s")
		if err := child.Start(); err != nil {
			return 2
		}
		if err := os.WriteFile("child.pid", []byte(strconv.Itoa(child.Process.Pid)), 0o644); err != nil {
			return 2
		}
		time.Sleep(60 * time.Second)
		return 0
	case "echo":
		fmt.Println(strings.Join(args, " "))
		return 3
	}
	return 2
}

func TestRunExitCodeAndTail(t *testing.T) {
	self, err := os.Executable()
	require.NoError(t, err)
	res, err := Run(context.Background(), Spec{Argv: []string{self, "helper:echo", "hello", "$(id)"}, Env: map[string]string{"X": "1"}})
	require.NoError(t, err)
	require.Equal(t, 3, res.ExitCode)
	require.Equal(t, "hello $(id)\n", res.Tail, "no shell: arguments arrive as written")
	require.False(t, res.TimedOut)
}

func TestRunProcCancelKillsGroup(t *testing.T) {
	self, err := os.Executable()
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	beat := make(chan struct{}, 1)
	res := make(chan error, 1)
	go func() {
		_, err := Run(ctx, Spec{Argv: []string{self, "helper:sleep", "30s"}, HeartbeatEvery: 5 * time.Millisecond,
			Heartbeat: func(time.Duration) {
				select {
				case beat <- struct{}{}:
				default:
				}
			}})
		res <- err
	}()
	<-beat // running and heartbeating
	cancel()
	select {
	case err := <-res:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("cancellation did not kill the command")
	}

	_, err = Run(context.Background(), Spec{Argv: []string{filepath.Join(t.TempDir(), "nope")}})
	require.ErrorIs(t, err, ErrStart)
}

func TestTailBuffer(t *testing.T) {
	b := &tailBuffer{max: 5}
	b.Write([]byte("abc"))
	b.Write([]byte("defg"))
	require.Equal(t, "cdefg", b.String())
	b = &tailBuffer{max: 4}
	b.Write([]byte("aé€")) // a(1) é(2) €(3): the tail cuts é
	require.Equal(t, "€", b.String())
}

// TestRunProcTimeoutKillsGrandchildren: the timeout kills the whole process
// group, not only the direct child (a replay script's workers die too).
func TestRunProcTimeoutKillsGrandchildren(t *testing.T) {
	self, err := os.Executable()
	require.NoError(t, err)
	dir := t.TempDir()
	res, err := Run(context.Background(), Spec{Argv: []string{self, "helper:spawn"}, Dir: dir, Timeout: time.Second})
	require.NoError(t, err)
	require.True(t, res.TimedOut)
	b, err := os.ReadFile(filepath.Join(dir, "child.pid"))
	require.NoError(t, err)
	pid, err := strconv.Atoi(string(b))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return !processAlive(pid) }, 5*time.Second, 10*time.Millisecond)
}

// processAlive: the pid exists and is not a zombie.
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return len(f) > 2 && f[2] != "Z"
}

// The heads keep the start of stdout and of stderr apart, at most
// HeadBytes each, with secrets masked; the tail still interleaves both.
func TestRunHeads(t *testing.T) {
	script := `printf 'out-start token=s3cretvalue '; head -c 6000 /dev/zero | tr '\0' o; printf 'err-start' >&2`
	res, err := Run(context.Background(), Spec{Argv: []string{"/bin/sh", "-c", script}, Redactor: redact.New("s3cretvalue")})
	require.NoError(t, err)
	require.Equal(t, 0, res.ExitCode)
	require.True(t, strings.HasPrefix(res.StdoutHead, "out-start token=[redacted] "), res.StdoutHead[:40])
	require.NotContains(t, res.StdoutHead, "s3cretvalue")
	require.Len(t, res.StdoutHead, HeadBytes)
	require.Equal(t, "err-start", res.StderrHead)
	require.Contains(t, res.Tail, "err-start")
}
