package events

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/kp-efaktura/efaktura/pkg/answer"
)

// The fixtures: one municipality, one bundle of two documents, decided and
// answered.
var (
	testAt       = time.Date(2025, 8, 14, 9, 30, 0, 0, time.UTC)
	testKommune  = "0316"
	testProvider = "serviceplatformen/SF1590_D/opus-erp"
	testSender   = Sender{Type: "CVR", ID: "12345674"}
	testBundle   = BundleID(testProvider, "CVR", "12345674", "OEH-BUNDT-2025-0412", 2025)
	testDoc      = DocumentID(testBundle, 1)
	testDoc2     = DocumentID(testBundle, 2)
	testVerdict  = "0f6b5a0e-2d0c-4b8e-9f7a-3c1e5d2a9b41"
	testAnswer   = ID(TypeDocumentDecided, testDoc)
	testXML      = []byte("<?xml version=\"1.0\" encoding=\"ISO-8859-1\" standalone=\"yes\"?>\n<INVOICES><REFERENCE>OEH-BUNDT-2025-0412</REFERENCE><DOCUMENT>\xc6</DOCUMENT></INVOICES>\n")
	testSHA256   = func() string { s := sha256.Sum256(testXML); return hex.EncodeToString(s[:]) }()
	testDocXML   = []byte("<DOCUMENT><HEADER><RECEIPT_NO>OEH-2025-000412</RECEIPT_NO></HEADER>\xc6</DOCUMENT>")
	testDocSHA   = func() string { s := sha256.Sum256(testDocXML); return hex.EncodeToString(s[:]) }()
	testV51      = Finding{Rule: "V51", Severity: SeverityError, Path: "/INVOICES/DOCUMENT[2]/HEADER/RECEIPT_NO",
		Message: `RECEIPT_NO "OEH-2025-000412" of sender CVR "12345674" is also used by document 1; expected a receipt number unique per sender within the bundle`}
	testV26 = Finding{Rule: "V26", Severity: SeverityError, Path: "/INVOICES/DOCUMENT[1]/HEADER/CHECKSUM", Line: 12, Column: 7,
		Message: "CHECKSUM is 202508644,000; expected 202508643,000", MessageEN: "CHECKSUM is 202508644,000; expected 202508643,000",
		MessageDA: "CHECKSUM er 202508644,000, men skal være 202508643,000."}
)

// examples returns a realistic payload of every type with a JSON payload.
func examples() map[string]any {
	return map[string]any{
		TypeBundleReceived: BundleReceived{
			BundleID: testBundle, Kommune: testKommune, ServiceProvider: testProvider,
			Reference: "OEH-BUNDT-2025-0412", Sender: testSender, ReceivedAt: testAt,
			Raw:    RawBundleRef{Stream: RawStream, Filter: "efaktura_bundle.0316." + testBundle + ".*"},
			SHA256: testSHA256, Size: int64(len(testXML)), Ruleset: "efaktura-2.1.0/r1",
			Documents: []BundleDocument{
				{DocumentID: testDoc, Index: 1, ReceiptNo: "OEH-2025-000412", DocumentNo: "F-2025-0412", DocumentType: DocumentInvoice},
				{DocumentID: testDoc2, Index: 2, ReceiptNo: "OEH-2025-000413", DocumentNo: "K-2025-0031", DocumentType: DocumentCreditNote},
			},
		},
		TypeBundleRejected: BundleRejected{
			BundleID: testBundle, Kommune: testKommune, ServiceProvider: testProvider,
			Reference: "OEH-BUNDT-2025-0412", Sender: &testSender, ReceivedAt: testAt, SHA256: testSHA256,
			Reason: RejectionDuplicate, DuplicateOf: testBundle,
			Findings: []Finding{{Rule: "V10", Severity: SeverityError, Path: "/INVOICES/REFERENCE",
				Message: `a bundle with REFERENCE "OEH-BUNDT-2025-0412" from sender CVR "12345674" was already accepted in 2025; expected a REFERENCE not used before this year`}},
			Ruleset: "efaktura-2.1.0/r1",
		},
		TypeDocumentReceived: DocumentReceived{
			DocumentID: testDoc2, BundleID: testBundle, Kommune: testKommune, Index: 2,
			ReceiptNo: "OEH-2025-000412", DocumentNo: "K-2025-0031", DocumentType: DocumentCreditNote,
			Sender: testSender, Reference: "OEH-BUNDT-2025-0412", ReceivedAt: testAt,
			Raw:      RawRef{Stream: RawStream, Subject: "efaktura_bundle.0316." + testBundle + ".2", Size: int64(len(testDocXML)), SHA256: testDocSHA},
			Findings: []Finding{testV51},
		},
		TypeDocumentValidated: DocumentValidated{
			DocumentID: testDoc, BundleID: testBundle, Kommune: testKommune, Reference: "OEH-BUNDT-2025-0412",
			Sender: testSender, ReceiptNo: "OEH-2025-000412", DocumentNo: "F-2025-0412", DocumentType: DocumentInvoice,
			Ruleset: "efaktura-2.1.0/r1", ValidatedAt: testAt.Add(2 * time.Second),
			Summary: Summary{Currency: "DKK", TotalAmountInclVAT: "4431,25", DocumentDate: "2025-06-02",
				BillToName: "Kærholm Kommune", Lines: 3, DueDate: "2025-07-02", BilledFromName: "Østbyens Hjælpemidler ApS"},
		},
		TypeDocumentRejected: DocumentRejected{
			DocumentID: testDoc2, BundleID: testBundle, Kommune: testKommune, Reference: "OEH-BUNDT-2025-0412",
			Sender: testSender, ReceiptNo: "OEH-2025-000412", DocumentNo: "K-2025-0031", DocumentType: DocumentCreditNote,
			Ruleset: "efaktura-2.1.0/r1", RejectedAt: testAt.Add(2 * time.Second),
			Findings: []Finding{testV51, testV26},
		},
		TypeVerdictSubmitted: VerdictSubmitted{
			VerdictID: testVerdict, DocumentID: testDoc, Kommune: testKommune, Decision: DecisionReject,
			Reasons:    []Reason{{Code: ReasonPrices, Text: "Enhedsprisen afviger fra aftalen."}, {Code: ReasonQuantity}},
			Note:       "Ringet til leverandøren 14/8.",
			Caseworker: "kp-sagsbeh-0142", SubmittedAt: testAt.Add(26 * time.Hour),
		},
		TypeVerdictRefused: VerdictRefused{
			VerdictID: testVerdict, DocumentID: testDoc, Kommune: testKommune,
			Reason: "the document is decided already", DecisionInForce: OutcomeRejected,
			RefusedAt: testAt.Add(26 * time.Hour),
		},
		TypeDocumentDecided: DocumentDecided{
			DocumentID: testDoc2, BundleID: testBundle, Kommune: testKommune, Reference: "OEH-BUNDT-2025-0412",
			Sender: testSender, ReceiptNo: "OEH-2025-000412", DocumentNo: "K-2025-0031", DocumentType: DocumentCreditNote,
			Decision: OutcomeRejected,
			Reasons:  []Reason{{Code: ReasonOther, Text: "Teknisk ugyldigt dokument: V26, V51."}},
			Findings: []Finding{testV51, testV26}, DecidedAt: testAt.Add(3 * time.Second),
			DecidedBy: DecidedBySystem, Ruleset: "efaktura-2.1.0/r1",
		},
		TypeAnswerQueued: AnswerQueued{
			AnswerID: testAnswer, DocumentID: testDoc2, Kommune: testKommune, Reference: "OEH-BUNDT-2025-0412",
			ReceiptNo: "OEH-2025-000413", DocumentNo: "K-2025-0031", DocumentType: string(DocumentCreditNote),
			Sender:   answer.Sender{Type: testSender.Type, ID: testSender.ID},
			Decision: string(OutcomeRejected), Reasons: []answer.Reason{{Code: string(ReasonOther), Text: "Teknisk ugyldigt dokument: V26, V51."}},
			Findings: []answer.Finding{{Code: string(ReasonOther), Rule: "V26", Path: testV26.Path, Line: testV26.Line, Column: testV26.Column,
				MessageDA: testV26.MessageDA, MessageEN: testV26.MessageEN}},
			DecidedAt: testAt.Add(3 * time.Second), Ruleset: "efaktura-2.1.0/r1",
		},
		TypeAnswerParked: AnswerParked{
			AnswerID: testAnswer, DocumentID: testDoc, Kommune: testKommune,
			Reason: ParkAgreementNotApproved, Detail: "bagside is requested (version 2)",
			ParkedAt: testAt.Add(27 * time.Hour),
		},
		TypeAnswerDelivered: AnswerDelivered{
			AnswerID: testAnswer, DocumentID: testDoc, Kommune: testKommune, EconomySystemID: "opus-erp-0316",
			Attempts: 2, DeliveredAt: testAt.Add(50 * time.Hour), StatusCode: 202,
		},
		TypeAnswerFailed: AnswerFailed{
			AnswerID: testAnswer, DocumentID: testDoc, Kommune: testKommune, EconomySystemID: "opus-erp-0316",
			Attempts: 1, Permanent: false, Error: "POST https://erp.example.dk/efaktura/answers: 503 Service Unavailable",
			FailedAt: testAt.Add(49 * time.Hour),
		},
		TypeTenantChanged: TenantChanged{
			Kommune: testKommune, Name: "Holbæk Kommune", CVR: "29189374",
			EconomySystem: EconomySystem{ID: "opus-erp-0316", Name: "OPUS Økonomi", Endpoint: "https://erp.example.dk/efaktura/answers"},
			Senders:       []RegisteredSender{{Type: "CVR", ID: "12345674"}, {Type: "EAN", ID: "5790000123457", Nets: true}},
			Version:       7, ChangedAt: testAt.Add(-24 * time.Hour),
		},
		TypeAgreementChanged: AgreementChanged{
			Kommune: testKommune, Agreement: AgreementBagside, State: AgreementApproved,
			EconomySystemID: "opus-erp-0316", Version: 3, ChangedAt: testAt.Add(48 * time.Hour),
		},
	}
}

// compile compiles the embedded schema of t the way [Check] does.
func compile(t *testing.T, eventType string) *jsonschema.Schema {
	t.Helper()
	schemas, err := compiled()
	if err != nil {
		t.Fatalf("compile schemas: %v", err)
	}
	sch, ok := schemas[eventType]
	if !ok {
		t.Fatalf("no compiled schema for %s", eventType)
	}
	return sch
}

func validateJSON(sch *jsonschema.Schema, b []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

// TestTypesAreTheConstants parses the package and checks that the Type
// constants and the catalogue are the same set, so a new constant cannot be
// left out of Types.
func TestTypesAreTheConstants(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "events.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]bool{}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, s := range gd.Specs {
			vs := s.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if !strings.HasPrefix(n.Name, "Type") {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok {
					t.Fatalf("%s is not a string literal", n.Name)
				}
				v, _ := strconv.Unquote(lit.Value)
				consts[v] = true
			}
		}
	}
	types := map[string]bool{}
	for _, typ := range Types() {
		if types[typ] {
			t.Errorf("Types() lists %s twice", typ)
		}
		types[typ] = true
	}
	if !maps.Equal(consts, types) {
		t.Errorf("Types() = %v, want the Type constants %v", slices.Sorted(maps.Keys(types)), slices.Sorted(maps.Keys(consts)))
	}
}

func TestTypeNames(t *testing.T) {
	name := regexp.MustCompile(`^dk\.kp\.efaktura\.([a-z]+\.[a-z]+)\.v[1-9][0-9]*$`)
	for _, en := range catalogue {
		m := name.FindStringSubmatch(en.typ)
		if m == nil || m[1] != en.subject {
			t.Errorf("type %q has subject tail %q; want dk.kp.efaktura.%s.v<major>", en.typ, en.subject, en.subject)
		}
	}
}

func TestSchemasExist(t *testing.T) {
	ex := examples()
	for _, typ := range Types() {
		_, hasSchema := Schema(typ)
		_, hasExample := ex[typ]
		raw := typ == TypeBundleSubmitted
		if hasSchema == raw || hasExample == raw {
			t.Errorf("Schema(%q) = %v and example = %v, want %v", typ, hasSchema, hasExample, !raw)
		}
	}
	entries, err := schemaFS.ReadDir("schemas")
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range entries {
		if "schemas/"+de.Name() == answerSchemaFile {
			continue
		}
		typ := strings.TrimSuffix(de.Name(), ".json")
		if _, ok := Schema(typ); !ok {
			t.Errorf("schemas/%s belongs to no type with a JSON payload", de.Name())
		}
	}
	if _, ok := Schema("dk.kp.efaktura.nope.v1"); ok {
		t.Errorf("Schema(unknown) = true, want false")
	}
}

// TestSchemaIDs: every schema's $id is its file under SchemaBaseURL, and
// New sends it as the dataschema attribute; a raw bundle has none.
func TestSchemaIDs(t *testing.T) {
	ex := examples()
	for _, typ := range Types() {
		id, ok := SchemaID(typ)
		if typ == TypeBundleSubmitted {
			if ok {
				t.Errorf("SchemaID(%s) = %q, want none", typ, id)
			}
			continue
		}
		if want := SchemaBaseURL + typ + ".json"; id != want {
			t.Errorf("SchemaID(%s) = %q, %v, want %q", typ, id, ok, want)
		}
		p := ex[typ]
		e, err := New(typ, SourceAdmin, testKommune, "", []string{"k"}, p, time.Now())
		if err != nil {
			t.Fatalf("New(%s): %v", typ, err)
		}
		if e.DataSchema() != id {
			t.Errorf("New(%s).DataSchema() = %q, want %q", typ, e.DataSchema(), id)
		}
	}
	if id, ok := SchemaID("dk.kp.efaktura.nope.v1"); ok {
		t.Errorf("SchemaID(unknown) = %q, want none", id)
	}
}

func TestExamplesValidateAndRoundTrip(t *testing.T) {
	for typ, payload := range examples() {
		t.Run(typ, func(t *testing.T) {
			b, err := json.Marshal(payload)
			if err != nil {
				t.Fatal(err)
			}
			if err := validateJSON(compile(t, typ), b); err != nil {
				t.Errorf("validate(%s) = %v, want nil; payload %s", typ, err, b)
			}
			ptr := reflect.New(byType[typ].payload).Interface()
			if err := json.Unmarshal(b, ptr); err != nil {
				t.Fatal(err)
			}
			if got := reflect.ValueOf(ptr).Elem().Interface(); !reflect.DeepEqual(got, payload) {
				t.Errorf("round trip of %s = %+v, want %+v", typ, got, payload)
			}
		})
	}
}

// mutate returns the example of typ as a JSON object with f applied.
func mutate(t *testing.T, typ string, f func(m map[string]any)) []byte {
	t.Helper()
	b, err := json.Marshal(examples()[typ])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err = json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func del(k string) func(map[string]any) { return func(m map[string]any) { delete(m, k) } }

// setRaw sets a field of the payload's raw reference.
func setRaw(k string, v any) func(map[string]any) {
	return func(m map[string]any) { m["raw"].(map[string]any)[k] = v }
}
func set(k string, v any) func(map[string]any) {
	return func(m map[string]any) { m[k] = v }
}

func TestSchemasRejectBadPayloads(t *testing.T) {
	finding := func(rule, severity string) map[string]any {
		return map[string]any{"rule": rule, "severity": severity, "path": "/INVOICES", "message": "m"}
	}
	tests := []struct {
		typ  string
		name string
		f    func(map[string]any)
	}{
		{TypeBundleReceived, "kommune of 3 digits", set("kommune", "316")},
		{TypeBundleReceived, "no documents", set("documents", []any{})},
		{TypeBundleReceived, "sha256 upper case", set("sha256", strings.ToUpper(testSHA256))},
		{TypeBundleReceived, "unknown field", set("extra", 1)},
		{TypeBundleReceived, "the object-store key of version 1", set("object", "bundles/0316/"+testBundle)},
		{TypeBundleReceived, "no size", del("size")},
		{TypeBundleReceived, "raw filter of one document", setRaw("filter", "efaktura_bundle.0316."+testBundle+".1")},
		{TypeBundleReceived, "raw filter on an event subject", setRaw("filter", "efaktura.0316."+testBundle+".*")},
		{TypeBundleRejected, "unknown reason", set("reason", "late")},
		{TypeBundleRejected, "duplicate without duplicate_of", del("duplicate_of")},
		{TypeBundleRejected, "invalid without findings", func(m map[string]any) { m["reason"] = "invalid"; delete(m, "findings"); delete(m, "duplicate_of") }},
		{TypeBundleRejected, "rule V1", set("findings", []any{finding("V1", "error")})},
		{TypeDocumentReceived, "no raw reference", del("raw")},
		{TypeDocumentReceived, "the xml of version 1 beside it", set("xml", "PERPQ1VNRU5UPg==")},
		{TypeDocumentReceived, "raw without a stream", setRaw("stream", "")},
		{TypeDocumentReceived, "raw subject with a wildcard", setRaw("subject", "efaktura_bundle.0316."+testBundle+".*")},
		{TypeDocumentReceived, "raw subject of the event stream", setRaw("subject", "efaktura.0316."+testBundle+".2")},
		{TypeDocumentReceived, "raw size 0", setRaw("size", 0)},
		{TypeDocumentReceived, "raw sha256 upper case", setRaw("sha256", strings.ToUpper(testDocSHA))},
		{TypeDocumentReceived, "index 0", set("index", 0)},
		{TypeDocumentReceived, "document id not a uuid", set("document_id", "doc-1")},
		{TypeDocumentValidated, "document type as written", set("document_type", "FAKTURA")},
		{TypeDocumentValidated, "error finding", set("findings", []any{finding("V26", "error")})},
		{TypeDocumentValidated, "amount with a period", func(m map[string]any) { m["summary"].(map[string]any)["total_amount_incl_vat"] = "4431.25" }},
		{TypeDocumentValidated, "due date not a date", func(m map[string]any) { m["summary"].(map[string]any)["due_date"] = "2.7.2025" }},
		{TypeDocumentRejected, "no findings", set("findings", []any{})},
		{TypeDocumentRejected, "only warnings", set("findings", []any{finding("V26", "warning")})},
		{TypeDocumentRejected, "severity fatal", set("findings", []any{finding("V26", "fatal")})},
		{TypeVerdictSubmitted, "reject without reasons", del("reasons")},
		{TypeVerdictSubmitted, "approve with reasons", set("decision", "approve")},
		{TypeVerdictSubmitted, "unknown reason code", set("reasons", []any{map[string]any{"code": "XYZ"}})},
		{TypeVerdictSubmitted, "OTH without text", set("reasons", []any{map[string]any{"code": "OTH"}})},
		{TypeVerdictRefused, "no reason", del("reason")},
		{TypeVerdictRefused, "decision in force approve", set("decision_in_force", "approve")},
		{TypeDocumentDecided, "rejected without reasons", del("reasons")},
		{TypeDocumentDecided, "system approves", func(m map[string]any) { m["decision"] = "approved"; delete(m, "reasons") }},
		{TypeDocumentDecided, "caseworker without verdict", set("decided_by", "kp-sagsbeh-0142")},
		{TypeAnswerQueued, "no receipt number", del("receipt_no")},
		{TypeAnswerQueued, "decision approve", set("decision", "approve")},
		{TypeAnswerQueued, "finding without a code", func(m map[string]any) { delete(m["findings"].([]any)[0].(map[string]any), "code") }},
		{TypeAnswerQueued, "finding with code NON", func(m map[string]any) { m["findings"].([]any)[0].(map[string]any)["code"] = "NON" }},
		{TypeAnswerParked, "unknown park reason", set("reason", "maintenance")},
		{TypeAnswerDelivered, "status 500", set("status_code", 500)},
		{TypeAnswerDelivered, "no attempts", set("attempts", 0)},
		{TypeAnswerFailed, "no permanent", del("permanent")},
		{TypeTenantChanged, "secret in economy system", func(m map[string]any) { m["economy_system"].(map[string]any)["secret"] = "s3cret" }},
		{TypeTenantChanged, "cvr of 7 digits", set("cvr", "2918937")},
		{TypeTenantChanged, "sender type P", set("senders", []any{map[string]any{"type": "P", "id": "1", "nets": false}})},
		{TypeTenantChanged, "version 0", set("version", 0)},
		{TypeAgreementChanged, "agreement midtside", set("agreement", "midtside")},
		{TypeAgreementChanged, "state pending", set("state", "pending")},
		{TypeAgreementChanged, "no changed_at", del("changed_at")},
		{TypeAgreementChanged, "changed_at not a time", set("changed_at", "yesterday")},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.typ] = true
		t.Run(tt.typ+"/"+tt.name, func(t *testing.T) {
			b := mutate(t, tt.typ, tt.f)
			if err := validateJSON(compile(t, tt.typ), b); err == nil {
				t.Errorf("validate(%s) = nil, want an error", b)
			}
		})
	}
	for typ := range examples() {
		if !covered[typ] {
			t.Errorf("no negative case for %s", typ)
		}
	}
}

// TestStructsMatchSchemas is the drift check: at every level, the JSON field
// names of a payload struct are the properties of its schema, and the fields
// without omitempty are the schema's required properties.
func TestStructsMatchSchemas(t *testing.T) {
	for _, en := range catalogue {
		b, ok := Schema(en.typ)
		if !ok {
			continue
		}
		var root map[string]any
		if err := json.Unmarshal(b, &root); err != nil {
			t.Fatalf("schema of %s: %v", en.typ, err)
		}
		compareStruct(t, en.typ, en.payload, root, root, true)
	}
}

func compareStruct(t *testing.T, where string, typ reflect.Type, node, root map[string]any, top bool) {
	t.Helper()
	props, required := objectOf(t, where, node, root, top)
	fields, mandatory := map[string]reflect.Type{}, map[string]bool{}
	for f := range typ.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			t.Errorf("%s: field %s has no JSON name", where, f.Name)
			continue
		}
		fields[name] = f.Type
		if !strings.Contains(opts, "omitempty") {
			mandatory[name] = true
		}
	}
	if got, want := slices.Sorted(maps.Keys(fields)), slices.Sorted(maps.Keys(props)); !slices.Equal(got, want) {
		t.Errorf("%s: fields of %s = %v, want the schema's properties %v", where, typ, got, want)
	}
	if got, want := slices.Sorted(maps.Keys(mandatory)), slices.Sorted(maps.Keys(required)); !slices.Equal(got, want) {
		t.Errorf("%s: fields of %s without omitempty = %v, want the schema's required %v", where, typ, got, want)
	}
	for name, ft := range fields {
		sub, ok := props[name]
		if !ok {
			continue
		}
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() != reflect.Uint8 {
			ft = ft.Elem()
			items, ok := resolve(t, sub, root)["items"].(map[string]any)
			if !ok {
				t.Errorf("%s.%s: schema has no items for %s", where, name, ft)
				continue
			}
			sub = items
		}
		if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[time.Time]() {
			compareStruct(t, where+"."+name, ft, sub, root, false)
		}
	}
}

// objectOf returns the properties and required names of an object schema,
// following $ref and merging allOf.
func objectOf(t *testing.T, where string, node, root map[string]any, top bool) (props map[string]map[string]any, required map[string]bool) {
	t.Helper()
	props, required = map[string]map[string]any{}, map[string]bool{}
	var walk func(n map[string]any)
	walk = func(n map[string]any) {
		n = resolve(t, n, root)
		if p, ok := n["properties"].(map[string]any); ok {
			for k, v := range p {
				props[k] = v.(map[string]any)
			}
		}
		if r, ok := n["required"].([]any); ok {
			for _, k := range r {
				required[k.(string)] = true
			}
		}
		if all, ok := n["allOf"].([]any); ok {
			for _, a := range all {
				walk(a.(map[string]any))
			}
		}
	}
	walk(node)
	if top {
		// Top-level allOf holds only conditions (if/then), whose required
		// lists are not the always-required ones; count them out.
		required = map[string]bool{}
		for _, k := range root["required"].([]any) {
			required[k.(string)] = true
		}
	}
	if len(props) == 0 {
		t.Errorf("%s: schema node is no object with properties", where)
	}
	return props, required
}

// resolve follows a local $ref ("#/$defs/name").
func resolve(t *testing.T, n, root map[string]any) map[string]any {
	t.Helper()
	ref, ok := n["$ref"].(string)
	if !ok {
		return n
	}
	name, ok := strings.CutPrefix(ref, "#/$defs/")
	if !ok {
		t.Fatalf("unsupported $ref %q", ref)
	}
	d, ok := root["$defs"].(map[string]any)[name].(map[string]any)
	if !ok {
		t.Fatalf("$ref %q points nowhere", ref)
	}
	return d
}
