// Package dirlock keeps two processes from using one directory at once, as
// two "efaktura up" on the same --data would (issue 9).
//
// The lock is an exclusive flock(2) on a file in the directory. The kernel
// releases it when the process exits, however it exits, so a kill -9 leaves
// no stale lock behind. The file holds the holder's PID, so that the process
// refused can name it. flock(2) locks belong to an open file, not to a
// process: a second [Lock] of the same directory fails in the same process
// too. Keep the directory on a local file system; over NFS, flock may be
// emulated or not work at all.
package dirlock

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// FileName is the lock file in the directory. It stays after Unlock: removing
// it could let two processes lock two different files of the same name. Its
// PID means something only while the file is locked.
const FileName = "LOCK"

// Dir is a directory locked by this process. Keep it reachable until
// Unlock: a Dir that is garbage collected closes its file, and that
// releases the lock.
type Dir struct {
	f *os.File
}

// Lock locks dir for this process, creating dir (mode 0750) if it is
// missing. It does not wait: when dir is locked already, by this process or
// another, it fails at once with a [*LockedError], which matches [ErrLocked].
func Lock(dir string) (*Dir, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("dirlock: %w", err)
	}
	path := filepath.Join(dir, FileName)
	// No O_TRUNC: until the lock is ours, the PID in the file is the holder's.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("dirlock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &LockedError{Dir: dir, PID: holder(f)}
		}
		return nil, fmt.Errorf("dirlock: lock %s: %w", path, err)
	}
	// Written over the old PID, then cut to length, so the file never
	// reads empty to a process refused meanwhile.
	pid := []byte(strconv.Itoa(os.Getpid()) + "\n")
	if _, err := f.WriteAt(pid, 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("dirlock: %w", err)
	}
	if err := f.Truncate(int64(len(pid))); err != nil {
		f.Close()
		return nil, fmt.Errorf("dirlock: %w", err)
	}
	return &Dir{f: f}, nil
}

// Unlock releases the lock. The lock file stays.
func (d *Dir) Unlock() error {
	if err := d.f.Close(); err != nil {
		return fmt.Errorf("dirlock: %w", err)
	}
	return nil
}

// holder returns the PID in the locked file f, or 0 if it holds none. A
// holder writes its PID just after it takes the lock: a moment's patience
// covers one that has only just taken it.
func holder(f *os.File) int {
	for range 20 {
		b := make([]byte, 32)
		n, _ := f.ReadAt(b, 0)
		line, _, _ := bytes.Cut(b[:n], []byte("\n"))
		if pid, err := strconv.Atoi(string(line)); err == nil && pid > 0 {
			return pid
		}
		time.Sleep(5 * time.Millisecond)
	}
	return 0
}
