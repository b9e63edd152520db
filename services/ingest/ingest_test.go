package ingest

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus"
	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/pkg/efaktura"
	"github.com/kp-efaktura/efaktura/pkg/idem"
	"github.com/kp-efaktura/efaktura/pkg/natstest"
	"github.com/kp-efaktura/efaktura/pkg/redistest"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// tenants is an in-memory Tenants for the tests.
type tenants map[string]tenant.Tenant

func (ts tenants) Get(k string) (tenant.Tenant, bool) { t, ok := ts[k]; return t, ok }

func (ts tenants) Senders(k string) efaktura.SenderRegister {
	table := efaktura.SenderTable{}
	for _, s := range ts[k].Senders {
		table.Add(efaktura.Sender{Type: s.Type, ID: s.ID, Nets: s.Nets})
	}
	return table
}

func (ts tenants) Authenticate(token string) (tenant.Principal, error) {
	for _, t := range ts {
		for _, tok := range t.Tokens {
			if tok.SHA256 == tenant.HashToken(token) {
				name := tok.Name
				if tok.Role == tenant.RoleIngest {
					name = t.EconomySystem.ID
				}
				return tenant.Principal{Role: tok.Role, Kommune: t.Kommune, Name: name}, nil
			}
		}
	}
	return tenant.Principal{}, tenant.ErrAuth
}

var demo = tenants{
	"0101": {
		Kommune: "0101", Name: "Kærholm Kommune",
		EconomySystem: tenant.EconomySystem{ID: "erp-0101", Endpoint: "http://erp.invalid/answers", Secret: "s"},
		Senders:       []tenant.Sender{{Type: "CVR", ID: "12345674"}, {Type: "CVR", ID: "24680134"}, {Type: "EAN", ID: "7350000000030"}},
		Tokens:        []tenant.Token{{Role: tenant.RoleIngest, Name: "erp", SHA256: tenant.HashToken("erp-token")}},
	},
	"0202": {
		Kommune: "0202", Name: "Vestby Kommune",
		EconomySystem: tenant.EconomySystem{ID: "erp-0202", Endpoint: "http://erp.invalid/answers", Secret: "s"},
		Senders:       []tenant.Sender{{Type: "CVR", ID: "12345674"}},
		Tokens:        []tenant.Token{{Role: tenant.RoleIngest, Name: "erp", SHA256: tenant.HashToken("erp2-token")}},
	},
}

type fixture struct {
	w   *Worker
	b   *bus.Bus
	js  jetstream.JetStream
	srv *httptest.Server
}

// options vary the fixture: the bus's configuration, and the store of the
// duplicate-bundle keys (default a JetStream KV bucket, bundles_idem), which
// with a Redis store is also the bus's.
type options struct {
	bus   bus.Config
	redis *redistest.Server
	store func(idem.Store) idem.Store // wraps the store, e.g. in a flaky one
	log   *slog.Logger
}

func setup(t *testing.T, cfg Config) *fixture {
	t.Helper()
	return setupWith(t, cfg, options{})
}

func setupWith(t *testing.T, cfg Config, o options) *fixture {
	t.Helper()
	ctx := context.Background()
	nc := natstest.Connect(t, natstest.Start(t))
	if o.bus.Service == "" {
		o.bus.Service = "ingest"
	}
	o.bus.Subjects = events.StreamSubjects()
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	opts := []bus.Option{bus.WithSubjects(events.SubjectOf), bus.WithLogger(o.log)}
	var store idem.Store
	if o.redis != nil {
		rc := redis.NewClient(&redis.Options{Addr: o.redis.Addr})
		t.Cleanup(func() { rc.Close() })
		store = idem.NewRedis(rc, "")
		opts = append(opts, bus.WithIdempotency(store))
	}
	b, err := bus.New(ctx, nc, o.bus, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if store == nil {
		if store, err = idem.NewKV(ctx, b.JetStream(), idem.KVConfig{Bucket: "bundles_idem"}); err != nil {
			t.Fatal(err)
		}
	}
	if o.store != nil {
		store = o.store(store)
	}
	if cfg.SpoolDir == "" {
		cfg.SpoolDir = t.TempDir()
	}
	w, err := New(ctx, b, demo, store, cfg, o.log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	mux := http.NewServeMux()
	w.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &fixture{w: w, b: b, js: b.JetStream(), srv: srv}
}

func (f *fixture) post(t *testing.T, token string, body []byte) (int, map[string]any) {
	t.Helper()
	code, _, out := f.postFull(t, token, body)
	return code, out
}

// postFull is post with the response's headers.
func (f *fixture) postFull(t *testing.T, token string, body []byte) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", f.srv.URL+"/v1/bundles", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/xml")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, resp.Header, out
}

// stored returns the events stored on subject.
func (f *fixture) stored(t *testing.T, subject string) int {
	t.Helper()
	s, err := f.js.Stream(context.Background(), "EFAKTURA")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background(), jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	return int(info.State.Subjects[subject])
}

// rawStored returns how many raw documents the stream of raw documents
// holds.
func (f *fixture) rawStored(t *testing.T) uint64 {
	t.Helper()
	s, err := f.js.Stream(context.Background(), events.RawStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// eventOf decodes a stored message back into its CloudEvent.
func eventOf(t *testing.T, m *jetstream.RawStreamMsg) cloudevents.Event {
	t.Helper()
	e, err := bus.Decode(context.Background(), m.Header, m.Data)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func example(t *testing.T, name string) []byte {
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPostBundle(t *testing.T) {
	f := setup(t, Config{})
	code, body := f.post(t, "erp-token", example(t, "valid-bundle-3-documents.xml"))
	if code != http.StatusAccepted {
		t.Fatalf("POST valid bundle: %d %v", code, body)
	}
	docs, _ := body["documents"].([]any)
	if len(docs) != 3 || body["reference"] != "NRD-2025-000118" || body["bundle_id"] == "" {
		t.Fatalf("response = %v", body)
	}
	if n := f.stored(t, "efaktura.0101.document.received"); n != 3 {
		t.Errorf("document.received events = %d, want 3", n)
	}
	if n := f.stored(t, "efaktura.0101.bundle.received"); n != 1 {
		t.Errorf("bundle.received events = %d, want 1", n)
	}
	if n := f.rawStored(t); n != 3 {
		t.Errorf("raw documents stored = %d, want 3", n)
	}

	// Each document.received refers to its DOCUMENT, stored raw, and
	// carries no XML; the document read by the reference, judged alone,
	// gives the same verdict.
	s, _ := f.js.Stream(context.Background(), "EFAKTURA")
	m, err := s.GetLastMsgForSubject(context.Background(), "efaktura.0101.document.received")
	if err != nil {
		t.Fatal(err)
	}
	if err := events.Check(eventOf(t, m)); err != nil {
		t.Errorf("document.received: %v", err)
	}
	var dr events.DocumentReceived
	if err := json.Unmarshal(m.Data, &dr); err != nil {
		t.Fatal(err)
	}
	want, _ := events.RawSubject("0101", body["bundle_id"].(string), 3)
	if dr.Raw.Stream != events.RawStream || dr.Raw.Subject != want {
		t.Fatalf("reference = %+v, want stream %s, subject %s", dr.Raw, events.RawStream, want)
	}
	raw, err := f.rawStream(t).GetLastMsgForSubject(context.Background(), dr.Raw.Subject)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	json.Unmarshal(m.Data, &fields)
	if _, ok := fields["xml"]; ok || len(m.Data) >= len(raw.Data) {
		t.Errorf("document.received (%d bytes) carries the document (%d bytes): %s", len(m.Data), len(raw.Data), m.Data)
	}
	sum := sha256.Sum256(raw.Data)
	if int64(len(raw.Data)) != dr.Raw.Size || hex.EncodeToString(sum[:]) != dr.Raw.SHA256 {
		t.Errorf("stored document: %d bytes, SHA-256 %x; the reference says %d and %s", len(raw.Data), sum, dr.Raw.Size, dr.Raw.SHA256)
	}
	res, err := efaktura.ValidateDocument(context.Background(), raw.Data, dr.Index, efaktura.Options{})
	if err != nil || !res.Valid || dr.Index != 3 || res.ReceiptNo != "NRD-2025-001181" {
		t.Errorf("last document: index %d, alone valid %v receipt %q, %v", dr.Index, res.Valid, res.ReceiptNo, err)
	}
	var br events.BundleReceived
	bm, err := s.GetLastMsgForSubject(context.Background(), "efaktura.0101.bundle.received")
	if err != nil {
		t.Fatal(err)
	}
	if err := events.Check(eventOf(t, bm)); err != nil {
		t.Errorf("bundle.received: %v", err)
	}
	json.Unmarshal(bm.Data, &br)
	bundle := example(t, "valid-bundle-3-documents.xml")
	if filter, _ := events.RawBundleFilter("0101", br.BundleID); br.Raw.Filter != filter || br.Size != int64(len(bundle)) {
		t.Errorf("bundle.received: raw %+v, size %d; want filter %s, size %d", br.Raw, br.Size, filter, len(bundle))
	}

	code, dup := f.post(t, "erp-token", example(t, "valid-bundle-3-documents.xml"))
	if code != http.StatusConflict || dup["bundle_id"] != body["bundle_id"] {
		t.Errorf("duplicate: %d %v; want 409 naming bundle %v", code, dup, body["bundle_id"])
	}
	if n := f.stored(t, "efaktura.0101.document.received"); n != 3 {
		t.Errorf("after the duplicate: document.received events = %d, want still 3", n)
	}
}

func TestRejectedBundleDoesNotUseUpItsReference(t *testing.T) {
	f := setup(t, Config{})
	good := example(t, "valid-invoice.xml")
	bad := bytes.Replace(good, []byte("<NO_OF_DOCUMENTS>1<"), []byte("<NO_OF_DOCUMENTS>2<"), 1)
	code, body := f.post(t, "erp-token", bad)
	if code != http.StatusBadRequest || !strings.Contains(toJSON(body["findings"]), `"V08"`) {
		t.Fatalf("bad bundle: %d %v; want 400 with V08", code, body)
	}
	if n := f.stored(t, "efaktura.0101.document.received"); n != 0 {
		t.Errorf("a rejected bundle published %d documents", n)
	}
	if code, body := f.post(t, "erp-token", good); code != http.StatusAccepted {
		t.Errorf("the corrected bundle with the same REFERENCE: %d %v; want 202", code, body)
	}
}

func TestPostBundleRefusals(t *testing.T) {
	f := setup(t, Config{MaxBodyBytes: 4000})
	if code, _ := f.post(t, "wrong", example(t, "valid-creditnote.xml")); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d, want 401", code)
	}
	if code, _ := f.post(t, "erp-token", example(t, "valid-invoice.xml")); code != http.StatusRequestEntityTooLarge {
		t.Errorf("over the body limit: %d, want 413", code)
	}
	foreign := bytes.Replace(example(t, "valid-creditnote.xml"), []byte("<SENDER_ID>12345674<"), []byte("<SENDER_ID>11111111<"), 1)
	if code, body := f.post(t, "erp-token", foreign); code != http.StatusForbidden || !strings.Contains(toJSON(body), "11111111") {
		t.Errorf("unregistered sender: %d %v, want 403", code, body)
	}
}

func TestZippedBundle(t *testing.T) {
	f := setup(t, Config{})
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("bundle.xml")
	w.Write(example(t, "valid-reminder.xml"))
	zw.Close()
	if code, body := f.post(t, "erp-token", buf.Bytes()); code != http.StatusAccepted {
		t.Errorf("zipped bundle: %d %v", code, body)
	}
}

func TestBundleSubmittedOverNATS(t *testing.T) {
	f := setup(t, Config{})
	f.w.Register()
	ctx := t.Context()
	bustest.Run(t, f.b)
	at := time.Date(2025, 6, 2, 10, 0, 0, 0, time.UTC)
	good, err := events.NewBundleSubmitted("/erp-0101", "0101", "OEH-BUNDT-2025-0412", events.ContentTypeXML, example(t, "valid-invoice.xml"), at)
	if err != nil {
		t.Fatal(err)
	}
	// Same REFERENCE and sender, other bytes: a duplicate.
	other := bytes.Replace(example(t, "valid-invoice.xml"), []byte("<DOCUMENT_DATE>2025-06-02"), []byte("<DOCUMENT_DATE>2025-06-03"), 1)
	dup, err := events.NewBundleSubmitted("/erp-0101", "0101", "OEH-BUNDT-2025-0412", events.ContentTypeXML, other, at)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.b.Publish(ctx, good); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return f.stored(t, "efaktura.0101.bundle.received") == 1 })
	if err := f.b.Publish(ctx, dup); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return f.stored(t, "efaktura.0101.bundle.rejected") == 1 })
	s, _ := f.js.Stream(ctx, "EFAKTURA")
	m, _ := s.GetLastMsgForSubject(ctx, "efaktura.0101.bundle.rejected")
	var rej events.BundleRejected
	json.Unmarshal(m.Data, &rej)
	if rej.Reason != events.RejectionDuplicate || rej.DuplicateOf == "" {
		t.Errorf("rejection = %+v; want a duplicate naming the first bundle", rej)
	}
	if n := f.stored(t, "efaktura.0101.document.received"); n != 1 {
		t.Errorf("document.received events = %d, want 1", n)
	}
}

// waitFor waits until cond holds, as bustest.Eventually does.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	bustest.Eventually(t, "the condition", func() error {
		if !cond() {
			return errors.New("not yet")
		}
		return nil
	})
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// flaky is a real store that fails on demand: the register being
// unreachable, for a moment. It records the leases it is asked for.
type flaky struct {
	idem.Store
	claimDown, completeDown, releaseDown atomic.Bool

	mu     sync.Mutex
	leases []time.Duration
}

var errDown = errors.New("store unreachable")

func (f *flaky) Claim(ctx context.Context, key string, lease time.Duration) (string, idem.State, error) {
	f.mu.Lock()
	f.leases = append(f.leases, lease)
	f.mu.Unlock()
	if f.claimDown.Load() {
		return "", 0, errDown
	}
	return f.Store.Claim(ctx, key, lease)
}

func (f *flaky) Complete(ctx context.Context, key, token string, ttl time.Duration) error {
	if f.completeDown.Load() {
		return errDown
	}
	return f.Store.Complete(ctx, key, token, ttl)
}

func (f *flaky) Release(ctx context.Context, key, token string) error {
	if f.releaseDown.Load() {
		return errDown
	}
	return f.Store.Release(ctx, key, token)
}

func withFlaky(store **flaky) func(idem.Store) idem.Store {
	return func(s idem.Store) idem.Store {
		*store = &flaky{Store: s}
		return *store
	}
}

// TestRegisterTroubleIsNotADuplicate: when the duplicate-bundle register
// cannot answer, or the same bundle is being taken in right now, the answer
// is 503 "send it again", never 409: a 409 would make the economy system
// drop a bundle that was never taken in.
func TestRegisterTroubleIsNotADuplicate(t *testing.T) {
	var store *flaky
	f := setupWith(t, Config{}, options{store: withFlaky(&store)})
	store.claimDown.Store(true)
	bundle := example(t, "valid-invoice.xml")
	if code, body := f.post(t, "erp-token", bundle); code != http.StatusServiceUnavailable {
		t.Fatalf("register down: %d %v, want 503", code, body)
	}
	store.claimDown.Store(false)

	// Hold the bundle's key as a concurrent intake would.
	key := keyName(events.BundleID("erp-0101", "CVR", "12345674", "OEH-BUNDT-2025-0412", f.w.now().In(copenhagen).Year()))
	token, st, err := store.Claim(context.Background(), key, time.Minute)
	if err != nil || st != idem.Claimed {
		t.Fatalf("claim: %v %v", st, err)
	}
	if code, body := f.post(t, "erp-token", bundle); code != http.StatusServiceUnavailable {
		t.Errorf("same bundle in progress: %d %v, want 503", code, body)
	}
	if err := store.Release(context.Background(), key, token); err != nil {
		t.Fatal(err)
	}
	if code, body := f.post(t, "erp-token", bundle); code != http.StatusAccepted {
		t.Errorf("once the register answers: %d %v, want 202", code, body)
	}
	if code, _ := f.post(t, "erp-token", bundle); code != http.StatusConflict {
		t.Errorf("then the same bundle again: %d, want 409", code)
	}
}

// TestBusyIntakeWaitsForASlot: a bundle arriving while every intake slot is
// taken waits for one, and gets 503 with Retry-After only when none frees up
// within SlotWait.
func TestBusyIntakeWaitsForASlot(t *testing.T) {
	f := setup(t, Config{MaxConcurrent: 1, SlotWait: 300 * time.Millisecond})
	f.w.slots <- struct{}{} // an intake in progress

	code, body := f.post(t, "erp-token", example(t, "valid-invoice.xml"))
	if code != http.StatusServiceUnavailable {
		t.Fatalf("all slots held past SlotWait: %d %v, want 503", code, body)
	}

	go func() {
		time.Sleep(100 * time.Millisecond)
		<-f.w.slots // the other intake ends while this one waits
	}()
	if code, body := f.post(t, "erp-token", example(t, "valid-invoice.xml")); code != http.StatusAccepted {
		t.Fatalf("slot freed within SlotWait: %d %v, want 202", code, body)
	}
}
