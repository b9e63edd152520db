package decide

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/kvwatch"
	"github.com/kp-efaktura/efaktura/pkg/natstest"
)

// Sizes of the benchmarks; e.g. go test -bench Index -args -decide.docs=100000.
var (
	benchDocs    = flag.Int("decide.docs", 10_000, "documents in the records bucket for BenchmarkIndexLoad")
	benchArchive = flag.Int("decide.archive", 100_000, "documents in the archive for BenchmarkArchive")
)

// benchRecord is a record as a document awaiting a verdict has it: a
// summary, two warnings, two history entries; 1.2 KB of JSON (its audit
// summary 0.9 KB).
func benchRecord(kommune string, i int) *Record {
	at := time.Date(2025, 8, 4, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
	id := events.DocumentID(events.BundleID("sp", "CVR", "12345674", "bench", 2025), i)
	return &Record{
		ID: id, Kommune: kommune, BundleID: "b-" + id, Index: i%1000 + 1,
		ReceiptNo: fmt.Sprintf("OEH-2025-%06d", i), DocumentNo: fmt.Sprintf("F-2025-%06d", i), DocumentType: events.DocumentInvoice,
		State: StateAwaitingVerdict, TraceID: "4bf92f3577b34da6a3ce929d0e0e4736",
		Findings: []events.Finding{
			{Rule: "V31", Severity: events.SeverityWarning, Path: "/INVOICES/DOCUMENT[1]/DOCUMENT_HEAD/PAYMENT_DATE", Message: "PAYMENT_DATE is before DOCUMENT_DATE"},
			{Rule: "V44", Severity: events.SeverityWarning, Path: "/INVOICES/DOCUMENT[1]/LINE[2]/UNIT", Message: "UNIT is not a UN/ECE code"},
		},
		Answer: Answer{Status: StatusPending},
		History: []Entry{
			{At: at, What: WhatReceived, State: StateReceived, By: byIngest},
			{At: at.Add(time.Second), What: WhatValidated, State: StateAwaitingVerdict, By: byValidate},
		},
		Reference: "REF-" + strconv.Itoa(i), Sender: events.Sender{Type: "CVR", ID: fmt.Sprintf("%08d", 10000000+i%1000)},
		Ruleset:    "efaktura-2.1.0/r1",
		Summary:    &events.Summary{Currency: "DKK", TotalAmountInclVAT: "1812,50", DocumentDate: "2025-08-01", BillToName: "Kommunernes Pensionssystem", Lines: 12},
		ReceivedAt: at, JudgedAt: at.Add(time.Second), CreatedAt: at, UpdatedAt: at.Add(time.Second),
	}
}

// publishAll publishes msgs asynchronously and waits for every ack.
func publishAll(b *testing.B, js jetstream.JetStream, msgs func(yield func(*nats.Msg, []jetstream.PublishOpt) bool)) {
	b.Helper()
	n := 0
	for m, opts := range msgs {
		if _, err := js.PublishMsgAsync(m, opts...); err != nil {
			b.Fatal(err)
		}
		if n++; n%10_000 == 0 {
			<-js.PublishAsyncComplete()
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatal("publish acks did not come in a minute")
	}
}

// BenchmarkIndexLoad measures what a replica's start costs decide with N
// documents behind it: the time its index takes to load the records bucket
// (ns/op), and the live heap the loaded index holds per open document.
//
//   - open=N: N documents awaiting a verdict (the worst case: all open);
//   - archived=N: N answered documents, archived, their purge markers
//     expired (a restart more than an hour after the last archiving);
//   - archived=N/markers: the same within the hour, the N markers still in
//     the bucket, which the watcher replays;
//   - open=N/10+archived=N: a tenth of that open.
//
// Run: go test -run '^$' -bench IndexLoad -benchtime 5x ./services/decide [-args -decide.docs=100000]
func BenchmarkIndexLoad(b *testing.B) {
	n := *benchDocs
	for _, tc := range []struct {
		name           string
		open, archived int
		markerTTL      time.Duration // 0: expired
	}{
		{fmt.Sprintf("open=%d", n), n, 0, 0},
		{fmt.Sprintf("archived=%d", n), 0, n, 0},
		{fmt.Sprintf("archived=%d/markers", n), 0, n, time.Hour},
		{fmt.Sprintf("open=%d+archived=%d", n/10, n), n / 10, n, 0},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			js, err := jetstream.New(natstest.Connect(b, natstest.Start(b)))
			if err != nil {
				b.Fatal(err)
			}
			kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "docs", History: 1, LimitMarkerTTL: time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			ttl := tc.markerTTL
			if ttl == 0 {
				ttl = time.Second
			}
			publishAll(b, js, func(yield func(*nats.Msg, []jetstream.PublishOpt) bool) {
				for i := range tc.archived + tc.open {
					r := benchRecord("0101", i)
					data, _ := json.Marshal(r)
					if !yield(&nats.Msg{Subject: "$KV.docs." + key(r.Kommune, r.ID), Data: data}, nil) {
						return
					}
					if i < tc.archived {
						purge := &nats.Msg{Subject: "$KV.docs." + key(r.Kommune, r.ID), Header: nats.Header{}}
						purge.Header.Set("KV-Operation", "PURGE")
						purge.Header.Set(jetstream.MsgRollup, jetstream.MsgRollupSubject)
						if !yield(purge, []jetstream.PublishOpt{jetstream.WithMsgTTL(ttl)}) {
							return
						}
					}
				}
			})
			want := uint64(tc.open)
			if tc.markerTTL > 0 {
				want += uint64(tc.archived)
			}
			for deadline := time.Now().Add(time.Minute); ; {
				st, err := kv.Status(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if st.Values() == want {
					break
				}
				if time.Now().After(deadline) {
					b.Fatalf("the bucket holds %d messages, want %d", st.Values(), want)
				}
				time.Sleep(100 * time.Millisecond)
			}

			var heap uint64
			var held int
			log := slog.New(slog.DiscardHandler)
			for b.Loop() {
				x := newIndex(log)
				watch, stop := context.WithCancel(ctx)
				done := make(chan struct{})
				go func() { kvwatch.Follow(watch, js.Conn(), kv, x, "bench", log); close(done) }()
				<-x.ready
				b.StopTimer()
				stop()
				<-done
				held = x.len()
				heap += retained(func() { x = nil })
				b.StartTimer()
			}
			if held != tc.open {
				b.Fatalf("the index holds %d records, want %d", held, tc.open)
			}
			b.ReportMetric(float64(heap)/float64(b.N)/(1<<20), "index-MB")
			if tc.open > 0 {
				b.ReportMetric(float64(heap)/float64(b.N)/float64(tc.open), "heap-B/open-doc")
			}
		})
	}
}

// retained returns how much live heap drop frees: the heap after two
// collections, before and after drop.
func retained(drop func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	drop()
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if after.HeapAlloc > before.HeapAlloc {
		return 0
	}
	return before.HeapAlloc - after.HeapAlloc
}

// BenchmarkArchive measures reading the archive stream at M archived
// documents of 10 municipalities (default 100 000; 1000 suppliers):
//
//   - page=50/first, page=50/deep: one page of GET /v1/archive for one
//     municipality and state, from the start and from near the end;
//   - supplier-scan: every document of one supplier, as a desk's "invoices
//     from this supplier" would need: the stream has no index by sender,
//     so it reads and decodes the whole stream. This is the query that
//     comes closest among those the archive cannot serve well (by due date
//     and overdue are worse: the summary holds no due date).
//
// Run: go test -run '^$' -bench Archive -benchtime 5x ./services/decide [-args -decide.archive=100000]
func BenchmarkArchive(b *testing.B) {
	m := *benchArchive
	ctx := context.Background()
	js, err := jetstream.New(natstest.Connect(b, natstest.Start(b)))
	if err != nil {
		b.Fatal(err)
	}
	a, err := newArchive(ctx, js, 1, jetstream.FileStorage, DefaultArchiveRetention, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	states := []State{StateApproved, StateApproved, StateApproved, StateRejected}
	publishAll(b, js, func(yield func(*nats.Msg, []jetstream.PublishOpt) bool) {
		for i := range m {
			r := benchRecord(fmt.Sprintf("%04d", 101+i%10), i)
			r.State = states[i%len(states)]
			r.Verdict = &Verdict{ID: "v", Decision: events.DecisionApprove, By: "caseworker", At: r.UpdatedAt}
			at := r.UpdatedAt.Add(time.Hour)
			r.Answer = Answer{Status: StatusDelivered, Attempts: 1, DeliveredAt: &at, AnswerID: "a-" + r.ID}
			data, _ := json.Marshal(r.Audit())
			if !yield(&nats.Msg{Subject: ArchiveSubject(r.Kommune, r.State), Data: data}, nil) {
				return
			}
		}
	})
	subject := ArchiveSubject("0101", StateApproved)
	page := func(b *testing.B, from uint64) {
		for b.Loop() {
			docs, _, err := a.page(ctx, subject, from, 50)
			if err != nil || len(docs) == 0 {
				b.Fatalf("page = %d documents, %v", len(docs), err)
			}
		}
	}
	b.Run("page=50/first", func(b *testing.B) { page(b, 0) })
	b.Run("page=50/deep", func(b *testing.B) { page(b, uint64(m-1000)) })
	b.Run("supplier-scan", func(b *testing.B) {
		supplier := fmt.Sprintf("%08d", 10000000+7)
		var found int
		for b.Loop() {
			found = scanSupplier(b, js, supplier)
		}
		if found != m/1000 {
			b.Fatalf("found %d documents of the supplier, want %d", found, m/1000)
		}
		b.ReportMetric(float64(m), "docs-read/op")
	})
}

// scanSupplier reads every summary of the archive stream through an
// ordered consumer and counts those of supplier.
func scanSupplier(b *testing.B, js jetstream.JetStream, supplier string) int {
	ctx := context.Background()
	c, err := js.OrderedConsumer(ctx, ArchiveStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	it, err := c.Messages(jetstream.PullMaxMessages(1000))
	if err != nil {
		b.Fatal(err)
	}
	defer it.Stop()
	found := 0
	for {
		msg, err := it.Next()
		if err != nil {
			b.Fatal(err)
		}
		// Only the sender, then the whole summary of a match.
		var s struct {
			Sender events.Sender `json:"sender"`
		}
		if err := json.Unmarshal(msg.Data(), &s); err != nil {
			b.Fatal(err)
		}
		if s.Sender.ID == supplier {
			var full AuditSummary
			if err := json.Unmarshal(msg.Data(), &full); err != nil {
				b.Fatal(err)
			}
			found++
		}
		md, err := msg.Metadata()
		if err != nil {
			b.Fatal(err)
		}
		if md.NumPending == 0 {
			return found
		}
	}
}
