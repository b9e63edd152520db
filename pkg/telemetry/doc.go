// Package telemetry sets up OpenTelemetry for one efaktura process and keeps
// personal data out of what it emits.
//
// It provides four things:
//
//   - [Start]: tracer and meter providers configured from the standard OTEL_*
//     environment, and a Prometheus handler for /metrics.
//   - [InjectEvent] and [ExtractEvent]: W3C trace context carried in a
//     CloudEvent's distributed-tracing extension (traceparent, tracestate),
//     which the bus sends as ce-traceparent and ce-tracestate headers in
//     binary mode.
//   - [StartPublish] and [StartProcess]: PRODUCER and CONSUMER spans for the bus
//     runtime, following the OpenTelemetry messaging semantic conventions
//     (v1.43.0, status Development) with messaging.system "nats": named
//     "<operation> <destination template>" (send
//     efaktura.{kommune}.document.received), so no kommune code or id is in a
//     span name; the subject itself is messaging.destination.name.
//   - [NewLogHandler]: a slog JSON handler that adds trace_id and span_id and
//     masks CPR numbers.
//
// # Environment
//
// Start reads these variables through its getenv argument:
//
//	OTEL_SERVICE_NAME                    service.name; wins over Config.ServiceName
//	OTEL_TRACES_EXPORTER                 spans are exported only when this is set (not "none")
//	OTEL_EXPORTER_OTLP_ENDPOINT          ... or when one of these endpoints is set
//	OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
//	OTEL_METRICS_EXPORTER                an OTLP metric reader is added only when this is set
//	                                     to something other than "none" or "prometheus" ...
//	OTEL_EXPORTER_OTLP_METRICS_ENDPOINT  ... or an OTLP endpoint is set (the general one too)
//
// Those decide whether anything is exported. What is exported, and how, is
// left to the OpenTelemetry libraries, which read the process environment
// (os.Getenv) themselves, whatever getenv says:
//
//   - autoexport: OTEL_TRACES_EXPORTER and OTEL_METRICS_EXPORTER ("otlp",
//     "console", "none"; otlp when empty), OTEL_EXPORTER_OTLP_PROTOCOL and its
//     _TRACES_/_METRICS_ forms ("http/protobuf" by default, or "grpc"),
//     OTEL_METRICS_PRODUCERS.
//   - the OTLP exporters: OTEL_EXPORTER_OTLP_[TRACES_|METRICS_]ENDPOINT,
//     _HEADERS, _TIMEOUT, _COMPRESSION, _CERTIFICATE, _CLIENT_CERTIFICATE,
//     _CLIENT_KEY, _INSECURE, and OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE
//     and _DEFAULT_HISTOGRAM_AGGREGATION.
//   - resource.WithFromEnv: OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME.
//   - the trace SDK: OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG, OTEL_BSP_*
//     (batching), OTEL_SPAN_*_LIMIT, OTEL_ATTRIBUTE_*_LIMIT and friends.
//   - the metric SDK: OTEL_METRIC_EXPORT_INTERVAL, OTEL_METRIC_EXPORT_TIMEOUT,
//     OTEL_METRICS_EXEMPLAR_FILTER, OTEL_GO_X_* feature flags.
//
// In a service getenv is os.Getenv, so both views agree. A test that passes a
// map-backed getenv and wants a particular exporter must also set the
// variable in the process environment; Start returns an error rather than
// silently exporting over OTLP when OTEL_TRACES_EXPORTER or
// OTEL_METRICS_EXPORTER names something else in getenv only.
// OTEL_SDK_DISABLED is not honoured: set OTEL_TRACES_EXPORTER=none.
//
// With nothing configured, spans still get ids (log lines carry trace_id) but
// go nowhere, and metrics are only served on [Providers.Metrics].
//
// # Personal data
//
// Span attributes and log lines must never hold a CPR number or payload
// content. The helpers put identifiers only (subjects, event ids and types,
// consumer names) on spans, and every string they or their callers set on a
// span returned by [StartPublish] or [StartProcess] goes through [cpr.Mask]:
// attribute values, span name, status description, event names and
// attributes, and recorded errors. [NewLogHandler] does the same for the
// message and every string, error, fmt.Stringer and JSON-rendered value of a
// log record.
//
// Two kinds of value are left as they are: canonical UUIDs
// (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, in hex) and W3C trace and span ids
// (32 or 16 lower-case hex digits). Their digits are random, and about 1% of
// random UUIDs and 3% of trace ids contain a run that looks like a CPR
// number; masking those would break the join between logs, spans and the
// idempotency store on the very ids meant for it.
package telemetry
