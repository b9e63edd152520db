package bus_test

import (
	"context"
	"log"
	"os"
	"os/signal"
	"syscall"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"

	"github.com/kp-efaktura/efaktura/pkg/bus"
)

// A worker: one handler, which only emits events, answers each order with a
// receipt.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	nc, err := nats.Connect(nats.DefaultURL)
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Drain()
	b, err := bus.New(ctx, nc, bus.Config{Service: "receipts"})
	if err != nil {
		log.Fatal(err)
	}
	b.Handle("orders", "efaktura.*.order.placed", bus.EmitsOnly, func(ctx context.Context, in cloudevents.Event) ([]cloudevents.Event, error) {
		out := cloudevents.NewEvent()
		out.SetID(in.ID() + "/receipt") // derived from the input: a retry publishes the same id
		out.SetType("efaktura.0101.order.receipted")
		out.SetSource("/receipts")
		return []cloudevents.Event{out}, nil
	}, bus.WithConcurrency(8))
	if err := b.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
