package natstest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Hop is the reference hop of the benchmarks, written on nats.go alone as
// in shared/research/ceilings.md: it consumes subject prefix.k of stream
// with a durable consumer, takes what is buffered up to batch, publishes
// each message onward to prefix.k+1 asynchronously, waits for every
// publish ack, then acks the inputs. The runtime's cost is measured
// against it. It returns a function that stops the hop.
func Hop(tb testing.TB, nc *nats.Conn, stream, prefix string, k, batch int) (stop func()) {
	tb.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := js.CreateOrUpdateConsumer(context.Background(), stream, jetstream.ConsumerConfig{
		Durable: fmt.Sprintf("raw%d", k), FilterSubject: fmt.Sprintf("%s.%d", prefix, k), AckPolicy: jetstream.AckExplicitPolicy,
	})
	if err != nil {
		tb.Fatal(err)
	}
	in := make(chan jetstream.Msg, 2*batch)
	cc, err := c.Consume(func(m jetstream.Msg) { in <- m }, jetstream.PullMaxMessages(2*batch), jetstream.PullExpiry(5*time.Second))
	if err != nil {
		tb.Fatal(err)
	}
	next := fmt.Sprintf("%s.%d", prefix, k+1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m := range in {
			msgs := []jetstream.Msg{m}
		fill:
			for len(msgs) < batch {
				select {
				case m, ok := <-in:
					if !ok {
						break fill
					}
					msgs = append(msgs, m)
				default:
					break fill
				}
			}
			futures := make([]jetstream.PubAckFuture, len(msgs))
			for i, m := range msgs {
				out := nats.NewMsg(next)
				for h, v := range m.Headers() {
					out.Header[h] = v
				}
				// Dedup is per stream: each hop's copy needs its own id.
				out.Header.Set(nats.MsgIdHdr, m.Headers().Get(nats.MsgIdHdr)+"/"+next)
				out.Data = m.Data()
				f, err := js.PublishMsgAsync(out)
				if err != nil {
					panic(err)
				}
				futures[i] = f
			}
			for _, f := range futures {
				select {
				case <-f.Ok():
				case err := <-f.Err():
					panic(err)
				}
			}
			for _, m := range msgs {
				m.Ack()
			}
		}
	}()
	return func() {
		cc.Stop()
		select { // no callback may send on in once it is closed
		case <-cc.Closed():
		case <-time.After(10 * time.Second):
		}
		close(in)
		<-done
	}
}
