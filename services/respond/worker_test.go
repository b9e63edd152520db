package respond_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus"
	"github.com/kp-efaktura/efaktura/pkg/natstest"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
	"github.com/kp-efaktura/efaktura/services/erpsim"
	"github.com/kp-efaktura/efaktura/services/respond"
)

const (
	kommune = "0101"
	esID    = "es-1"
	secret  = "s3cret"
)

// tenants is an in-memory respond.Tenants; Set bumps the version, as the
// registry's store would.
type tenants struct {
	mu sync.Mutex
	m  map[string]tenant.Tenant
}

func (ts *tenants) Get(k string) (tenant.Tenant, bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t, ok := ts.m[k]
	return t, ok
}

func (ts *tenants) Set(t tenant.Tenant) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.m == nil {
		ts.m = map[string]tenant.Tenant{}
	}
	t.Version = ts.m[t.Kommune].Version + 1
	ts.m[t.Kommune] = t
}

// update changes the stored tenant with f.
func (ts *tenants) update(k string, f func(*tenant.Tenant)) tenant.Tenant {
	t, _ := ts.Get(k)
	f(&t)
	ts.Set(t)
	t, _ = ts.Get(k)
	return t
}

// newTenant is kommune 0101 with its economy system at endpoint and both
// agreements in state, naming es-1.
func newTenant(endpoint string, state tenant.AgreementState) tenant.Tenant {
	return tenant.Tenant{
		Kommune:       kommune,
		Name:          "København",
		CVR:           "64942212",
		EconomySystem: tenant.EconomySystem{ID: esID, Name: "ERP", Endpoint: endpoint, Secret: secret},
		Agreements: map[tenant.AgreementName]tenant.Agreement{
			tenant.Forside: {State: state, EconomySystem: esID},
			tenant.Bagside: {State: state, EconomySystem: esID},
		},
	}
}

// harness is a respond worker on an embedded JetStream server, answering
// to an ERP simulator over real HTTP.
type harness struct {
	t       *testing.T
	ctx     context.Context
	js      jetstream.JetStream
	bus     *bus.Bus
	worker  *respond.Worker
	sim     *erpsim.Simulator
	url     string
	tenants *tenants
	busCfg  bus.Config

	mu   sync.Mutex
	seen []seenEvent // answer.* events in the stream, in stream order
}

type seenEvent struct {
	typ  string
	data []byte
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func start(t *testing.T, sim erpsim.Config, tenantState tenant.AgreementState) *harness {
	t.Helper()
	return startWith(t, sim, func(h *harness) respond.Tenants {
		h.tenants.Set(newTenant(h.url, tenantState))
		return h.tenants
	})
}

// startWith starts a harness whose worker looks tenants up in what
// lookup returns; h.url is set by then.
func startWith(t *testing.T, sim erpsim.Config, lookup func(h *harness) respond.Tenants) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := natstest.Start(t)
	nc := natstest.Connect(t, s)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	busCfg := bus.Config{
		Service:    "respond",
		Storage:    "memory",
		MaxDeliver: 200,
		Backoff:    []time.Duration{5 * time.Millisecond},
		AckWait:    5 * time.Second,
		Lease:      10 * time.Second,
		Drain:      5 * time.Second,
	}
	b, err := bus.New(ctx, nc, busCfg, bus.WithSubjects(events.SubjectOf), bus.WithLogger(quiet()))
	if err != nil {
		t.Fatal(err)
	}
	if sim.Secrets == nil {
		sim.Secrets = map[string]string{esID: secret}
	}
	sim.Logger = quiet()
	h := &harness{t: t, ctx: ctx, js: js, bus: b, sim: erpsim.New(sim), tenants: &tenants{}, busCfg: b.Config()}
	srv := httptest.NewServer(h.sim)
	h.url = srv.URL + erpsim.PathAnswers
	h.worker, err = respond.New(ctx, b, lookup(h), respond.NewHTTPDeliverer(5*time.Second),
		respond.Config{Settle: 5 * time.Second, Sweep: time.Hour}, respond.WithLogger(quiet()))
	if err != nil {
		t.Fatal(err)
	}
	h.worker.Register()
	h.watch()
	done := make(chan error, 2)
	go func() { done <- b.Run(ctx) }()
	go func() { done <- h.worker.Run(ctx) }() // sweeps hourly: only the view of parked answers
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}
		srv.Close()
	})
	return h
}

// watch reads every answer.* event the stream keeps, so duplicates that
// JetStream dropped are not seen.
func (h *harness) watch() {
	c, err := h.js.OrderedConsumer(h.ctx, "EFAKTURA", jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"efaktura.*.answer.>"},
	})
	if err != nil {
		h.t.Fatal(err)
	}
	cc, err := c.Consume(func(m jetstream.Msg) {
		h.mu.Lock()
		h.seen = append(h.seen, seenEvent{typ: m.Headers().Get("ce-type"), data: m.Data()})
		h.mu.Unlock()
	})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(cc.Stop)
}

func seenOf[T any](h *harness, typ string) []T {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []T
	for _, e := range h.seen {
		if e.typ != typ {
			continue
		}
		var v T
		if err := json.Unmarshal(e.data, &v); err != nil {
			h.t.Fatalf("decode %s: %v", typ, err)
		}
		out = append(out, v)
	}
	return out
}

// eventually polls cond until it holds or the deadline passes.
func (h *harness) eventually(what string, cond func() (bool, string)) {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s; last state: %s", what, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// decide publishes document.decided for document i of one bundle, decided
// at base + minutes; it returns the answer id.
func (h *harness) decide(i int, minutes int) string {
	h.t.Helper()
	bundle := events.BundleID("sp", "CVR", "12345674", "REF-1", 2026)
	doc := events.DocumentID(bundle, i)
	d := events.DocumentDecided{
		DocumentID:   doc,
		BundleID:     bundle,
		Kommune:      kommune,
		Reference:    "REF-1",
		Sender:       events.Sender{Type: "CVR", ID: "12345674"},
		ReceiptNo:    fmt.Sprintf("R-%03d", i),
		DocumentNo:   fmt.Sprintf("F-%03d", i),
		DocumentType: events.DocumentInvoice,
		Decision:     events.OutcomeApproved,
		DecidedAt:    time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC).Add(time.Duration(minutes) * time.Minute),
		DecidedBy:    "cw1",
		VerdictID:    fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
		Ruleset:      "efaktura-2.1.0/r1",
	}
	ev, err := events.New(events.TypeDocumentDecided, events.SourceDecide, kommune, doc, []string{doc}, d, d.DecidedAt)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.bus.Publish(h.ctx, ev); err != nil {
		h.t.Fatal(err)
	}
	return ev.ID()
}

// version is the stored tenant's version.
func (h *harness) version() uint64 {
	t, _ := h.tenants.Get(kommune)
	return t.Version
}

// changeAgreement publishes agreement.changed for version of the tenant's
// record, as tenant.Store does after storing the change.
func (h *harness) changeAgreement(name events.Agreement, state events.AgreementState, es string, version uint64) {
	h.t.Helper()
	v := int64(version)
	ev, err := events.New(events.TypeAgreementChanged, events.SourceAdmin, kommune, kommune,
		[]string{kommune, string(name), strconv.FormatInt(v, 10)}, events.AgreementChanged{
			Kommune: kommune, Agreement: name, State: state, EconomySystemID: es, Version: v, ChangedAt: time.Now().UTC(),
		}, time.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.bus.Publish(h.ctx, ev); err != nil {
		h.t.Fatal(err)
	}
}

// changeTenant publishes tenant.changed for the stored tenant.
func (h *harness) changeTenant() {
	h.t.Helper()
	t, _ := h.tenants.Get(kommune)
	ev, err := events.New(events.TypeTenantChanged, events.SourceAdmin, kommune, kommune,
		[]string{kommune, strconv.FormatUint(t.Version, 10)}, events.TenantChanged{
			Kommune: kommune, Name: t.Name,
			EconomySystem: events.EconomySystem{ID: t.EconomySystem.ID, Name: t.EconomySystem.Name, Endpoint: t.EconomySystem.Endpoint},
			Version:       int64(t.Version), ChangedAt: time.Now().UTC(),
		}, time.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.bus.Publish(h.ctx, ev); err != nil {
		h.t.Fatal(err)
	}
}

// approve sets both agreements approved, naming es, in the registry.
func (h *harness) approve(forsideES, bagsideES string) {
	h.tenants.update(kommune, func(t *tenant.Tenant) {
		t.Agreements = map[tenant.AgreementName]tenant.Agreement{
			tenant.Forside: {State: tenant.Approved, EconomySystem: forsideES},
			tenant.Bagside: {State: tenant.Approved, EconomySystem: bagsideES},
		}
	})
}

// processed waits until the handler's consumer has acked everything.
func (h *harness) processed(handler string, atLeast uint64) {
	h.t.Helper()
	h.eventually("consumer "+handler+" to finish", func() (bool, string) {
		c, err := h.js.Consumer(h.ctx, "EFAKTURA", "respond-"+handler)
		if err != nil {
			return false, err.Error()
		}
		info, err := c.Info(h.ctx)
		if err != nil {
			return false, err.Error()
		}
		return info.NumPending == 0 && info.NumAckPending == 0 && info.AckFloor.Consumer >= atLeast,
			fmt.Sprintf("pending %d, ack pending %d, acked %d", info.NumPending, info.NumAckPending, info.AckFloor.Consumer)
	})
}

func (h *harness) recorded(n int) []erpsim.Recorded {
	h.t.Helper()
	var got []erpsim.Recorded
	h.eventually(fmt.Sprintf("%d recorded answers", n), func() (bool, string) {
		got = h.sim.Answers()
		return len(got) >= n, fmt.Sprintf("%d recorded", len(got))
	})
	if len(got) != n {
		h.t.Fatalf("simulator recorded %d answers, want %d", len(got), n)
	}
	return got
}

func (h *harness) delivered(n int) []events.AnswerDelivered {
	h.t.Helper()
	var got []events.AnswerDelivered
	h.eventually(fmt.Sprintf("%d answer.delivered", n), func() (bool, string) {
		got = seenOf[events.AnswerDelivered](h, events.TypeAnswerDelivered)
		return len(got) >= n, fmt.Sprintf("%d delivered", len(got))
	})
	return got
}

func (h *harness) parked(want func([]events.AnswerParked) bool) []events.AnswerParked {
	h.t.Helper()
	var got []events.AnswerParked
	h.eventually("answer.parked events", func() (bool, string) {
		got = seenOf[events.AnswerParked](h, events.TypeAnswerParked)
		return want(got), fmt.Sprintf("%+v", got)
	})
	return got
}

func withReason(ps []events.AnswerParked, r events.ParkReason) []events.AnswerParked {
	var out []events.AnswerParked
	for _, p := range ps {
		if p.Reason == r {
			out = append(out, p)
		}
	}
	return out
}

func answerIDs(rs []erpsim.Recorded) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.IdempotencyKey
	}
	return out
}

func TestPendingAgreementsParkThenApprovalDeliversInDecisionOrder(t *testing.T) {
	h := start(t, erpsim.Config{}, tenant.Requested)

	// Published out of decision order: the parking keys sort them.
	minutes := []int{3, 1, 4, 0, 2}
	ids := make([]string, len(minutes))
	for i, m := range minutes {
		ids[i] = h.decide(i+1, m)
	}
	inOrder := make([]string, len(ids)) // answer ids by decision time
	for i, m := range minutes {
		inOrder[m] = ids[i]
	}

	parked := h.parked(func(ps []events.AnswerParked) bool { return len(ps) == len(ids) })
	for _, p := range parked {
		if p.Reason != events.ParkAgreementNotApproved || !strings.Contains(p.Detail, "requested") {
			t.Errorf("answer.parked = %+v, want reason %s and a detail naming the requested agreement", p, events.ParkAgreementNotApproved)
		}
	}
	h.processed(respond.HandlerDecided, uint64(len(ids)))
	if got := h.sim.Answers(); len(got) != 0 {
		t.Fatalf("simulator got %d answers while the agreements were pending", len(got))
	}
	queue, err := h.worker.Parked(h.ctx, kommune)
	if err != nil {
		t.Fatal(err)
	}
	var queued []string
	for _, p := range queue {
		queued = append(queued, p.Answer.AnswerID)
	}
	if !slices.Equal(queued, inOrder) {
		t.Errorf("parked queue = %v, want decision order %v", queued, inOrder)
	}

	// Forside alone is not enough.
	h.tenants.update(kommune, func(t *tenant.Tenant) {
		t.Agreements[tenant.Forside] = tenant.Agreement{State: tenant.Approved, EconomySystem: esID}
	})
	h.changeAgreement(events.AgreementForside, events.AgreementApproved, esID, h.version())
	h.processed(respond.HandlerAgreements, 1)
	if got := h.sim.Answers(); len(got) != 0 {
		t.Fatalf("simulator got %d answers with only forside approved", len(got))
	}

	// The event for bagside arrives before the registry shows it: the
	// release waits for the registry.
	h.changeAgreement(events.AgreementBagside, events.AgreementApproved, esID, h.version()+1)
	time.Sleep(300 * time.Millisecond) // the registry lags on purpose
	h.approve(esID, esID)

	got := h.recorded(len(ids))
	if !slices.Equal(answerIDs(got), inOrder) {
		t.Errorf("economy system received %v, want decision order %v", answerIDs(got), inOrder)
	}
	for _, r := range got {
		if r.Deliveries != 1 || r.Answer.EconomySystem != esID || r.Answer.Kommune != kommune {
			t.Errorf("recorded %+v, want one delivery to %s for %s", r, esID, kommune)
		}
	}
	delivered := h.delivered(len(ids))
	for i, d := range delivered {
		if d.AnswerID != inOrder[i] || d.StatusCode != 200 || d.Attempts != 1 || d.EconomySystemID != esID {
			t.Errorf("answer.delivered[%d] = %+v, want answer %s, status 200, 1 attempt", i, d, inOrder[i])
		}
	}
	h.eventually("empty parking", func() (bool, string) {
		q, err := h.worker.Parked(h.ctx, kommune)
		return err == nil && len(q) == 0, fmt.Sprintf("%d parked, %v", len(q), err)
	})
}

func TestEconomySystemMismatchKeepsAnswersParked(t *testing.T) {
	h := start(t, erpsim.Config{}, tenant.Requested)
	first := []string{h.decide(1, 0), h.decide(2, 1)}
	h.parked(func(ps []events.AnswerParked) bool { return len(ps) == 2 })

	// Both approved, but forside names another economy system.
	h.approve("es-old", esID)
	h.changeAgreement(events.AgreementForside, events.AgreementApproved, "es-old", h.version())
	h.changeAgreement(events.AgreementBagside, events.AgreementApproved, esID, h.version())
	mismatch := h.parked(func(ps []events.AnswerParked) bool {
		return len(withReason(ps, events.ParkEconomySystemMismatch)) == 2
	})
	for _, p := range withReason(mismatch, events.ParkEconomySystemMismatch) {
		for _, want := range []string{"forside", `"es-old"`, `"es-1"`} {
			if !strings.Contains(p.Detail, want) {
				t.Errorf("answer.parked detail %q does not name %s", p.Detail, want)
			}
		}
	}
	// A new decision is parked for the same reason.
	third := h.decide(3, 2)
	h.parked(func(ps []events.AnswerParked) bool {
		return len(withReason(ps, events.ParkEconomySystemMismatch)) == 3
	})
	h.processed(respond.HandlerAgreements, 2)
	h.processed(respond.HandlerDecided, 3)
	if got := h.sim.Answers(); len(got) != 0 {
		t.Fatalf("simulator got %d answers despite the mismatch", len(got))
	}
	queue, err := h.worker.Parked(h.ctx, kommune)
	if err != nil || len(queue) != 3 {
		t.Fatalf("Parked = %d answers, %v; want 3", len(queue), err)
	}
	for _, p := range queue {
		if p.Reason != events.ParkEconomySystemMismatch {
			t.Errorf("parked %s has reason %s, want %s", p.Answer.AnswerID, p.Reason, events.ParkEconomySystemMismatch)
		}
	}

	// The agreement administrator corrects forside.
	h.approve(esID, esID)
	h.changeAgreement(events.AgreementForside, events.AgreementApproved, esID, h.version())
	got := h.recorded(3)
	if want := append(first, third); !slices.Equal(answerIDs(got), want) {
		t.Errorf("received %v, want %v", answerIDs(got), want)
	}
	h.delivered(3)
}

func TestNewDecisionIsParkedBehindOlderOnes(t *testing.T) {
	h := start(t, erpsim.Config{}, tenant.Requested)
	older := []string{h.decide(1, 0), h.decide(2, 1), h.decide(3, 2)}
	h.parked(func(ps []events.AnswerParked) bool { return len(ps) == 3 })
	h.processed(respond.HandlerDecided, 3)

	// The agreements allow answers now, but no event has released the
	// parked ones yet: a new decision must not overtake them.
	h.approve(esID, esID)
	newest := h.decide(4, 3)
	parked := h.parked(func(ps []events.AnswerParked) bool { return len(ps) == 4 })
	if p := parked[3]; p.AnswerID != newest || !strings.Contains(p.Detail, "behind 3 earlier") {
		t.Errorf("answer.parked of the new decision = %+v, want it parked behind 3 earlier answers", p)
	}
	got := h.recorded(4)
	if want := append(older, newest); !slices.Equal(answerIDs(got), want) {
		t.Errorf("received %v, want %v", answerIDs(got), want)
	}
	h.delivered(4)
}

func TestSweepReleasesParkedAnswers(t *testing.T) {
	h := start(t, erpsim.Config{}, tenant.Requested)
	ids := []string{h.decide(1, 0), h.decide(2, 1)}
	h.parked(func(ps []events.AnswerParked) bool { return len(ps) == 2 })
	h.processed(respond.HandlerDecided, 2)

	h.approve(esID, esID) // no event: only a sweep notices
	if err := h.worker.Sweep(h.ctx); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if got := h.recorded(2); !slices.Equal(answerIDs(got), ids) {
		t.Errorf("received %v, want %v", answerIDs(got), ids)
	}
	h.delivered(2)
}

func TestFailingEconomySystemGetsEachAnswerOnce(t *testing.T) {
	const n = 20
	for _, tc := range []struct {
		name   string
		ratio  float64
		parked bool
	}{
		{"direct 30%", 0.3, false},
		{"direct 60%", 0.6, false},
		{"released 30%", 0.3, true},
		{"released 60%", 0.6, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state := tenant.Approved
			if tc.parked {
				state = tenant.Requested
			}
			h := start(t, erpsim.Config{FailRatio: tc.ratio, Seed: 2}, state)
			var ids []string
			for i := range n {
				ids = append(ids, h.decide(i+1, i))
			}
			if tc.parked {
				h.parked(func(ps []events.AnswerParked) bool { return len(ps) == n })
				h.approve(esID, esID)
				h.changeAgreement(events.AgreementForside, events.AgreementApproved, esID, h.version())
				h.changeAgreement(events.AgreementBagside, events.AgreementApproved, esID, h.version())
			}
			got := h.recorded(n)
			if !tc.parked {
				slices.Sort(ids)
			}
			gotIDs := answerIDs(got)
			if !tc.parked {
				slices.Sort(gotIDs)
			}
			if !slices.Equal(gotIDs, ids) {
				t.Errorf("recorded answers %v, want each of %v once (in decision order when released)", gotIDs, ids)
			}
			h.delivered(n)
			h.processed(respond.HandlerDecided, n)
			if tc.parked {
				h.processed(respond.HandlerAgreements, 2)
			}
			delivered := seenOf[events.AnswerDelivered](h, events.TypeAnswerDelivered)
			var deliveredIDs []string
			for _, d := range delivered {
				deliveredIDs = append(deliveredIDs, d.AnswerID)
			}
			slices.Sort(deliveredIDs)
			slices.Sort(ids)
			if !slices.Equal(deliveredIDs, ids) {
				t.Errorf("answer.delivered for %v, want exactly one for each of %v", deliveredIDs, ids)
			}
			st := h.sim.Stats()
			if st.Injected == 0 || st.Recorded != n {
				t.Errorf("simulator stats %+v: want injected failures and %d recorded", st, n)
			}
			t.Logf("%s: %+v", tc.name, st)
		})
	}
}

func TestRefusedAnswerIsDeadLettered(t *testing.T) {
	h := start(t, erpsim.Config{Secrets: map[string]string{esID: "another secret"}}, tenant.Approved)
	id := h.decide(1, 0)
	var failed []events.AnswerFailed
	h.eventually("answer.failed", func() (bool, string) {
		failed = seenOf[events.AnswerFailed](h, events.TypeAnswerFailed)
		return len(failed) == 1, fmt.Sprintf("%+v", failed)
	})
	f := failed[0]
	if f.AnswerID != id || !f.Permanent || f.Attempts != 1 || f.EconomySystemID != esID || !strings.Contains(f.Error, "401") {
		t.Errorf("answer.failed = %+v, want permanent failure of %s after 1 attempt naming status 401", f, id)
	}
	dl, err := bus.OpenDeadLetters(h.js, h.busCfg).List(h.ctx, "respond", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(dl) != 1 || dl[0].Consumer != "respond-"+respond.HandlerDecided || dl[0].Event.ID() != id {
		t.Fatalf("dead letters = %+v, want the decision %s from respond-decided", dl, id)
	}
	if got := h.sim.Answers(); len(got) != 0 {
		t.Errorf("simulator recorded %d answers with a wrong signature", len(got))
	}
	if got := seenOf[events.AnswerDelivered](h, events.TypeAnswerDelivered); len(got) != 0 {
		t.Errorf("answer.delivered published for a refused answer: %+v", got)
	}
}

func TestRefusedParkedAnswerWaitsForTenantFix(t *testing.T) {
	h := start(t, erpsim.Config{}, tenant.Requested)
	h.tenants.update(kommune, func(t *tenant.Tenant) { t.EconomySystem.Secret = "stale secret" })
	ids := []string{h.decide(1, 0), h.decide(2, 1)}
	h.parked(func(ps []events.AnswerParked) bool { return len(ps) == 2 })

	h.approve(esID, esID)
	h.changeAgreement(events.AgreementBagside, events.AgreementApproved, esID, h.version())
	h.eventually("answer.failed", func() (bool, string) {
		f := seenOf[events.AnswerFailed](h, events.TypeAnswerFailed)
		return len(f) == 1 && f[0].Permanent && f[0].AnswerID == ids[0], fmt.Sprintf("%+v", f)
	})
	h.processed(respond.HandlerAgreements, 1)
	queue, err := h.worker.Parked(h.ctx, kommune)
	if err != nil || len(queue) != 2 || !queue[0].Blocked || queue[0].Attempts != 1 {
		t.Fatalf("Parked = %+v, %v; want both kept, the first blocked after 1 attempt", queue, err)
	}
	// A sweep leaves a blocked queue alone until the tenant changes.
	if err := h.worker.Sweep(h.ctx); err != nil {
		t.Fatal(err)
	}
	if st := h.sim.Stats(); st.Refused != 1 {
		t.Errorf("simulator stats %+v after a sweep; want the one refusal only", st)
	}

	h.tenants.update(kommune, func(t *tenant.Tenant) { t.EconomySystem.Secret = secret })
	h.changeTenant()
	if got := h.recorded(2); !slices.Equal(answerIDs(got), ids) {
		t.Errorf("received %v, want %v", answerIDs(got), ids)
	}
	d := h.delivered(2)
	if d[0].Attempts != 2 || d[1].Attempts != 1 {
		t.Errorf("answer.delivered attempts = %d, %d; want 2 (one refused) and 1", d[0].Attempts, d[1].Attempts)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	s := natstest.Start(t)
	nc := natstest.Connect(t, s)
	ctx := context.Background()
	b, err := bus.New(ctx, nc, bus.Config{Service: "respond", Storage: "memory"}, bus.WithSubjects(events.SubjectOf))
	if err != nil {
		t.Fatal(err)
	}
	_, err = respond.New(ctx, b, &tenants{}, respond.NewHTTPDeliverer(0), respond.Config{Bucket: "X", LockBucket: "X", LockTTL: time.Millisecond})
	if !errors.Is(err, respond.ErrConfig) {
		t.Fatalf("New with a bad config = %v, want ErrConfig", err)
	}
	for _, want := range []string{"lock TTL", "lock bucket"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

// answer.delivered goes to the municipality's subject, with an id derived
// from the answer id.
func TestDeliveredEventSubjectAndID(t *testing.T) {
	h := start(t, erpsim.Config{}, tenant.Approved)
	id := h.decide(1, 0)
	h.delivered(1)
	c, err := h.js.OrderedConsumer(h.ctx, "EFAKTURA", jetstream.OrderedConsumerConfig{FilterSubjects: []string{"efaktura.*.answer.>"}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Subject(), "efaktura."+kommune+".answer.delivered"; got != want {
		t.Errorf("subject = %s, want %s", got, want)
	}
	if got, want := m.Headers().Get("ce-id"), events.ID(events.TypeAnswerDelivered, id); got != want {
		t.Errorf("answer.delivered id = %s, want %s (from the answer id)", got, want)
	}
}

// TestAnswerRefusedForItselfDoesNotBlockTheQueue: the economy system
// refuses one parked answer for good (422, about that answer alone). It is
// dead-lettered with answer.failed, and the answers behind it are delivered;
// before, it blocked the municipality's queue for ever.
func TestAnswerRefusedForItselfDoesNotBlockTheQueue(t *testing.T) {
	h := start(t, erpsim.Config{}, tenant.Requested)
	ids := []string{h.decide(1, 0), h.decide(2, 1), h.decide(3, 2)}
	h.parked(func(ps []events.AnswerParked) bool { return len(ps) == 3 })

	// In front of the simulator: 422 for the first answer until fixed, the
	// rest passes.
	sim := h.url
	var fixed atomic.Bool
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if bytes.Contains(body, []byte(ids[0])) && !fixed.Load() {
			http.Error(w, "unknown RECEIPT_NO", http.StatusUnprocessableEntity)
			return
		}
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, sim, bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	defer proxy.Close()
	h.tenants.update(kommune, func(t *tenant.Tenant) { t.EconomySystem.Endpoint = proxy.URL })

	h.approve(esID, esID)
	h.changeAgreement(events.AgreementBagside, events.AgreementApproved, esID, h.version())
	if got := h.recorded(2); !slices.Equal(answerIDs(got), ids[1:]) {
		t.Errorf("received %v, want the two answers behind the refused one, %v", answerIDs(got), ids[1:])
	}
	h.eventually("answer.failed", func() (bool, string) {
		f := seenOf[events.AnswerFailed](h, events.TypeAnswerFailed)
		return len(f) == 1 && f[0].Permanent && f[0].AnswerID == ids[0], fmt.Sprintf("%+v", f)
	})
	// answer.failed goes out just before the answer is moved aside.
	h.eventually("an empty queue", func() (bool, string) {
		queue, err := h.worker.Parked(h.ctx, kommune)
		return err == nil && len(queue) == 0, fmt.Sprintf("Parked = %+v, %v", queue, err)
	})

	// The operator fixes the cause with the economy system and resends.
	aside, err := respond.SetAside(h.ctx, h.js, respond.DefaultBucket)
	if err != nil || len(aside) != 1 || aside[0].Answer.AnswerID != ids[0] || aside[0].Attempts != 1 {
		t.Fatalf("SetAside = %+v, %v; want the refused answer", aside, err)
	}
	fixed.Store(true)
	for range 2 { // repeating it changes nothing
		if err := respond.Resend(h.ctx, h.js, respond.DefaultBucket, aside[0].Key); err != nil {
			t.Fatalf("Resend: %v", err)
		}
	}
	if err := respond.Resend(h.ctx, h.js, respond.DefaultBucket, "0101.nothing"); !errors.Is(err, respond.ErrNotSetAside) {
		t.Errorf("Resend of an unknown key = %v, want ErrNotSetAside", err)
	}
	if err := h.worker.Sweep(h.ctx); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if got := h.recorded(3); !slices.Contains(answerIDs(got), ids[0]) {
		t.Errorf("received %v, want the resent answer too", answerIDs(got))
	}
	if aside, err := respond.SetAside(h.ctx, h.js, respond.DefaultBucket); err != nil || len(aside) != 0 {
		t.Errorf("SetAside after the resend = %+v, %v; want none", aside, err)
	}
	// Sent: resending it again sends nothing.
	if err := respond.Resend(h.ctx, h.js, respond.DefaultBucket, aside[0].Key); !errors.Is(err, respond.ErrNotSetAside) {
		t.Errorf("Resend of a sent answer = %v, want ErrNotSetAside", err)
	}
	if err := h.worker.Sweep(h.ctx); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if n := len(h.sim.Answers()); n != 3 {
		t.Errorf("simulator recorded %d answers, want 3", n)
	}
}

// A change that finds another worker releasing the municipality's answers
// waits for it: that worker may have stopped on the record as it was before
// the change, and the answers must not wait for the sweep.
func TestChangeWaitsForAnotherWorkersRelease(t *testing.T) {
	h := start(t, erpsim.Config{}, tenant.Requested)
	ids := []string{h.decide(1, 0), h.decide(2, 1)}
	h.parked(func(ps []events.AnswerParked) bool { return len(ps) == 2 })
	h.processed(respond.HandlerDecided, 2)

	locks, err := h.js.KeyValue(h.ctx, "EFAKTURA_parked_locks")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := locks.Create(h.ctx, kommune, []byte("another worker")); err != nil {
		t.Fatal(err)
	}
	h.approve(esID, esID)
	h.changeAgreement(events.AgreementForside, events.AgreementApproved, esID, h.version())
	time.Sleep(300 * time.Millisecond) // the change finds the lock taken
	if n := len(h.sim.Answers()); n != 0 {
		t.Fatalf("%d answers sent while another worker held the lock", n)
	}
	if err := locks.Delete(h.ctx, kommune); err != nil {
		t.Fatal(err)
	}
	if got := h.recorded(2); !slices.Equal(answerIDs(got), ids) {
		t.Errorf("received %v, want %v", answerIDs(got), ids)
	}
	h.delivered(2)
}
