// Package redistest runs throwaway redis-server processes for tests: on a
// free loopback port, without persistence, optionally with --requirepass,
// and killable (SIGKILL, an outage rather than a shutdown) and startable
// again on the same port.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is one redis-server child process.
type Server struct {
	t        testing.TB
	Port     int
	Password string
	dir      string
	cmd      *exec.Cmd
	done     chan struct{}
}

// Start starts a redis-server (with --requirepass when password is set)
// and waits until it answers; it is killed at cleanup.
func Start(t testing.TB, password string) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is not installed (apt-get install redis-server; .ci/run does it): %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	s := &Server{t: t, Port: port, Password: password, dir: t.TempDir()}
	s.Restart()
	t.Cleanup(s.Kill)
	return s
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// URL is a redis:// URL without the password.
func (s *Server) URL() string { return fmt.Sprintf("redis://%s/0", s.Addr()) }

// Restart starts the server (again) on its port and waits until it answers.
func (s *Server) Restart() {
	s.t.Helper()
	args := []string{"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", s.dir}
	if s.Password != "" {
		args = append(args, "--requirepass", s.Password)
	}
	cmd := exec.Command("redis-server", args...)
	logf, err := os.Create(filepath.Join(s.dir, "redis.log"))
	if err != nil {
		s.t.Fatalf("create redis log: %v", err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server on %s: %v", s.Addr(), err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	done := s.done
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	rc := redis.NewClient(&redis.Options{Addr: s.Addr(), Password: s.Password})
	defer rc.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := rc.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redis-server on %s does not answer: %v (log: %s)", s.Addr(), err, filepath.Join(s.dir, "redis.log"))
		}
		select {
		case <-done:
			s.t.Fatalf("redis-server on %s exited (log: %s)", s.Addr(), filepath.Join(s.dir, "redis.log"))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Kill kills the server with SIGKILL and waits for it to exit.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// DropPrefix deletes every key under prefix+":" on the Redis at url (a
// test's decisions and transitions streams, latest decision, budgets,
// marks and locks); a failure is reported to t, never fatal, as it runs at
// cleanup.
func DropPrefix(t testing.TB, url, prefix string) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Errorf("drop redis keys under %s: parse url: %v", prefix, err)
		return
	}
	rc := redis.NewClient(opts)
	defer rc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	it := rc.Scan(ctx, 0, prefix+":*", 100).Iterator()
	for it.Next(ctx) {
		if err := rc.Del(ctx, it.Val()).Err(); err != nil {
			t.Logf("drop redis key %s: %v", it.Val(), err)
		}
	}
	if err := it.Err(); err != nil {
		t.Logf("drop redis keys under %s: %v", prefix, err)
	}
}
