package decide

import (
	"net/http"
	"time"

	"github.com/kp-efaktura/efaktura/pkg/cpr"
)

// Flow is the body of GET /v1/documents/{id}/flow: a document's way
// through the workers, for a caseworker who asks where it is and for an
// SRE who looks for its trace.
type Flow struct {
	// DocumentID is the document's id.
	DocumentID string `json:"document_id"`
	// TraceID is the W3C trace id every span of the document's life
	// belongs to; empty when its first event carried no trace context.
	TraceID string `json:"trace_id,omitempty"`
	// Steps are what happened, oldest first.
	Steps []Step `json:"steps"`
}

// Step is one step of a [Flow].
type Step struct {
	// At is when it happened.
	At time.Time `json:"at"`
	// Worker is the worker that did it: ingest, validate, decide or
	// respond.
	Worker string `json:"worker"`
	// What happened, as [Entry.What] says.
	What string `json:"what"`
	// State is the document's state after it.
	State State `json:"state"`
	// DurationMS is the time from the step before to this one, in
	// milliseconds: how long the document waited for it. 0 for the first.
	DurationMS int64 `json:"duration_ms"`
	// Attempt is the delivery attempt, of an answer's steps.
	Attempt int `json:"attempt,omitempty"`
	// StatusCode is the economy system's HTTP status of that attempt; 0
	// when none came.
	StatusCode int `json:"status_code,omitempty"`
	// Detail says more, CPR numbers masked: who decided what ("jens:
	// approve"), the park reason, the error of a failed attempt.
	Detail string `json:"detail,omitempty"`
}

// workerOf names the worker behind each kind of history entry; entries of
// other kinds (such as a caseworker's reading of personal data) are not
// steps of the flow.
var workerOf = map[string]string{
	WhatReceived:            byIngest,
	WhatValidated:           byValidate,
	WhatRejectedTechnically: byValidate,
	WhatVerdict:             "decide",
	WhatAnswerParked:        byRespond,
	WhatAnswerFailed:        byRespond,
	WhatAnswerDelivered:     byRespond,
}

// FlowOf returns the flow of document id from its history.
func FlowOf(id, traceID string, history []Entry) Flow {
	f := Flow{DocumentID: id, TraceID: traceID, Steps: []Step{}}
	var prev time.Time
	for _, e := range history {
		worker, ok := workerOf[e.What]
		if !ok {
			continue
		}
		s := Step{At: e.At, Worker: worker, What: e.What, State: e.State, Attempt: e.Attempt, StatusCode: e.StatusCode, Detail: cpr.Mask(e.Detail)}
		if e.What == WhatVerdict {
			s.Detail = cpr.Mask(e.By + ": " + e.Detail)
		}
		if !prev.IsZero() {
			s.DurationMS = max(0, e.At.Sub(prev).Milliseconds())
		}
		prev = e.At
		f.Steps = append(f.Steps, s)
	}
	return f
}

// getFlow serves GET /v1/documents/{id}/flow: 200 with the document's
// [Flow], open or archived, for a caseworker of its municipality or an
// admin; 401, 403, 404 as GET /v1/documents/{id}.
func (w *Worker) getFlow(rw http.ResponseWriter, req *http.Request) {
	p, ok := w.authenticate(rw, req)
	if !ok {
		return
	}
	r, a, ok := w.locate(req.Context(), rw, p, req.PathValue("id"))
	switch {
	case !ok:
	case r != nil:
		writeJSON(rw, http.StatusOK, FlowOf(r.ID, r.TraceID, r.History))
	default:
		writeJSON(rw, http.StatusOK, FlowOf(a.ID, a.TraceID, a.History))
	}
}
