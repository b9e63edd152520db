package telemetry

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// env is a map-backed getenv.
func env(kv ...string) func(string) string {
	m := make(map[string]string)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func shutdown(t *testing.T, p *Providers) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

func TestStartEmptyEnvironment(t *testing.T) {
	ctx := context.Background()
	p, err := Start(ctx, Config{ServiceName: "telemetry-test", Version: "1.2.3"}, env())
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if got, want := p.LogValue().String(), "[traces=none metrics=prometheus]"; got != want {
		t.Errorf("LogValue() = %s, want %s", got, want)
	}

	_, span := p.TracerProvider.Tracer("test").Start(ctx, "work")
	span.End()
	if sc := span.SpanContext(); !sc.TraceID().IsValid() || !sc.SpanID().IsValid() {
		t.Errorf("span context = %v, want valid trace and span ids without an exporter", sc)
	}

	c, err := p.MeterProvider.Meter("test").Int64Counter("efaktura.test")
	if err != nil {
		t.Fatal(err)
	}
	c.Add(ctx, 3, metric.WithAttributes(attribute.String("kind", "unit")))

	srv := httptest.NewServer(p.Metrics)
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s\n%s", res.Status, body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type = %q, want text/plain (Prometheus text format)", ct)
	}
	for _, want := range []string{
		"# TYPE efaktura_test_total counter",
		`efaktura_test_total{kind="unit"}`,
		`service_name="telemetry-test"`, // target_info
		`service_version="1.2.3"`,
		"go_goroutines ",
		"process_cpu_seconds_total ",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("GET /metrics lacks %q; got:\n%s", want, body)
		}
	}
	if strings.Contains(string(body), "otel_scope_") {
		t.Errorf("GET /metrics carries the constant otel_scope_* labels; got:\n%s", body)
	}
	if !hasLine(string(body), "efaktura_test_total{", " 3") {
		t.Errorf("GET /metrics: efaktura_test_total is not 3; got:\n%s", body)
	}

	shutdown(t, p)
	if err := p.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown = %v, want the first one's result (nil)", err)
	}
}

func hasLine(text, prefix, suffix string) bool {
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, prefix) && strings.HasSuffix(line, suffix) {
			return true
		}
	}
	return false
}

func TestStartChoosesExporters(t *testing.T) {
	tests := []struct {
		name        string
		env         []string
		wantTraces  string
		wantMetrics string
	}{
		{"nothing set", nil, "none", "prometheus"},
		{"traces none beats an endpoint", []string{"OTEL_TRACES_EXPORTER", "none", "OTEL_METRICS_EXPORTER", "none", "OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1"}, "none", "prometheus"},
		{"metrics prometheus is the built-in reader", []string{"OTEL_TRACES_EXPORTER", "none", "OTEL_METRICS_EXPORTER", "prometheus"}, "none", "prometheus"},
		{"blank counts as unset", []string{"OTEL_TRACES_EXPORTER", " ", "OTEL_EXPORTER_OTLP_ENDPOINT", " "}, "none", "prometheus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Start(context.Background(), Config{ServiceName: "test"}, env(tt.env...))
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			defer shutdown(t, p)
			if p.traces != tt.wantTraces || p.metrics != tt.wantMetrics {
				t.Errorf("Start(%q) exports traces %q, metrics %q; want %q, %q", tt.env, p.traces, p.metrics, tt.wantTraces, tt.wantMetrics)
			}
		})
	}
}

func TestExported(t *testing.T) {
	tests := []struct {
		env                 []string
		wantTraces, wantMet bool
	}{
		{nil, false, false},
		{[]string{"OTEL_TRACES_EXPORTER", "otlp"}, true, false},
		{[]string{"OTEL_TRACES_EXPORTER", "console"}, true, false},
		{[]string{"OTEL_TRACES_EXPORTER", "none"}, false, false},
		{[]string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"}, true, true},
		{[]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://collector:4318/v1/traces"}, true, false},
		{[]string{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://collector:4318/v1/metrics"}, false, true},
		{[]string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318", "OTEL_TRACES_EXPORTER", "none"}, false, true},
		{[]string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318", "OTEL_METRICS_EXPORTER", "none"}, true, false},
		{[]string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318", "OTEL_METRICS_EXPORTER", "prometheus"}, true, false},
		{[]string{"OTEL_METRICS_EXPORTER", "otlp"}, false, true},
		{[]string{"OTEL_METRICS_EXPORTER", "console"}, false, true},
	}
	for _, tt := range tests {
		if _, got := tracesExported(env(tt.env...)); got != tt.wantTraces {
			t.Errorf("tracesExported(%q) = %v, want %v", tt.env, got, tt.wantTraces)
		}
		if _, got := metricsExported(env(tt.env...)); got != tt.wantMet {
			t.Errorf("metricsExported(%q) = %v, want %v", tt.env, got, tt.wantMet)
		}
	}
}

// TestStartConsoleExporter runs itself in a child process, because the
// console exporter writes to the real standard output.
func TestStartConsoleExporter(t *testing.T) {
	if os.Getenv("TELEMETRY_TEST_CHILD") == "console" {
		consoleChild()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestStartConsoleExporter$", "-test.count=1")
	cmd.Env = append(os.Environ(), "TELEMETRY_TEST_CHILD=console", "OTEL_TRACES_EXPORTER=console",
		"OTEL_METRICS_EXPORTER=none", "OTEL_SERVICE_NAME=console-test")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var traceID string
	for line := range strings.Lines(string(out)) {
		if s, ok := strings.CutPrefix(strings.TrimSpace(line), "trace_id="); ok {
			traceID = s
		}
	}
	if traceID == "" {
		t.Fatalf("child printed no trace_id:\n%s", out)
	}
	for _, want := range []string{`"Name":"console-span"`, `"TraceID":"` + traceID + `"`, `"Value":"console-test"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("console output lacks %s:\n%s", want, out)
		}
	}
}

func consoleChild() {
	ctx := context.Background()
	p, err := Start(ctx, Config{ServiceName: "ignored"}, os.Getenv)
	if err != nil {
		fmt.Println("Start:", err)
		os.Exit(2)
	}
	if p.traces != "console" {
		fmt.Println("traces exported with", p.traces)
		os.Exit(2)
	}
	_, span := p.TracerProvider.Tracer("test").Start(ctx, "console-span")
	span.End()
	fmt.Printf("\ntrace_id=%s\n", span.SpanContext().TraceID())
	if err := p.Shutdown(ctx); err != nil {
		fmt.Println("Shutdown:", err)
		os.Exit(2)
	}
}

// TestStartUnreachableCollector: an OTLP endpoint on a closed port must not
// make Start fail or hang, and Shutdown must honour its deadline.
func TestStartUnreachableCollector(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + l.Addr().String()
	l.Close()

	for _, proto := range []string{"http/protobuf", "grpc"} {
		t.Run(proto, func(t *testing.T) {
			// The OTLP exporters read these from the process environment.
			t.Setenv("OTEL_TRACES_EXPORTER", "")
			t.Setenv("OTEL_METRICS_EXPORTER", "")
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
			t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", proto)

			ctx := context.Background()
			begin := time.Now()
			p, err := Start(ctx, Config{ServiceName: "test"}, os.Getenv)
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			if d := time.Since(begin); d > 2*time.Second {
				t.Errorf("Start took %v", d)
			}
			if got, want := p.LogValue().String(), "[traces=otlp metrics=prometheus+otlp]"; got != want {
				t.Errorf("LogValue() = %s, want %s", got, want)
			}
			_, span := p.TracerProvider.Tracer("test").Start(ctx, "lost")
			span.End()
			c, _ := p.MeterProvider.Meter("test").Int64Counter("efaktura.test")
			c.Add(ctx, 1)

			sctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
			defer cancel()
			begin = time.Now()
			err = p.Shutdown(sctx)
			if d := time.Since(begin); d > 3*time.Second {
				t.Errorf("Shutdown took %v with a 500ms deadline", d)
			}
			t.Logf("Shutdown with nobody listening: %v", err) // an error is expected, not required
		})
	}
}

func TestStartErrors(t *testing.T) {
	tests := []struct {
		name       string
		processEnv []string // set with t.Setenv: what the libraries see
		getenv     []string
		wantErr    string
	}{
		{
			name:       "unknown traces exporter",
			processEnv: []string{"OTEL_TRACES_EXPORTER", "zipkin-please"},
			getenv:     []string{"OTEL_TRACES_EXPORTER", "zipkin-please"},
			wantErr:    "OTEL_TRACES_EXPORTER",
		},
		{
			name:       "bad OTLP protocol",
			processEnv: []string{"OTEL_TRACES_EXPORTER", "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon"},
			getenv:     []string{"OTEL_TRACES_EXPORTER", "otlp"},
			wantErr:    "protocol",
		},
		{
			name:       "console in getenv only",
			processEnv: []string{"OTEL_TRACES_EXPORTER", ""},
			getenv:     []string{"OTEL_TRACES_EXPORTER", "console"},
			wantErr:    "process environment",
		},
		{
			name:       "metrics console in getenv only",
			processEnv: []string{"OTEL_METRICS_EXPORTER", ""},
			getenv:     []string{"OTEL_METRICS_EXPORTER", "console"},
			wantErr:    "process environment",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := 0; i+1 < len(tt.processEnv); i += 2 {
				t.Setenv(tt.processEnv[i], tt.processEnv[i+1])
			}
			p, err := Start(context.Background(), Config{ServiceName: "test"}, env(tt.getenv...))
			if err == nil {
				shutdown(t, p)
				t.Fatalf("Start(getenv %q) = nil error, want one mentioning %q", tt.getenv, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Start(getenv %q) = %v, want an error mentioning %q", tt.getenv, err, tt.wantErr)
			}
		})
	}
}

func TestStartServiceName(t *testing.T) {
	tests := []struct {
		name   string
		cfg    string
		getenv []string
		attrs  string // OTEL_RESOURCE_ATTRIBUTES in the process environment
		want   string
	}{
		{name: "config", cfg: "validate", want: "validate"},
		{name: "OTEL_SERVICE_NAME wins", cfg: "validate", getenv: []string{"OTEL_SERVICE_NAME", "validate-eu"}, want: "validate-eu"},
		{name: "resource attributes win over config", cfg: "validate", attrs: "service.name=from-attrs,deployment.environment.name=test", want: "from-attrs"},
		{name: "OTEL_SERVICE_NAME wins over resource attributes", cfg: "validate", attrs: "service.name=from-attrs", getenv: []string{"OTEL_SERVICE_NAME", "validate-eu"}, want: "validate-eu"},
		{name: "default", want: "unknown_service:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("OTEL_SERVICE_NAME", "")
			t.Setenv("OTEL_RESOURCE_ATTRIBUTES", tt.attrs)
			exp := tracetest.NewInMemoryExporter()
			p, err := Start(context.Background(), Config{ServiceName: tt.cfg}, env(tt.getenv...), WithSpanExporter(exp))
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			defer shutdown(t, p)
			_, span := p.TracerProvider.Tracer("test").Start(context.Background(), "x")
			span.End()
			spans := exp.GetSpans()
			if len(spans) != 1 {
				t.Fatalf("got %d spans, want 1", len(spans))
			}
			got, _ := spans[0].Resource.Set().Value(semconv.ServiceNameKey)
			if !strings.HasPrefix(got.AsString(), tt.want) {
				t.Errorf("service.name = %q, want %q", got.AsString(), tt.want)
			}
		})
	}
}

func TestLogValue(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	p, err := Start(context.Background(), Config{ServiceName: "test"}, env(), WithSpanExporter(exp))
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(t, p)
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("telemetry started", "telemetry", p)
	if want := `"telemetry":{"traces":"custom","metrics":"prometheus"}`; !strings.Contains(b.String(), want) {
		t.Errorf("log line = %s, want it to contain %s", b.String(), want)
	}
}
