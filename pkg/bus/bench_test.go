package bus

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/kp-efaktura/efaktura/pkg/idem"
	"github.com/kp-efaktura/efaktura/pkg/natstest"
	"github.com/kp-efaktura/efaktura/pkg/redistest"
	"github.com/kp-efaktura/efaktura/pkg/telemetry"
)

// The pipeline benchmarks push benchEvents 2 KB events through four hops,
// b.0 -> b.1 -> b.2 -> b.3 -> b.4, on a file-backed embedded JetStream, and
// report end-to-end events per second: the runtime against the same pipeline
// written directly on nats.go (shared/research/ceilings.md measured the bare
// one at 17-18.7k events/s on this machine).
const (
	benchEvents = 20_000
	benchStages = 4
	benchBatch  = 256
)

var benchPayload = strings.Repeat("x", 2048)

func BenchmarkPipeline(b *testing.B) {
	b.Run("nats.go", func(b *testing.B) { benchPipeline(b, rawStage) })
	b.Run("runtime-pure", func(b *testing.B) { benchPipeline(b, runtimeStage(nil, EmitsOnly)) })
	b.Run("runtime-pure-traced", func(b *testing.B) {
		tel, err := telemetry.Start(context.Background(), telemetry.Config{ServiceName: "bench"}, func(string) string { return "" })
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { tel.Shutdown(context.Background()) })
		benchPipeline(b, runtimeStage(nil, EmitsOnly).with(WithTelemetry(tel)))
	})
	b.Run("runtime-kv", func(b *testing.B) { benchPipeline(b, runtimeStage(nil, CallsOut)) })
	b.Run("runtime-redis", func(b *testing.B) {
		rs := redistest.Start(b)
		c := redis.NewClient(&redis.Options{Addr: rs.Addr, PoolSize: 4 * benchBatch})
		b.Cleanup(func() { c.Close() })
		benchPipeline(b, runtimeStage(idem.NewRedis(c, "bench:"), CallsOut))
	})
}

// stageFunc starts hop k (b.k -> b.k+1) on its own connection and returns a
// stop function.
type stageFunc func(b *testing.B, nc *nats.Conn, k int, opts ...Option) func()

// with adds bus options to every stage.
func (f stageFunc) with(opts ...Option) stageFunc {
	return func(b *testing.B, nc *nats.Conn, k int, more ...Option) func() {
		return f(b, nc, k, append(opts, more...)...)
	}
}

func benchPipeline(b *testing.B, stage stageFunc) {
	for b.Loop() {
		b.StopTimer()
		s := natstest.Start(b)
		pub := natstest.Connect(b, s)
		js, err := jetstream.New(pub)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "B", Subjects: []string{"b.>"}, Storage: jetstream.FileStorage, Duplicates: time.Hour}); err != nil {
			b.Fatal(err)
		}
		var stops []func()
		for k := range benchStages {
			stops = append(stops, stage(b, natstest.Connect(b, s), k))
		}
		b.StartTimer()
		start := time.Now()
		if err := publishEvents(ctx, js, benchEvents); err != nil {
			b.Fatal(err)
		}
		last := fmt.Sprintf("b.%d", benchStages)
		for {
			info, err := mustStream(b, js).Info(ctx, jetstream.WithSubjectFilter(last))
			if err != nil {
				b.Fatal(err)
			}
			if info.State.Subjects[last] >= benchEvents {
				break
			}
			// Polled rather than consumed, which would load the pipeline
			// under measurement; the pause is the measurement's resolution.
			time.Sleep(5 * time.Millisecond)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		b.ReportMetric(float64(benchEvents)/elapsed.Seconds(), "events/s")
		for _, stop := range stops {
			stop()
		}
		b.StartTimer()
	}
}

func mustStream(b *testing.B, js jetstream.JetStream) jetstream.Stream {
	s, err := js.Stream(context.Background(), "B")
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// publishEvents sends n CloudEvents to b.0 in windows of benchBatch.
func publishEvents(ctx context.Context, js jetstream.JetStream, n int) error {
	for i := 0; i < n; i += benchBatch {
		var futures []jetstream.PubAckFuture
		for j := i; j < min(i+benchBatch, n); j++ {
			e := cloudevents.NewEvent()
			e.SetID(fmt.Sprintf("ev-%d", j))
			e.SetType("b.0")
			e.SetSource("/bench")
			e.SetData("text/plain", benchPayload)
			msg, err := encode("b.0", e)
			if err != nil {
				return err
			}
			f, err := js.PublishMsgAsync(msg)
			if err != nil {
				return err
			}
			futures = append(futures, f)
		}
		for _, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				return err
			}
		}
	}
	return nil
}

// rawStage is the hop written directly on nats.go (natstest.Hop).
func rawStage(b *testing.B, nc *nats.Conn, k int, _ ...Option) func() {
	return natstest.Hop(b, nc, "B", "b", k, benchBatch)
}

// runtimeStage is the hop on the bus runtime: a handler of the given effect
// that forwards the event, with benchBatch events in flight.
func runtimeStage(store idem.Store, effect Effect) stageFunc {
	return func(b *testing.B, nc *nats.Conn, k int, extra ...Option) func() {
		busOpts := append([]Option{WithLogger(slog.New(slog.DiscardHandler))}, extra...)
		if store != nil {
			busOpts = append(busOpts, WithIdempotency(store))
		}
		cfg := Config{Service: fmt.Sprintf("s%d", k), Stream: "B", Subjects: []string{"b.>"}, DuplicateWindow: time.Hour}
		bus := newBus(b, nc, cfg, busOpts...)
		next := fmt.Sprintf("b.%d", k+1)
		bus.Handle("hop", fmt.Sprintf("b.%d", k), effect, func(_ context.Context, in cloudevents.Event) ([]cloudevents.Event, error) {
			out := in.Clone()
			out.SetID(in.ID() + "/" + next) // dedup is per stream: each hop's copy needs its own id
			out.SetType(next)
			return []cloudevents.Event{out}, nil
		}, WithConcurrency(benchBatch))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { bus.Run(ctx); close(done) }()
		return func() { cancel(); <-done }
	}
}
