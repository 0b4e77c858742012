package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/gates"
	"github.com/strictcycle/strictcycle/rootfs"
)

// TestMain doubles as a helper program: the drivers and the replay run the
// test binary itself with a first argument "helper:<mode>".
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && strings.HasPrefix(os.Args[1], "helper:") {
		os.Exit(helperMain(strings.TrimPrefix(os.Args[1], "helper:"), os.Args[2:]))
	}
	os.Exit(m.Run())
}

// helperArgv is what the "record" helper writes to helper_argv.json in its
// working directory.
type helperArgv struct {
	Args []string `json:"args"`
	Dir  string   `json:"dir"`
}

func helperMain(mode string, args []string) int {
	switch mode {
	case "record": // record argv and cwd, exit 0
		dir, _ := os.Getwd()
		b, _ := json.Marshal(helperArgv{Args: args, Dir: dir})
		f, err := os.OpenFile("helper_argv.json", os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		defer f.Close()
		f.Write(append(b, '\n'))
		return 0
	case "fail": // a failing driver command
		fmt.Fprintln(os.Stderr, "no such service: "+strings.Join(args, " "))
		return 3
	case "replay": // write the artifact given as args[0] with status args[1]
		fmt.Print(strings.Repeat("x", 3000))
		fmt.Println("replay done marker")
		if os.Getenv("REPLAY_ENV_CHECK") != "yes" {
			fmt.Fprintln(os.Stderr, "env not passed")
			return 4
		}
		b, _ := json.Marshal(map[string]any{"ts_utc": gates.FormatPyISO(time.Now()), "status": args[1]})
		if err := os.MkdirAll(filepath.Dir(args[0]), 0o755); err != nil {
			return 2
		}
		if err := os.WriteFile(args[0], b, 0o644); err != nil {
			return 2
		}
		if len(args) > 2 {
			n := 0
			fmt.Sscan(args[2], &n)
			return n
		}
		return 0
	case "restart-crash":
		return restartCrashMain(args)
	case "sleep":
		d, _ := time.ParseDuration(args[0])
		time.Sleep(d)
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown helper mode", mode)
	return 2
}

// readHelperArgv returns every argv the record helper wrote under dir.
func readHelperArgv(t *testing.T, dir string) []helperArgv {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "helper_argv.json"))
	require.NoError(t, err)
	var out []helperArgv
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var h helperArgv
		require.NoError(t, json.Unmarshal([]byte(line), &h))
		out = append(out, h)
	}
	return out
}

// redisClient connects to REDIS_URL or 127.0.0.1:6379. When no
// redis-server answers it skips the test on a developer's machine, and
// fails it under CI=true, where a missing Redis must not pass as green.
func redisClient(t testing.TB) *redis.Client {
	t.Helper()
	opts := &redis.Options{Addr: "127.0.0.1:6379"}
	if u := os.Getenv("REDIS_URL"); u != "" {
		var err error
		opts, err = redis.ParseURL(u)
		require.NoError(t, err, "parse REDIS_URL")
	}
	rdb := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis-server not reachable (CI=true: a test that needs Redis fails rather than skips): %v", err)
		}
		t.Skipf("redis-server not reachable: %v", err)
	}
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

var prefixSeq atomic.Int64

// testStore returns a RedisStore with a key prefix unique to the test, and
// deletes the prefix's keys and the named streams afterwards.
func testStore(t testing.TB, streams ...string) (*RedisStore, *redis.Client, string) {
	t.Helper()
	rdb := redisClient(t)
	prefix := fmt.Sprintf("sctest:%d:%d:%s", os.Getpid(), prefixSeq.Add(1), strings.ReplaceAll(t.Name(), "/", "_"))
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+":*", 100).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
		for _, s := range streams {
			rdb.Del(ctx, s)
		}
	})
	return NewRedisStore(rdb, prefix), rdb, prefix
}

// activityEnv returns an activity environment with the activities
// registered and a test timeout large enough for watches.
func activityEnv(a *Activities) *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.SetTestTimeout(30 * time.Second)
	env.RegisterActivity(a)
	return env
}

// staticContract is a LoadContract that returns c for any name, with a
// fixed digest.
func staticContract(c *config.Contract) ContractLoader {
	return func(string) (*config.Contract, string, error) { return c, "static", nil }
}

// writeFile writes a file under dir, creating its directories.
func writeFile(t testing.TB, dir, rel, content string) string {
	t.Helper()
	p := filepath.Join(dir, rel)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

// writeReport writes a JSON report with ts_utc and status atomically (temp
// + rename), as the hbot services do.
func writeReport(t testing.TB, root, rel string, ts time.Time, status string) {
	t.Helper()
	b, err := json.Marshal(map[string]any{"ts_utc": gates.FormatPyISO(ts), "status": status})
	require.NoError(t, err)
	r, err := rootfs.Open(root)
	require.NoError(t, err)
	defer r.Close()
	require.NoError(t, writeAtomic(r, rel, b))
}
