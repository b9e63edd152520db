package respond

import "errors"

// Errors.
var (
	// ErrConfig is returned by [New] and [Config.Validate] for an invalid
	// configuration.
	ErrConfig = errors.New("respond: invalid configuration")
	// ErrSignature is returned by [Verify] when the signature is missing,
	// malformed or does not match the body.
	ErrSignature = errors.New("respond: bad signature")
	// ErrTimestamp is returned by [Verify] when the signature's timestamp is
	// missing, malformed or outside the tolerance.
	ErrTimestamp = errors.New("respond: bad signature timestamp")

	// errLockLost: the drain's per-municipality lock expired or was taken
	// over; the drain stops and a retry starts it again.
	errLockLost = errors.New("respond: release lock lost")
	// errLockBusy: a release after a change waited in vain for another
	// worker's lock; the bus retries the change.
	errLockBusy = errors.New("respond: release lock busy")
	// errReleased: a parked answer was released while it was parked again.
	errReleased = errors.New("respond: answer released meanwhile")
)
