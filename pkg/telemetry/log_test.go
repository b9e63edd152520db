package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

const (
	cprPlain  = "0101901234"
	cprHyphen = "010190-1234"
)

type person struct{ cpr string }

func (p person) String() string { return "person " + p.cpr }

type customer struct{ CPR, Name string }

func (c customer) LogValue() slog.Value {
	return slog.GroupValue(slog.String("cpr", c.CPR), slog.String("name", c.Name))
}

type lazy struct{ s string }

func (l lazy) LogValue() slog.Value { return slog.StringValue(l.s) }

type invoice struct {
	Number string   `json:"number"`
	Payer  string   `json:"payer"`
	Lines  []string `json:"lines"`
	Amount int      `json:"amount"`
}

// logLine logs with f through a new handler and returns the decoded line.
func logLine(t *testing.T, ctx context.Context, f func(context.Context, *slog.Logger)) (string, map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	f(ctx, NewLogger(&buf, slog.LevelDebug))
	line := buf.String()
	if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
		t.Fatalf("want one line, got %q", line)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatalf("line is not JSON: %v\n%s", err, line)
	}
	return line, m
}

// at returns the value at a dotted path of nested objects, or at the key
// path itself if there is one.
func at(m map[string]any, path string) any {
	if v, ok := m[path]; ok {
		return v
	}
	var v any = m
	for _, k := range strings.Split(path, ".") {
		o, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = o[k]
	}
	return v
}

func TestLogHandlerMasksCPR(t *testing.T) {
	var nilPerson *person
	tests := []struct {
		name string
		log  func(context.Context, *slog.Logger)
		want map[string]any // path -> value
	}{
		{
			name: "message",
			log:  func(ctx context.Context, l *slog.Logger) { l.InfoContext(ctx, "payer "+cprHyphen+" not found") },
			want: map[string]any{"msg": "payer XXXXXX-XXXX not found"},
		},
		{
			name: "string attribute",
			log:  func(ctx context.Context, l *slog.Logger) { l.InfoContext(ctx, "m", "payer", cprPlain) },
			want: map[string]any{"payer": "XXXXXXXXXX"},
		},
		{
			name: "group",
			log: func(ctx context.Context, l *slog.Logger) {
				l.InfoContext(ctx, "m", slog.Group("doc", slog.String("payer", cprHyphen), slog.Group("inner", "x", "id "+cprPlain)))
			},
			want: map[string]any{"doc.payer": "XXXXXX-XXXX", "doc.inner.x": "id XXXXXXXXXX"},
		},
		{
			name: "error",
			log: func(ctx context.Context, l *slog.Logger) {
				l.ErrorContext(ctx, "m", "err", fmt.Errorf("look up %s: %w", cprPlain, errors.New("not found")))
			},
			want: map[string]any{"err": "look up XXXXXXXXXX: not found"},
		},
		{
			name: "Stringer",
			log:  func(ctx context.Context, l *slog.Logger) { l.InfoContext(ctx, "m", "who", person{cprHyphen}) },
			want: map[string]any{"who": "person XXXXXX-XXXX"},
		},
		{
			name: "nil Stringer",
			log:  func(ctx context.Context, l *slog.Logger) { l.InfoContext(ctx, "m", "who", nilPerson) },
		},
		{
			name: "LogValuer to a group",
			log: func(ctx context.Context, l *slog.Logger) {
				l.InfoContext(ctx, "m", "customer", customer{cprPlain, "Jens"})
			},
			want: map[string]any{"customer.cpr": "XXXXXXXXXX", "customer.name": "Jens"},
		},
		{
			name: "LogValuer to a string",
			log:  func(ctx context.Context, l *slog.Logger) { l.InfoContext(ctx, "m", "x", lazy{cprHyphen}) },
			want: map[string]any{"x": "XXXXXX-XXXX"},
		},
		{
			name: "struct written as JSON",
			log: func(ctx context.Context, l *slog.Logger) {
				l.InfoContext(ctx, "m", "inv", invoice{"F-1", cprPlain, []string{"ok", "for " + cprHyphen}, 100})
			},
			want: map[string]any{"inv.number": "F-1", "inv.payer": "XXXXXXXXXX", "inv.lines": []any{"ok", "for XXXXXX-XXXX"}, "inv.amount": 100.0},
		},
		{
			name: "map",
			log: func(ctx context.Context, l *slog.Logger) {
				l.InfoContext(ctx, "m", "m", map[string]string{cprPlain: "key", "v": cprPlain})
			},
			want: map[string]any{"m.XXXXXXXXXX": "key", "m.v": "XXXXXXXXXX"},
		},
		{
			name: "With",
			log: func(ctx context.Context, l *slog.Logger) {
				l.With("payer", cprPlain).With(slog.Group("g", "p", cprHyphen)).InfoContext(ctx, "m")
			},
			want: map[string]any{"payer": "XXXXXXXXXX", "g.p": "XXXXXX-XXXX"},
		},
		{
			name: "WithGroup",
			log: func(ctx context.Context, l *slog.Logger) {
				l.WithGroup("req").With("payer", cprPlain).WithGroup("more").InfoContext(ctx, "m", "p", cprHyphen)
			},
			want: map[string]any{"req.payer": "XXXXXXXXXX", "req.more.p": "XXXXXX-XXXX"},
		},
		{
			name: "ids, numbers and clean values unchanged",
			log: func(ctx context.Context, l *slog.Logger) {
				l.InfoContext(ctx, "m", "messaging.message.id", "ab010190-1234-4abc-8def-0123456789ab",
					"n", 1234567890, "clean", invoice{Number: "F-2", Amount: 5}, "nil", nil)
			},
			want: map[string]any{
				"messaging.message.id": "ab010190-1234-4abc-8def-0123456789ab",
				"n":                    1234567890.0,
				"clean":                map[string]any{"number": "F-2", "payer": "", "lines": nil, "amount": 5.0},
				"nil":                  nil,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line, m := logLine(t, context.Background(), tt.log)
			for path, want := range tt.want {
				if got := at(m, path); !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v\n%s", path, got, want, line)
				}
			}
			clean := strings.ReplaceAll(line, "ab010190-1234-4abc-8def-0123456789ab", "")
			if strings.Contains(clean, cprPlain) || strings.Contains(clean, cprHyphen) {
				t.Errorf("line carries a CPR number: %s", line)
			}
			if _, ok := m[TraceIDKey]; ok {
				t.Errorf("trace_id without a span in the context: %s", line)
			}
		})
	}
}

func TestLogHandlerTraceIDs(t *testing.T) {
	ctx, sc := remoteContext(t, "")
	// trace and span ids made of digits would look like CPR numbers; they
	// must come out unchanged.
	digits := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0xab, 0x01, 0x01, 0x90, 0x12, 0x34, 0xcd, 0xef, 1, 2, 3, 4, 5, 6, 7, 8},
		SpanID:  trace.SpanID{0xab, 0x01, 0x01, 0x90, 0x12, 0x34, 0xcd, 0xef},
	})
	dctx := trace.ContextWithSpanContext(context.Background(), digits)

	tests := []struct {
		name   string
		ctx    context.Context
		sc     trace.SpanContext
		log    func(context.Context, *slog.Logger)
		groups string // where the record's own attribute lands
	}{
		{"plain", ctx, sc, func(ctx context.Context, l *slog.Logger) { l.InfoContext(ctx, "m", "a", 1) }, ""},
		{"With", ctx, sc, func(ctx context.Context, l *slog.Logger) { l.With("b", 2).InfoContext(ctx, "m", "a", 1) }, ""},
		{"WithGroup", ctx, sc, func(ctx context.Context, l *slog.Logger) {
			l.With("b", 2).WithGroup("g").With("c", 3).WithGroup("h").InfoContext(ctx, "m", "a", 1)
		}, "g.h."},
		{"digit-heavy ids", dctx, digits, func(ctx context.Context, l *slog.Logger) { l.InfoContext(ctx, "m", "a", 1) }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line, m := logLine(t, tt.ctx, tt.log)
			if got, want := m[TraceIDKey], tt.sc.TraceID().String(); got != want {
				t.Errorf("trace_id = %v, want %s at the top level\n%s", got, want, line)
			}
			if got, want := m[SpanIDKey], tt.sc.SpanID().String(); got != want {
				t.Errorf("span_id = %v, want %s at the top level\n%s", got, want, line)
			}
			if got := at(m, tt.groups+"a"); got != 1.0 {
				t.Errorf("%sa = %v, want 1\n%s", tt.groups, got, line)
			}
			if tt.groups != "" {
				if at(m, "b") != 2.0 || at(m, "g.c") != 3.0 {
					t.Errorf("With attributes misplaced: %s", line)
				}
			}
		})
	}

	// Without a span context, or with none at all (Info), no ids.
	for _, f := range []func(context.Context, *slog.Logger){
		func(ctx context.Context, l *slog.Logger) { l.InfoContext(ctx, "m") },
		func(_ context.Context, l *slog.Logger) { l.WithGroup("g").Info("m", "a", 1) },
	} {
		line, m := logLine(t, context.Background(), f)
		if _, ok := m[TraceIDKey]; ok {
			t.Errorf("trace_id without a span: %s", line)
		}
		if _, ok := m[SpanIDKey]; ok {
			t.Errorf("span_id without a span: %s", line)
		}
	}
}

func TestLogHandlerLevel(t *testing.T) {
	var buf bytes.Buffer
	l := NewLogger(&buf, slog.LevelWarn)
	l.Info("dropped")
	l.WithGroup("g").Info("dropped")
	l.Warn("kept")
	if got := strings.Count(buf.String(), "\n"); got != 1 || !strings.Contains(buf.String(), `"msg":"kept"`) {
		t.Errorf("at level Warn got %d lines: %s", got, buf.String())
	}
}

// TestLogHandlerConcurrentSafe shares handlers derived from one another
// between goroutines; run with -race.
func TestLogHandlerConcurrentSafe(t *testing.T) {
	ctx, _ := remoteContext(t, "")
	var buf safeBuffer
	base := NewLogger(&buf, slog.LevelInfo).WithGroup("g")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			l := base.With("i", i).WithGroup(fmt.Sprint("h", i))
			for range 50 {
				l.InfoContext(ctx, "m", "payer", cprPlain)
			}
		})
	}
	wg.Wait()
	for line := range strings.Lines(buf.String()) {
		if !json.Valid([]byte(line)) || strings.Contains(line, cprPlain) || !strings.Contains(line, `"trace_id"`) {
			t.Fatalf("bad line: %s", line)
		}
	}
}

type safeBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *safeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *safeBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
