package ingest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

// upload is an HTTP request body spooled to a file.
type upload struct {
	file   *spool
	size   int64
	sha256 string // lower-case hex
}

// receive spools r's body ([spool]: a small one in memory, else to a file
// in Config.SpoolDir), hashing it on the way, so a large bundle is never
// held in memory whole (issue 9). The body must
// arrive at Config.MinUploadRate ([paced]) and be at most limit bytes. It
// returns an error wrapping errTooSlow for a slow or stalled upload, an
// [*http.MaxBytesError] for one over limit (judged from Content-Length
// first, before reading), or the body's or the file's error. The caller
// closes the upload.
func (w *Worker) receive(rw http.ResponseWriter, r *http.Request, limit int64) (*upload, error) {
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	f := newSpool(w.cfg.SpoolDir, "ingest-body-*", w.spoolMemory, r.ContentLength)
	h := sha256.New()
	body := http.MaxBytesReader(rw, newPaced(rw, r.Body, w.cfg.MinUploadRate, w.cfg.UploadWindow), limit)
	buf := copyBuffers.Get().(*[]byte)
	n, err := io.CopyBuffer(hashingWriter{f, h}, body, *buf)
	copyBuffers.Put(buf)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &upload{file: f, size: n, sha256: hex.EncodeToString(h.Sum(nil))}, nil
}

// copyBuffers hold the 256 KiB buffers bodies are read through: one
// allocated and cleared per request was a twentieth of all bytes allocated
// at max-rate.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// Close removes the spooled body.
func (u *upload) Close() error { return u.file.Close() }

// hashingWriter writes to a spool and a hash; io.MultiWriter would hide the
// spool's error behind a short write.
type hashingWriter struct {
	f *spool
	h hash.Hash
}

func (w hashingWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	if err != nil {
		return n, fmt.Errorf("%w: the body: %w", errSpool, err)
	}
	return n, nil
}

// paced reads a request body that must arrive at a minimum rate: each
// window must bring rate×window bytes, or the end of the body. The window
// runs from the start of the body (the grace at the start) and starts
// again each time its bytes are in, so a fast start earns no credit for a
// stall later.
//
// A stalled connection sends nothing, and a Read would block until the
// server's ReadTimeout; so the connection's read deadline is set to the end
// of the window (http.ResponseController) and moved on with it, and a Read
// past it fails with errTooSlow. Where the deadline cannot be set (an
// http.ResponseWriter wrapper without Unwrap), a trickle is still caught as
// its bytes arrive, a stall only by the server's ReadTimeout.
//
// At the body's end the deadline is cleared: net/http watches the
// connection after the body's end with the same deadline, and a deadline
// passing while the bundle is validated would cancel the request's
// context. When the body fails, the deadline is set to the past instead:
// net/http reads what is left of a short body before it answers, and would
// wait for a stalled client.
type paced struct {
	body  io.ReadCloser
	rc    *http.ResponseController
	quota int64 // bytes per window
	win   time.Duration
	got   int64     // bytes in this window
	due   time.Time // this window's end
	err   error     // the first error, returned from then on
}

func newPaced(rw http.ResponseWriter, body io.ReadCloser, rate int64, window time.Duration) *paced {
	p := &paced{body: body, rc: http.NewResponseController(rw), quota: max(1, int64(float64(rate)*window.Seconds())), win: window}
	p.next(time.Now())
	return p
}

// next starts a window at now.
func (p *paced) next(now time.Time) {
	p.got, p.due = 0, now.Add(p.win)
	_ = p.rc.SetReadDeadline(p.due) // http.ErrNotSupported: see paced
}

func (p *paced) Read(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	n, err := p.body.Read(b)
	p.got += int64(n)
	now := time.Now()
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded) || (err == nil && p.got < p.quota && now.After(p.due)):
		err = errTooSlow
	case p.got >= p.quota:
		p.next(now)
	}
	switch {
	case errors.Is(err, io.EOF):
		p.err = err
		_ = p.rc.SetReadDeadline(time.Time{})
	case err != nil:
		// What is left of the body stays unread: a deadline already past
		// keeps net/http from waiting for it before it answers.
		p.err = err
		_ = p.rc.SetReadDeadline(now)
	}
	return n, err
}

func (p *paced) Close() error { return p.body.Close() }
