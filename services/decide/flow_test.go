package decide_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/services/decide"
)

// TestFlow: a document's flow names the worker of each step, the time
// between steps and every delivery attempt with its HTTP status, open and
// archived alike; other municipalities' caseworkers see none.
func TestFlow(t *testing.T) {
	e := start(t)
	id := e.awaiting("0101", 1)
	if res := e.do(http.MethodPost, verdictPath(id), cw0101, map[string]any{"decision": "approve"}); res.status != http.StatusOK {
		t.Fatalf("approve: %d %s", res.status, res.body)
	}
	next := t0.Add(time.Hour + 30*time.Second)
	e.publish(e.ctx, events.TypeAnswerFailed, "0101", id, []string{"a-" + id, "1"}, events.AnswerFailed{
		AnswerID: "a-" + id, DocumentID: id, Kommune: "0101", EconomySystemID: "erp", Attempts: 1,
		Error: "economy system erp answered 503", StatusCode: 503, FailedAt: t0.Add(time.Hour), NextAttemptAt: &next})
	bustest.Eventually(t, "the failed attempt recorded", func() error {
		r, _ := e.get(cw0101, id)
		if r == nil {
			return is(0, 1)
		}
		return is(r.Answer.Status, decide.StatusFailed)
	})

	flow := func(token string) (decide.Flow, int) {
		res := e.do(http.MethodGet, "/v1/documents/"+id+"/flow", token, nil)
		var f decide.Flow
		if res.status == http.StatusOK {
			if err := json.Unmarshal(res.body, &f); err != nil {
				t.Fatal(err)
			}
		}
		return f, res.status
	}
	steps := func(f decide.Flow) (out []string) {
		for _, s := range f.Steps {
			out = append(out, s.Worker+":"+s.What)
		}
		return out
	}
	f, status := flow(cw0101)
	if status != http.StatusOK || f.DocumentID != id {
		t.Fatalf("flow = %d %+v", status, f)
	}
	want := []string{"ingest:received", "validate:validated", "respond:answer_failed", "decide:verdict"}
	// The verdict is at the test's wall clock, the events at t0: order by time.
	if got := steps(f); !slices.Equal(got, want) && !slices.Equal(got, []string{want[0], want[1], want[3], want[2]}) {
		t.Errorf("open document's steps = %v; want %v in time order", got, want)
	}
	for _, s := range f.Steps {
		switch s.What {
		case decide.WhatValidated:
			if s.DurationMS != 1000 {
				t.Errorf("validated step: duration %d ms; want 1000 (a second after received)", s.DurationMS)
			}
		case decide.WhatAnswerFailed:
			if s.Attempt != 1 || s.StatusCode != 503 || s.Detail == "" {
				t.Errorf("failed attempt step = %+v; want attempt 1, status 503 and its error", s)
			}
		case decide.WhatVerdict:
			if s.Detail != "ab: approve" {
				t.Errorf("verdict step = %+v; want the caseworker in detail", s)
			}
		}
	}
	if _, status := flow(cw0202); status != http.StatusNotFound {
		t.Errorf("flow for another municipality's caseworker = %d; want 404", status)
	}

	e.delivered("0101", id)
	e.archived(cw0101, id)
	f, status = flow(admin)
	if got := steps(f); status != http.StatusOK || !slices.Contains(got, "respond:answer_delivered") || !slices.Contains(got, "respond:answer_failed") {
		t.Errorf("archived document's flow = %d %v; want the failed and the delivered attempt", status, got)
	}
	for _, s := range f.Steps {
		if s.What == decide.WhatAnswerDelivered && (s.Attempt != 2 || s.StatusCode != 200) {
			t.Errorf("delivered step = %+v; want attempt 2, status 200", s)
		}
	}
}
