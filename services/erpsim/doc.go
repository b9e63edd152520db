// Package erpsim simulates a municipality's economy system for tests and
// demos: it receives answers, verifies their signatures and records them.
package erpsim
