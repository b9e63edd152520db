// Package redistest starts real redis-server processes for tests, on free
// loopback ports, so tests never touch a Redis someone else runs.
//
// redis-server must be installed (Debian: apt-get install redis-server;
// .ci/run installs it when missing). Without it, a test fails under CI
// (CI set in the environment) and is skipped elsewhere, both with a message
// that says how to install it.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is a running redis-server.
type Server struct {
	Addr string // host:port
	cmd  *exec.Cmd
	dir  string
	url  string // set by StartTLS
}

// URL returns the server's address as a redis:// URL, as REDIS_URL takes
// it; a rediss:// URL with the user and password for StartTLS's.
func (s *Server) URL() string {
	if s.url != "" {
		return s.url
	}
	return "redis://" + s.Addr
}

// Start runs redis-server without persistence on a free port and stops it
// when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := serverBinary(t)
	dir := t.TempDir()
	s, err := onFreePort(t, func(port int) (*Server, error) {
		return startWith(bin, dir, port, ping, "--port", strconv.Itoa(port))
	})
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	return s
}

// serverBinary returns redis-server's path; without one it fails the test
// in CI and skips it elsewhere.
func serverBinary(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		// A failure, not a skip: a test that skips where redis-server is
		// missing passes unnoticed; make test installs it (.ci/system-deps).
		t.Fatal("redistest: redis-server not found; make test installs it, or: apt-get install redis-server")
	}
	return bin
}

// onFreePort calls start with a free port, and stops the server when the
// test ends. A free port can be taken between choosing it and redis
// binding it; it tries a few.
func onFreePort(t testing.TB, start func(port int) (*Server, error)) (*Server, error) {
	t.Helper()
	var last error
	for range 5 {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		s, err := start(port)
		if err == nil {
			t.Cleanup(s.stop)
			return s, nil
		}
		last = err
	}
	return nil, last
}

func startWith(bin, dir string, port int, ping func(addr string) error, args ...string) (*Server, error) {
	cmd := exec.Command(bin, append(append([]string{}, args...), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no",
		"--logfile", dir+"/redis.log")...)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd, dir: dir}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(dir + "/redis.log")
			return nil, fmt.Errorf("redis-server on port %d exited (%v): %s", port, err, lastLines(string(log), 3))
		default:
		}
		if ping(s.Addr) == nil {
			go func() { <-exited }() // reap on stop
			return s, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	return nil, fmt.Errorf("redis-server on port %d did not answer PING within 10s", port)
}

func (s *Server) stop() {
	s.cmd.Process.Kill()
}

// ping sends PING in the Redis protocol and expects +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}
