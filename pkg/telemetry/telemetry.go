package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// Config is what a service tells [Start] about itself.
type Config struct {
	// ServiceName becomes the service.name resource attribute.
	// OTEL_SERVICE_NAME and a service.name in OTEL_RESOURCE_ATTRIBUTES win
	// over it (the standard precedence). Default when all are empty:
	// "unknown_service:<executable name>", as the specification says.
	ServiceName string
	// Version becomes service.version; optional.
	Version string
}

// Providers is one process's telemetry. Pass it to the code that creates
// spans and instruments (bus.WithTelemetry): this package never sets the
// OpenTelemetry globals.
type Providers struct {
	// TracerProvider is always a real SDK provider, so spans get valid ids
	// even when nothing is exported.
	TracerProvider *sdktrace.TracerProvider
	// MeterProvider always has a Prometheus reader behind Metrics, plus an
	// OTLP (or console) periodic reader when the environment asks for one.
	MeterProvider *sdkmetric.MeterProvider
	// Metrics serves the Prometheus text exposition of every instrument of
	// MeterProvider, plus the Go runtime and process collectors, from a
	// registry of its own (never prometheus.DefaultRegisterer). Mount it at
	// /metrics.
	Metrics http.Handler

	traces, metrics string // what is exported, for LogValue

	shutdownOnce sync.Once
	shutdownErr  error
}

// Option changes what [Start] builds, for code and tests rather than
// operators.
type Option func(*options)

type options struct {
	spanExporters []sdktrace.SpanExporter
}

// WithSpanExporter exports every span synchronously to e instead of the
// exporter the environment chooses: meant for tests, with
// tracetest.NewInMemoryExporter. It may be given more than once; a nil e is
// ignored.
func WithSpanExporter(e sdktrace.SpanExporter) Option {
	return func(o *options) {
		if e != nil {
			o.spanExporters = append(o.spanExporters, e)
		}
	}
}

// Start builds the providers of one process from cfg and the OTEL_*
// variables (see the package documentation for which variables are read
// through getenv and which by the OpenTelemetry libraries themselves). A nil
// getenv is an empty environment.
//
// Start never connects anywhere: an OTLP collector that is down makes exports
// fail later (reported through otel.Handle), not Start. It returns an error
// for a setting the libraries reject, such as an unknown exporter name or
// OTLP protocol. It does not touch the OpenTelemetry globals.
//
// Call [Providers.Shutdown] before the process exits to flush what is
// buffered.
func Start(ctx context.Context, cfg Config, getenv func(string) string, opts ...Option) (*Providers, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}

	res, err := newResource(ctx, cfg, getenv)
	if err != nil {
		return nil, err
	}

	p := &Providers{traces: "none", metrics: "prometheus"}
	var cleanup []func(context.Context) error
	fail := func(err error) (*Providers, error) {
		for _, f := range cleanup {
			_ = f(context.WithoutCancel(ctx)) // the error that made Start fail is the one to report
		}
		return nil, err
	}

	// Metrics: Prometheus always, on a registry of our own.
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return fail(fmt.Errorf("telemetry: register Go collector: %w", err))
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return fail(fmt.Errorf("telemetry: register process collector: %w", err))
	}
	// Without the otel_scope_* labels: every instrument's name says which
	// part of efaktura it belongs to, and the three constant labels on
	// every series only cost (issue 12).
	promReader, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo())
	if err != nil {
		return fail(fmt.Errorf("telemetry: create Prometheus exporter: %w", err))
	}
	mopts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(promReader)}
	cleanup = append(cleanup, promReader.Shutdown)
	p.Metrics = promhttp.InstrumentMetricHandler(reg, promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		Registry:      reg,
		ErrorHandling: promhttp.ContinueOnError, // a failing collector must not hide the others
	}))

	if name, ok := metricsExported(getenv); ok {
		r, err := autoexport.NewMetricReader(ctx, autoexport.WithFallbackMetricReader(
			func(ctx context.Context) (sdkmetric.Reader, error) {
				// Called only when the process environment has no
				// OTEL_METRICS_EXPORTER; autoexport then means OTLP.
				if name != "" && name != "otlp" {
					return nil, fmt.Errorf("OTEL_METRICS_EXPORTER=%q reached Start through getenv only; autoexport reads it from the process environment", name)
				}
				return autoexport.NewMetricReader(ctx)
			}))
		if err != nil {
			return fail(fmt.Errorf("telemetry: create metric reader from OTEL_METRICS_EXPORTER: %w", err))
		}
		if !autoexport.IsNoneMetricReader(r) {
			mopts = append(mopts, sdkmetric.WithReader(r))
			cleanup = append(cleanup, r.Shutdown)
			p.metrics = "prometheus+" + exporterName(name)
		}
	}

	// Traces.
	topts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	switch name, ok := tracesExported(getenv); {
	case len(o.spanExporters) > 0:
		for _, e := range o.spanExporters {
			topts = append(topts, sdktrace.WithSyncer(e))
		}
		p.traces = "custom"
	case ok:
		exp, err := autoexport.NewSpanExporter(ctx, autoexport.WithFallbackSpanExporter(
			func(ctx context.Context) (sdktrace.SpanExporter, error) {
				if name != "" && name != "otlp" {
					return nil, fmt.Errorf("OTEL_TRACES_EXPORTER=%q reached Start through getenv only; autoexport reads it from the process environment", name)
				}
				return autoexport.NewSpanExporter(ctx)
			}))
		if err != nil {
			return fail(fmt.Errorf("telemetry: create span exporter from OTEL_TRACES_EXPORTER: %w", err))
		}
		if !autoexport.IsNoneSpanExporter(exp) {
			topts = append(topts, sdktrace.WithBatcher(exp))
			p.traces = exporterName(name)
		}
	}

	p.TracerProvider = sdktrace.NewTracerProvider(topts...)
	p.MeterProvider = sdkmetric.NewMeterProvider(mopts...)
	return p, nil
}

// tracesExported reports whether the environment asks for spans to be
// exported, and the exporter it names (empty for the default, OTLP).
func tracesExported(getenv func(string) string) (name string, ok bool) {
	name = strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER"))
	switch {
	case name == "none":
		return name, false
	case name != "":
		return name, true
	}
	return "", isSet(getenv, "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
}

// metricsExported reports whether the environment asks for an exporting
// metric reader besides the Prometheus one that is always there, and the
// exporter it names.
func metricsExported(getenv func(string) string) (name string, ok bool) {
	name = strings.TrimSpace(getenv("OTEL_METRICS_EXPORTER"))
	switch {
	case name == "none", name == "prometheus":
		// "prometheus" is served by Providers.Metrics; autoexport's own
		// Prometheus reader would open a second listener on port 9464.
		return name, false
	case name != "":
		return name, true
	}
	return "", isSet(getenv, "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
}

func isSet(getenv func(string) string, keys ...string) bool {
	for _, k := range keys {
		if strings.TrimSpace(getenv(k)) != "" {
			return true
		}
	}
	return false
}

func exporterName(name string) string {
	if name == "" {
		return "otlp"
	}
	return name
}

// newResource describes the process: service name and version, what
// OTEL_RESOURCE_ATTRIBUTES adds, and host and process facts that need no
// network. It leaves out process.command_args (flags may hold secrets) and
// process.owner.
func newResource(ctx context.Context, cfg Config, getenv func(string) string) (*resource.Resource, error) {
	name := cfg.ServiceName
	if name == "" {
		name = "unknown_service:" + filepath.Base(os.Args[0])
	}
	attrs := []resource.Option{
		resource.WithTelemetrySDK(),
		resource.WithHost(),
		resource.WithOS(),
		resource.WithContainer(),
		resource.WithProcessPID(),
		resource.WithProcessExecutableName(),
		resource.WithProcessRuntimeName(),
		resource.WithProcessRuntimeVersion(),
		resource.WithAttributes(semconv.ServiceName(name)),
	}
	if cfg.Version != "" {
		attrs = append(attrs, resource.WithAttributes(semconv.ServiceVersion(cfg.Version)))
	}
	// Later options win: the environment overrides the code.
	attrs = append(attrs, resource.WithFromEnv())
	if s := strings.TrimSpace(getenv("OTEL_SERVICE_NAME")); s != "" {
		attrs = append(attrs, resource.WithAttributes(semconv.ServiceName(s)))
	}
	res, err := resource.New(ctx, attrs...)
	switch {
	case err == nil:
	case errors.Is(err, resource.ErrPartialResource) && res != nil:
		// A detector failed (say, no container id); the rest is still useful.
		otel.Handle(fmt.Errorf("telemetry: %w", err))
	default:
		return nil, fmt.Errorf("telemetry: build resource (check OTEL_RESOURCE_ATTRIBUTES): %w", err)
	}
	return res, nil
}

// Shutdown flushes and stops the exporters: pending spans first, then a last
// metric export. It gives up when ctx is done, so pass a context with a
// deadline (an unreachable collector otherwise delays exit by the exporter's
// retry budget). Calling it again returns the first call's result.
func (p *Providers) Shutdown(ctx context.Context) error {
	p.shutdownOnce.Do(func() {
		var errs []error
		if err := p.TracerProvider.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("telemetry: shut down tracer provider: %w", err))
		}
		if err := p.MeterProvider.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("telemetry: shut down meter provider: %w", err))
		}
		p.shutdownErr = errors.Join(errs...)
	})
	return p.shutdownErr
}

// LogValue says what is exported, for the start-up log line:
// {"traces":"otlp","metrics":"prometheus"}. Traces are "none" when nothing
// is exported (spans still get ids) and "custom" with [WithSpanExporter].
func (p *Providers) LogValue() slog.Value {
	return slog.GroupValue(slog.String("traces", p.traces), slog.String("metrics", p.metrics))
}
