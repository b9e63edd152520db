package dirlock

import (
	"errors"
	"fmt"
)

// ErrLocked is matched by the error of [Lock] when the directory is locked
// already; the error is a [*LockedError] naming the holder.
var ErrLocked = errors.New("dirlock: directory locked")

// LockedError says which process holds a directory. It matches [ErrLocked]
// with errors.Is.
type LockedError struct {
	Dir string // as given to Lock
	PID int    // the holder's process id; 0 if the lock file names none
}

func (e *LockedError) Error() string {
	if e.PID == 0 {
		return fmt.Sprintf("dirlock: %s is locked by another process", e.Dir)
	}
	return fmt.Sprintf("dirlock: %s is locked by process %d", e.Dir, e.PID)
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }
