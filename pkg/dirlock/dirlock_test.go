package dirlock_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kp-efaktura/efaktura/pkg/dirlock"
)

// TestMain lets a test run this binary as a child process that locks the
// directory in DIRLOCK_TEST_HOLD, says "locked" and holds the lock until it
// is killed or its standard input closes.
func TestMain(m *testing.M) {
	if dir := os.Getenv("DIRLOCK_TEST_HOLD"); dir != "" {
		l, err := dirlock.Lock(dir)
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println("locked")
		io.Copy(io.Discard, os.Stdin)
		l.Unlock()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// holdInChild locks dir in a child process and returns once it holds it.
func holdInChild(t *testing.T, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "DIRLOCK_TEST_HOLD="+dir)
	cmd.Stderr = os.Stderr
	if _, err := cmd.StdinPipe(); err != nil { // open until the child is killed
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if line != "locked\n" {
		t.Fatalf("child said %q (%v), want locked", line, err)
	}
	return cmd
}

// wantLockedBy checks that err is the refusal of a lock held by pid.
func wantLockedBy(t *testing.T, err error, dir string, pid int) {
	t.Helper()
	if !errors.Is(err, dirlock.ErrLocked) {
		t.Fatalf("Lock(%q) = %v, want an error matching ErrLocked", dir, err)
	}
	var locked *dirlock.LockedError
	if !errors.As(err, &locked) || locked.PID != pid || locked.Dir != dir {
		t.Errorf("Lock(%q) = %#v, want a *LockedError with PID %d", dir, err, pid)
	}
	if !strings.Contains(err.Error(), "process "+strconv.Itoa(pid)) {
		t.Errorf("Lock(%q) error %q does not name process %d", dir, err, pid)
	}
}

func TestLockTwiceInOneProcess(t *testing.T) {
	dir := t.TempDir()
	l, err := dirlock.Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = dirlock.Lock(dir)
	wantLockedBy(t, err, dir, os.Getpid())
	if err := l.Unlock(); err != nil {
		t.Fatalf("Unlock() = %v", err)
	}
	l, err = dirlock.Lock(dir)
	if err != nil {
		t.Fatalf("Lock(%q) after Unlock = %v", dir, err)
	}
	l.Unlock()
}

func TestLockHeldByAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	child := holdInChild(t, dir)
	_, err := dirlock.Lock(dir)
	wantLockedBy(t, err, dir, child.Process.Pid)

	// A crash: the kernel releases the lock of a killed process.
	child.Process.Kill()
	child.Wait()
	l, err := dirlock.Lock(dir)
	if err != nil {
		t.Fatalf("Lock(%q) after the holder was killed = %v", dir, err)
	}
	l.Unlock()
}

func TestLockCreatesTheDirectoryAndWritesThePID(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "data")
	l, err := dirlock.Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	b, err := os.ReadFile(filepath.Join(dir, dirlock.FileName))
	if want := strconv.Itoa(os.Getpid()) + "\n"; string(b) != want || err != nil {
		t.Errorf("lock file = %q, %v; want %q", b, err, want)
	}
}

// A PID left by a holder that was killed is replaced whole.
func TestLockReplacesAStalePID(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, dirlock.FileName)
	if err := os.WriteFile(path, []byte("4194304999\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	l, err := dirlock.Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	b, err := os.ReadFile(path)
	if want := strconv.Itoa(os.Getpid()) + "\n"; string(b) != want || err != nil {
		t.Errorf("lock file = %q, %v; want %q", b, err, want)
	}
}

func TestLockFailsOnAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if l, err := dirlock.Lock(file); err == nil || errors.Is(err, dirlock.ErrLocked) {
		t.Errorf("Lock(%q) = %v, %v; want an error other than ErrLocked", file, l, err)
	}
}
