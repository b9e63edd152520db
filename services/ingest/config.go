package ingest

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/kp-efaktura/efaktura/pkg/efaktura"
)

// Config is what operators set. A zero field takes the default shown.
type Config struct {
	// RawRetention is how long each received document's raw XML is kept in
	// the stream of raw documents (events.RawStream), from its receipt;
	// default 90 days (2160h), at least 1s. Documents are validated within
	// seconds and decided and answered within weeks; after the answer,
	// decide keeps an audit summary without CPR numbers, so the raw XML,
	// which holds them, should not outlive the work on it. Validate reads a
	// document by its reference and dead-letters its document.received
	// when the document is gone, so keep it well above the longest a
	// document may wait for validate, dead letters waiting for a replay
	// included. Set it the same on every replica: each sets the stream's
	// MaxAge to it on start.
	RawRetention time.Duration
	// Lease is how long a bundle's duplicate key stays claimed while it is
	// taken in, should the worker stop; default the bus's Lease
	// (bus.Config.Lease, --lease, EFAKTURA_LEASE), else 2m.
	Lease time.Duration
	// MaxBodyBytes caps an HTTP request body: the V01 limit of its content
	// type plus one byte, so V01 still reports an oversized file; default
	// 45 MB for XML and 100 MB for ZIP. Set, it caps both.
	MaxBodyBytes int64
	// MaxUnzippedBytes caps a zipped bundle's content; default 64 MiB.
	MaxUnzippedBytes int64
	// MaxConcurrent is how many bundles are validated and published at once;
	// default 2. More wait up to SlotWait for a turn, then get 503 with
	// Retry-After. A request takes its turn only once its body is spooled,
	// so a slow upload holds no turn.
	MaxConcurrent int
	// SlotWait is how long a received bundle waits for a turn; default 10s.
	// Waiting costs a connection and the spooled file, not memory.
	SlotWait time.Duration

	// SpoolDir holds each HTTP body while it is received and validated, and
	// every accepted bundle's documents until they are published; default
	// os.TempDir(). Bodies and bundles of up to 1 MiB are kept in memory
	// instead, up to 8 MiB at once per worker. The files are unlinked at once and closed after the
	// request, so nothing is left behind, even after a crash. Budget disk
	// for MaxUploadsPerToken bodies of up to 100 MB per ingest token.
	SpoolDir string
	// MinUploadRate is the slowest an HTTP body may arrive, in bytes per
	// second, averaged over each UploadWindow; default 16384 (16 KiB/s). A
	// slower upload, or one that stalls, ends with 408.
	MinUploadRate int64
	// UploadWindow is the span over which MinUploadRate is measured: each
	// window must bring MinUploadRate×UploadWindow bytes or the end of the
	// body. The first window is the grace at the start, and a stalled
	// connection is cut after at most one window; default 10s.
	UploadWindow time.Duration
	// MaxUploadsPerToken is how many requests one ingest token may have in
	// progress at once, from the first byte of the body to the answer;
	// default 4. One more gets 429 with Retry-After.
	MaxUploadsPerToken int
	// RatePerToken is how many requests per second one ingest token may
	// send on average, with bursts of BurstPerToken; default 10 per second.
	// A request over the rate gets 429 with Retry-After saying when the
	// next one is allowed.
	RatePerToken float64
	// BurstPerToken is how many requests one ingest token may send at once
	// before RatePerToken applies; default 200 (an economy system catching
	// up on a backlog, or the end-to-end benchmark's 200 bundles).
	BurstPerToken int
}

func (c Config) withDefaults() Config {
	if c.RawRetention == 0 {
		c.RawRetention = 90 * 24 * time.Hour
	}
	if c.Lease == 0 {
		c.Lease = 2 * time.Minute
	}
	if c.MaxUnzippedBytes == 0 {
		c.MaxUnzippedBytes = 64 << 20
	}
	if c.MaxConcurrent == 0 {
		c.MaxConcurrent = 2
	}
	if c.SlotWait == 0 {
		c.SlotWait = 10 * time.Second
	}
	if c.SpoolDir == "" {
		c.SpoolDir = os.TempDir()
	}
	if c.MinUploadRate == 0 {
		c.MinUploadRate = 16 << 10
	}
	if c.UploadWindow == 0 {
		c.UploadWindow = 10 * time.Second
	}
	if c.MaxUploadsPerToken == 0 {
		c.MaxUploadsPerToken = 4
	}
	if c.RatePerToken == 0 {
		c.RatePerToken = 10
	}
	if c.BurstPerToken == 0 {
		c.BurstPerToken = 200
	}
	return c
}

// Validate reports every problem of c, with its defaults applied, at once;
// the error wraps [ErrConfig]. It checks that a file can be created in
// SpoolDir: without one, every bundle would fail.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"max body bytes", c.MaxBodyBytes}, {"max unzipped bytes", c.MaxUnzippedBytes},
		{"max concurrent", int64(c.MaxConcurrent)}, {"min upload rate", c.MinUploadRate},
		{"max uploads per token", int64(c.MaxUploadsPerToken)}, {"burst per token", int64(c.BurstPerToken)},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("%s is %d; expected a positive number (0 for the default)", f.name, f.v))
		}
	}
	if c.RatePerToken < 0 {
		errs = append(errs, fmt.Errorf("rate per token is %g; expected a positive number of requests per second (0 for the default)", c.RatePerToken))
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"lease", c.Lease}, {"slot wait", c.SlotWait}, {"upload window", c.UploadWindow}} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("%s is %v; expected a positive duration (0 for the default)", f.name, f.v))
		}
	}
	if c.RawRetention < time.Second {
		// JetStream's per-message TTL counts whole seconds, from 1.
		errs = append(errs, fmt.Errorf("raw retention is %v; expected at least 1s (0 for the default 90 days)", c.RawRetention))
	}
	if err := writable(c.SpoolDir); err != nil {
		errs = append(errs, fmt.Errorf("spool dir: %w (set SpoolDir to a writable directory, e.g. an emptyDir volume where the root file system is read-only)", err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}

// maxBody is the body cap for a content type.
func (c Config) maxBody(contentType string) int64 {
	switch {
	case c.MaxBodyBytes > 0:
		return c.MaxBodyBytes
	case contentType == "application/zip" || contentType == "application/octet-stream":
		return efaktura.DefaultMaxZipBytes + 1
	}
	return efaktura.DefaultMaxXMLBytes + 1
}

// writable reports why no file can be created in dir, if it cannot.
func writable(dir string) error {
	f, err := os.CreateTemp(dir, "ingest-probe-*")
	if err != nil {
		return err
	}
	return errors.Join(f.Close(), os.Remove(f.Name()))
}
