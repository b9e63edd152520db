package ingest

import (
	"time"

	"github.com/kp-efaktura/efaktura/pkg/efaktura"
)

// Config is what operators set. A zero field takes the default shown.
type Config struct {
	// Bucket is the object store keeping raw bundles; default
	// "EFAKTURA_bundles".
	Bucket string
	// Lease is how long a bundle's duplicate key stays claimed while it is
	// taken in, should the worker stop; default the bus's Lease
	// (bus.Config.Lease, --lease, EFAKTURA_LEASE), else 2m.
	Lease time.Duration
	// MaxBodyBytes caps an HTTP request body: the V01 limit of its content
	// type plus one byte, so V01 still reports an oversized file; default
	// 45 MB for XML and 100 MB for ZIP. Set, it caps both.
	MaxBodyBytes int64
	// MaxUnzippedBytes caps a zipped bundle's content; default 64 MiB.
	// Intake holds each document's bytes until the bundle is published, so
	// this bounds its memory.
	MaxUnzippedBytes int64
	// MaxConcurrent is how many bundles are taken in at once; default 2.
	// More wait up to SlotWait for a turn, then get 503 with Retry-After.
	MaxConcurrent int
	// SlotWait is how long a request waits for an intake slot; default 10 s.
	// Waiting costs a connection, not memory: the body is read only once
	// the request has its slot.
	SlotWait time.Duration
}

func (c Config) withDefaults() Config {
	if c.Bucket == "" {
		c.Bucket = "EFAKTURA_bundles"
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
	return c
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
