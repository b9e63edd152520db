package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// Routes adds the HTTP API: POST /v1/bundles.
func (w *Worker) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/bundles", w.postBundle)
}

type documentJSON struct {
	ID         string `json:"id"`
	Index      int    `json:"index"`
	ReceiptNo  string `json:"receipt_no"`
	DocumentNo string `json:"document_no"`
}

// postBundle takes a bundle from an economy system: 202 accepted, 400 with
// findings, 401 bad token, 403 unknown sender, 408 too slow an upload, 409
// duplicate, 413 too large, 415 wrong content type, 429 over the token's
// limits, 503 busy or not now.
//
// The body is spooled to a file before the request waits for one of the
// MaxConcurrent intake turns, so a slow upload holds no turn (issue 9).
func (w *Worker) postBundle(rw http.ResponseWriter, r *http.Request) {
	token, _ := tenant.Bearer(r)
	p, err := w.tenants.Authenticate(token)
	if err != nil || p.Role != tenant.RoleIngest {
		writeJSON(rw, http.StatusUnauthorized, map[string]string{"error": "a valid bearer token of an economy system is required"})
		return
	}
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	ct = strings.TrimSpace(ct)
	switch ct {
	case "application/xml", "text/xml", "application/zip", "application/octet-stream", "":
	default:
		writeJSON(rw, http.StatusUnsupportedMediaType, map[string]string{"error": "send the bundle as application/xml or application/zip"})
		return
	}
	done, wait, ok := w.limits.admit(p, time.Now())
	if !ok {
		retryAfter(rw, wait)
		writeJSON(rw, http.StatusTooManyRequests, map[string]string{"error": fmt.Sprintf(
			"too many requests with this token: at most %d at once and %g a second; send it again after %s seconds",
			w.cfg.MaxUploadsPerToken, w.cfg.RatePerToken, rw.Header().Get("Retry-After"))})
		return
	}
	defer done()

	body, err := w.receive(rw, r, w.cfg.maxBody(ct))
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, errTooSlow):
		rw.Header().Set("Connection", "close")
		writeJSON(rw, http.StatusRequestTimeout, map[string]string{"error": fmt.Sprintf(
			"the upload was slower than %d bytes a second over %s; send it again over a faster connection", w.cfg.MinUploadRate, w.cfg.UploadWindow)})
		return
	case errors.As(err, &tooBig):
		writeJSON(rw, http.StatusRequestEntityTooLarge, map[string]string{"error": fmt.Sprintf("the bundle is larger than %d bytes; a plain XML bundle may be at most 45 MB, a zipped one 100 MB (send ZIPs as application/zip)", tooBig.Limit-1)})
		return
	case errors.Is(err, errSpool):
		w.log.ErrorContext(r.Context(), "bundle not spooled", "kommune", p.Kommune, "err", err)
		writeJSON(rw, http.StatusServiceUnavailable, map[string]string{"error": "the bundle could not be taken in now; send it again later"})
		return
	case err != nil:
		writeJSON(rw, http.StatusBadRequest, map[string]string{"error": "the request body could not be read"})
		return
	}
	defer body.Close()

	if !w.takeSlot(r.Context()) {
		retryAfter(rw, 5*time.Second)
		writeJSON(rw, http.StatusServiceUnavailable, map[string]string{"error": "busy taking in other bundles; send it again shortly"})
		return
	}
	defer func() { <-w.slots }()
	v, err := w.take(r.Context(), submission{kommune: p.Kommune, serviceProvider: p.Name, body: body.file, size: body.size,
		sha256: body.sha256, receivedAt: w.now()})
	if errors.Is(err, ErrRetry) {
		retryAfter(rw, 5*time.Second)
		writeJSON(rw, http.StatusServiceUnavailable, map[string]string{"error": "the bundle cannot be taken in right now (it is being taken in already, or the duplicate check is unavailable); send it again shortly"})
		return
	}
	if err != nil {
		w.log.ErrorContext(r.Context(), "bundle intake failed", "kommune", p.Kommune, "err", err)
		writeJSON(rw, http.StatusServiceUnavailable, map[string]string{"error": "the bundle could not be taken in now; send it again later"})
		return
	}
	if a := v.accepted; a != nil {
		docs := make([]documentJSON, len(a.received.Documents))
		for i, d := range a.received.Documents {
			docs[i] = documentJSON{ID: d.DocumentID, Index: d.Index, ReceiptNo: d.ReceiptNo, DocumentNo: d.DocumentNo}
		}
		writeJSON(rw, http.StatusAccepted, map[string]any{"bundle_id": a.received.BundleID, "reference": a.received.Reference, "documents": docs})
		return
	}
	switch rej := v.rejected; rej.reason {
	case reasonDuplicate:
		writeJSON(rw, http.StatusConflict, map[string]any{"error": "a bundle with this REFERENCE from this sender was already accepted this year (V10)", "bundle_id": rej.bundleID, "findings": rej.findings})
	case reasonTooLarge:
		writeJSON(rw, http.StatusRequestEntityTooLarge, map[string]any{"error": "the bundle is over the size limits (V01)", "findings": rej.findings})
	case reasonUnknownSender:
		writeJSON(rw, http.StatusForbidden, map[string]any{"error": rej.message})
	default:
		writeJSON(rw, http.StatusBadRequest, map[string]any{"error": "the bundle fails the file or bundle rules; no document was taken in", "findings": rej.findings})
	}
}

// takeSlot waits up to SlotWait for one of the MaxConcurrent intake slots.
func (w *Worker) takeSlot(ctx context.Context) bool {
	select {
	case w.slots <- struct{}{}:
		return true
	default:
	}
	timer := time.NewTimer(w.cfg.SlotWait)
	defer timer.Stop()
	select {
	case w.slots <- struct{}{}:
		return true
	case <-timer.C:
	case <-ctx.Done():
	}
	return false
}

// retryAfter sets Retry-After to d in whole seconds, rounded up.
func retryAfter(rw http.ResponseWriter, d time.Duration) {
	rw.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
}

func writeJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	json.NewEncoder(rw).Encode(v)
}
