package telemetry

import (
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
)

// HTTPHandler wraps a worker's API in OpenTelemetry's HTTP server
// instrumentation, with p's providers: a server span per request, named
// after the method and the route pattern (POST /v1/bundles), continuing a
// W3C traceparent the request carries, and the histogram
// http.server.request.duration (http_server_request_duration_seconds at
// /metrics) by method, route and status, as the HTTP semantic conventions
// define it. The route is the ServeMux pattern, never the path, so no
// document id becomes a label. Probes and scrapes (/healthz, /readyz,
// /metrics) are left out: they would drown the API's requests.
func (p *Providers) HTTPHandler(h http.Handler) http.Handler {
	return otelhttp.NewHandler(h, "efaktura",
		otelhttp.WithTracerProvider(p.TracerProvider),
		otelhttp.WithMeterProvider(p.MeterProvider),
		otelhttp.WithPropagators(propagation.TraceContext{}),
		otelhttp.WithFilter(func(r *http.Request) bool {
			switch r.URL.Path {
			case "/healthz", "/readyz", "/metrics":
				return false
			}
			return true
		}))
}
