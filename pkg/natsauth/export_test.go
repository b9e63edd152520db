package natsauth

import "slices"

// Publishes returns the event types worker publishes; nil for an identity
// that is not a worker. For the tests only.
func Publishes(worker string) []string { return slices.Clone(publishes[worker]) }
