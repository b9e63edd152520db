package events

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
)

func TestNamespace(t *testing.T) {
	want := uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/kp-efaktura/efaktura/events")).String()
	if Namespace != want {
		t.Errorf("Namespace = %q, want %q", Namespace, want)
	}
}

func TestIDDeterministic(t *testing.T) {
	a := ID(TypeDocumentReceived, testDoc)
	if b := ID(TypeDocumentReceived, testDoc); a != b {
		t.Errorf("ID(%q, %q) = %v then %v, want the same", TypeDocumentReceived, testDoc, a, b)
	}
	u, err := uuid.Parse(a)
	if err != nil || u.Version() != 5 || u.Variant() != uuid.RFC4122 {
		t.Errorf("ID(%q, %q) = %v, want a UUID v5 (err %v)", TypeDocumentReceived, testDoc, a, err)
	}
}

// TestIDGolden pins the derivations: ids are stored and compared across
// releases and by other languages, so they must never change.
func TestIDGolden(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{`ID("dk.kp.efaktura.document.received.v1", "x")`, ID("dk.kp.efaktura.document.received.v1", "x"), "af2b8b3a-22a3-5cba-8f65-e15991f0169b"},
		{`BundleID("sp", "CVR", "12345674", "REF-1", 2025)`, BundleID("sp", "CVR", "12345674", "REF-1", 2025), "47ee7f53-3709-58f4-8b97-14995449d02f"},
		{`DocumentID(BundleID(...), 1)`, DocumentID(BundleID("sp", "CVR", "12345674", "REF-1", 2025), 1), "468e69d7-c3ec-5618-b8dd-6fbcd2394c57"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestIDDistinct(t *testing.T) {
	tests := []struct {
		name   string
		t1, t2 string
		k1, k2 []string
	}{
		{"different key", TypeDocumentReceived, TypeDocumentReceived, []string{"a"}, []string{"b"}},
		{"different type", TypeDocumentValidated, TypeDocumentRejected, []string{"a"}, []string{"a"}},
		{"parts shifted", TypeDocumentReceived, TypeDocumentReceived, []string{"ab", "c"}, []string{"a", "bc"}},
		{"separator in a part", TypeDocumentReceived, TypeDocumentReceived, []string{"a,b"}, []string{"a", "b"}},
		{"netstring in a part", TypeDocumentReceived, TypeDocumentReceived, []string{"1:a,"}, []string{"a"}},
		{"empty part", TypeDocumentReceived, TypeDocumentReceived, []string{"a", ""}, []string{"a"}},
		{"type into key", TypeDocumentReceived, "", []string{"x"}, []string{TypeDocumentReceived, "x"}},
	}
	for _, tt := range tests {
		a, b := ID(tt.t1, tt.k1...), ID(tt.t2, tt.k2...)
		if a == b {
			t.Errorf("%s: ID(%q, %q) = ID(%q, %q) = %v, want different ids", tt.name, tt.t1, tt.k1, tt.t2, tt.k2, a)
		}
	}
}

func TestBundleAndDocumentIDs(t *testing.T) {
	a := BundleID("sp", "CVR", "12345674", "REF-1", 2025)
	if b := BundleID("sp", "CVR", "12345674", "REF-1", 2025); a != b {
		t.Errorf("BundleID twice = %v then %v, want the same", a, b)
	}
	others := []string{
		BundleID("sp", "CVR", "12345674", "REF-1", 2026),
		BundleID("sp", "CVR", "12345674", "REF-2", 2025),
		BundleID("sp2", "CVR", "12345674", "REF-1", 2025),
		BundleID("sp", "EAN", "12345674", "REF-1", 2025),
		BundleID("sp", "CVR", "1234567", "4REF-1", 2025),
	}
	for i, o := range others {
		if o == a {
			t.Errorf("BundleID variant %d = %v, want different from %v", i, o, a)
		}
	}
	if d := DocumentID(a, 1); d != DocumentID(a, 1) || d == DocumentID(a, 2) || d == DocumentID(others[0], 1) {
		t.Errorf("DocumentID(%q, 1) = %v: not deterministic or not distinct", a, d)
	}
}

func TestSubject(t *testing.T) {
	tests := []struct {
		kommune, typ string
		want         string
	}{
		{"0101", TypeDocumentReceived, "efaktura.0101.document.received"},
		{"0316", TypeBundleSubmitted, "efaktura.0316.bundle.submitted"},
		{"0851", TypeAgreementChanged, "efaktura.0851.agreement.changed"},
		{"1084", TypeAnswerParked, "efaktura.1084.answer.parked"},
	}
	for _, tt := range tests {
		got, err := Subject(tt.kommune, tt.typ)
		if err != nil || got != tt.want {
			t.Errorf("Subject(%q, %q) = %q, %v, want %q", tt.kommune, tt.typ, got, err, tt.want)
		}
	}
}

func TestSubjectErrors(t *testing.T) {
	tests := []struct {
		kommune, typ string
		want         error
	}{
		{"101", TypeDocumentReceived, ErrKommune},
		{"01010", TypeDocumentReceived, ErrKommune},
		{"", TypeDocumentReceived, ErrKommune},
		{"01a1", TypeDocumentReceived, ErrKommune},
		{"*", TypeDocumentReceived, ErrKommune},
		{"01.1", TypeDocumentReceived, ErrKommune},
		{"０１０１", TypeDocumentReceived, ErrKommune}, // full-width digits
		{"0101", "dk.kp.efaktura.document.received.v9", ErrUnknownType},
		{"0101", "", ErrUnknownType},
	}
	for _, tt := range tests {
		got, err := Subject(tt.kommune, tt.typ)
		if !errors.Is(err, tt.want) {
			t.Errorf("Subject(%q, %q) = %q, %v, want %v", tt.kommune, tt.typ, got, err, tt.want)
		}
	}
}

func TestFilter(t *testing.T) {
	for _, typ := range Types() {
		got := Filter(typ)
		s, _ := Subject("0101", typ)
		if want := strings.Replace(s, ".0101.", ".*.", 1); got != want {
			t.Errorf("Filter(%q) = %q, want %q", typ, got, want)
		}
	}
	if got, want := Filter(TypeDocumentReceived), "efaktura.*.document.received"; got != want {
		t.Errorf("Filter(%q) = %q, want %q", TypeDocumentReceived, got, want)
	}
	defer func() {
		if recover() == nil {
			t.Errorf("Filter(unknown) did not panic")
		}
	}()
	Filter("dk.kp.efaktura.nope.v1")
}

// TestStreamSubjectsCover checks that exactly one of the two streams
// captures each subject and that Filter matches only its own type.
func TestStreamSubjectsCover(t *testing.T) {
	for _, typ := range Types() {
		s, _ := Subject("0101", typ)
		streams := 0
		for _, f := range append(StreamSubjects(), AnswerQueueSubjects) {
			if matchSubject(f, s) {
				streams++
			}
		}
		if streams != 1 {
			t.Errorf("%d stream subjects match %q, want exactly 1", streams, s)
		}
		for _, other := range Types() {
			if got, want := matchSubject(Filter(other), s), other == typ; got != want {
				t.Errorf("match(Filter(%q), %q) = %v, want %v", other, s, got, want)
			}
		}
	}
}

// matchSubject is NATS subject matching with * and >.
func matchSubject(filter, subject string) bool {
	f, s := strings.Split(filter, "."), strings.Split(subject, ".")
	for i, tok := range f {
		if tok == ">" {
			return len(s) > i
		}
		if i >= len(s) || (tok != "*" && tok != s[i]) {
			return false
		}
	}
	return len(f) == len(s)
}

func TestSubjectOf(t *testing.T) {
	e := cloudevents.NewEvent()
	e.SetType(TypeDocumentDecided)
	e.SetExtension(ExtensionKommune, "0316")
	if got, err := SubjectOf(e); err != nil || got != "efaktura.0316.document.decided" {
		t.Errorf("SubjectOf(%v) = %q, %v, want %q", e, got, err, "efaktura.0316.document.decided")
	}

	tests := []struct {
		name string
		set  func(e *cloudevents.Event)
		want error
	}{
		{"no kommune", func(e *cloudevents.Event) {}, ErrKommune},
		{"bad kommune", func(e *cloudevents.Event) { e.SetExtension(ExtensionKommune, "316") }, ErrKommune},
		{"kommune as a number", func(e *cloudevents.Event) { e.SetExtension(ExtensionKommune, 316) }, ErrKommune},
		{"unknown type", func(e *cloudevents.Event) {
			e.SetExtension(ExtensionKommune, "0316")
			e.SetType("dk.kp.efaktura.document.lost.v1")
		}, ErrUnknownType},
	}
	for _, tt := range tests {
		e := cloudevents.NewEvent()
		e.SetType(TypeDocumentDecided)
		tt.set(&e)
		if got, err := SubjectOf(e); !errors.Is(err, tt.want) {
			t.Errorf("SubjectOf(%s) = %q, %v, want %v", tt.name, got, err, tt.want)
		}
	}
}

func TestNewDecodeRoundTrip(t *testing.T) {
	for typ, payload := range examples() {
		t.Run(typ, func(t *testing.T) {
			key := []string{"key-of-" + typ}
			e, err := New(typ, SourceIngest, testKommune, subjectOf(payload, typ), key, payload, testAt)
			if err != nil {
				t.Fatalf("New(%q) = %v", typ, err)
			}
			if e.ID() != ID(typ, key...) || e.Type() != typ || e.Source() != SourceIngest ||
				!e.Time().Equal(testAt) || e.DataContentType() != ContentTypeJSON || e.SpecVersion() != "1.0" {
				t.Errorf("New(%q) = %v, want id %s, time %v, JSON", typ, e, ID(typ, key...), testAt)
			}
			if k, err := KommuneOf(e); err != nil || k != testKommune {
				t.Errorf("KommuneOf(New(%q)) = %q, %v, want %q", typ, k, err, testKommune)
			}
			if err := Check(e); err != nil {
				t.Errorf("Check(New(%q)) = %v, want nil", typ, err)
			}
			got, err := decodeAs(e, reflect.TypeOf(payload))
			if err != nil {
				t.Fatalf("Decode(New(%q)) = %v", typ, err)
			}
			if !reflect.DeepEqual(got, payload) {
				t.Errorf("Decode(New(%q)) = %+v, want %+v", typ, got, payload)
			}
			// A pointer to the payload makes the same event.
			ptr := reflect.New(reflect.TypeOf(payload))
			ptr.Elem().Set(reflect.ValueOf(payload))
			e2, err := New(typ, SourceIngest, testKommune, subjectOf(payload, typ), key, ptr.Interface(), testAt)
			if err != nil || string(e2.Data()) != string(e.Data()) || e2.ID() != e.ID() {
				t.Errorf("New(%q, &payload) = %v, %v, want the event of the value", typ, e2, err)
			}
		})
	}
}

// subjectOf returns the business key of an example payload, as the type's
// doc prescribes.
func subjectOf(payload any, typ string) string {
	v := reflect.ValueOf(payload)
	for f, fv := range v.Fields() {
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name == byType[typ].key {
			return fv.String()
		}
	}
	return ""
}

// decodeAs calls Decode with the type argument t.
func decodeAs(e cloudevents.Event, t reflect.Type) (any, error) {
	switch t {
	case reflect.TypeFor[BundleReceived]():
		return Decode[BundleReceived](e)
	case reflect.TypeFor[BundleRejected]():
		return Decode[BundleRejected](e)
	case reflect.TypeFor[DocumentReceived]():
		return Decode[DocumentReceived](e)
	case reflect.TypeFor[DocumentValidated]():
		return Decode[DocumentValidated](e)
	case reflect.TypeFor[DocumentRejected]():
		return Decode[DocumentRejected](e)
	case reflect.TypeFor[VerdictSubmitted]():
		return Decode[VerdictSubmitted](e)
	case reflect.TypeFor[VerdictRefused]():
		return Decode[VerdictRefused](e)
	case reflect.TypeFor[DocumentDecided]():
		return Decode[DocumentDecided](e)
	case reflect.TypeFor[AnswerQueued]():
		return Decode[AnswerQueued](e)
	case reflect.TypeFor[AnswerParked]():
		return Decode[AnswerParked](e)
	case reflect.TypeFor[AnswerDelivered]():
		return Decode[AnswerDelivered](e)
	case reflect.TypeFor[AnswerFailed]():
		return Decode[AnswerFailed](e)
	case reflect.TypeFor[TenantChanged]():
		return Decode[TenantChanged](e)
	case reflect.TypeFor[AgreementChanged]():
		return Decode[AgreementChanged](e)
	}
	return nil, errors.New("no Decode case for " + t.String())
}

func TestNewErrors(t *testing.T) {
	p := examples()[TypeDocumentReceived].(DocumentReceived)
	tests := []struct {
		name    string
		typ     string
		kommune string
		key     []string
		data    any
		at      time.Time
		want    error
	}{
		{"unknown type", "dk.kp.efaktura.document.lost.v1", "0316", []string{"k"}, p, testAt, ErrUnknownType},
		{"payload of another type", TypeDocumentValidated, "0316", []string{"k"}, p, testAt, ErrPayloadType},
		{"map payload", TypeDocumentReceived, "0316", []string{"k"}, map[string]any{"document_id": "x"}, testAt, ErrPayloadType},
		{"nil pointer", TypeDocumentReceived, "0316", []string{"k"}, (*DocumentReceived)(nil), testAt, ErrPayloadType},
		{"nil", TypeDocumentReceived, "0316", []string{"k"}, nil, testAt, ErrPayloadType},
		{"raw type", TypeBundleSubmitted, "0316", []string{"k"}, []byte("<INVOICES/>"), testAt, ErrPayloadType},
		{"bad kommune", TypeDocumentReceived, "316", []string{"k"}, p, testAt, ErrKommune},
		{"no key", TypeDocumentReceived, "0316", nil, p, testAt, ErrInvalid},
		{"no time", TypeDocumentReceived, "0316", []string{"k"}, p, time.Time{}, ErrInvalid},
	}
	for _, tt := range tests {
		e, err := New(tt.typ, SourceIngest, tt.kommune, p.DocumentID, tt.key, tt.data, tt.at)
		if !errors.Is(err, tt.want) {
			t.Errorf("New(%s) = %v, %v, want %v", tt.name, e, err, tt.want)
		}
	}
	if _, err := New(TypeDocumentReceived, "", "0316", p.DocumentID, []string{"k"}, p, testAt); !errors.Is(err, ErrInvalid) {
		t.Errorf("New(no source) = %v, want %v", err, ErrInvalid)
	}
}

func TestDecodeErrors(t *testing.T) {
	p := examples()[TypeDocumentValidated].(DocumentValidated)
	e, err := New(TypeDocumentValidated, SourceValidate, testKommune, p.DocumentID, []string{p.DocumentID, p.Ruleset}, p, testAt)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Decode[DocumentRejected](e); !errors.Is(err, ErrPayloadType) || !strings.Contains(err.Error(), TypeDocumentValidated) {
		t.Errorf("Decode[DocumentRejected](validated) = %+v, %v, want %v naming %s", got, err, ErrPayloadType, TypeDocumentValidated)
	}
	if _, err := Decode[*DocumentValidated](e); !errors.Is(err, ErrPayloadType) {
		t.Errorf("Decode[*DocumentValidated] = %v, want %v", err, ErrPayloadType)
	}

	bad := e.Clone()
	bad.DataEncoded = []byte(`{"document_id": 7}`)
	if _, err := Decode[DocumentValidated](bad); !errors.Is(err, ErrDecode) || !strings.Contains(err.Error(), TypeDocumentValidated) {
		t.Errorf("Decode(bad JSON) = %v, want %v naming %s", err, ErrDecode, TypeDocumentValidated)
	}
	xml := e.Clone()
	xml.SetDataContentType(ContentTypeXML)
	if _, err := Decode[DocumentValidated](xml); !errors.Is(err, ErrContentType) {
		t.Errorf("Decode(xml content type) = %v, want %v", err, ErrContentType)
	}
	unknown := e.Clone()
	unknown.SetType("dk.kp.efaktura.document.lost.v1")
	if _, err := Decode[DocumentValidated](unknown); !errors.Is(err, ErrUnknownType) {
		t.Errorf("Decode(unknown type) = %v, want %v", err, ErrUnknownType)
	}
	// A field added by a newer producer does not break an older consumer.
	newer := e.Clone()
	newer.DataEncoded = append([]byte(`{"added_later":true,`), e.Data()[1:]...)
	if got, err := Decode[DocumentValidated](newer); err != nil || !reflect.DeepEqual(got, p) {
		t.Errorf("Decode(with an unknown field) = %+v, %v, want %+v", got, err, p)
	}
}

func TestNewBundleSubmitted(t *testing.T) {
	const source = "/erp/opus/0316"
	e, err := NewBundleSubmitted(source, testKommune, "bundle-0412.xml", ContentTypeXML, testXML, testAt)
	if err != nil {
		t.Fatalf("NewBundleSubmitted = %v", err)
	}
	if err := Check(e); err != nil {
		t.Errorf("Check(NewBundleSubmitted) = %v, want nil", err)
	}
	if got, want := e.ID(), ID(TypeBundleSubmitted, testKommune, source, testSHA256); got != want {
		t.Errorf("NewBundleSubmitted id = %v, want %v", got, want)
	}
	again, _ := NewBundleSubmitted(source, testKommune, "renamed.xml", ContentTypeXML, append([]byte(nil), testXML...), testAt.Add(time.Hour))
	if again.ID() != e.ID() {
		t.Errorf("NewBundleSubmitted(same bytes) id = %v, want %v", again.ID(), e.ID())
	}
	changed := append(append([]byte(nil), testXML...), ' ')
	others := []struct {
		name, source, kommune string
		bundle                []byte
	}{
		{"other bytes", source, testKommune, changed},
		{"other kommune", source, "0101", testXML},
		{"other source", "/erp/kmd", testKommune, testXML},
	}
	for _, o := range others {
		oe, err := NewBundleSubmitted(o.source, o.kommune, "", ContentTypeXML, o.bundle, testAt)
		if err != nil || oe.ID() == e.ID() {
			t.Errorf("NewBundleSubmitted(%s) id = %v, %v, want different from %v", o.name, oe.ID(), err, e.ID())
		}
	}
	got, err := Decode[[]byte](e)
	if err != nil || string(got) != string(testXML) {
		t.Errorf("Decode[[]byte](submitted) = %q, %v, want the bundle", got, err)
	}
	if _, err := Decode[BundleReceived](e); !errors.Is(err, ErrPayloadType) {
		t.Errorf("Decode[BundleReceived](submitted) = %v, want %v", err, ErrPayloadType)
	}
	if z, err := NewBundleSubmitted(source, testKommune, "", "application/zip", []byte("PK\x03\x04"), testAt); err != nil || z.DataContentType() != ContentTypeZIP {
		t.Errorf("NewBundleSubmitted(zip) = %v, %v", z, err)
	}
	if _, err := NewBundleSubmitted(source, testKommune, "", "application/xml; charset=ISO-8859-1", testXML, testAt); err != nil {
		t.Errorf("NewBundleSubmitted(xml with charset) = %v, want nil", err)
	}

	errs := []struct {
		name, kommune, ct string
		bundle            []byte
		want              error
	}{
		{"json", testKommune, ContentTypeJSON, testXML, ErrContentType},
		{"text/plain", testKommune, "text/plain", testXML, ErrContentType},
		{"empty content type", testKommune, "", testXML, ErrContentType},
		{"empty bundle", testKommune, ContentTypeXML, nil, ErrInvalid},
		{"bad kommune", "03160", ContentTypeXML, testXML, ErrKommune},
	}
	for _, tt := range errs {
		if _, err := NewBundleSubmitted(source, tt.kommune, "", tt.ct, tt.bundle, testAt); !errors.Is(err, tt.want) {
			t.Errorf("NewBundleSubmitted(%s) = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestCheckErrors(t *testing.T) {
	p := examples()[TypeDocumentDecided].(DocumentDecided)
	good, err := New(TypeDocumentDecided, SourceDecide, testKommune, p.DocumentID, []string{p.DocumentID}, p, testAt)
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(good); err != nil {
		t.Fatalf("Check(good) = %v", err)
	}
	traced := good.Clone()
	traced.SetExtension("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	if err := Check(traced); err != nil {
		t.Errorf("Check(with traceparent) = %v, want nil", err)
	}

	other := p
	other.Kommune = "0101"
	otherKommune, _ := New(TypeDocumentDecided, SourceDecide, testKommune, p.DocumentID, []string{p.DocumentID}, other, testAt)
	noReasons := p
	noReasons.Reasons = nil
	invalid, _ := New(TypeDocumentDecided, SourceDecide, testKommune, p.DocumentID, []string{p.DocumentID}, noReasons, testAt)

	tests := []struct {
		name string
		e    cloudevents.Event
		want error
	}{
		{"wrong subject", with(good, func(e *cloudevents.Event) { e.SetSubject(p.BundleID) }), ErrInvalid},
		{"no subject", with(good, func(e *cloudevents.Event) { e.SetSubject("") }), ErrInvalid},
		{"payload of another kommune", otherKommune, ErrInvalid},
		{"schema violation", invalid, ErrInvalid},
		{"extra extension", with(good, func(e *cloudevents.Event) { e.SetExtension("tenant", "x") }), ErrInvalid},
		{"no kommune", with(good, func(e *cloudevents.Event) { e.SetExtension(ExtensionKommune, nil) }), ErrKommune},
		{"no time", with(good, func(e *cloudevents.Event) { e.SetTime(time.Time{}) }), ErrInvalid},
		{"xml content type", with(good, func(e *cloudevents.Event) { e.SetDataContentType(ContentTypeXML) }), ErrContentType},
		{"unknown type", with(good, func(e *cloudevents.Event) { e.SetType("dk.kp.efaktura.document.lost.v1") }), ErrUnknownType},
		{"no id", with(good, func(e *cloudevents.Event) { e.SetID("") }), ErrInvalid},
	}
	for _, tt := range tests {
		if err := Check(tt.e); !errors.Is(err, tt.want) {
			t.Errorf("Check(%s) = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func with(e cloudevents.Event, f func(*cloudevents.Event)) cloudevents.Event {
	c := e.Clone()
	f(&c)
	return c
}

func TestSubjectTemplate(t *testing.T) {
	for subject, want := range map[string]string{
		"efaktura.0101.document.received":            "efaktura.{kommune}.document.received",
		"efaktura.0851.answer.queued":                "efaktura.{kommune}.answer.queued",
		"efaktura_bundle.0101.47ee7f53-3709-58f4.3":  "efaktura_bundle.{kommune}.{bundle_id}.{index}",
		"efaktura.*.document.received":               "efaktura.*.document.received",
		"efaktura_dlq.decide":                        "efaktura_dlq.decide",
		"efaktura.01012.document.received":           "efaktura.01012.document.received",
		"_efaktura.resumed.EFAKTURA.respond.answers": "_efaktura.resumed.EFAKTURA.respond.answers",
	} {
		if got := SubjectTemplate(subject); got != want {
			t.Errorf("SubjectTemplate(%q) = %q; want %q", subject, got, want)
		}
	}
}
