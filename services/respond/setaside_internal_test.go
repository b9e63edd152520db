package respond

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/pkg/natstest"
)

// openBucket creates the parking bucket as New does, on a fresh embedded
// server, and returns it with a function that opens another connection to
// that server (another process, as far as the server can tell).
func openBucket(t *testing.T) (context.Context, *parking, func() jetstream.JetStream) {
	t.Helper()
	ctx := context.Background()
	srv := natstest.Start(t)
	connect := func() jetstream.JetStream {
		js, err := jetstream.New(natstest.Connect(t, srv))
		if err != nil {
			t.Fatal(err)
		}
		return js
	}
	js := connect()
	kv := createBucket(t, ctx, js)
	return ctx, &parking{kv: kv, js: js}, connect
}

func createBucket(t *testing.T, ctx context.Context, js jetstream.JetStream) jetstream.KeyValue {
	t.Helper()
	kv, err := provisionParking(ctx, js, jetstream.KeyValueConfig{Bucket: DefaultBucket, History: 1, Storage: jetstream.MemoryStorage})
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

// queue parks an answer under key, as handleDecided does.
func queue(t *testing.T, ctx context.Context, s *parking, key string) Parked {
	t.Helper()
	p, created, err := s.park(ctx, Parked{Key: key, Answer: Answer{AnswerID: "a-1", Kommune: "0101"}, ParkedAt: time.Now().UTC()})
	if err != nil || !created {
		t.Fatalf("park = %v, %v", created, err)
	}
	return p
}

// state reports whether key is queued and whether it is set aside.
func state(t *testing.T, ctx context.Context, s *parking, key string) (queued, aside bool) {
	t.Helper()
	_, queued, err := s.get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	_, aside, err = s.get(ctx, failedPrefix+key)
	if err != nil {
		t.Fatal(err)
	}
	return queued, aside
}

// A resend that stops after its first write (the process dies before the
// commit) changes nothing; the next resend queues the answer once, and once
// the queue has sent it no resend queues it again. Before, the requeue and
// the removal of the set-aside copy were two writes: a crash between them
// left the answer both queued and set aside, and a resend after the queue
// had sent it sent it a second time.
func TestResendCutShortQueuesNothing(t *testing.T) {
	ctx, s, connect := openBucket(t)
	const key = "0101.00000000000000000001.a-1"
	p := queue(t, ctx, s, key)
	p.Attempts, p.LastError = 1, "422 Unprocessable Entity"
	if err := s.fail(ctx, &p); err != nil {
		t.Fatalf("fail: %v", err)
	}
	if queued, aside := state(t, ctx, s, key); queued || !aside {
		t.Fatalf("after fail: queued %v, set aside %v; want only set aside", queued, aside)
	}

	// The crashed resend: its first write, without the commit, on a
	// connection that then goes away.
	dying := connect()
	_, last, err := s.last(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(p)
	first := (&parking{kv: s.kv, js: dying}).batch([]kvWrite{
		{key: key, value: raw, revision: &last},
		{key: failedPrefix + key, del: true},
	})[0]
	if err := dying.Conn().PublishMsg(first); err != nil {
		t.Fatal(err)
	}
	if err := dying.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	dying.Conn().Close()
	if queued, aside := state(t, ctx, s, key); queued || !aside {
		t.Fatalf("after a resend cut short: queued %v, set aside %v; want only set aside", queued, aside)
	}

	for range 2 { // repeating it while the answer waits changes nothing
		if err := Resend(ctx, s.js, DefaultBucket, key); err != nil {
			t.Fatalf("Resend: %v", err)
		}
		if queued, aside := state(t, ctx, s, key); !queued || aside {
			t.Fatalf("after Resend: queued %v, set aside %v; want only queued", queued, aside)
		}
	}
	got, _, err := s.get(ctx, key)
	if err != nil || got.Attempts != 1 || got.Answer.AnswerID != "a-1" {
		t.Errorf("requeued answer = %+v, %v; want the set-aside record", got, err)
	}

	// The queue sends it and removes its key; resending now finds nothing.
	if err := s.remove(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := Resend(ctx, s.js, DefaultBucket, key); !errors.Is(err, ErrNotSetAside) {
		t.Errorf("Resend after delivery = %v, want ErrNotSetAside", err)
	}
	if queued, aside := state(t, ctx, s, key); queued || aside {
		t.Errorf("after a resend of a sent answer: queued %v, set aside %v; want neither", queued, aside)
	}
}

// An answer both queued and set aside, as a move cut short by an earlier
// version left it: Resend keeps the queued record, with the attempts the
// queue counted, and drops the set-aside copy, so the answer is sent once.
func TestResendKeepsAnAnswerStillQueued(t *testing.T) {
	ctx, s, _ := openBucket(t)
	const key = "0101.00000000000000000001.a-1"
	p := queue(t, ctx, s, key)
	aside := p
	aside.Attempts = 1
	raw, _ := json.Marshal(aside)
	if _, err := s.kv.Put(ctx, failedPrefix+key, raw); err != nil {
		t.Fatal(err)
	}
	p.Attempts = 3
	if err := s.update(ctx, &p); err != nil {
		t.Fatal(err)
	}

	if err := Resend(ctx, s.js, DefaultBucket, key); err != nil {
		t.Fatalf("Resend: %v", err)
	}
	if queued, aside := state(t, ctx, s, key); !queued || aside {
		t.Fatalf("after Resend: queued %v, set aside %v; want only queued", queued, aside)
	}
	if got, _, err := s.get(ctx, key); err != nil || got.Attempts != 3 {
		t.Errorf("queued answer = %+v, %v; want the queue's record (3 attempts)", got, err)
	}
}

// A set-aside move whose queued record changed since it was read (another
// writer got there first) writes nothing: the answer is not set aside
// while it is still queued.
func TestFailOfAChangedRecordWritesNothing(t *testing.T) {
	ctx, s, _ := openBucket(t)
	const key = "0101.00000000000000000001.a-1"
	stale := queue(t, ctx, s, key)
	fresh := stale
	if err := s.update(ctx, &fresh); err != nil {
		t.Fatal(err)
	}
	if err := s.fail(ctx, &stale); !isConflict(err) {
		t.Fatalf("fail of a stale record = %v, want a conflict", err)
	}
	if queued, aside := state(t, ctx, s, key); !queued || aside {
		t.Errorf("after a refused fail: queued %v, set aside %v; want only queued", queued, aside)
	}
}

// Every start provisions the bucket; atomic writes must work after a
// restart too, and a restart with the same configuration must not rewrite
// the stream, which would turn them off for a moment for every replica.
func TestAtomicWritesSurviveARestart(t *testing.T) {
	ctx, _, connect := openBucket(t)
	js := connect()
	stream, err := js.Stream(ctx, kvStreamPrefix+DefaultBucket)
	if err != nil {
		t.Fatal(err)
	}
	marked := stream.CachedInfo().Config
	marked.Metadata = map[string]string{"probe": "untouched"}
	if _, err := js.UpdateStream(ctx, marked); err != nil {
		t.Fatal(err)
	}
	kv := createBucket(t, ctx, js)
	s := &parking{kv: kv, js: js}
	const key = "0101.00000000000000000001.a-1"
	p := queue(t, ctx, s, key)
	if err := s.fail(ctx, &p); err != nil {
		t.Fatalf("fail after a restart: %v", err)
	}
	if stream, err = js.Stream(ctx, kvStreamPrefix+DefaultBucket); err != nil {
		t.Fatal(err)
	}
	if got := stream.CachedInfo().Config.Metadata["probe"]; got != "untouched" {
		t.Errorf("the stream was rewritten by a restart with the same configuration (metadata %q)", got)
	}

	// Another configuration updates the bucket, and atomic writes stay on.
	if _, err := provisionParking(ctx, js, jetstream.KeyValueConfig{Bucket: DefaultBucket, History: 1, Storage: jetstream.MemoryStorage, Description: "changed"}); err != nil {
		t.Fatal(err)
	}
	p2 := queue(t, ctx, s, "0101.00000000000000000002.a-2")
	if err := s.fail(ctx, &p2); err != nil {
		t.Fatalf("fail after a configuration change: %v", err)
	}
}
