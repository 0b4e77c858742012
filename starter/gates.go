package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/gates"
	"github.com/strictcycle/strictcycle/worker/workerapp"
)

// gatesCmd uses main.go's exit codes (0 PASS, 2 FAIL, 1 error); unlike the
// Python runner, a usage, contract or root error is 1, not argparse's 2,
// which collided with FAIL (W11).

// gatesCmd evaluates a gate contract over an hbot root and writes the
// promotion-gate artifacts: 0 PASS, 2 FAIL, 1 error.
func gatesCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gates", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", "", "hbot stack root (required)")
	contract := fs.String("contract", "hbot-day28", "shipped contract name ("+strings.Join(config.ContractNames(), ", ")+") or YAML file")
	ci := fs.Bool("ci", false, "CI mode: the contract's CI freshness window, and its ci_only pre-steps run")
	nowFlag := fs.String("now", "", "evaluate as of this RFC 3339 time (default: the clock)")
	noCommands := fs.Bool("no-commands", false, "do not run command checks; judge them on the artifact they last wrote")
	out := fs.String("out", "", "artifact directory (default <root>/reports/promotion_gates)")
	asJSON := fs.Bool("json", false, "print the report JSON")
	checkConfig := fs.Bool("check-config", false, "validate the contract and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitPass
		}
		return exitError
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gates: unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return exitError
	}
	c, err := config.LoadContract(*contract)
	if err != nil {
		fmt.Fprintf(stderr, "gates: %v\n", err)
		return exitError
	}
	if *checkConfig {
		fmt.Fprintf(stdout, "[promotion-gates] contract %s ok (%d checks)\n", c.Name, len(c.Checks))
		return exitPass
	}
	if *root == "" {
		fmt.Fprintln(stderr, "gates: --root is required")
		return exitError
	}
	// The configured secrets (the Redis password, TEMPORAL_API_KEY, the TLS
	// key) are masked in what command checks print, as the worker does: a
	// gate run from the CLI writes the same artifacts.
	cfg, err := config.Load(os.LookupEnv)
	if err != nil {
		fmt.Fprintf(stderr, "gates: %v\n", err)
		return exitError
	}
	opts := gates.Options{Root: *root, CI: *ci, NoCommands: *noCommands, Secrets: workerapp.Secrets(cfg)}
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339Nano, *nowFlag)
		if err != nil {
			fmt.Fprintf(stderr, "gates: parse --now %q: %v\n", *nowFlag, err)
			return exitError
		}
		opts.Now = func() time.Time { return t }
	}
	eng, err := gates.New(c, opts)
	if err != nil {
		fmt.Fprintf(stderr, "gates: %v\n", err)
		return exitError
	}
	rep, err := eng.Run(ctx, gates.RunOptions{})
	if err != nil {
		fmt.Fprintf(stderr, "gates: %v\n", err)
		return exitError
	}
	outDir := *out
	if outDir == "" {
		outDir = filepath.Join(eng.Root(), "reports", "promotion_gates")
	}
	arts, err := gates.Write(outDir, rep)
	if err != nil {
		fmt.Fprintf(stderr, "gates: %v\n", err)
		return exitError
	}
	if *asJSON {
		js, err := gates.MarshalReport(rep)
		if err != nil {
			fmt.Fprintf(stderr, "gates: %v\n", err)
			return exitError
		}
		fmt.Fprintf(stdout, "%s\n", js)
	}
	// Names, reasons and paths come from the contract and the stack's
	// files: escaped, none can print a line of its own (a forged status).
	for _, p := range rep.PreSteps {
		if !p.Ran {
			continue // recorded in the artifact
		}
		fmt.Fprintf(stdout, "[pre-step] %s: %s\n", gates.Printable(p.Name), gates.Printable(preStepLine(p)))
	}
	for _, r := range rep.Checks {
		fmt.Fprintf(stdout, "[%s] %s: %s\n", strings.ToUpper(gates.Printable(string(r.Verdict))), gates.Printable(r.Name), gates.Printable(r.Text()))
	}
	status := gates.StatusFail
	if rep.Status == gates.StatusPass {
		status = gates.StatusPass
	}
	fmt.Fprintf(stdout, "[promotion-gates] status=%s validation_level=%d\n", status, rep.ValidationLevel)
	if len(rep.CriticalFailures) > 0 {
		fmt.Fprintf(stdout, "[promotion-gates] critical_failures=%s\n", gates.PrintableList(rep.CriticalFailures))
	}
	fmt.Fprintf(stdout, "[promotion-gates] evidence=%s\n", gates.Printable(arts.JSON))
	if status == gates.StatusPass {
		return exitPass
	}
	return exitFail
}

// preStepLine says how a pre-step went: ok, failed (why) or not run (why).
func preStepLine(p gates.PreStepResult) string {
	switch {
	case !p.Ran:
		return p.Reason
	case p.OK:
		return "ok"
	}
	return "failed: " + p.Reason
}
