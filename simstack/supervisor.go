package simstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Options configure a supervised producer process.
type Options struct {
	// Self is the argv prefix of the producer command; the supervisor
	// appends --root, --service and the flags below. Default:
	// [os.Executable(), "sim", "run"]. Tests point it at a test binary.
	Self []string
	// Env is appended to the child's environment (os.Environ()).
	Env []string
	// Interval, RedisURL, NonAtomic, TornPause, Skew and StartDelay are
	// passed to `sim run`.
	Interval   time.Duration
	RedisURL   string
	NonAtomic  bool
	TornPause  time.Duration
	Skew       time.Duration
	StartDelay time.Duration
	// StopTimeout bounds the wait after SIGTERM before SIGKILL. Default 10s.
	StopTimeout time.Duration
}

// StateDir is the directory under a root that holds pidfiles and logs.
const StateDir = ".sim"

// PidFile is the pidfile of a supervised service.
func PidFile(root, service string) string {
	return filepath.Join(root, StateDir, service+".pid")
}

// LogFile is where a supervised service's stdout and stderr go.
func LogFile(root, service string) string {
	return filepath.Join(root, StateDir, service+".log")
}

func checkService(service string) error {
	if _, ok := builders[service]; !ok {
		return fmt.Errorf("unknown service %q (known: %s)", service, strings.Join(Services(), ", "))
	}
	return nil
}

// RunArgs is the argv tail `sim run` takes for service under root.
func RunArgs(root, service string, opts Options) []string {
	args := []string{"--root", root, "--service", service}
	if opts.Interval > 0 {
		args = append(args, "--interval", opts.Interval.String())
	}
	if opts.RedisURL != "" {
		args = append(args, "--redis", opts.RedisURL)
	}
	if opts.NonAtomic {
		args = append(args, "--non-atomic")
	}
	if opts.TornPause > 0 {
		args = append(args, "--torn-pause", opts.TornPause.String())
	}
	if opts.Skew != 0 {
		args = append(args, "--skew", opts.Skew.String())
	}
	if opts.StartDelay > 0 {
		args = append(args, "--start-delay", opts.StartDelay.String())
	}
	return args
}

// Start spawns the producer of service as a detached process (its own
// process group, so a terminal's signals do not reach it) writing its pid
// to PidFile and its output to LogFile. Starting a running service is a
// no-op. ctx bounds only the spawn, not the process's life.
func Start(ctx context.Context, root, service string, opts Options) error {
	if err := checkService(service); err != nil {
		return fmt.Errorf("start producer: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("start producer %q: %w", service, err)
	}
	if Running(root, service) {
		return nil
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return fmt.Errorf("start producer %q: resolve root %q: %w", service, root, err)
	}
	self := opts.Self
	if len(self) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("start producer %q: find executable: %w", service, err)
		}
		self = []string{exe, "sim", "run"}
	}
	if err := os.MkdirAll(filepath.Join(absRoot, StateDir), 0o755); err != nil {
		return fmt.Errorf("start producer %q: create state dir: %w", service, err)
	}
	logf, err := os.OpenFile(LogFile(absRoot, service), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("start producer %q: open log: %w", service, err)
	}
	defer logf.Close()

	argv := append(append([]string{}, self[1:]...), RunArgs(absRoot, service, opts)...)
	// exec.Command, not CommandContext: the producer must outlive ctx.
	cmd := exec.Command(self[0], argv...)
	cmd.Dir = absRoot
	cmd.Env = append(os.Environ(), opts.Env...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start producer %q: %w", service, err)
	}
	pid := cmd.Process.Pid
	// Reap the child when this process is its parent (tests, an in-process
	// demo); a CLI parent exits and init reaps it instead. Without this a
	// dead producer would linger as a zombie that still answers kill(0).
	go func() { _ = cmd.Wait() }()
	if err := writeFileAtomic(PidFile(absRoot, service), []byte(strconv.Itoa(pid)+"\n")); err != nil {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		return fmt.Errorf("start producer %q: write pidfile: %w", service, err)
	}
	// The kernel publishes the new argv a moment after exec; wait for it so
	// that Running is true once Start returns (unless the producer died).
	deadline := time.Now().Add(5 * time.Second)
	for !alive(pid, service) {
		if syscall.Kill(pid, 0) != nil || time.Now().After(deadline) {
			return fmt.Errorf("start producer %q: pid %d exited at once (see %s)", service, pid, LogFile(absRoot, service))
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// Stop sends SIGTERM to the producer's process group, waits for it to exit
// (SIGKILL after StopTimeout, default 10s) and removes the pidfile. A
// service that is not running is not an error.
func Stop(root, service string) error {
	return StopWithTimeout(root, service, 10*time.Second)
}

// StopWithTimeout is Stop with an explicit grace period.
func StopWithTimeout(root, service string, grace time.Duration) error {
	if err := checkService(service); err != nil {
		return fmt.Errorf("stop producer: %w", err)
	}
	pidPath := PidFile(root, service)
	pid, ok := livePid(root, service)
	if !ok {
		if err := os.Remove(pidPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("stop producer %q: remove pidfile: %w", service, err)
		}
		return nil
	}
	if err := signalGroup(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("stop producer %q: signal pid %d: %w", service, pid, err)
	}
	if !waitExit(pid, service, grace) {
		_ = signalGroup(pid, syscall.SIGKILL)
		if !waitExit(pid, service, 5*time.Second) {
			return fmt.Errorf("stop producer %q: pid %d did not exit after SIGKILL", service, pid)
		}
	}
	if err := os.Remove(pidPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("stop producer %q: remove pidfile: %w", service, err)
	}
	return nil
}

// Restart stops the producer (if running) and starts it again.
func Restart(ctx context.Context, root, service string, opts Options) error {
	grace := opts.StopTimeout
	if grace <= 0 {
		grace = 10 * time.Second
	}
	if err := StopWithTimeout(root, service, grace); err != nil {
		return fmt.Errorf("restart producer: %w", err)
	}
	if err := Start(ctx, root, service, opts); err != nil {
		return fmt.Errorf("restart producer: %w", err)
	}
	return nil
}

// Running reports whether the producer in the pidfile is alive.
func Running(root, service string) bool {
	_, ok := livePid(root, service)
	return ok
}

// Pid returns the pid of a running producer.
func Pid(root, service string) (int, bool) { return livePid(root, service) }

// StopAll stops every producer of root, returning every error.
func StopAll(root string) error {
	var errs []error
	for _, s := range Services() {
		if err := Stop(root, s); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// signalGroup signals the process group the producer leads, falling back to
// the pid alone when it is not a group leader.
func signalGroup(pid int, sig syscall.Signal) error {
	if err := syscall.Kill(-pid, sig); err == nil {
		return nil
	}
	err := syscall.Kill(pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// waitExit polls until the process is gone. Polling is the only portable
// way to wait for a process this one may not be the parent of.
func waitExit(pid int, service string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if !alive(pid, service) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func livePid(root, service string) (int, bool) {
	b, err := os.ReadFile(PidFile(root, service))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, alive(pid, service)
}

// alive reports whether pid is a live (not zombie) process and, where
// /proc is readable, that it is still our producer (pids get reused).
func alive(pid int, service string) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // no procfs: trust kill(0)
	}
	// The state follows the parenthesised command name.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		if st := stat[i+2]; st == 'Z' || st == 'X' {
			return false
		}
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(cmdline) == 0 {
		// Unreadable, or a kernel thread; an exec in progress also reads
		// empty for a moment. Trust kill(0).
		return true
	}
	return bytes.Contains(cmdline, []byte("\x00--service\x00"+service+"\x00"))
}
