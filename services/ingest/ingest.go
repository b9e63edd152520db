package ingest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus"
	"github.com/kp-efaktura/efaktura/pkg/efaktura"
	"github.com/kp-efaktura/efaktura/pkg/idem"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// Tenants is what ingest needs of the municipality registry;
// *tenant.Registry implements it.
type Tenants interface {
	Get(kommune string) (tenant.Tenant, bool)
	// Senders is the municipality's sender register (V24, V48).
	Senders(kommune string) efaktura.SenderRegister
	Authenticate(token string) (tenant.Principal, error)
}

// Config is what operators set. A zero field takes the default shown.
type Config struct {
	// Bucket is the object store keeping raw bundles; default
	// "EFAKTURA_bundles".
	Bucket string
	// Lease is how long a bundle's duplicate key stays claimed while it is
	// taken in, should the worker stop; default 2m.
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

// Worker takes in bundles.
type Worker struct {
	cfg     Config
	bus     *bus.Bus
	tenants Tenants
	store   idem.Store
	objects jetstream.ObjectStore
	log     *slog.Logger
	now     func() time.Time
	slots   chan struct{} // MaxConcurrent intakes
}

// New creates the object store (idempotently) and returns the worker.
// store keeps the duplicate-bundle keys (V10): Redis in production, JetStream
// KV in the all-in-one.
func New(ctx context.Context, b *bus.Bus, tenants Tenants, store idem.Store, cfg Config, log *slog.Logger) (*Worker, error) {
	cfg = cfg.withDefaults()
	bc := b.Config()
	objects, err := b.JetStream().CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket: cfg.Bucket, Replicas: bc.Replicas, Storage: bc.StorageType(),
		Description: "Raw e-faktura bundles as received",
	})
	if err != nil {
		return nil, fmt.Errorf("ingest: object store %s: %w", cfg.Bucket, err)
	}
	return &Worker{cfg: cfg, bus: b, tenants: tenants, store: store, objects: objects, log: log, now: time.Now,
		slots: make(chan struct{}, cfg.MaxConcurrent)}, nil
}

// keep stores the raw bundle under its id; storing it again is harmless.
func (w *Worker) keep(ctx context.Context, id string, body []byte) error {
	if _, err := w.objects.Put(ctx, jetstream.ObjectMeta{Name: id}, bytes.NewReader(body)); err != nil {
		return fmt.Errorf("keep bundle %s: %w", id, err)
	}
	return nil
}

// kept reports whether the bundle stored under id has the given SHA-256.
func (w *Worker) kept(ctx context.Context, id, sha string) bool {
	info, err := w.objects.GetInfo(ctx, id)
	if err != nil {
		return false
	}
	raw, err := hex.DecodeString(sha)
	return err == nil && info.Digest == "SHA-256="+base64.URLEncoding.EncodeToString(raw)
}

// take runs an intake and publishes what it accepted.
func (w *Worker) take(ctx context.Context, s Submission) (Outcome, error) {
	o, commit, abort, err := w.intake(ctx, s)
	if err != nil {
		return Outcome{}, err
	}
	if o.Status != Accepted {
		return o, nil
	}
	if err := o.publish(ctx, w.bus.Publish); err != nil {
		abort(ctx)
		return Outcome{}, err
	}
	commit(ctx)
	w.log.InfoContext(ctx, "bundle accepted", "kommune", s.Kommune, "bundle_id", o.BundleID, "documents", len(o.Documents))
	return o, nil
}

// Register subscribes to bundles submitted over NATS (bundle.submitted) and
// publishes each outcome as bundle.received or bundle.rejected.
func (w *Worker) Register() {
	w.bus.Handle("bundles", events.Filter(events.TypeBundleSubmitted), bus.WritesState, w.submitted)
}

// submitted handles one bundle.submitted event. It writes state
// ([bus.WritesState]) and guards it itself: it keeps the raw bundle, claims
// the bundle's duplicate key and publishes what it accepted itself, so the
// key is completed only after the events are out; a redelivery finds the
// key taken by the very bundle and is acked.
func (w *Worker) submitted(ctx context.Context, in cloudevents.Event) ([]cloudevents.Event, error) {
	kommune, err := events.KommuneOf(in)
	if err != nil {
		return nil, bus.Permanent(err)
	}
	s := Submission{Kommune: kommune, ServiceProvider: in.Source(), Body: in.Data(), ReceivedAt: in.Time()}
	if s.ReceivedAt.IsZero() {
		s.ReceivedAt = w.now()
	}
	o, err := w.take(ctx, s)
	if errors.Is(err, tenant.ErrNotFound) {
		return nil, bus.Permanent(err)
	}
	if err != nil {
		return nil, err
	}
	switch {
	case o.Status == Accepted:
		return nil, nil
	case o.Status == Duplicate && w.kept(ctx, o.DuplicateOf, o.SHA256):
		// The very bundle was taken in already: this is a redelivery of a
		// submission whose worker stopped before acking it.
		return nil, nil
	}
	rejected := events.BundleRejected{
		BundleID: o.BundleID, Kommune: kommune, ServiceProvider: s.ServiceProvider, Reference: o.Reference,
		ReceivedAt: s.ReceivedAt, SHA256: o.SHA256, DuplicateOf: o.DuplicateOf, Ruleset: efaktura.Ruleset,
		Reason: events.RejectionInvalid,
	}
	switch o.Status {
	case Duplicate:
		rejected.Reason = events.RejectionDuplicate
	case UnknownSender:
		rejected.Reason = events.RejectionUnknownSender
		rejected.Findings = []events.Finding{{Rule: "V24", Severity: events.Severity(efaktura.SeverityError), Path: "/INVOICES/DOCUMENT[1]/HEADER/SENDER_ID", Message: o.Message}}
	}
	for _, f := range o.Findings {
		rejected.Findings = append(rejected.Findings, events.Finding{Rule: f.Rule, Severity: events.Severity(f.Severity), Path: f.Path, Message: f.Message})
	}
	e, err := events.New(events.TypeBundleRejected, events.SourceIngest, kommune, o.BundleID, []string{kommune, o.SHA256}, rejected, s.ReceivedAt)
	if err != nil {
		return nil, bus.Permanent(err)
	}
	return []cloudevents.Event{e}, nil
}

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

// postBundle takes a bundle from an economy system: 202 accepted, 400 with
// findings, 401 bad token, 403 unknown sender, 409 duplicate, 413 too large.
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
	if !w.takeSlot(r.Context()) {
		rw.Header().Set("Retry-After", "5")
		writeJSON(rw, http.StatusServiceUnavailable, map[string]string{"error": "busy taking in other bundles; send it again shortly"})
		return
	}
	defer func() { <-w.slots }()
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, w.cfg.maxBody(ct)))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeJSON(rw, http.StatusRequestEntityTooLarge, map[string]string{"error": fmt.Sprintf("the bundle is larger than %d bytes; a plain XML bundle may be at most 45 MB, a zipped one 100 MB (send ZIPs as application/zip)", tooBig.Limit-1)})
		return
	case err != nil:
		writeJSON(rw, http.StatusBadRequest, map[string]string{"error": "the request body could not be read"})
		return
	}
	o, err := w.take(r.Context(), Submission{Kommune: p.Kommune, ServiceProvider: p.Name, Body: body, ReceivedAt: w.now()})
	if errors.Is(err, ErrRetry) {
		rw.Header().Set("Retry-After", "5")
		writeJSON(rw, http.StatusServiceUnavailable, map[string]string{"error": "the bundle cannot be taken in right now (it is being taken in already, or the duplicate check is unavailable); send it again shortly"})
		return
	}
	if err != nil {
		w.log.ErrorContext(r.Context(), "bundle intake failed", "kommune", p.Kommune, "err", err)
		writeJSON(rw, http.StatusServiceUnavailable, map[string]string{"error": "the bundle could not be taken in now; send it again later"})
		return
	}
	switch o.Status {
	case Accepted:
		docs := make([]documentJSON, len(o.Documents))
		for i, d := range o.Documents {
			docs[i] = documentJSON{ID: d.DocumentID, Index: d.Index, ReceiptNo: d.ReceiptNo, DocumentNo: d.DocumentNo}
		}
		writeJSON(rw, http.StatusAccepted, map[string]any{"bundle_id": o.BundleID, "reference": o.Reference, "documents": docs})
	case Duplicate:
		writeJSON(rw, http.StatusConflict, map[string]any{"error": "a bundle with this REFERENCE from this sender was already accepted this year (V10)", "bundle_id": o.DuplicateOf, "findings": o.Findings})
	case TooLarge:
		writeJSON(rw, http.StatusRequestEntityTooLarge, map[string]any{"error": "the bundle is over the size limits (V01)", "findings": o.Findings})
	case UnknownSender:
		writeJSON(rw, http.StatusForbidden, map[string]any{"error": o.Message})
	default:
		writeJSON(rw, http.StatusBadRequest, map[string]any{"error": "the bundle fails the file or bundle rules; no document was taken in", "findings": o.Findings})
	}
}

func writeJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	json.NewEncoder(rw).Encode(v)
}
