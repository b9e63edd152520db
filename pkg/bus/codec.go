package bus

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"mime"
	"slices"
	"strings"
	"unicode/utf8"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/nats-io/nats.go"
)

// The CloudEvents NATS protocol binding, version 1.0.3 (the one with binary
// mode; cloudevents/bindings/nats-protocol-binding.md in the CloudEvents
// spec repository).
//
// Written: binary mode (structured mode on request, [WithStructuredMode]).
// Every attribute, datacontenttype and dataschema
// included, in its own ce-<name> header (section 3.1.3.1), values
// percent-encoded (3.1.3.2), the data as the body, and Nats-Msg-Id = the
// event id, so JetStream drops a repeated publish within its duplicate
// window. No Content-Type header: the binding puts datacontenttype in
// ce-datacontenttype and reserves Content-Type for telling structured mode
// apart (section 3), and no plain NATS tool needs it: JetStream ignores it
// and the nats CLI prints headers and bodies as they are.
//
// Read: binary mode and structured mode in the JSON event format.
//   - Header names are matched case-insensitively (NATS headers are, by
//     ADR-4, but nats.go keeps a name as it was sent): ce-id, Ce-Id and
//     CE-ID are the same header.
//   - A Content-Type of application/cloudevents or
//     application/cloudevents+json is structured mode; other
//     application/cloudevents+<format> values are refused, and so is
//     application/cloudevents-batch+json: the binding has no batched mode.
//   - Otherwise ce-* headers make binary mode. The data's content type is
//     ce-datacontenttype or, if that is absent, Content-Type.
//   - With neither a Content-Type nor a ce-* header, a body that is a JSON
//     object with "specversion" is structured mode: sdk-go's NATS protocols
//     send structured mode without any header.
//   - Header values are first unescaped as RFC 7230 quoted strings, then
//     percent-decoded once; a value that is not valid UTF-8 after that
//     (%C0%A0, or raw bytes) is refused. A '%' not followed by two hex
//     digits is kept as written: sdk-go's protocols write values without
//     percent-encoding, so a literal "100%" from them still reads.
//
// Every failure names the mode, the header and what was wrong; the runtime
// dead-letters such a message with that text as the reason.
//
// The SDK's own JetStream protocols are not used for the runtime: v2 acks
// before the handler runs, v3 has no release, and neither sets a
// Nats-Msg-Id per message (shared/research/pipeline-notes.md, section 3).
// Tests use sdk-go's v2 protocol as a third-party client (sdk_test.go).
const (
	headerPrefix      = "ce-"
	headerContentType = "Content-Type" // read case-insensitively
	headerMsgID       = "Nats-Msg-Id"

	mediaStructured     = "application/cloudevents"
	mediaStructuredJSON = "application/cloudevents+json"
	mediaBatch          = "application/cloudevents-batch"
)

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
	// The headers' values share one array: a slice each was an allocation
	// per header per event published.
	values := make([]string, 0, 16)
	one := func(v string) []string {
		values = append(values, v)
		return values[len(values)-1 : len(values) : len(values)]
	}
	set := func(name, value string) {
		if value != "" {
			h[name] = one(percentEncode(value))
		}
	}
	set(headerPrefix+"specversion", e.SpecVersion())
	set(headerPrefix+"id", e.ID())
	set(headerPrefix+"source", e.Source())
	set(headerPrefix+"type", e.Type())
	set(headerPrefix+"subject", e.Subject())
	set(headerPrefix+"datacontenttype", e.DataContentType())
	set(headerPrefix+"dataschema", e.DataSchema())
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
	h[headerMsgID] = one(e.ID())
	msg.Data = e.Data()
	return msg, nil
}

// encodeStructured renders e as a NATS message for subject in structured
// mode: the JSON event format as the body, Content-Type
// application/cloudevents+json, which is how a receiver tells the mode
// (section 3), and Nats-Msg-Id set to the event id.
func encodeStructured(subject string, e cloudevents.Event) (*nats.Msg, error) {
	if e.SpecVersion() != cloudevents.VersionV1 {
		return nil, fmt.Errorf("encode event %s: spec version %q; expected %s", e.ID(), e.SpecVersion(), cloudevents.VersionV1)
	}
	if err := required(e); err != nil {
		return nil, fmt.Errorf("encode event %s: %w", e.ID(), err)
	}
	body, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode event %s: %w", e.ID(), err)
	}
	msg := nats.NewMsg(subject)
	msg.Header[headerContentType] = []string{mediaStructuredJSON}
	msg.Header[headerMsgID] = []string{e.ID()}
	msg.Data = body
	return msg, nil
}

// Decode returns the CloudEvent a NATS message carries, as the runtime
// reads its inputs: binary or structured mode of the CloudEvents NATS
// binding. For tools and tests that read a stream themselves.
func Decode(ctx context.Context, h nats.Header, data []byte) (cloudevents.Event, error) {
	return decode(ctx, h, data)
}

// decode reads a CloudEvent from a NATS message; see the constants above
// for what it accepts.
func decode(_ context.Context, h nats.Header, data []byte) (cloudevents.Event, error) {
	var (
		ctName, ct string // the Content-Type header as sent, and its value
		binary     bool   // a ce-* header is present
	)
	for name, values := range h {
		switch {
		case hasPrefixFold(name, headerPrefix):
			binary = true
		case strings.EqualFold(name, headerContentType) && len(values) > 0:
			ctName, ct = name, values[0]
		}
	}
	if ctName != "" {
		mt, _, err := mime.ParseMediaType(ct)
		switch {
		case err == nil && strings.HasPrefix(mt, mediaBatch):
			return cloudevents.Event{}, fmt.Errorf("decode event: batched mode (%s: %s) is not part of the CloudEvents NATS binding; publish each event in its own message", ctName, ct)
		case err == nil && (mt == mediaStructured || mt == mediaStructuredJSON):
			return decodeStructured(data)
		case err == nil && strings.HasPrefix(mt, mediaStructured+"+"):
			return cloudevents.Event{}, fmt.Errorf("decode event: structured mode in the event format %s (%s: %s) is not read; only %s is", strings.TrimPrefix(mt, mediaStructured+"+"), ctName, ct, mediaStructuredJSON)
		}
	}
	switch {
	case binary:
		return decodeBinary(h, data)
	case ctName == "" && isStructuredJSON(data):
		return decodeStructured(data)
	case ctName == "" && isJSONArray(data):
		return cloudevents.Event{}, fmt.Errorf("decode event: the body is a JSON array and there is no ce-specversion header: batched mode is not part of the CloudEvents NATS binding; publish each event in its own message")
	case ctName == "":
		return cloudevents.Event{}, fmt.Errorf("decode event: not a CloudEvent: no ce-* header (binary mode), no %s (structured mode), and the body is not a JSON object with specversion", headerContentType)
	}
	return cloudevents.Event{}, fmt.Errorf("decode event: not a CloudEvent: no ce-* header (binary mode), and %s: %s is not %s (structured mode)", ctName, ct, mediaStructuredJSON)
}

// decodeBinary reads binary mode: the attributes from ce-* headers, the
// data from the body.
func decodeBinary(h nats.Header, data []byte) (cloudevents.Event, error) {
	e := cloudevents.NewEvent(cloudevents.VersionV1)
	var (
		specversion, contentType string
		hasDCT                   bool // ce-datacontenttype was sent
	)
	for name, values := range h {
		ce := hasPrefixFold(name, headerPrefix)
		if !ce && !strings.EqualFold(name, headerContentType) {
			continue
		}
		v, err := headerValue(h, name, values)
		if err != nil {
			return cloudevents.Event{}, fmt.Errorf("decode event: binary mode: %w", err)
		}
		if !ce {
			contentType = v
			continue
		}
		switch attr := strings.ToLower(name[len(headerPrefix):]); attr {
		case "specversion":
			specversion = v
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
		case "datacontenttype":
			e.SetDataContentType(v)
			hasDCT = true
		case "time":
			t, err := types.ParseTime(v)
			if err != nil {
				return cloudevents.Event{}, fmt.Errorf("decode event: binary mode: header %s: %w", name, err)
			}
			e.SetTime(t)
		default:
			if !event.IsExtensionNameValid(attr) {
				return cloudevents.Event{}, fmt.Errorf("decode event: binary mode: header %s: %q is not a CloudEvents attribute name (letters a-z and digits only)", name, attr)
			}
			e.SetExtension(attr, v)
		}
	}
	if specversion != cloudevents.VersionV1 {
		if specversion == "" {
			return cloudevents.Event{}, fmt.Errorf("decode event: binary mode: no ce-specversion header")
		}
		return cloudevents.Event{}, fmt.Errorf("decode event: binary mode: ce-specversion %q; only %s is read", specversion, cloudevents.VersionV1)
	}
	if !hasDCT && contentType != "" {
		e.SetDataContentType(contentType)
	}
	if len(data) > 0 {
		e.DataEncoded = data
	}
	if err := fieldErrors(e); err != nil {
		return cloudevents.Event{}, fmt.Errorf("decode event: binary mode: %w", err)
	}
	if err := required(e); err != nil {
		return cloudevents.Event{}, fmt.Errorf("decode event: binary mode: %w", err)
	}
	return e, nil
}

// decodeStructured reads structured mode: the whole event as JSON (the JSON
// event format) in the body.
func decodeStructured(data []byte) (cloudevents.Event, error) {
	if !utf8.Valid(data) {
		i := invalidUTF8At(data)
		return cloudevents.Event{}, fmt.Errorf("decode event: structured mode: the body is not valid UTF-8 (byte %#x at offset %d); the JSON event format is UTF-8 text", data[i], i)
	}
	var e cloudevents.Event
	if err := json.Unmarshal(data, &e); err != nil {
		return cloudevents.Event{}, fmt.Errorf("decode event: structured mode: %w", err)
	}
	if e.SpecVersion() != cloudevents.VersionV1 {
		return cloudevents.Event{}, fmt.Errorf("decode event: structured mode: specversion %q; only %s is read", e.SpecVersion(), cloudevents.VersionV1)
	}
	if err := fieldErrors(e); err != nil {
		return cloudevents.Event{}, fmt.Errorf("decode event: structured mode: %w", err)
	}
	if err := e.Validate(); err != nil {
		return cloudevents.Event{}, fmt.Errorf("decode event: structured mode: %w", err)
	}
	return e, nil
}

// isStructuredJSON reports whether data is a JSON object with a
// specversion member: a structured-mode event sent without headers.
func isStructuredJSON(data []byte) bool {
	d := bytes.TrimLeft(data, " \t\r\n")
	if len(d) == 0 || d[0] != '{' {
		return false
	}
	var probe struct {
		SpecVersion *json.RawMessage `json:"specversion"`
	}
	// An undecodable body is still structured mode if it says so; the
	// decoder then reports exactly what is wrong with it.
	_ = json.Unmarshal(d, &probe)
	return probe.SpecVersion != nil || bytes.Contains(d, []byte(`"specversion"`))
}

func isJSONArray(data []byte) bool {
	d := bytes.TrimLeft(data, " \t\r\n")
	return len(d) > 0 && d[0] == '['
}

// fieldErrors returns the errors the SDK's setters recorded on e (an
// invalid source or dataschema URI, a bad extension), which it would
// otherwise carry unnoticed.
func fieldErrors(e cloudevents.Event) error {
	if len(e.FieldErrors) == 0 {
		return nil
	}
	var parts []string
	for _, field := range slices.Sorted(maps.Keys(e.FieldErrors)) {
		parts = append(parts, field+": "+e.FieldErrors[field].Error())
	}
	return fmt.Errorf("invalid %s", strings.Join(parts, "; "))
}

// required checks the attributes CloudEvents requires. The SDK's Validate
// also parses URIs and was a noticeable share of a hop; the setters used here
// already keep values well-formed, and fieldErrors reports what they refused.
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

// headerValue returns the decoded value of header name: quoted strings
// unescaped, then percent-decoded, and valid UTF-8. A header sent more than
// once, or under names that differ only in case, must carry one value.
func headerValue(h nats.Header, name string, values []string) (string, error) {
	v, err := decodeValue(name, values[0])
	if err != nil {
		return "", err
	}
	for _, other := range values[1:] {
		if o, err := decodeValue(name, other); err != nil || o != v {
			return "", fmt.Errorf("header %s is sent %d times with different values", name, len(values))
		}
	}
	if strings.ToLower(name) == name {
		return v, nil
	}
	// A name not in lower case: Ce-Id beside ce-id must agree.
	for k, vs := range h {
		if k == name || !strings.EqualFold(k, name) {
			continue
		}
		for _, other := range vs {
			if o, err := decodeValue(k, other); err != nil || o != v {
				return "", fmt.Errorf("headers %s and %s name the same attribute with different values", name, k)
			}
		}
	}
	return v, nil
}

// decodeValue decodes one header value as the binding asks (3.1.3.2).
func decodeValue(name, raw string) (string, error) {
	v := raw
	if strings.IndexByte(v, '"') >= 0 {
		var err error
		if v, err = unquote(v); err != nil {
			return "", fmt.Errorf("header %s: value %q: %w", name, raw, err)
		}
	}
	v = percentDecode(v)
	if !utf8.ValidString(v) {
		i := invalidUTF8At([]byte(v))
		return "", fmt.Errorf("header %s: value %q is not valid UTF-8 once percent-decoded (byte %#x at offset %d); the binding requires refusing it", name, raw, v[i], i)
	}
	return v, nil
}

// unquote unescapes the RFC 7230 quoted strings (section 3.2.6) in a header
// value: the text between double quotes, with backslash escapes, stands for
// itself; the rest is kept as is.
func unquote(s string) (string, error) {
	var b strings.Builder
	b.Grow(len(s))
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			quoted = !quoted
		case c == '\\' && quoted:
			if i+1 == len(s) {
				return "", fmt.Errorf("backslash at the end of a quoted string")
			}
			i++
			b.WriteByte(s[i])
		default:
			b.WriteByte(c)
		}
	}
	if quoted {
		return "", fmt.Errorf("quoted string without its closing double quote")
	}
	return b.String(), nil
}

// invalidUTF8At returns the offset of the first byte of b that does not
// begin a valid UTF-8 sequence.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return 0
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
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

// percentDecode undoes percentEncode, upper- or lower-case hex, one round; a
// malformed escape is kept as written.
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
