package simstack

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

const simUsage = `usage: go run ./dev sim <verb> [flags]   (or: hbotsim sim <verb> [flags], ./dev/hbotsim)

verbs:
  seed     --root DIR                          lay out a simulated stack root (integrity report stale)
  seed     --root DIR --now RFC3339 [--stale CHECK,...] [--failing CHECK,...] [--missing CHECK,...]
                                               lay out a Day-28-shaped root: every report of the 16
                                               checks aged against --now (all PASS unless named)
  seed     --root DIR --now RFC3339 --real-size
                                               the same, grown to the 959d6cc tree's size (~5 300
                                               files scanned by secrets_hygiene; all PASS)
  run      --root DIR --service NAME [--interval 2s] [--redis URL] [--non-atomic [--torn-pause 200ms]]
           [--skew 0] [--start-delay 0]        run one producer in the foreground until SIGTERM/SIGINT
  start    --root DIR [run flags] [--delay 0] SERVICE...
                                               start producers as detached processes
  stop     --root DIR [--delay 0] SERVICE...   stop producers (not running is fine)
  restart  --root DIR [run flags] [--delay 0] SERVICE...
                                               stop, then start
  status   --root DIR [SERVICE...]             print running/stopped per service; exit 0 only if all running
  up       --root DIR [--skip NAME,...] [run flags]
                                               seed, then start every producer except --skip
  down     --root DIR                          stop every producer
  replay   --root DIR [--delay 0]              write reports/replay_regression/latest.json (pass)
  sleep    DURATION                            wait, then exit 0 (a slow command check)
  contract [--out FILE]                        print the demo gate contract for this binary
  health   --root DIR --service NAME           Docker healthcheck: exit 0 when the service's report
                                               is at most its *_HEALTH_MAX_SEC old (hbot defaults)

--delay waits before acting (fault tests: a slow replay or restart).

services: ` + "event-store-service, ops-scheduler, reconciliation-service, alert-webhook-sink, shadow-parity-service, portfolio-risk-service, control-plane-checks\n"

// Command is the `sim …` CLI of the dev binary and of dev/hbotsim: the
// simulated hbot stack. It returns the process exit code: 0 ok, 1 error,
// 2 usage (status: 3 when a service is stopped). It lives here, not in a main package, so that this
// package's tests can re-execute themselves as the CLI (the exec restart
// driver's argv) without building the binary.
func Command(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, simUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	verb, rest := args[0], args[1:]
	var err error
	switch verb {
	case "run":
		err = RunCommand(ctx, rest, stderr)
	case "seed":
		err = simSeed(rest, stdout, stderr)
	case "replay":
		err = simReplay(ctx, rest, stdout, stderr)
	case "sleep":
		err = simSleep(ctx, rest)
	case "contract":
		err = simContract(rest, stdout, stderr)
	case "health":
		err = simHealth(rest, stdout, stderr)
	case "start", "stop", "restart", "status", "up", "down":
		return simSupervise(ctx, verb, rest, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "sim: unknown verb %q\n%s", verb, simUsage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "sim %s: %v\n", verb, err)
		return 1
	}
	return 0
}

func simSeed(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", "", "stack root")
	now := fs.String("now", "", "RFC3339 time: also write every report of the 16 Day-28 checks, aged against it")
	stale := fs.String("stale", "", "with --now: comma-separated checks whose reports are stale")
	failing := fs.String("failing", "", "with --now: comma-separated checks whose files are unhealthy")
	missing := fs.String("missing", "", "with --now: comma-separated checks whose files are absent")
	realSize := fs.Bool("real-size", false, "with --now: grow the tree to the 959d6cc shape (~5 300 scanned files; all checks still pass)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *root == "" {
		return fmt.Errorf("parse flags: --root is required")
	}
	if *now == "" {
		if *stale != "" || *failing != "" || *missing != "" {
			return fmt.Errorf("parse flags: --stale, --failing and --missing need --now")
		}
		if *realSize {
			return fmt.Errorf("parse flags: --real-size needs --now")
		}
		if err := Seed(*root); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "seeded %s\n", *root)
		return nil
	}
	t, err := time.Parse(time.RFC3339, *now)
	if err != nil {
		return fmt.Errorf("parse --now %q: %w", *now, err)
	}
	if *realSize {
		if *stale != "" || *failing != "" || *missing != "" {
			return fmt.Errorf("parse flags: --real-size writes a passing tree; it takes no --stale, --failing or --missing")
		}
		st, err := WriteRealSize(*root, t)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "seeded %s: real-size tree (%d files added, %.1f MiB), Day-28 reports aged against %s\n",
			*root, st.Files, float64(st.Bytes)/(1<<20), t.UTC().Format(time.RFC3339))
		return nil
	}
	o := Day28Options{Now: t, Stale: splitList(*stale), Failing: splitList(*failing), Missing: splitList(*missing)}
	if err := WriteDay28(*root, o); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %s: Day-28 reports aged against %s\n", *root, t.UTC().Format(time.RFC3339))
	return nil
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func simReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	// Default "." so that the argv also works when the caller runs it with
	// cwd = root and no {root} substitution.
	root := fs.String("root", ".", "stack root")
	delay := fs.Duration("delay", 0, "wait this long before the replay (a slow replay)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := sleepCtx(ctx, *delay); err != nil {
		return fmt.Errorf("wait before replay: %w", err)
	}
	if err := RunReplay(*root); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "replay regression cycle PASS (%s)\n", ReplayArtifact)
	return nil
}

// simSleep is `sim sleep DURATION`: a command check that takes a while.
func simSleep(ctx context.Context, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("parse arguments: want one duration, got %d arguments", len(args))
	}
	d, err := time.ParseDuration(args[0])
	if err != nil {
		return fmt.Errorf("parse duration %q: %w", args[0], err)
	}
	return sleepCtx(ctx, d)
}

func simContract(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim contract", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "write to FILE instead of stdout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find executable: %w", err)
	}
	b, err := Contract([]string{exe})
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = stdout.Write(b)
		return err
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return fmt.Errorf("write contract %q: %w", *out, err)
	}
	return nil
}

func simSupervise(ctx context.Context, verb string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sim "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", "", "stack root")
	interval := fs.Duration("interval", DefaultInterval, "producer write interval")
	redisURL := fs.String("redis", "", "Redis URL for event-store-service")
	nonAtomic := fs.Bool("non-atomic", false, "torn (non-atomic) report writes")
	tornPause := fs.Duration("torn-pause", 0, "with --non-atomic: gap between the halves of a write")
	skew := fs.Duration("skew", 0, "clock skew added to timestamps")
	startDelay := fs.Duration("start-delay", 0, "producers wait this long before their first write")
	delay := fs.Duration("delay", 0, "start, stop, restart: wait this long before acting")
	stopTimeout := fs.Duration("stop-timeout", 10*time.Second, "grace after SIGTERM before SIGKILL")
	skip := fs.String("skip", "", "up: comma-separated services not to start")
	if err := fs.Parse(interleave(args)); err != nil {
		return 2
	}
	if *root == "" {
		fmt.Fprintf(stderr, "sim %s: --root is required\n", verb)
		return 2
	}
	opts := Options{Interval: *interval, RedisURL: *redisURL, NonAtomic: *nonAtomic, TornPause: *tornPause,
		Skew: *skew, StartDelay: *startDelay, StopTimeout: *stopTimeout}
	services := fs.Args()
	switch verb {
	case "up":
		if err := Seed(*root); err != nil {
			fmt.Fprintf(stderr, "sim up: %v\n", err)
			return 1
		}
		skipped := map[string]bool{}
		for _, s := range strings.Split(*skip, ",") {
			if s = strings.TrimSpace(s); s != "" {
				skipped[s] = true
			}
		}
		services = nil
		for _, s := range Services() {
			if !skipped[s] {
				services = append(services, s)
			}
		}
		verb = "start"
	case "down":
		if err := StopAll(*root); err != nil {
			fmt.Fprintf(stderr, "sim down: %v\n", err)
			return 1
		}
		return 0
	case "status":
		if len(services) == 0 {
			services = Services()
		}
		code := 0
		for _, s := range services {
			if pid, ok := Pid(*root, s); ok {
				fmt.Fprintf(stdout, "%-24s running pid=%d\n", s, pid)
			} else {
				fmt.Fprintf(stdout, "%-24s stopped\n", s)
				code = 3
			}
		}
		return code
	}
	if len(services) == 0 {
		fmt.Fprintf(stderr, "sim %s: name at least one service\n%s", verb, simUsage)
		return 2
	}
	if err := sleepCtx(ctx, *delay); err != nil {
		fmt.Fprintf(stderr, "sim %s: wait before acting: %v\n", verb, err)
		return 1
	}
	for _, s := range services {
		var err error
		switch verb {
		case "start":
			err = Start(ctx, *root, s, opts)
		case "stop":
			err = StopWithTimeout(*root, s, *stopTimeout)
		case "restart":
			err = Restart(ctx, *root, s, opts)
		}
		if err != nil {
			fmt.Fprintf(stderr, "sim %s: %v\n", verb, err)
			return 1
		}
		fmt.Fprintf(stdout, "%s %s\n", s, pastTense(verb))
	}
	return 0
}

func pastTense(verb string) string {
	switch verb {
	case "stop":
		return "stopped"
	default:
		return verb + "ed"
	}
}

// interleave moves positional arguments after the flags so that both
// `restart --root R svc` and `restart svc --root R` parse (the flag package
// stops at the first positional argument).
func interleave(args []string) []string {
	boolFlags := map[string]bool{"--non-atomic": true, "-non-atomic": true}
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "-") && len(a) > 1:
			flags = append(flags, a)
			if !strings.Contains(a, "=") && !boolFlags[a] && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		default:
			pos = append(pos, a)
		}
	}
	return append(flags, pos...)
}
