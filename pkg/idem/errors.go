package idem

import "errors"

var (
	// ErrNotOwner is returned by Complete and Release when the token does
	// not hold the key's lease: the lease expired (and perhaps another
	// worker took over), the key was released, the key was completed (for
	// Release), or the token is not the one Claim returned for the key.
	ErrNotOwner = errors.New("idem: lease not held")

	// ErrInvalid is wrapped by the error returned for an invalid argument or
	// configuration: an empty key or token, a lease or ttl that is not
	// positive, a bad bucket name.
	ErrInvalid = errors.New("idem: invalid argument")
)
