package bus

import (
	"context"
	"testing"
	"time"

	natsjs "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"

	"github.com/kp-efaktura/efaktura/pkg/natstest"
)

// The tests in this file use the CloudEvents SDK for Go's JetStream protocol
// (github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2, the release
// that goes with sdk-go/v2 v2.16.2; its v3 has no release) as a third-party
// client would: its sender publishes and the bus consumes, the bus
// publishes and its consumer receives, in binary and in structured mode,
// against a real JetStream server.
//
// What sdk-go v2.16.2 itself does not do, and the tests therefore avoid
// relying on: it writes header values without percent-encoding (raw UTF-8,
// which the bus reads all the same) and reads them without percent-decoding
// (so a value the bus had to encode, e.g. a subject with æøå or a space,
// reaches it still encoded in binary mode; structured mode carries it as
// JSON and is unaffected). It sends structured mode with no header at all.

// sdkEvent is an event with every attribute the catalogue's events carry.
func sdkEvent(t *testing.T, id, typ, subject string) cloudevents.Event {
	t.Helper()
	e := cloudevents.NewEvent()
	e.SetID(id)
	e.SetType(typ)
	e.SetSource("/erp/kaerholm")
	e.SetSubject(subject)
	e.SetTime(time.Date(2026, 12, 1, 10, 30, 0, 123456789, time.UTC))
	e.SetDataSchema("https://github.com/kp-efaktura/efaktura/raw/main/events/schemas/" + typ + ".json")
	e.SetExtension("kommune", "0101")
	if err := e.SetData(cloudevents.ApplicationJSON, map[string]any{"kommune": "0101", "n": 1}); err != nil {
		t.Fatal(err)
	}
	return e
}

// sameEvent reports the attributes of got that differ from want.
func sameEvent(t *testing.T, what string, got, want cloudevents.Event) {
	t.Helper()
	if got.SpecVersion() != want.SpecVersion() || got.ID() != want.ID() || got.Source() != want.Source() ||
		got.Type() != want.Type() || got.Subject() != want.Subject() || !got.Time().Equal(want.Time()) ||
		got.DataContentType() != want.DataContentType() || got.DataSchema() != want.DataSchema() ||
		got.Extensions()["kommune"] != want.Extensions()["kommune"] || string(got.Data()) != string(want.Data()) {
		t.Errorf("%s:\n got %v\nwant %v", what, got, want)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("%s: the received event is invalid: %v", what, err)
	}
}

// TestSDKSendsBusConsumes: sdk-go's JetStream sender publishes in binary
// and in structured mode; a bus handler gets every attribute.
func TestSDKSendsBusConsumes(t *testing.T) {
	nc := natstest.Connect(t, natstest.Start(t))
	b := newBus(t, nc, testConfig("sdkin"))
	got := make(chan cloudevents.Event, 2)
	b.Handle("h", "t.in", EmitsOnly, func(_ context.Context, in cloudevents.Event) ([]cloudevents.Event, error) {
		got <- in
		return nil, nil
	})
	run(t, b)

	sender, err := natsjs.NewSenderFromConn(nc, "T", "t.in", nil)
	if err != nil {
		t.Fatal(err)
	}
	client, err := cloudevents.NewClient(sender)
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []struct {
		name string
		ctx  context.Context
	}{
		{"binary", cloudevents.WithEncodingBinary(context.Background())},
		{"structured", cloudevents.WithEncodingStructured(context.Background())},
	} {
		t.Run(mode.name, func(t *testing.T) {
			// Raw UTF-8 in binary mode, as sdk-go writes it: valid UTF-8,
			// so the bus reads it as it was meant.
			want := sdkEvent(t, "sdk-"+mode.name, "t.in", "Kærholm Kommune")
			if res := client.Send(mode.ctx, want); !cloudevents.IsACK(res) {
				t.Fatalf("sdk-go send: %v", res)
			}
			select {
			case e := <-got:
				sameEvent(t, "bus received from sdk-go in "+mode.name+" mode", e, want)
			case <-time.After(10 * time.Second):
				t.Fatal("the bus handler got nothing")
			}
		})
	}
	if letters, err := OpenDeadLetters(b.js, b.cfg).List(context.Background(), "sdkin", 10); err != nil || len(letters) != 0 {
		t.Errorf("dead letters = %v, %v; want none", letters, err)
	}
}

// TestBusPublishesSDKReceives: the bus publishes in binary mode (its
// default) and in structured mode; sdk-go's JetStream consumer receives
// every attribute, datacontenttype and dataschema included.
func TestBusPublishesSDKReceives(t *testing.T) {
	for _, mode := range []struct {
		name    string
		opts    []Option
		subject string
	}{
		// sdk-go does not percent-decode (see above): a subject that needs
		// no encoding.
		{"binary", nil, "5a1c0e9e-2f6b-5b1e-8c3d-7e9f0a1b2c3d"},
		{"structured", []Option{WithStructuredMode()}, "Kærholm Kommune"},
	} {
		t.Run(mode.name, func(t *testing.T) {
			nc := natstest.Connect(t, natstest.Start(t))
			b := newBus(t, nc, testConfig("sdkout"), mode.opts...)
			consumer, err := natsjs.NewConsumerFromConn(nc, "T", "t.out", nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			client, err := cloudevents.NewClient(consumer)
			if err != nil {
				t.Fatal(err)
			}
			got := make(chan cloudevents.Event, 1)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- client.StartReceiver(ctx, func(e cloudevents.Event) { got <- e })
			}()
			t.Cleanup(func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("sdk-go receiver: %v", err)
				}
			})

			want := sdkEvent(t, "bus-"+mode.name, "t.out", mode.subject)
			if err := b.Publish(context.Background(), want); err != nil {
				t.Fatal(err)
			}
			select {
			case e := <-got:
				sameEvent(t, "sdk-go received from the bus in "+mode.name+" mode", e, want)
			case <-time.After(10 * time.Second):
				t.Fatal("sdk-go received nothing")
			}
			// What went over the wire, as the binding has it.
			raw, err := b.js.Stream(context.Background(), "T")
			if err != nil {
				t.Fatal(err)
			}
			m, err := raw.GetLastMsgForSubject(context.Background(), "t.out")
			if err != nil {
				t.Fatal(err)
			}
			wire := map[string]string{"Nats-Msg-Id": want.ID()}
			if mode.name == "binary" {
				wire["ce-datacontenttype"] = "application/json"
				wire["ce-dataschema"] = want.DataSchema()
				wire["Content-Type"] = ""
			} else {
				wire["Content-Type"] = "application/cloudevents+json"
			}
			for name, v := range wire {
				if got := nats.Header(m.Header).Get(name); got != v {
					t.Errorf("header %s = %q, want %q", name, got, v)
				}
			}
		})
	}
}
