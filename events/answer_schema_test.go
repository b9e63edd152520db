package events

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/kp-efaktura/efaktura/pkg/answer"
)

func compileAnswerSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(AnswerSchema()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource("mem:///"+answerSchemaFile, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("mem:///" + answerSchemaFile)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// TestAnswerSchema checks the published answer schema as the payload
// schemas are checked: field for field equal to pkg/answer.Answer, valid
// for a real answer, and refusing broken ones.
func TestAnswerSchema(t *testing.T) {
	var root map[string]any
	if err := json.Unmarshal(AnswerSchema(), &root); err != nil {
		t.Fatal(err)
	}
	compareStruct(t, "answer", reflect.TypeFor[answer.Answer](), root, root, true)

	a := examples()[TypeAnswerQueued].(AnswerQueued)
	a.EconomySystem = "opus-erp-0316"
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	sch := compileAnswerSchema(t)
	if err := validateJSON(sch, b); err != nil {
		t.Errorf("the example answer is invalid: %v\n%s", err, b)
	}
	for name, f := range map[string]func(map[string]any){
		"no economy system":     set("economy_system", ""),
		"finding without line":  func(m map[string]any) { delete(m["findings"].([]any)[0].(map[string]any), "line") },
		"finding with rule V1":  func(m map[string]any) { m["findings"].([]any)[0].(map[string]any)["rule"] = "V1" },
		"finding with code XYZ": func(m map[string]any) { m["findings"].([]any)[0].(map[string]any)["code"] = "XYZ" },
		"empty findings":        set("findings", []any{}),
	} {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		bad, _ := json.Marshal(m)
		if err := validateJSON(sch, bad); err == nil {
			t.Errorf("%s: valid, want an error: %s", name, bad)
		}
	}
}
