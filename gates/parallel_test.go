package gates

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
)

// rendezvous is a command that logs its start, waits (up to tries × 50 ms)
// until the other command has logged its start, then logs its end: it
// passes only if the two run at the same time.
func rendezvous(me, other string, tries int) config.Check {
	script := `echo "` + me + ` start" >> events.log
i=0
until grep -q "^` + other + ` start" events.log; do
  i=$((i+1)); [ "$i" -gt ` + strconv.Itoa(tries) + ` ] && { echo "` + me + ` alone" >> events.log; exit 1; }
  sleep 0.05
done
echo "` + me + ` end" >> events.log`
	return config.Check{Name: me, Severity: config.SeverityCritical, Kind: config.KindCommand,
		PassReason: me + " ok", FailReason: me + " failed",
		Command: &config.CommandSpec{Argv: []string{"/bin/sh", "-c", script}}}
}

// Two slow commands overlap (each waits for the other's start, which a
// sequential run never gives it), and the results keep contract order.
func TestCommandChecksRunInParallel(t *testing.T) {
	root := t.TempDir()
	c := oneCheckContract(rendezvous("cmd_a", "cmd_b", 200))
	c.Checks = append(c.Checks, config.Check{Name: "files", Severity: config.SeverityCritical,
		Kind: config.KindFilesPresent, Files: []string{"marker"}, PassReason: "ok", FailReason: "bad"},
		rendezvous("cmd_b", "cmd_a", 200))
	writeFile(t, root, "marker", "x")
	e, err := New(c, Options{Root: root, Now: func() time.Time { return fixedNow }, CommandParallelism: 2})
	require.NoError(t, err)
	rep, err := e.Run(context.Background(), RunOptions{RunID: "par"})
	require.NoError(t, err)
	var names []string
	for _, r := range rep.Checks {
		names = append(names, r.Name)
		assert.Equal(t, VerdictPass, r.Verdict, "%s: %s", r.Name, r.Text())
	}
	assert.Equal(t, []string{"cmd_a", "files", "cmd_b"}, names)
	data, err := os.ReadFile(filepath.Join(root, "events.log"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	require.Len(t, lines, 4)
	// Both started before either ended.
	assert.ElementsMatch(t, []string{"cmd_a start", "cmd_b start"}, lines[:2])
	assert.ElementsMatch(t, []string{"cmd_a end", "cmd_b end"}, lines[2:])
}

// With a bound of one, the same two commands cannot meet: the first gives
// up waiting and fails, so the bound is honoured.
func TestCommandParallelismBound(t *testing.T) {
	root := t.TempDir()
	c := oneCheckContract(rendezvous("cmd_a", "cmd_b", 10))
	c.Checks = append(c.Checks, rendezvous("cmd_b", "cmd_a", 10))
	e, err := New(c, Options{Root: root, Now: func() time.Time { return fixedNow }, CommandParallelism: 1})
	require.NoError(t, err)
	rep, err := e.Run(context.Background(), RunOptions{RunID: "seq"})
	require.NoError(t, err)
	data, err := os.ReadFile(filepath.Join(root, "events.log"))
	require.NoError(t, err)
	assert.Contains(t, string(data), " alone")
	assert.Equal(t, []string{"cmd_a", "cmd_b"}, []string{rep.Checks[0].Name, rep.Checks[1].Name})
}

// A check that reads the directory of an earlier command's artifact waits
// for that command, so it judges what the command wrote.
func TestCheckAfterCommandSeesItsArtifact(t *testing.T) {
	root := t.TempDir()
	cmd := config.Check{Name: "writer", Severity: config.SeverityCritical, Kind: config.KindCommand,
		PassReason: "ok", FailReason: "bad", Command: &config.CommandSpec{
			Argv:   []string{"/bin/sh", "-c", `sleep 0.2; mkdir -p reports/w; echo '{"ts_utc":"2026-02-26T01:59:00Z"}' > reports/w/out.json`},
			Report: &config.ReportSpec{Path: "reports/w/out.json"}}}
	c := oneCheckContract(cmd)
	c.Checks = append(c.Checks, config.Check{Name: "reader", Severity: config.SeverityCritical,
		Kind: config.KindFilesPresent, Files: []string{"reports/w/out.json"}, PassReason: "ok", FailReason: "bad"})
	e, err := New(c, Options{Root: root, Now: func() time.Time { return fixedNow }, CommandParallelism: 2})
	require.NoError(t, err)
	rep, err := e.Run(context.Background(), RunOptions{RunID: "dep"})
	require.NoError(t, err)
	for _, r := range rep.Checks {
		assert.Equal(t, VerdictPass, r.Verdict, "%s: %s", r.Name, r.Text())
	}
}

func TestSharesDir(t *testing.T) {
	a := watchDirs(&config.ReportSpec{Paths: []string{"reports/x/latest.json"}, Globs: []string{"reports/x/**/x_*.json"}})
	assert.Equal(t, []string{"/reports/x", "/reports/x"}, a)
	assert.True(t, sharesDir(a, watchDirs(nil, "reports/x/sub/y.json")))
	assert.True(t, sharesDir(a, watchDirs(nil, "reports/z_*.json")))
	assert.False(t, sharesDir(a, watchDirs(nil, "reports/y/a.json")))
	assert.True(t, sharesDir(a, watchDirs(nil, "top.json")))
}
