package telemetry_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/kp-efaktura/efaktura/pkg/telemetry"
)

// A worker's main starts telemetry from the environment, logs what it
// exports and serves /metrics.
func ExampleStart() {
	ctx := context.Background()
	tel, err := telemetry.Start(ctx, telemetry.Config{ServiceName: "validate", Version: "1.0.0"}, os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer tel.Shutdown(context.WithoutCancel(ctx))

	log := telemetry.NewLogger(os.Stderr, slog.LevelInfo)
	log.Info("telemetry started", "telemetry", tel)
	// http.Handle("GET /metrics", tel.Metrics)
}

// One event across two services: the consumer's span continues the
// producer's trace.
func ExampleStartProcess() {
	ctx := context.Background()
	spans := tracetest.NewInMemoryExporter()
	tel, err := telemetry.Start(ctx, telemetry.Config{ServiceName: "example"}, nil, telemetry.WithSpanExporter(spans))
	if err != nil {
		panic(err)
	}
	defer tel.Shutdown(ctx)

	// ingest publishes.
	e := cloudevents.NewEvent()
	e.SetID("f3b0c6de-3c1a-4c55-9d43-2b8f1a7e6a10")
	e.SetSource("/ingest")
	e.SetType("dk.efaktura.document.received")
	dest := telemetry.Destination{Name: "efaktura.0101.document.received", Template: "efaktura.{kommune}.document.received"}
	_, send := telemetry.StartPublish(ctx, tel.TracerProvider, dest, &e)
	send.End() // after JetStream's ack

	// validate receives e (its ce-traceparent header) and processes it.
	_, process := telemetry.StartProcess(ctx, tel.TracerProvider, dest, "validate-received", e, 1)
	process.End()

	s := spans.GetSpans()
	fmt.Println(s[0].Name, s[0].SpanKind)
	fmt.Println(s[1].Name, s[1].SpanKind)
	fmt.Println("same trace:", s[1].SpanContext.TraceID() == s[0].SpanContext.TraceID())
	fmt.Println("child of send:", s[1].Parent.SpanID() == s[0].SpanContext.SpanID())
	fmt.Println("linked to send:", s[1].Links[0].SpanContext.SpanID() == s[0].SpanContext.SpanID())
	// Output:
	// send efaktura.{kommune}.document.received producer
	// process efaktura.{kommune}.document.received consumer
	// same trace: true
	// child of send: true
	// linked to send: true
}
