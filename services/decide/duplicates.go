package decide

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/efaktura"
)

// DuplicatesBucket is the JetStream KV bucket of the possible-duplicate
// index (issue 14). Its entries expire with the archive's retention
// (Config.ArchiveRetention): an earlier document is looked for as long as
// its audit summary is kept.
const DuplicatesBucket = "EFAKTURA_duplicates"

// DuplicateReason says why a document may be a duplicate of another.
type DuplicateReason string

const (
	// SameDocumentNo: the same sender sent a document with the same
	// DOCUMENT_NO to the municipality before, in any bundle.
	SameDocumentNo DuplicateReason = "same_document_no"
	// SameAmountAndDate: the same sender sent a document with the same
	// TOTAL_AMOUNT_INCL_VAT (compared exactly, in the same currency) and
	// DOCUMENT_DATE before.
	SameAmountAndDate DuplicateReason = "same_amount_and_date"
)

// PossibleDuplicate is an earlier document of the same municipality and
// sender that a document may repeat.
type PossibleDuplicate struct {
	DocumentID string          `json:"document_id"`
	Reason     DuplicateReason `json:"reason"`
	// State is the earlier document's state when this one was validated;
	// "unknown" when decide no longer knows it.
	State State `json:"state"`
}

// Bounds of the index: the ids kept under one key (the newest), and the
// earlier documents reported (the newest per reason, at most this many
// distinct ones in all), each costing at most two reads for its state.
const (
	maxDuplicatesKept  = 20
	maxDuplicatesShown = 3
)

// duplicates is the possible-duplicate index: one KV entry per (kommune,
// sender, DOCUMENT_NO) and per (kommune, sender, total, currency,
// DOCUMENT_DATE), the
// key a SHA-256 of the tuple (so no document number, and thus no CPR
// number, is in a key), the value a JSON list of the document ids seen
// with it, oldest first, at most [maxDuplicatesKept]. A document costs one
// write per key when it is the first with that tuple, and a refused write,
// a Get and an Update by compare-and-set when it is not: a constant number
// of round trips, whatever the history.
type duplicates struct {
	kv       jetstream.KeyValue
	attempts int
}

func newDuplicates(ctx context.Context, js jetstream.JetStream, replicas int, storage jetstream.StorageType, retention time.Duration, attempts int) (*duplicates, error) {
	kv, err := retainedBucket(ctx, js, DuplicatesBucket,
		"efaktura decide: possible-duplicate index, key <kommune>.<n|a>.<sha256 of sender and document number, or of sender, total and date>, value the document ids",
		replicas, storage, retention)
	if err != nil {
		return nil, err
	}
	return &duplicates{kv: kv, attempts: attempts}, nil
}

// duplicateKey is the index key of one tuple of kommune's.
func duplicateKey(kommune, kind string, parts ...string) string {
	h := sha256.New()
	for _, p := range append([]string{kommune, kind}, parts...) {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return kommune + "." + kind + "." + hex.EncodeToString(h.Sum(nil)[:16])
}

// duplicateKeys returns a validated document's index keys by reason; the
// amount key is left out when the total is not an amount or the date is
// missing.
func duplicateKeys(p events.DocumentValidated) map[DuplicateReason]string {
	keys := map[DuplicateReason]string{}
	if p.DocumentNo != "" {
		keys[SameDocumentNo] = duplicateKey(p.Kommune, "n", p.Sender.Type, p.Sender.ID, p.DocumentNo)
	}
	if total, err := efaktura.ParseDecimal(p.Summary.TotalAmountInclVAT, 20, 3); err == nil && p.Summary.DocumentDate != "" {
		// The exact value, whatever the scale written: 100,5 is 100,50.
		keys[SameAmountAndDate] = duplicateKey(p.Kommune, "a", p.Sender.Type, p.Sender.ID, total.String(), p.Summary.Currency, p.Summary.DocumentDate)
	}
	return keys
}

// note records id under k and returns the ids recorded there before it,
// newest first. Recording the same id again (a redelivery) changes
// nothing and returns the same.
func (d *duplicates) note(ctx context.Context, k, id string) ([]string, error) {
	for range d.attempts {
		// A write expecting no revision: KeyValue.Create would read the key
		// after a refusal to tell a deleted key from a live one, and the
		// read below does that anyway.
		first, _ := json.Marshal([]string{id})
		_, cerr := d.kv.Update(ctx, k, first, 0)
		if cerr == nil {
			return nil, nil
		}
		e, err := d.kv.Get(ctx, k)
		if absent(err) {
			if errors.Is(cerr, jetstream.ErrKeyExists) || errors.Is(cerr, jetstream.ErrKeyRevisionMismatch) {
				continue // expired in between
			}
			return nil, fmt.Errorf("duplicate index %s: %w", k, cerr)
		}
		if err != nil {
			return nil, fmt.Errorf("duplicate index %s: %w", k, err)
		}
		var ids []string
		if err := json.Unmarshal(e.Value(), &ids); err != nil {
			ids = nil // unreadable: start the entry over
		}
		if i := slices.Index(ids, id); i >= 0 {
			return newestFirst(ids[:i]), nil
		}
		earlier := newestFirst(ids)
		ids = append(ids, id)
		ids = ids[max(0, len(ids)-maxDuplicatesKept):]
		next, _ := json.Marshal(ids)
		_, err = d.kv.Update(ctx, k, next, e.Revision())
		switch {
		case err == nil:
			return earlier, nil
		case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch):
			continue
		default:
			return nil, fmt.Errorf("duplicate index %s: %w", k, err)
		}
	}
	return nil, fmt.Errorf("%w: duplicate index %s, %d attempts", ErrConflict, k, d.attempts)
}

func newestFirst(ids []string) []string {
	out := slices.Clone(ids)
	slices.Reverse(out)
	return out
}

// possibleDuplicates records a validated document in the index and
// returns the earlier documents it may repeat, newest first per reason, at
// most [maxDuplicatesShown] distinct ones, each with its state: from
// this replica's index while open, from the archive once answered. The two
// keys are written at once.
func (w *Worker) possibleDuplicates(ctx context.Context, p events.DocumentValidated) ([]PossibleDuplicate, error) {
	keys := duplicateKeys(p)
	type found struct {
		ids []string
		err error
	}
	results := make(map[DuplicateReason]*found, len(keys))
	done := make(chan struct{}, len(keys))
	for reason, k := range keys {
		f := &found{}
		results[reason] = f
		go func() {
			defer func() { done <- struct{}{} }()
			f.ids, f.err = w.dups.note(ctx, k, p.DocumentID)
		}()
	}
	for range keys {
		<-done
	}
	var out []PossibleDuplicate
	states := map[string]State{} // at most maxDuplicatesShown lookups in all
	for _, reason := range []DuplicateReason{SameDocumentNo, SameAmountAndDate} {
		f := results[reason]
		if f == nil {
			continue
		}
		if f.err != nil {
			return nil, f.err
		}
		for _, other := range f.ids[:min(len(f.ids), maxDuplicatesShown)] {
			state, ok := states[other]
			if !ok {
				if len(states) == maxDuplicatesShown {
					break
				}
				var err error
				if state, err = w.stateOf(ctx, p.Kommune, other); err != nil {
					return nil, err
				}
				states[other] = state
			}
			out = append(out, PossibleDuplicate{DocumentID: other, Reason: reason, State: state})
		}
	}
	return out, nil
}

// stateUnknown is the state of an earlier document decide no longer knows.
const stateUnknown State = "unknown"

// stateOf returns the state of kommune's document id: from the index while
// it is open, from the archive once answered.
func (w *Worker) stateOf(ctx context.Context, kommune, id string) (State, error) {
	k := key(kommune, id)
	if r, _ := w.store.idx.get(k); r != nil {
		return r.State, nil
	}
	// Most earlier documents are answered, and so archived.
	if sum, err := w.store.arch.get(ctx, k); err != nil {
		return "", err
	} else if sum != nil {
		return sum.State, nil
	}
	r, _, err := w.store.get(ctx, k)
	switch {
	case err != nil:
		return "", err
	case r == nil:
		return stateUnknown, nil
	}
	return r.State, nil
}
