package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// The hostile corpus: testdata/hostile/<class>/<case>/ holds a root tree
// (root/), a contract (contract.yaml) and case.yaml with the expected
// verdicts and exit code. Each case runs the real `strictcycle gates` in a
// child process (this test binary, re-executed) with an address-space cap,
// so a case that hangs, panics or exhausts memory fails its own case, not
// the test binary, and the exit code is the one an operator would see.

const (
	hostileChildEnv = "STRICTCYCLE_HOSTILE_ARGS"
	// hostileTimeout bounds one case: a gate run that blocks (a FIFO) is a
	// failure, not a hang of the suite.
	hostileTimeout = 30 * time.Second
	// hostileMemCap is the address space a case may add to the child's
	// start-up size.
	hostileMemCap = 1 << 30
)

type hostileCase struct {
	Finding string   `yaml:"finding"`
	Now     string   `yaml:"now"`
	Args    []string `yaml:"args"`
	// DefaultOut leaves --out unset, so artifacts go to
	// <root>/reports/promotion_gates as in production.
	DefaultOut bool           `yaml:"default_out"`
	Setup      []hostileSetup `yaml:"setup"`
	Expect     hostileExpect  `yaml:"expect"`
}

// hostileSetup makes what git cannot hold; one field per entry.
type hostileSetup struct {
	File    *setupFile    `yaml:"file"`    // a file whose name or size git cannot hold
	Outside *setupFile    `yaml:"outside"` // a file outside the root ({outside}/path)
	FIFO    string        `yaml:"fifo"`
	Mkdir   string        `yaml:"mkdir"`
	Symlink *setupSymlink `yaml:"symlink"` // target may start with {outside}
	Big     *setupBig     `yaml:"big"`     // bytes of zeros, or a valid JSON report when ts is set
	Mtime   *setupMtime   `yaml:"mtime"`
}

type setupFile struct {
	Path    string `yaml:"path"`
	Content string `yaml:"content"`
}

type setupSymlink struct {
	Path   string `yaml:"path"`
	Target string `yaml:"target"`
}

type setupBig struct {
	Path  string `yaml:"path"`
	Bytes int64  `yaml:"bytes"`
	TsUTC string `yaml:"ts_utc"`
}

type setupMtime struct {
	Path string `yaml:"path"`
	Time string `yaml:"time"`
}

type hostileExpect struct {
	// Exit lists the acceptable exit codes (0 PASS, 2 FAIL, 1 error).
	Exit   []int  `yaml:"exit"`
	Status string `yaml:"status"`
	// Checks maps a check name to its verdict: a verdict, "!pass", or
	// several separated by "|".
	Checks map[string]string `yaml:"checks"`
	// ReasonContains: the check's reason contains one of the strings.
	ReasonContains    map[string][]string `yaml:"reason_contains"`
	StdoutNotContains []string            `yaml:"stdout_not_contains"`
	// NoForgedLines: none of these lines appears whole in stdout or in
	// latest.md (a name with a newline must not make one).
	NoForgedLines    []string `yaml:"no_forged_lines"`
	MaxRSSMB         int64    `yaml:"max_rss_mb"`
	OutsideUntouched bool     `yaml:"outside_untouched"`
}

// TestHostileChild is the child process of TestHostileCorpus: it runs the
// CLI's main with the arguments in hostileChildEnv under an address-space
// cap. It does nothing in a normal test run.
func TestHostileChild(t *testing.T) {
	raw := os.Getenv(hostileChildEnv)
	if raw == "" {
		t.Skip("child process of TestHostileCorpus")
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		fmt.Fprintf(os.Stderr, "hostile child: %v\n", err)
		os.Exit(3)
	}
	if vm := vmSize(); vm > 0 {
		lim := uint64(vm + hostileMemCap)
		if err := syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: lim, Max: lim}); err != nil {
			fmt.Fprintf(os.Stderr, "hostile child: set rlimit: %v\n", err)
			os.Exit(3)
		}
	}
	os.Args = append([]string{"strictcycle"}, args...)
	main()
	os.Exit(3) // main exits itself
}

// vmSize is this process's virtual size in bytes, from /proc.
func vmSize() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmSize:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

func hostileDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "testdata", "hostile"))
	require.NoError(t, err)
	return dir
}

func TestHostileCorpus(t *testing.T) {
	if os.Getenv(hostileChildEnv) != "" {
		t.Skip("in the child process")
	}
	base := hostileDir(t)
	cases, err := filepath.Glob(filepath.Join(base, "*", "*", "case.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, cases, "no cases under %s", base)
	// One subtest per class, one per case: -run 'TestHostileCorpus/numbers/day2_lag'.
	byClass := map[string][]string{}
	var classes []string
	for _, file := range cases {
		dir := filepath.Dir(file)
		class := filepath.Base(filepath.Dir(dir))
		if _, ok := byClass[class]; !ok {
			classes = append(classes, class)
		}
		byClass[class] = append(byClass[class], dir)
	}
	for _, class := range classes {
		t.Run(class, func(t *testing.T) {
			for _, dir := range byClass[class] {
				t.Run(filepath.Base(dir), func(t *testing.T) { runHostileCase(t, dir) })
			}
		})
	}
}

func loadHostileCase(t *testing.T, dir string) *hostileCase {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "case.yaml"))
	require.NoError(t, err)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var c hostileCase
	require.NoError(t, dec.Decode(&c), "case.yaml")
	require.NotEmpty(t, c.Finding, "case.yaml: finding")
	require.NotEmpty(t, c.Expect.Exit, "case.yaml: expect.exit")
	return &c
}

func runHostileCase(t *testing.T, dir string) {
	c := loadHostileCase(t, dir)
	t.Logf("finding: %s", c.Finding)
	work := t.TempDir()
	root := filepath.Join(work, "root")
	outside := filepath.Join(work, "outside")
	out := filepath.Join(work, "out")
	require.NoError(t, os.MkdirAll(outside, 0o755))
	require.NoError(t, copyTree(filepath.Join(dir, "root"), root))
	fifos := applySetup(t, c.Setup, root, outside)
	before := listTree(t, outside)

	args := []string{"gates", "--root", root, "--contract", filepath.Join(dir, "contract.yaml"), "--no-commands"}
	if c.Now != "" {
		args = append(args, "--now", c.Now)
	}
	if !c.DefaultOut {
		args = append(args, "--out", out)
	} else {
		out = filepath.Join(root, "reports", "promotion_gates")
	}
	args = append(args, c.Args...)
	code, stdout, stderr, rssMB := runHostileChild(t, args, root, fifos)
	t.Logf("exit %d, max rss %d MB\nstdout:\n%s\nstderr:\n%s", code, rssMB, clip(stdout), clip(stderr))

	e := c.Expect
	require.Contains(t, e.Exit, code, "exit code")
	statusLines := statusLinesOf(stdout)
	switch code {
	case exitPass:
		require.Equal(t, []string{"PASS"}, statusLines, "exit 0 needs exactly one status=PASS line")
	case exitFail:
		require.Equal(t, []string{"FAIL"}, statusLines, "exit 2 needs exactly one status=FAIL line")
	default:
		require.NotContains(t, statusLines, "PASS", "an error never prints status=PASS")
	}
	if e.Status != "" {
		require.Equal(t, []string{e.Status}, statusLines)
	}
	for _, s := range e.StdoutNotContains {
		require.NotContains(t, stdout, s)
	}
	md, _ := os.ReadFile(filepath.Join(out, "latest.md"))
	for _, line := range e.NoForgedLines {
		require.NotContains(t, strings.Split(stdout, "\n"), line, "forged line in stdout")
		require.NotContains(t, strings.Split(string(md), "\n"), line, "forged line in latest.md")
	}
	if e.MaxRSSMB > 0 {
		require.LessOrEqual(t, rssMB, e.MaxRSSMB, "max rss of the gate run")
	}
	if e.OutsideUntouched {
		require.Equal(t, before, listTree(t, outside), "files outside the root")
	}
	if len(e.Checks) == 0 && len(e.ReasonContains) == 0 {
		return
	}
	verdicts, reasons := readVerdicts(t, out)
	for name, want := range e.Checks {
		got, ok := verdicts[name]
		require.True(t, ok, "check %q not in latest.json", name)
		require.True(t, verdictMatches(want, got), "check %q: verdict %s, want %s (%s)", name, got, want, reasons[name])
	}
	for name, alts := range e.ReasonContains {
		r := reasons[name]
		require.True(t, slices.ContainsFunc(alts, func(s string) bool { return strings.Contains(r, s) }),
			"check %q: reason %q contains none of %q", name, r, alts)
	}
}

// clip keeps a log readable when a child dumps its goroutines.
func clip(s string) string {
	const max = 3000
	if len(s) <= max {
		return s
	}
	return s[:max] + fmt.Sprintf("\n... (%d more bytes)", len(s)-max)
}

func verdictMatches(want, got string) bool {
	for _, w := range strings.Split(want, "|") {
		if w == got || (w == "!pass" && got != "pass" && got != "") {
			return true
		}
	}
	return false
}

func statusLinesOf(stdout string) []string {
	var out []string
	for _, l := range strings.Split(stdout, "\n") {
		if rest, ok := strings.CutPrefix(l, "[promotion-gates] status="); ok {
			s, _, _ := strings.Cut(rest, " ")
			out = append(out, s)
		}
	}
	return out
}

func readVerdicts(t *testing.T, out string) (map[string]string, map[string]string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, "latest.json"))
	require.NoError(t, err, "latest.json")
	var rep struct {
		Checks []struct {
			Name    string `json:"name"`
			Verdict string `json:"verdict"`
			Pass    bool   `json:"pass"`
			Reason  string `json:"reason"`
			Detail  string `json:"detail"`
		} `json:"checks"`
	}
	require.NoError(t, json.Unmarshal(data, &rep))
	v, r := map[string]string{}, map[string]string{}
	for _, c := range rep.Checks {
		require.Equal(t, c.Verdict == "pass", c.Pass, "%s: pass and verdict disagree", c.Name)
		// The reason is the original's string; what was observed is in
		// the detail.
		v[c.Name], r[c.Name] = c.Verdict, c.Reason+": "+c.Detail
	}
	return v, r
}

// runHostileChild runs the CLI in a child process. A child still running
// at the timeout is killed after its FIFOs are released, and the case fails.
func runHostileChild(t *testing.T, args []string, root string, fifos []string) (code int, stdout, stderr string, rssMB int64) {
	t.Helper()
	raw, err := json.Marshal(args)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), hostileTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHostileChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), hostileChildEnv+"="+string(raw))
	cmd.Dir = root
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err = cmd.Run()
	if ctx.Err() != nil {
		releaseHostileFIFOs(fifos)
		t.Fatalf("gate run did not finish within %s (a blocking open?)\nstdout:\n%s\nstderr:\n%s", hostileTimeout, so.String(), se.String())
	}
	if err != nil {
		if _, isExit := err.(*exec.ExitError); !isExit {
			t.Fatalf("run child: %v", err)
		}
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rssMB = ru.Maxrss >> 10
	}
	return cmd.ProcessState.ExitCode(), so.String(), se.String(), rssMB
}

func releaseHostileFIFOs(fifos []string) {
	for _, p := range fifos {
		if f, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	}
}

func applySetup(t *testing.T, setup []hostileSetup, root, outside string) []string {
	t.Helper()
	var fifos []string
	in := func(rel string) string {
		require.NotEmpty(t, rel)
		p := filepath.Join(root, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		return p
	}
	for i, s := range setup {
		switch {
		case s.File != nil:
			require.NoError(t, os.WriteFile(in(s.File.Path), []byte(s.File.Content), 0o644))
		case s.Outside != nil:
			p := filepath.Join(outside, filepath.FromSlash(s.Outside.Path))
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.WriteFile(p, []byte(s.Outside.Content), 0o644))
		case s.FIFO != "":
			p := in(s.FIFO)
			require.NoError(t, syscall.Mkfifo(p, 0o644))
			fifos = append(fifos, p)
		case s.Mkdir != "":
			require.NoError(t, os.MkdirAll(in(s.Mkdir), 0o755))
		case s.Symlink != nil:
			target := strings.Replace(s.Symlink.Target, "{outside}", outside, 1)
			p := in(s.Symlink.Path)
			_ = os.RemoveAll(p)
			require.NoError(t, os.Symlink(target, p))
		case s.Big != nil:
			writeBig(t, in(s.Big.Path), s.Big)
		case s.Mtime != nil:
			mt, err := time.Parse(time.RFC3339, s.Mtime.Time)
			require.NoError(t, err, "setup[%d].mtime.time", i)
			require.NoError(t, os.Chtimes(filepath.Join(root, filepath.FromSlash(s.Mtime.Path)), mt, mt))
		default:
			t.Fatalf("setup[%d]: empty entry", i)
		}
	}
	return fifos
}

// writeBig writes b.Bytes bytes: zeros, or with ts_utc a valid fresh
// passing report padded with a long array of small numbers (the shape that
// costs the most memory to decode generically).
func writeBig(t *testing.T, p string, b *setupBig) {
	t.Helper()
	f, err := os.Create(p)
	require.NoError(t, err)
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	if b.TsUTC == "" {
		require.NoError(t, f.Truncate(b.Bytes))
		return
	}
	head := fmt.Sprintf(`{"ts_utc": %q, "status": "ok", "critical_count": 0, "pad": [0`, b.TsUTC)
	_, err = w.WriteString(head)
	require.NoError(t, err)
	for n := int64(len(head)); n < b.Bytes-2; n += 2 {
		_, err = w.WriteString(",0")
		require.NoError(t, err)
	}
	_, err = w.WriteString("]}")
	require.NoError(t, err)
	require.NoError(t, w.Flush())
}

func copyTree(src, dst string) error {
	if _, err := os.Stat(src); os.IsNotExist(err) {
		return os.MkdirAll(dst, 0o755)
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, rel)
		return nil
	}))
	return out
}
