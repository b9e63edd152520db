package bus

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/binding/format"
	"github.com/cloudevents/sdk-go/v2/binding/spec"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/nats-io/nats.go"
)

// The CloudEvents NATS binding in binary mode (1.0.3): each attribute in its
// own ce-<name> header, datacontenttype in content-type, values
// percent-encoded. nats.go headers are case-sensitive, so names are written
// and read in lower case. The SDK's own JetStream bindings are not used:
// v2 acks before the handler runs, v3 has no release and sets no
// Nats-Msg-Id per message (shared/research/pipeline-notes.md, section 3).
const (
	headerPrefix      = "ce-"
	headerContentType = "content-type"
	headerMsgID       = "Nats-Msg-Id"
)

var specs = spec.WithPrefixMatchExact(headerName, headerPrefix)

// headerName maps an attribute to its header.
func headerName(attribute string) string {
	if attribute == "datacontenttype" {
		return headerContentType
	}
	return headerPrefix + attribute
}

// encode renders e as a NATS message for subject in binary mode, with
// Nats-Msg-Id set to the event id so JetStream drops a repeated publish.
// It writes the headers straight from the SDK's event model: the generic
// binding path (binding.Write) cost a sixth of a pipeline hop's CPU.
func encode(subject string, e cloudevents.Event) (*nats.Msg, error) {
	if e.SpecVersion() != cloudevents.VersionV1 {
		return nil, fmt.Errorf("encode event %s: spec version %q; expected %s", e.ID(), e.SpecVersion(), cloudevents.VersionV1)
	}
	if err := required(e); err != nil {
		return nil, fmt.Errorf("encode event %s: %w", e.ID(), err)
	}
	msg := nats.NewMsg(subject)
	h := msg.Header
	set := func(name, value string) {
		if value != "" {
			h[name] = []string{percentEncode(value)}
		}
	}
	set(headerPrefix+"specversion", e.SpecVersion())
	set(headerPrefix+"id", e.ID())
	set(headerPrefix+"source", e.Source())
	set(headerPrefix+"type", e.Type())
	set(headerPrefix+"subject", e.Subject())
	set(headerPrefix+"dataschema", e.DataSchema())
	set(headerContentType, e.DataContentType())
	if t := e.Time(); !t.IsZero() {
		set(headerPrefix+"time", types.FormatTime(t))
	}
	for name, value := range e.Extensions() {
		s, err := types.Format(value)
		if err != nil {
			return nil, fmt.Errorf("encode event %s: extension %s: %w", e.ID(), name, err)
		}
		set(headerPrefix+name, s)
	}
	h[headerMsgID] = []string{e.ID()}
	msg.Data = e.Data()
	return msg, nil
}

// Decode returns the CloudEvent a NATS message carries, as the runtime
// reads its inputs: binary mode, or structured as the SDK reads it. For
// tools and tests that read a stream themselves.
func Decode(ctx context.Context, h nats.Header, data []byte) (cloudevents.Event, error) {
	return decode(ctx, h, data)
}

// decode reads a CloudEvent from a NATS message. Binary mode, what encode
// writes, is read straight into the SDK's event model; structured mode, which
// other publishers may use, goes through the SDK's binding.
func decode(ctx context.Context, h nats.Header, data []byte) (cloudevents.Event, error) {
	m := newMessage(h, data)
	if m.version == nil || m.version.String() != cloudevents.VersionV1 {
		e, err := binding.ToEvent(ctx, m)
		if err != nil {
			return cloudevents.Event{}, fmt.Errorf("decode event: %w", err)
		}
		return *e, nil
	}
	e := cloudevents.NewEvent(cloudevents.VersionV1)
	for name, values := range h {
		attr, ok := strings.CutPrefix(name, headerPrefix)
		if !ok || len(values) == 0 {
			continue
		}
		v := percentDecode(values[0])
		switch attr {
		case "specversion":
		case "id":
			e.SetID(v)
		case "source":
			e.SetSource(v)
		case "type":
			e.SetType(v)
		case "subject":
			e.SetSubject(v)
		case "dataschema":
			e.SetDataSchema(v)
		case "time":
			t, err := types.ParseTime(v)
			if err != nil {
				return cloudevents.Event{}, fmt.Errorf("decode event: time %q: %w", v, err)
			}
			e.SetTime(t)
		default:
			e.SetExtension(attr, v)
		}
	}
	if ct := h.Get(headerContentType); ct != "" {
		e.SetDataContentType(percentDecode(ct))
	}
	if len(data) > 0 {
		e.DataEncoded = data
	}
	if err := required(e); err != nil {
		return cloudevents.Event{}, fmt.Errorf("decode event: %w", err)
	}
	return e, nil
}

// required checks the attributes CloudEvents requires. The SDK's Validate
// also parses URIs and was a noticeable share of a hop; the setters used here
// already keep values well-formed.
func required(e cloudevents.Event) error {
	var missing []string
	if e.ID() == "" {
		missing = append(missing, "id")
	}
	if e.Source() == "" {
		missing = append(missing, "source")
	}
	if e.Type() == "" {
		missing = append(missing, "type")
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing required attribute %s", strings.Join(missing, ", "))
	}
	return nil
}

// message is a binding.Message over NATS headers and data.
type message struct {
	header  nats.Header
	data    []byte
	version spec.Version
	format  format.Format
}

func newMessage(h nats.Header, data []byte) *message {
	m := &message{header: h, data: data}
	if ct := h.Get(headerContentType); strings.HasPrefix(ct, "application/cloudevents") {
		m.format = format.Lookup(ct)
	} else {
		m.version = specs.Version(percentDecode(h.Get(specs.PrefixedSpecVersionName())))
	}
	return m
}

func (m *message) ReadEncoding() binding.Encoding {
	switch {
	case m.version != nil:
		return binding.EncodingBinary
	case m.format != nil:
		return binding.EncodingStructured
	}
	return binding.EncodingUnknown
}

func (m *message) ReadStructured(ctx context.Context, w binding.StructuredWriter) error {
	if m.format == nil {
		return binding.ErrNotStructured
	}
	return w.SetStructuredEvent(ctx, m.format, bytes.NewReader(m.data))
}

func (m *message) ReadBinary(_ context.Context, w binding.BinaryWriter) error {
	if m.version == nil {
		return binding.ErrNotBinary
	}
	for name, values := range m.header {
		if len(values) == 0 {
			continue
		}
		value := percentDecode(values[0])
		var err error
		if a := m.version.Attribute(name); a != nil {
			err = w.SetAttribute(a, value)
		} else if ext, ok := strings.CutPrefix(name, headerPrefix); ok {
			err = w.SetExtension(ext, value)
		}
		if err != nil {
			return err
		}
	}
	if len(m.data) > 0 {
		return w.SetData(bytes.NewReader(m.data))
	}
	return nil
}

func (m *message) Finish(error) error { return nil }

// GetAttribute and GetExtension make message a binding.MessageMetadataReader,
// which the SDK's ToEvent asks for.
func (m *message) GetAttribute(k spec.Kind) (spec.Attribute, any) {
	if m.version == nil {
		return nil, nil
	}
	a := m.version.AttributeFromKind(k)
	if a == nil {
		return nil, nil
	}
	if v := m.header.Values(headerName(a.Name())); len(v) > 0 {
		return a, percentDecode(v[0])
	}
	return a, nil
}

func (m *message) GetExtension(name string) any {
	if v := m.header.Values(headerPrefix + name); len(v) > 0 {
		return percentDecode(v[0])
	}
	return nil
}

// percentEncode escapes what the binding requires: space, '"', '%', control
// characters and every non-ASCII byte (as UTF-8), so æøå survive any header.
func percentEncode(s string) string {
	need := false
	for i := 0; i < len(s); i++ {
		if mustEscape(s[i]) {
			need = true
			break
		}
	}
	if !need {
		return s
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		if c := s[i]; mustEscape(c) {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xF])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func mustEscape(c byte) bool { return c <= ' ' || c == '"' || c == '%' || c >= 0x7F }

// percentDecode undoes percentEncode; a malformed escape is kept as written.
func percentDecode(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
