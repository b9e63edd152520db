package decide

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/cpr"
	"github.com/kp-efaktura/efaktura/pkg/efaktura"
	"github.com/kp-efaktura/efaktura/pkg/rawdoc"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// The document's content (issue 11): GET /v1/documents/{id}/invoice and
// /original read the document as ingest stored it (stream
// EFAKTURA_BUNDLES, see pkg/rawdoc), for as long as the raw retention
// keeps it, whether the document is open or archived.

// stored is what locates a document's raw bytes and says whose they are.
type stored struct {
	id, kommune, bundleID, documentNo string
	index                             int
	ref                               *events.RawRef
	archived                          bool
}

func storedOf(r *Record, a *AuditSummary) stored {
	if r != nil {
		return stored{id: r.ID, kommune: r.Kommune, bundleID: r.BundleID, documentNo: r.DocumentNo, index: r.Index, ref: r.Raw}
	}
	return stored{id: a.ID, kommune: a.Kommune, bundleID: a.BundleID, documentNo: a.DocumentNo, index: a.Index, archived: true}
}

// content finds document id as p may see it and reads its stored bytes;
// it writes the error (404, 410, 503, 500) and returns false when it
// cannot.
func (w *Worker) content(ctx context.Context, rw http.ResponseWriter, p tenant.Principal, id string) (stored, []byte, bool) {
	r, a, ok := w.locate(ctx, rw, p, id)
	if !ok {
		return stored{}, nil, false
	}
	d := storedOf(r, a)
	data := w.readStored(ctx, rw, d)
	return d, data, data != nil
}

// readStored returns the document's bytes as stored: by its reference, or,
// for a record of before references (and an archived summary, which keeps
// none), from the subject its bundle id and index name, taken as it is.
// It writes 410 when the document is gone, 503 or 500 otherwise, and
// returns nil then.
func (w *Worker) readStored(ctx context.Context, rw http.ResponseWriter, d stored) []byte {
	var data []byte
	var err error
	if d.ref != nil {
		data, err = w.raw.Read(ctx, *d.ref)
	} else {
		var subject string
		if subject, err = events.RawSubject(d.kommune, d.bundleID, d.index); err != nil {
			// Not received yet (no index): document.received is on its way.
			w.log.WarnContext(ctx, "read document content", "document_id", d.id, "err", err)
			writeError(rw, http.StatusServiceUnavailable, "the document's content cannot be found yet; try again")
			return nil
		}
		data, err = w.raw.ReadSubject(ctx, events.RawStream, subject)
	}
	switch {
	case err == nil:
		return data
	case errors.Is(err, rawdoc.ErrGone):
		writeError(rw, http.StatusGone, "the document's content is no longer stored: its retention ran out")
	case errors.Is(err, rawdoc.ErrReference):
		w.log.ErrorContext(ctx, "read document content", "document_id", d.id, "err", err)
		writeError(rw, http.StatusInternalServerError, "the stored document is not the one received")
	default:
		w.log.WarnContext(ctx, "read document content", "document_id", d.id, "err", err)
		writeError(rw, http.StatusServiceUnavailable, "the document's content cannot be read now; try again")
	}
	return nil
}

// readerName is who reads a document, for its history.
func readerName(p tenant.Principal) string {
	if p.Name != "" {
		return p.Name
	}
	return string(p.Role)
}

// recordRead writes to the document's history that p read its personal
// data (what: [WhatCPRRevealed] or [WhatOriginalRead]): in the open
// record by compare-and-set, or in the archived summary's history. It logs
// the read with the document id and the reader, never the number.
func (w *Worker) recordRead(ctx context.Context, d stored, p tenant.Principal, what string) error {
	who := readerName(p)
	m := Meta{Now: w.now().UTC()}
	k := key(d.kommune, d.id)
	err := ErrArchived
	if !d.archived {
		err = w.store.change(ctx, k, func(r *Record) (*Record, error) { return PersonalDataRead(r, what, who, m) })
	}
	if errors.Is(err, ErrArchived) {
		err = w.store.arch.addHistory(ctx, k, Entry{At: m.Now, What: what, By: cpr.Mask(who)}, w.cfg.Attempts)
	}
	if err != nil {
		return err
	}
	msg := "cpr revealed"
	if what == WhatOriginalRead {
		msg = "original read"
	}
	w.log.InfoContext(ctx, msg, "document_id", d.id, "kommune", d.kommune, "caseworker", cpr.Mask(who))
	return nil
}

// getInvoice serves GET /v1/documents/{id}/invoice[?reveal=cpr]: 200 with
// the [InvoiceView] of the document, open or archived, read from the raw
// store; CPR numbers masked unless reveal=cpr, whose read is written to
// the document's history first (503 when that fails: nothing is revealed
// unrecorded). 400 for another reveal value; 401; 403, and for an admin
// with reveal=cpr (personal data is for the municipality's caseworkers);
// 404 for an unknown
// document or another municipality's; 410 once the raw retention ran out.
func (w *Worker) getInvoice(rw http.ResponseWriter, req *http.Request) {
	p, ok := w.authenticate(rw, req)
	if !ok {
		return
	}
	reveal := false
	switch v := req.URL.Query().Get("reveal"); v {
	case "":
	case "cpr":
		reveal = true
	default:
		writeJSON(rw, http.StatusBadRequest, errorBody{Error: "invalid query", Problems: []string{"reveal must be cpr"}})
		return
	}
	if reveal && !caseworkerOnly(rw, p, seesPersonalData) {
		return
	}
	ctx, cancel := context.WithTimeout(req.Context(), w.cfg.Timeout)
	defer cancel()
	d, data, ok := w.content(ctx, rw, p, req.PathValue("id"))
	if !ok {
		return
	}
	doc, err := efaktura.ReadDocument(data, max(d.index, 1))
	if err != nil {
		w.log.ErrorContext(ctx, "read document content", "document_id", d.id, "err", err)
		writeError(rw, http.StatusInternalServerError, "the stored document cannot be read")
		return
	}
	inv := doc.Invoice()
	view := NewInvoiceView(d.id, inv, reveal)
	if view.CPRRevealed {
		if err := w.recordRead(ctx, d, p, WhatCPRRevealed); err != nil {
			w.log.WarnContext(ctx, "record cpr reveal", "document_id", d.id, "err", err)
			writeError(rw, http.StatusServiceUnavailable, "the reveal could not be recorded, so nothing is revealed; try again")
			return
		}
	}
	writeJSON(rw, http.StatusOK, view)
}

// getOriginal serves GET /v1/documents/{id}/original: 200 with the
// DOCUMENT element as stored (ISO-8859-1), as an attachment named after
// its document number. A document with a final customer identified by CPR
// number, or a CPR number anywhere else, holds it unmasked, so its read is
// written to the history first ([WhatOriginalRead]; 503 when that fails).
// 401, 403 (an admin too: it holds personal data unmasked), 404 and 410
// as [Worker.getInvoice].
func (w *Worker) getOriginal(rw http.ResponseWriter, req *http.Request) {
	p, ok := w.authenticate(rw, req)
	if !ok || !caseworkerOnly(rw, p, seesPersonalData) {
		return
	}
	ctx, cancel := context.WithTimeout(req.Context(), w.cfg.Timeout)
	defer cancel()
	d, data, ok := w.content(ctx, rw, p, req.PathValue("id"))
	if !ok {
		return
	}
	doc, err := efaktura.ReadDocument(data, max(d.index, 1))
	if err != nil || HasCPR(doc.Invoice()) || cpr.Contains(string(data)) {
		// Unreadable: it may hold a CPR number all the same.
		if err := w.recordRead(ctx, d, p, WhatOriginalRead); err != nil {
			w.log.WarnContext(ctx, "record original read", "document_id", d.id, "err", err)
			writeError(rw, http.StatusServiceUnavailable, "the read could not be recorded, so the original is not served; try again")
			return
		}
	}
	rw.Header().Set("Content-Type", "application/xml; charset=ISO-8859-1")
	rw.Header().Set("Cache-Control", "no-store")
	rw.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", fileName(d)))
	rw.Header().Set("Content-Length", strconv.Itoa(len(data)))
	rw.WriteHeader(http.StatusOK)
	_, _ = rw.Write(data)
}

// fileName is the name of a document's original: its document number when
// that makes a safe file name, else its id, with ".xml".
func fileName(d stored) string {
	name := d.documentNo
	if name == "" || cpr.Contains(name) || strings.ContainsFunc(name, func(c rune) bool {
		return !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.')
	}) {
		name = d.id
	}
	return name + ".xml"
}

// caseworkerOnly writes 403 with what and returns false unless p is a
// caseworker: deciding is theirs, and so are CPR numbers unmasked, not KP's
// administrators', who see every municipality's documents masked.
func caseworkerOnly(rw http.ResponseWriter, p tenant.Principal, what string) bool {
	if p.Role == tenant.RoleCaseworker {
		return true
	}
	writeError(rw, http.StatusForbidden, "only a caseworker of the document's municipality "+what)
	return false
}

// What caseworkerOnly says only a caseworker does.
const (
	seesPersonalData = "sees its personal data"
	decidesIt        = "decides it"
)
