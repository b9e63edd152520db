package decide

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Where archived documents are kept (issue 10). decide creates both stores
// and is their only writer.
const (
	// ArchiveBucket is the JetStream KV bucket of the audit summaries, one
	// per archived document under "<kommune>.<document id>": what GET
	// /v1/documents/{id} serves once the record is gone.
	ArchiveBucket = "EFAKTURA_archive"
	// ArchiveStream is the stream of the same summaries, in the order they
	// were archived, on subject "efaktura_archive.<kommune>.<state>" (see
	// [ArchiveSubject]): what GET /v1/archive pages through.
	ArchiveStream = "EFAKTURA_ARCHIVE"
	// archiveSubjects is the archive stream's subjects. They must not start
	// with "efaktura.": that prefix is the event stream's.
	archiveSubjects = "efaktura_archive.>"
)

// DefaultArchiveRetention is how long an archived document is kept: six
// years. Bogføringsloven (the Danish bookkeeping act) §10 keeps accounting
// records for 5 years from the end of the financial year they concern, so
// a document of January is kept nearly 6 years; 6 years from the archiving
// covers any document of the year. JetStream deletes what is older (the
// bucket's TTL, the stream's MaxAge).
const DefaultArchiveRetention = 6 * 8766 * time.Hour // 8766 h: a year of 365.25 days

// markerTTL is how long the purge marker of an archived record stays in the
// records bucket before JetStream removes it: long enough for every running
// watcher to see the purge, and short enough that a watcher starting later
// (a restart) does not replay history's markers. A watcher that starts
// after a marker expired never learns of the purge, which [index.Loaded]
// makes up for.
//
// The design dropped the markers with an hourly
// KeyValue.PurgeDeletes instead. That reads the whole bucket in every
// replica every hour and purges each marker's subject entirely, which
// would also take a record created under the same key between its read and
// its purge; a marker with a TTL of its own has neither problem and needs
// no timer.
const markerTTL = time.Hour

// ArchiveSubject is the archive stream's subject of a document of kommune
// archived in state: "efaktura_archive.<kommune>.<state>".
func ArchiveSubject(kommune string, state State) string {
	return "efaktura_archive." + kommune + "." + string(state)
}

// archive is the archive's two stores.
type archive struct {
	kv     jetstream.KeyValue
	js     jetstream.JetStream
	stream string
	// dedupe is how long after a first append the stream drops another
	// with the same Nats-Msg-Id: nine tenths of its duplicate window,
	// which leaves room for clocks and the time a write takes.
	dedupe time.Duration
}

// retainedBucket creates or updates the KV bucket name (safe on every
// start): one revision per key, each entry expiring after retention.
func retainedBucket(ctx context.Context, js jetstream.JetStream, name, description string, replicas int, storage jetstream.StorageType, retention time.Duration) (jetstream.KeyValue, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      name,
		Description: description,
		History:     1,
		TTL:         retention,
		Storage:     storage,
		Replicas:    replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("decide: bucket %s: %w", name, err)
	}
	return kv, nil
}

// newArchive creates or updates the archive bucket and stream (safe on
// every start) with the given replicas, storage, retention, and duplicate
// window of the stream.
func newArchive(ctx context.Context, js jetstream.JetStream, replicas int, storage jetstream.StorageType, retention, duplicates time.Duration) (*archive, error) {
	kv, err := retainedBucket(ctx, js, ArchiveBucket,
		"efaktura decide: audit summaries of answered documents, no CPR number, key <kommune>.<document id>",
		replicas, storage, retention)
	if err != nil {
		return nil, err
	}
	_, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        ArchiveStream,
		Description: "efaktura decide: audit summaries of answered documents in the order they were archived, no CPR number",
		Subjects:    []string{archiveSubjects},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      retention,
		Duplicates:  min(duplicates, retention),
		Storage:     storage,
		Replicas:    replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("decide: stream %s: %w", ArchiveStream, err)
	}
	return &archive{kv: kv, js: js, stream: ArchiveStream, dedupe: min(duplicates, retention) * 9 / 10}, nil
}

// get returns the summary under k; nil when the document is not archived.
func (a *archive) get(ctx context.Context, k string) (*AuditSummary, error) {
	s, _, err := getJSON[AuditSummary](ctx, a.kv, "archived document", k)
	return s, err
}

// addHistory appends e to the history of the summary under k, by
// compare-and-set, up to attempts times; [ErrUnknownDocument] when there
// is none. The archive stream's copy, appended when the document was
// archived, stays as it was. The bucket's TTL counts from the last write,
// so the summary is kept for the archive retention from then.
func (a *archive) addHistory(ctx context.Context, k string, e Entry, attempts int) error {
	for range attempts {
		cur, err := a.kv.Get(ctx, k)
		if absent(err) {
			return ErrUnknownDocument
		}
		if err != nil {
			return fmt.Errorf("read archived document %s: %w", k, err)
		}
		var s AuditSummary
		if err := json.Unmarshal(cur.Value(), &s); err != nil {
			return fmt.Errorf("read archived document %s: revision %d: %w", k, cur.Revision(), err)
		}
		if e.State == "" {
			e.State = s.State
		}
		s.History = append(s.History, e)
		data, err := json.Marshal(&s)
		if err != nil {
			return fmt.Errorf("archive document %s: %w", k, err)
		}
		_, err = a.kv.Update(ctx, k, data, cur.Revision())
		if err == nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return fmt.Errorf("archive document %s: bucket %s: %w", k, ArchiveBucket, err)
		}
	}
	return fmt.Errorf("%w: history of archived document %s, %d attempts", ErrConflict, k, attempts)
}

// has reports whether the document under k is archived.
func (a *archive) has(ctx context.Context, k string) (bool, error) {
	_, err := a.kv.Get(ctx, k)
	switch {
	case err == nil:
		return true, nil
	case absent(err):
		return false, nil
	}
	return false, fmt.Errorf("read archived document %s: %w", k, err)
}

// find returns the summary of document id in any municipality (the lowest
// kommune code should two hold the same id); nil when there is none. It
// reads the bucket through a temporary watcher, as [store.list] does.
func (a *archive) find(ctx context.Context, id string) (*AuditSummary, error) {
	w, err := a.kv.Watch(ctx, key("*", id), jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("find archived document %s: %w", id, err)
	}
	defer w.Stop()
	var found *AuditSummary
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("find archived document %s: %w", id, ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("find archived document %s: the watcher closed", id)
			}
			if e == nil {
				return found, nil
			}
			var s AuditSummary
			if err := json.Unmarshal(e.Value(), &s); err != nil {
				return nil, fmt.Errorf("find archived document %s: revision %d: %w", e.Key(), e.Revision(), err)
			}
			if found == nil || s.Kommune < found.Kommune {
				found = &s
			}
		}
	}
}

// archive moves the record under k to the archive once its answer is
// delivered, in three steps, each of which a retry may repeat:
//
//  1. it appends the record's [AuditSummary] to the archive stream, with
//     Nats-Msg-Id k, so JetStream drops a copy within the duplicate window;
//     unless the archive bucket holds the summary already;
//  2. it creates the summary in the archive bucket (a summary there already
//     is the same one: the summary depends on the final record alone);
//  3. it purges the record from the records bucket, at the revision it
//     archived, leaving a marker that expires after [markerTTL].
//
// The stream comes before the bucket, not after: the bucket then holding
// the summary means the stream does too, so a retry long after the
// duplicate window (a dead-lettered answer.delivered replayed days later)
// appends no second copy. Within the window of the answer's delivery
// ([Answer.DeliveredAt]; not UpdatedAt, which a later read of the personal
// data moves), every earlier attempt was within it too, so the stream
// drops a copy by itself and the bucket is not read first: a round trip
// less for nearly every document. The window's last tenth covers the
// clocks of respond, which stamps the delivery, and decide. A crash
// between the steps leaves the record in the bucket with its answer
// delivered; the redelivered answer.delivered,
// or else [Worker.sweep], finishes the job.
//
// archive does nothing for a record whose answer is not delivered, or that
// is gone (archived already).
func (s *store) archive(ctx context.Context, k string) error {
	r, rev := s.idx.get(k)
	for attempt := 0; attempt < s.attempts; attempt++ {
		if r == nil || r.Answer.Status != StatusDelivered || attempt > 0 {
			var err error
			if r, rev, err = s.get(ctx, k); err != nil {
				return err
			}
		}
		if r == nil || r.Answer.Status != StatusDelivered {
			return nil
		}
		// The answer's delivery, not UpdatedAt: a caseworker reading the
		// CPR or the original of a delivered record touches UpdatedAt
		// after an earlier attempt may have appended already.
		archived := false
		if d := r.Answer.DeliveredAt; d == nil || s.now().Sub(*d) >= s.arch.dedupe {
			var err error
			if archived, err = s.arch.has(ctx, k); err != nil {
				return err
			}
		}
		if !archived {
			if err := s.arch.put(ctx, k, r.Audit()); err != nil {
				return err
			}
		}
		err := s.kv.Purge(ctx, k, jetstream.LastRevision(rev), jetstream.PurgeTTL(s.markerTTL))
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			if err != nil {
				return fmt.Errorf("purge archived document %s: %w", k, err)
			}
			return nil
		}
		// Changed since it was read (another replica archived it, or
		// the index's copy was stale): read it again.
	}
	return fmt.Errorf("%w: archiving %s, %d attempts", ErrConflict, k, s.attempts)
}

// put appends sum to the stream, then creates it in the bucket.
func (a *archive) put(ctx context.Context, k string, sum *AuditSummary) error {
	data, err := json.Marshal(sum)
	if err != nil {
		return fmt.Errorf("archive document %s: %w", k, err)
	}
	if _, err := a.js.Publish(ctx, ArchiveSubject(sum.Kommune, sum.State), data,
		jetstream.WithMsgID(k), jetstream.WithExpectStream(a.stream)); err != nil {
		return fmt.Errorf("archive document %s: stream %s: %w", k, a.stream, err)
	}
	if _, err := a.kv.Create(ctx, k, data); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("archive document %s: bucket %s: %w", k, ArchiveBucket, err)
	}
	return nil
}

// sweep archives, every Config.Reannounce, the open records whose answer
// was delivered more than Config.Reannounce ago: those whose
// answer.delivered handler stopped between archiving's steps and was then
// dead-lettered, and, after an upgrade from a version that kept every
// record, every answered record of the bucket. It runs until ctx is done.
func (w *Worker) sweep(ctx context.Context) {
	tick := time.NewTicker(w.cfg.Reannounce)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		n, err := w.sweepOnce(ctx)
		if n > 0 || err != nil {
			w.log.InfoContext(ctx, "answered documents archived by the sweep", "count", n, "err", err)
		}
	}
}

// sweepOnce archives the open records whose answer was delivered more than
// Config.Reannounce ago and returns how many it archived; it stops at the
// first error.
func (w *Worker) sweepOnce(ctx context.Context) (int, error) {
	n := 0
	for _, r := range w.store.idx.answered(w.now().Add(-w.cfg.Reannounce)) {
		if err := w.store.archive(ctx, key(r.Kommune, r.ID)); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// page returns up to limit summaries of the archive stream on subject
// filter, oldest first, starting at stream sequence from (1 for the
// start), and the sequence to go on from; 0 when there is no more. It
// reads through an ephemeral consumer filtered on the subject (ack none,
// memory, one replica: an ordered consumer's settings) that it deletes
// afterwards: one request creates it, at filter's first message at or
// after from, and says how many match from there; one fetch takes the
// page. The cost grows with the page, not with the stream.
//
// It does not use jetstream's OrderedConsumer: that recreates its consumer
// on the first Fetch, a third round trip and a consumer left for the
// server to expire.
func (a *archive) page(ctx context.Context, filter string, from uint64, limit int) ([]*AuditSummary, uint64, error) {
	c, err := a.js.CreateConsumer(ctx, a.stream, jetstream.ConsumerConfig{
		FilterSubject: filter,
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: max(from, 1),
		AckPolicy: jetstream.AckNonePolicy, MemoryStorage: true, Replicas: 1,
		InactiveThreshold: time.Minute,
	})
	if err != nil {
		return nil, 0, fmt.Errorf("read the archive: %w", err)
	}
	name := c.CachedInfo().Name
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = a.js.DeleteConsumer(ctx, a.stream, name)
	}()
	pending := c.CachedInfo().NumPending
	want := int(min(pending, uint64(limit)))
	out := make([]*AuditSummary, 0, want)
	var last uint64
	for len(out) < want {
		batch, err := c.Fetch(want-len(out), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return nil, 0, fmt.Errorf("read the archive: %w", err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			md, err := m.Metadata()
			if err != nil {
				return nil, 0, fmt.Errorf("read the archive: %w", err)
			}
			var s AuditSummary
			if err := json.Unmarshal(m.Data(), &s); err != nil {
				return nil, 0, fmt.Errorf("read the archive: message %d: %w", md.Sequence.Stream, err)
			}
			out = append(out, &s)
			last, pending = md.Sequence.Stream, md.NumPending
		}
		if err := batch.Error(); err != nil {
			return nil, 0, fmt.Errorf("read the archive: %w", err)
		}
		if n == 0 {
			break // expired meanwhile (MaxAge)
		}
	}
	if len(out) == 0 || pending == 0 {
		return out, 0, nil
	}
	return out, last + 1, nil
}
