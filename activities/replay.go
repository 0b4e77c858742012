package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/strictcycle/strictcycle/gates"
	"github.com/strictcycle/strictcycle/procrun"
	"github.com/strictcycle/strictcycle/redact"
)

// replayProgress is the heartbeat detail of RunReplay and EvaluateGates.
type replayProgress struct {
	ElapsedMS float64 `json:"elapsed_ms"`
}

// RunReplay runs the contract's replay regression argv (no shell, cwd =
// root), heartbeating every HeartbeatEvery; a cancelled activity kills the
// command's process group. A non-zero exit or a timeout is a result.
func (a *Activities) RunReplay(ctx context.Context, in *RunReplayInput) (*RunReplayResult, error) {
	c, err := a.contract(in.Target)
	if err != nil {
		return nil, err
	}
	if c.Replay == nil || len(c.Replay.Argv) == 0 {
		return &RunReplayResult{Ran: false, Reason: "no replay configured"}, nil
	}
	if in.Root == "" {
		return nil, nonRetryable(ErrTypeBadInput, errors.New("run replay: no root in the target"))
	}
	rp := c.Replay
	if rp.Artifact != "" {
		if err := insideRoot(rp.Artifact); err != nil {
			return nil, nonRetryable(ErrTypeBadContract, fmt.Errorf("run replay: artifact: %w", err))
		}
	}
	logger := activity.GetLogger(ctx)
	logger.Info("running replay", "argv0", rp.Argv[0], "timeout", rp.Timeout)
	// With an enabled live bot the contract's live_argv runs (the original
	// drops --no-require-portfolio-risk-healthy then).
	src, err := gates.ReplayArgv(c, in.Root)
	if err != nil {
		return nil, fmt.Errorf("run replay: %w", err)
	}
	// {root} in the argv is the stack root, as in the exec driver's templates.
	argv := make([]string, len(src))
	for i, arg := range src {
		argv[i] = strings.ReplaceAll(arg, "{root}", in.Root)
	}
	// "python" is the contract's interpreter (python3, else python, or the
	// venv it names), as for the command checks.
	if argv[0] == "python" {
		interp, err := gates.ResolveInterpreter(c, in.Root)
		if err != nil {
			return nil, nonRetryable(ErrTypeBadContract, fmt.Errorf("run replay: %w", err))
		}
		argv[0] = interp
	}
	// The command gets an explicit environment (its env map and the
	// variables it names), never the worker's; what it prints is masked.
	red := a.secrets.With(redact.FromEnv(rp.SecretEnv)...)
	pr, err := procrun.Run(ctx, procrun.Spec{
		Argv:           argv,
		Dir:            in.Root,
		Env:            rp.Env,
		PassEnv:        rp.Names(),
		Redactor:       red,
		Timeout:        rp.Timeout,
		HeartbeatEvery: a.heartbeatEvery,
		Heartbeat: func(elapsed time.Duration) {
			activity.RecordHeartbeat(ctx, replayProgress{ElapsedMS: ms(elapsed)})
		},
	})
	if errors.Is(err, procrun.ErrStart) {
		return nil, nonRetryable(ErrTypeBadContract, fmt.Errorf("run replay %q: %w", rp.Argv[0], err))
	}
	if err != nil {
		return nil, fmt.Errorf("run replay %q: %w", rp.Argv[0], err)
	}
	res := &RunReplayResult{Ran: true, ExitCode: pr.ExitCode, DurationMS: ms(pr.Duration), OutputTail: pr.Tail, Artifact: rp.Artifact}
	if pr.TimedOut {
		res.Reason = fmt.Sprintf("timeout after %s", rp.Timeout)
	}
	if rp.Artifact != "" {
		res.Status, err = artifactStatus(in.Root, rp.Artifact)
		if err != nil {
			// The check judging the artifact reports it too; here it is
			// context for the history.
			res.Reason = strings.TrimPrefix(res.Reason+"; "+err.Error(), "; ")
		}
	}
	// The artifact's status and the reason come from what the command
	// wrote: masked as its output is.
	res.Status, res.Reason = red.String(res.Status), red.String(res.Reason)
	return res, nil
}

// artifactStatus reads the "status" field of the JSON report at rel under
// root. The read goes through rootfs: a symlink out of the root (to
// /dev/zero, to /etc/passwd), a FIFO, a directory or a file over
// gates.MaxReportBytes is an error naming the artifact, found without
// blocking and before reading a byte of it; the decode streams from the
// capped file.
func artifactStatus(rootDir, rel string) (string, error) {
	root, err := openRoot(rootDir)
	if err != nil {
		return "", fmt.Errorf("read replay artifact %q: %w", rel, err)
	}
	defer root.Close()
	f, err := root.Open(rel, gates.MaxReportBytes)
	if err != nil {
		return "", fmt.Errorf("read replay artifact %q: %w", rel, escapeHint(err))
	}
	defer f.Close()
	var doc struct {
		Status any `json:"status"`
	}
	if err := json.NewDecoder(f).Decode(&doc); err != nil {
		return "", fmt.Errorf("decode replay artifact %q: %w", rel, err)
	}
	s, ok := doc.Status.(string)
	if !ok {
		return "", fmt.Errorf("decode replay artifact %q: field status is %T, want a string", rel, doc.Status)
	}
	return s, nil
}

// insideRoot refuses a root-relative path that is absolute or climbs out of
// the root lexically (a contract error, found before the command runs);
// symlinks are refused when the file is read, by rootfs.
func insideRoot(rel string) error {
	if filepath.IsAbs(rel) {
		return fmt.Errorf("path %q: must be relative to the root", rel)
	}
	r := filepath.Clean(rel)
	if r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return fmt.Errorf("path %q: escapes the root", rel)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
