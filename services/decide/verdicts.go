package decide

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/telemetry"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// VerdictRequest is the body of POST /v1/documents/{id}/verdict.
type VerdictRequest struct {
	// Decision is approve or reject.
	Decision events.Decision `json:"decision"`
	// Reasons are why: at least one to reject, none to approve.
	Reasons []events.Reason `json:"reasons,omitempty"`
	// Note is an internal note, never sent to the municipality.
	Note string `json:"note,omitempty"`
}

// BulkVerdictRequest is the body of POST /v1/verdicts: one verdict for
// every document listed.
type BulkVerdictRequest struct {
	VerdictRequest
	// Documents are the ids of the documents to decide, 1 to
	// [MaxBulkDocuments], each once.
	Documents []string `json:"documents"`
}

// MaxBulkDocuments bounds the documents of one POST /v1/verdicts.
const MaxBulkDocuments = 1000

// BulkVerdictResult is what one document of POST /v1/verdicts came to.
type BulkVerdictResult struct {
	DocumentID string `json:"document_id"`
	// Status is the HTTP status the single verdict would have answered,
	// but 422 for a document not awaiting a verdict yet.
	Status int `json:"status"`
	// Outcome is applied or repeated, with 200.
	Outcome VerdictOutcome `json:"outcome,omitempty"`
	// Error says what went wrong, otherwise.
	Error string `json:"error,omitempty"`
	// State is the document's state, when known.
	State State `json:"state,omitempty"`
	// Verdict is the verdict in force, with 409.
	Verdict *Verdict `json:"verdict,omitempty"`
}

// BulkVerdictResponse is the body of POST /v1/verdicts' 200.
type BulkVerdictResponse struct {
	// Results are one per document, in the request's order.
	Results []BulkVerdictResult `json:"results"`
}

// VerdictHeader names the response header of a verdict that was not
// refused: "applied" when it decided the document, "repeated" when the
// same verdict had decided it already (a no-op).
const VerdictHeader = "Verdict-Outcome"

// verdictDone is what one caseworker's verdict on one document came to
// ([Worker.decideOne]); both verdict endpoints answer from it.
type verdictDone struct {
	// status is the single verdict's HTTP status: 200, 404, 409, 500 or
	// 503.
	status int
	// outcome is applied or repeated, with 200; body is then the record
	// (or the archived summary) after the verdict.
	outcome VerdictOutcome
	body    any
	// err, state and verdict make the error body otherwise.
	err     string
	state   State
	verdict *Verdict
	// notValidated marks the 409 of a document not awaiting a verdict
	// yet (received, not validated).
	notValidated bool
}

// decodeBody decodes a request's JSON body into v: one object, no unknown
// field, at most limit bytes. It writes 413 or 400 and returns false when
// the body will not do.
func decodeBody(rw http.ResponseWriter, req *http.Request, limit int64, v any, what string) bool {
	dec := json.NewDecoder(http.MaxBytesReader(rw, req.Body, limit))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("one JSON object expected")
	}
	if err == nil {
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			err = errors.New("one JSON object expected")
		}
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(rw, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is over %d bytes", limit))
		return false
	case err != nil:
		writeJSON(rw, http.StatusBadRequest, errorBody{Error: "the body is not " + what, Problems: []string{jsonProblem(err)}})
		return false
	}
	return true
}

// verdictProblems normalizes v's reasons and lists what is wrong with it
// ([CheckVerdict]); nil when nothing is.
func verdictProblems(v *VerdictRequest) []string {
	v.Reasons = NormalizeReasons(v.Reasons)
	if err := CheckVerdict(v.Decision, v.Reasons, v.Note); err != nil {
		var iv *InvalidVerdictError
		errors.As(err, &iv)
		return iv.Problems
	}
	return nil
}

// caseworker is p's name in verdicts.
func caseworker(p tenant.Principal) string {
	switch {
	case p.Name == "":
		return "caseworker"
	case strings.HasPrefix(p.Name, rulePrefix):
		return "caseworker " + p.Name // never taken for a rule's verdict
	}
	return p.Name
}

// postVerdict serves POST /v1/documents/{id}/verdict for a caseworker of
// the document's municipality:
//
//   - 200 with the [Item] when the verdict decided the document, or when
//     the same verdict (same decision, same reasons) had decided it before:
//     a no-op, no second document.decided ([VerdictHeader] tells which);
//     an archived document's [AuditSummary] for a repeat on it;
//   - 400 {"error", "problems"} for a body that is not a valid verdict
//     ([CheckVerdict]; unknown fields are refused too);
//   - 401 without a valid token, 403 for an admin or another role;
//   - 404 for an unknown document or another municipality's;
//   - 409 {"error", "state", "verdict"} when another verdict decided the
//     document, or it is not awaiting one (received, not validated yet);
//   - 413 for a body over Config.MaxBody;
//   - 503 when the bus or the bucket failed; repeat the request (a verdict
//     recorded already is then a repeat, and announced).
//
// The verdict goes through [Worker.decideOne], as each of a bulk verdict's
// documents does.
func (w *Worker) postVerdict(rw http.ResponseWriter, req *http.Request) {
	p, ok := w.authenticate(rw, req)
	if !ok {
		return
	}
	if !caseworkerOnly(rw, p, decidesIt) {
		return
	}
	var body VerdictRequest
	if !decodeBody(rw, req, w.cfg.MaxBody, &body, "a verdict") {
		return
	}
	if ps := verdictProblems(&body); ps != nil {
		writeJSON(rw, http.StatusBadRequest, errorBody{Error: "invalid verdict", Problems: ps})
		return
	}
	// From here on the work goes on if the client leaves.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(req.Context()), w.cfg.Timeout)
	defer cancel()
	d := w.decideOne(ctx, routeVerdict, p, req.PathValue("id"), body)
	if d.status != http.StatusOK {
		writeJSON(rw, d.status, errorBody{Error: d.err, State: d.state, Verdict: d.verdict})
		return
	}
	rw.Header().Set(VerdictHeader, string(d.outcome))
	writeJSON(rw, http.StatusOK, d.body)
}

// postVerdicts serves POST /v1/verdicts for a caseworker: one verdict
// ([BulkVerdictRequest]) on up to [MaxBulkDocuments] documents of their
// municipality, each through [Worker.decideOne] as a single verdict is, so
// each is as idempotent (the same verdict id per document). 200 with a
// [BulkVerdictResponse]: one result per document, in the request's order,
// with the status the single verdict would answer (200 applied or
// repeated, 404, 409 with the verdict in force, 503 when its write or
// announcement failed), but 422 for a document not awaiting a verdict yet.
// 400 with problems for a body that is not a valid verdict or lists no
// document, more than 1000, one twice; 401; 403 for an admin or another
// role; 413 for a body over Config.MaxBody plus 64 bytes per document.
//
// The documents are decided a few at a time (Config.Concurrency), each
// with Config.Timeout of its own, and the work goes on if the client
// leaves.
func (w *Worker) postVerdicts(rw http.ResponseWriter, req *http.Request) {
	p, ok := w.authenticate(rw, req)
	if !ok {
		return
	}
	if !caseworkerOnly(rw, p, decidesIt) {
		return
	}
	var body BulkVerdictRequest
	if !decodeBody(rw, req, w.cfg.MaxBody+64*MaxBulkDocuments, &body, "a bulk verdict") {
		return
	}
	problems := verdictProblems(&body.VerdictRequest)
	switch n := len(body.Documents); {
	case n == 0:
		problems = append(problems, "documents lists no document")
	case n > MaxBulkDocuments:
		problems = append(problems, fmt.Sprintf("documents lists %d documents; at most %d", n, MaxBulkDocuments))
	default:
		seen := make(map[string]bool, n)
		for i, id := range body.Documents {
			if seen[id] {
				problems = append(problems, fmt.Sprintf("documents[%d] lists a document again", i))
				break
			}
			seen[id] = true
		}
	}
	if len(problems) > 0 {
		writeJSON(rw, http.StatusBadRequest, errorBody{Error: "invalid bulk verdict", Problems: problems})
		return
	}
	out := BulkVerdictResponse{Results: make([]BulkVerdictResult, len(body.Documents))}
	base := context.WithoutCancel(req.Context())
	sem := make(chan struct{}, w.cfg.Concurrency)
	var wg sync.WaitGroup
	for i, id := range body.Documents {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(base, w.cfg.Timeout)
			defer cancel()
			d := w.decideOne(ctx, routeVerdicts, p, id, body.VerdictRequest)
			res := BulkVerdictResult{DocumentID: id, Status: d.status, Outcome: d.outcome, Error: d.err, State: d.state, Verdict: d.verdict}
			if d.notValidated {
				res.Status = http.StatusUnprocessableEntity
			}
			out.Results[i] = res
		})
	}
	wg.Wait()
	writeJSON(rw, http.StatusOK, out)
}

// decideOne applies a caseworker's verdict, checked and normalized
// already, to document id of p's municipality: the one path of both verdict
// endpoints.
//
// A verdict that would apply is written by compare-and-set, then announced
// with document.decided. It is not published as verdict.submitted first:
// that cost a stream write, a delivery and a second decision per verdict,
// only to cover a process that stops between the write and the
// announcement, which [Worker.reannounce] covers instead. A verdict that
// loses a race to a different one is refused (409). Its id derives from
// who gave what on which document ([verdictID]), so the same request
// repeated is the same verdict.
func (w *Worker) decideOne(ctx context.Context, route string, p tenant.Principal, id string, body VerdictRequest) (d verdictDone) {
	if !validID(id) {
		return verdictDone{status: http.StatusNotFound, err: "no such document"}
	}
	ctx, span := w.verdictSpan(ctx, route, p.Kommune, id)
	defer func() {
		span.SetAttributes(semconv.HTTPResponseStatusCode(d.status))
		if d.status >= http.StatusInternalServerError {
			span.SetStatus(codes.Error, d.err)
		}
		span.End()
	}()
	return w.applyVerdict(ctx, p.Kommune, id, caseworker(p), body)
}

// applyVerdict is the core of [Worker.decideOne]: the verdict body given by
// who, on kommune's document id, in one read-modify-write, then announced.
// A straight-through rule's verdict takes it too ([Worker.applyRule]), by
// "rule:<name>", so a rule and a caseworker cannot both decide a document.
func (w *Worker) applyVerdict(ctx context.Context, kommune, id, who string, body VerdictRequest) verdictDone {
	v := events.VerdictSubmitted{
		VerdictID:  verdictID(kommune, id, who, body.Decision, body.Reasons),
		DocumentID: id, Kommune: kommune, Decision: body.Decision, Reasons: slices.Clone(body.Reasons), Note: body.Note,
		Caseworker: who, SubmittedAt: w.now().UTC(),
	}
	m := Meta{Now: v.SubmittedAt}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		m.TraceID, m.TraceParent = sc.TraceID().String(), fmt.Sprintf("00-%s-%s-%s", sc.TraceID(), sc.SpanID(), sc.TraceFlags())
	}
	log := w.log.With("document_id", id, "kommune", kommune, "verdict_id", v.VerdictID)

	// One read-modify-write decides, refuses or repeats; another
	// municipality's document is unknown under this one's key.
	res, err := w.store.verdict(ctx, v, m)
	if errors.Is(err, ErrArchived) {
		return w.archivedVerdictDone(ctx, v, m)
	}
	switch {
	case errors.Is(err, ErrNotValidated):
		return verdictDone{status: http.StatusConflict, err: "the document is not awaiting a verdict yet", state: res.Record.State, notValidated: true}
	case errors.Is(err, ErrUnknownDocument):
		return verdictDone{status: http.StatusNotFound, err: "no such document"}
	case errors.Is(err, ErrInvalidEvent):
		log.ErrorContext(ctx, "apply verdict", "err", err)
		return verdictDone{status: http.StatusInternalServerError, err: "the verdict could not be applied"}
	case err != nil:
		log.WarnContext(ctx, "store verdict", "err", err)
		return verdictDone{status: http.StatusServiceUnavailable, err: "the verdict could not be recorded; try again"}
	case res.Outcome == VerdictRefused:
		return verdictDone{status: http.StatusConflict, err: res.Reason, state: res.Record.State, verdict: res.Record.Verdict}
	case res.Outcome == VerdictApplied:
		w.metrics.decide(ctx, who)
	}
	// Applied or repeated: announce the decision (again; the same event id,
	// so JetStream keeps one).
	// Should that fail, the caseworker's repeat announces it at once, as a
	// repeated verdict; without one, [Worker.reannounce] does, later.
	if err := w.bus.Publish(ctx, res.Events...); err != nil {
		log.WarnContext(ctx, "publish decision", "outcome", res.Outcome, "err", err)
		return verdictDone{status: http.StatusServiceUnavailable, state: res.Record.State,
			err: "the verdict is recorded, but the decision could not be announced yet; repeat the request"}
	}
	log.InfoContext(ctx, "verdict", "outcome", res.Outcome)
	return verdictDone{status: http.StatusOK, outcome: res.Outcome, state: res.Record.State, body: item(res.Record.normalized(), w.now())}
}

// archivedVerdictDone is a verdict on an archived document: 200
// ("repeated", with the summary) when it is the verdict in force, 409 with
// the verdict in force otherwise; nothing is announced, since the answer is
// delivered.
func (w *Worker) archivedVerdictDone(ctx context.Context, v events.VerdictSubmitted, m Meta) verdictDone {
	unavailable := verdictDone{status: http.StatusServiceUnavailable, err: "the verdict could not be checked; try again"}
	res, err := w.archivedVerdict(ctx, v, m)
	if err != nil {
		w.log.WarnContext(ctx, "read archived document", "document_id", v.DocumentID, "err", err)
		return unavailable
	}
	sum, err := w.store.arch.get(ctx, key(v.Kommune, v.DocumentID))
	if err != nil || sum == nil {
		w.log.WarnContext(ctx, "read archived document", "document_id", v.DocumentID, "err", err)
		return unavailable
	}
	if res.Outcome == VerdictRefused {
		return verdictDone{status: http.StatusConflict, err: res.Reason, state: sum.State, verdict: sum.Verdict}
	}
	return verdictDone{status: http.StatusOK, outcome: VerdictRepeated, state: sum.State, body: sum.normalized()}
}

// tracerName is the instrumentation scope of the spans decide starts.
const tracerName = "github.com/kp-efaktura/efaktura/services/decide"

// The routes of the verdicts, as their spans name them.
const (
	routeVerdict  = "/v1/documents/{id}/verdict"
	routeVerdicts = "/v1/verdicts"
)

// verdictSpan starts the SERVER span of a verdict on document id in the
// document's own trace (issue 12): a child of the event that made its
// record, so the decision and the answer that follow are in that trace
// too, with a link to the request's span, which continues the client's
// trace when it sent one. A bulk verdict starts one per document, all
// linked to the one request. A document decide does not know (yet) gets a
// child of the request's span.
func (w *Worker) verdictSpan(ctx context.Context, route, kommune, id string) (context.Context, trace.Span) {
	request := trace.SpanContextFromContext(ctx)
	opts := []trace.SpanStartOption{
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(semconv.HTTPRequestMethodPost, semconv.HTTPRoute(route), attribute.String("efaktura.document.id", id)),
	}
	if r, _ := w.store.idx.get(key(kommune, id)); r != nil {
		if doc := telemetry.ParseTraceParent(r.TraceParent); doc.IsValid() {
			ctx = trace.ContextWithRemoteSpanContext(ctx, doc)
			if request.IsValid() {
				opts = append(opts, trace.WithLinks(trace.Link{SpanContext: request}))
			}
		}
	}
	return w.bus.TracerProvider().Tracer(tracerName).Start(ctx, "POST "+route, opts...)
}
