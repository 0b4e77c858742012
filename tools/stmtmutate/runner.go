package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Outcome of one mutant's test run.
type Outcome string

// Outcomes. A timeout counts as killed; a build failure is not counted.
const (
	Killed      Outcome = "killed"
	Survived    Outcome = "survived"
	TimedOut    Outcome = "timed-out"
	BuildFailed Outcome = "build-failed"
)

// Runner runs a package's tests with one file replaced through
// `go test -overlay`; no file of the module is written.
type Runner struct {
	Go          string        // the go command
	ModuleDir   string        // where `go test` runs
	Timeout     time.Duration // the test binary's -timeout; past it the mutant is timed out
	BuildBudget time.Duration // extra wall time for the build before the run is killed
	TmpDir      string        // mutated copies and overlay files go here
}

// Run tests pkg (a package pattern relative to ModuleDir, e.g. ./gates)
// with file (relative to ModuleDir) replaced by src; src nil runs the
// unmutated package. runRe, if set, is passed as -run.
func (r *Runner) Run(ctx context.Context, id int, pkg, file string, src []byte, runRe string) (Outcome, string, error) {
	args := []string{"test", "-count=1", "-vet=off", "-failfast", "-timeout", r.Timeout.String()}
	if runRe != "" {
		args = append(args, "-run", runRe)
	}
	if src != nil {
		dir := filepath.Join(r.TmpDir, fmt.Sprintf("m%d", id))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", "", fmt.Errorf("create mutant dir: %w", err)
		}
		defer os.RemoveAll(dir)
		abs, err := filepath.Abs(filepath.Join(r.ModuleDir, file))
		if err != nil {
			return "", "", fmt.Errorf("resolve %s: %w", file, err)
		}
		mutated := filepath.Join(dir, filepath.Base(file))
		if err := os.WriteFile(mutated, src, 0o644); err != nil {
			return "", "", fmt.Errorf("write mutant of %s: %w", file, err)
		}
		overlay, err := json.Marshal(map[string]map[string]string{"Replace": {abs: mutated}})
		if err != nil {
			return "", "", fmt.Errorf("encode overlay: %w", err)
		}
		ov := filepath.Join(dir, "overlay.json")
		if err := os.WriteFile(ov, overlay, 0o644); err != nil {
			return "", "", fmt.Errorf("write overlay: %w", err)
		}
		args = append(args, "-overlay", ov)
	}
	args = append(args, pkg)

	ctx, cancel := context.WithTimeout(ctx, r.Timeout+r.BuildBudget)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.Go, args...)
	cmd.Dir = r.ModuleDir
	// go test starts the test binary as its child: kill the whole group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	text := out.String()
	switch {
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return TimedOut, text, nil
	case ctx.Err() != nil:
		return "", text, ctx.Err()
	case err == nil:
		return Survived, text, nil
	case strings.Contains(text, "[build failed]") || strings.Contains(text, "[setup failed]"):
		return BuildFailed, text, nil
	case strings.Contains(text, "panic: test timed out after"):
		return TimedOut, text, nil
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return Killed, text, nil
	}
	return "", text, fmt.Errorf("run go test %s: %w", pkg, err)
}
