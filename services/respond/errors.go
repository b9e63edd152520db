package respond

import "errors"

// ErrConfig is returned by [New] and [Config.Validate] for an invalid
// configuration.
var ErrConfig = errors.New("respond: invalid configuration")
