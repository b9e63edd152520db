package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"

	"github.com/kp-efaktura/efaktura/pkg/cpr"
	"go.opentelemetry.io/otel/trace"
)

// Keys of the trace correlation attributes [NewLogHandler] adds.
const (
	TraceIDKey = "trace_id"
	SpanIDKey  = "span_id"
)

// NewLogger returns a logger writing through [NewLogHandler].
func NewLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(NewLogHandler(w, level))
}

// NewLogHandler returns a handler writing one JSON object per record to w
// (slog.NewJSONHandler) for records at level or above (nil means Info). It
// also
//
//   - adds trace_id and span_id, at the top level even inside groups, when
//     the context passed to the logger (InfoContext and friends) holds a
//     valid span context;
//   - masks CPR numbers with [cpr.Mask] in the message, in every string value
//     (in groups, in attributes added with With, in what a slog.LogValuer
//     resolves to), in the text of errors and fmt.Stringer values (which it
//     writes as strings), and in the strings of any other value written as
//     JSON. Numbers are left as they are: a CPR number is text. So are UUIDs
//     and trace ids; see the package documentation.
//
// It is safe for concurrent use, as the JSON handler is.
func NewLogHandler(w io.Writer, level slog.Leveler) slog.Handler {
	root := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: redactAttr})
	return &logHandler{root: root, inner: root}
}

// logHandler adds the trace ids. The JSON handler cannot add an attribute at
// the top level once a group is open, so logHandler remembers the
// WithGroup and WithAttrs calls made since the first group and, for a record
// with a span, replays them over a root that has the ids.
type logHandler struct {
	root  slog.Handler // the JSON handler with the attributes added before any group
	inner slog.Handler // root with every WithGroup and WithAttrs applied
	steps []logStep    // the calls from the first WithGroup on
}

// logStep is a WithGroup (group set) or a WithAttrs call.
type logStep struct {
	group string
	attrs []slog.Attr
}

func (h *logHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	var sc trace.SpanContext
	if ctx != nil {
		sc = trace.SpanContextFromContext(ctx)
	}
	if !sc.IsValid() {
		return h.inner.Handle(ctx, r)
	}
	ids := []slog.Attr{slog.String(TraceIDKey, sc.TraceID().String()), slog.String(SpanIDKey, sc.SpanID().String())}
	if len(h.steps) == 0 {
		r = r.Clone() // AddAttrs may write to an array the caller's record shares
		r.AddAttrs(ids...)
		return h.inner.Handle(ctx, r)
	}
	hh := h.root.WithAttrs(ids)
	for _, s := range h.steps {
		if s.group != "" {
			hh = hh.WithGroup(s.group)
		} else {
			hh = hh.WithAttrs(s.attrs)
		}
	}
	return hh.Handle(ctx, r)
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	if len(h.steps) == 0 {
		root := h.root.WithAttrs(attrs)
		return &logHandler{root: root, inner: root}
	}
	return &logHandler{
		root:  h.root,
		inner: h.inner.WithAttrs(attrs),
		steps: append(slices.Clip(h.steps), logStep{attrs: attrs}),
	}
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &logHandler{
		root:  h.root,
		inner: h.inner.WithGroup(name),
		steps: append(slices.Clip(h.steps), logStep{group: name}),
	}
}

// redactAttr is the JSON handler's ReplaceAttr: it sees the message and every
// attribute that is not a group, in groups and in With too, with LogValuers
// already resolved.
func redactAttr(_ []string, a slog.Attr) slog.Attr {
	a.Key = cpr.Mask(a.Key)
	switch a.Value.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(mask(a.Value.String()))
	case slog.KindAny:
		a.Value = redactAny(a.Value.Any())
	}
	return a
}

// redactAny renders the values the JSON handler would marshal, or write
// with Error, and masks them.
func redactAny(v any) slog.Value {
	switch v := v.(type) {
	case nil:
		return slog.AnyValue(nil)
	case slog.Level, *slog.Source:
		return slog.AnyValue(v) // the handler's own; no personal data
	case error:
		return slog.StringValue(mask(safeString(v.Error)))
	case fmt.Stringer:
		return slog.StringValue(mask(safeString(v.String)))
	}
	b, err := safeMarshal(v)
	if err != nil {
		// The JSON handler would write "!ERROR:<err>"; write the value's
		// fmt rendering instead, masked.
		return slog.StringValue(mask(fmt.Sprintf("%+v", v)))
	}
	if !cpr.Contains(string(b)) {
		return slog.AnyValue(v) // written exactly as without redaction
	}
	var tree any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		return slog.StringValue(cpr.Mask(string(b)))
	}
	masked, err := json.Marshal(maskJSON(tree))
	if err != nil {
		return slog.StringValue(cpr.Mask(string(b)))
	}
	return slog.AnyValue(json.RawMessage(masked))
}

// maskJSON masks the strings and object keys of a decoded JSON value.
func maskJSON(v any) any {
	switch v := v.(type) {
	case string:
		return mask(v)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[cpr.Mask(k)] = maskJSON(e)
		}
		return out
	case []any:
		for i := range v {
			v[i] = maskJSON(v[i])
		}
		return v
	}
	return v // json.Number, bool, nil
}

// safeString calls f, turning a panic (a method on a nil pointer, typically)
// into text, as the slog handlers do.
func safeString(f func() string) (s string) {
	defer func() {
		if r := recover(); r != nil {
			s = fmt.Sprintf("!PANIC: %v", r)
		}
	}()
	return f()
}

func safeMarshal(v any) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in MarshalJSON: %v", r)
		}
	}()
	return json.Marshal(v)
}
