package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
)

// TestRetentionReport runs efaktura retention against a running system: it
// lists the stores a document passes through, with what each keeps, and
// counts what goes within the horizon.
func TestRetentionReport(t *testing.T) {
	s := startUp(t, false)
	if code, body := s.post("valid-bundle-3-documents.xml"); code != 202 {
		t.Fatalf("POST bundle: %d %s", code, body)
	}
	bustest.Eventually(t, "three documents awaiting a verdict", func() error { return is(len(s.documents("awaiting_verdict")), 3) })

	// 92 days: past the raw documents' 90 and the events' 30.
	code, out, stderr := runCmd(t, nil, "retention", "--dry-run", "--nats", s.natsURL, "--within", "2208h", "--json")
	if code != exitOK {
		t.Fatalf("retention: exit %d, %s", code, stderr)
	}
	stores := map[string]storeRetention{}
	for line := range strings.Lines(out) {
		var sr storeRetention
		if err := json.Unmarshal([]byte(line), &sr); err != nil {
			t.Fatalf("retention --json line %q: %v", line, err)
		}
		stores[sr.Store] = sr
	}
	raw, ok := stores["EFAKTURA_BUNDLES"]
	if !ok || raw.Items != 3 || raw.Going == nil || *raw.Going != 3 || !strings.Contains(raw.Kept, "TTL") {
		t.Errorf("raw documents = %+v; want 3 kept by TTL, all going within 92 days", raw)
	}
	ev, ok := stores["EFAKTURA"]
	if !ok || ev.Items == 0 || ev.Going == nil || *ev.Going != ev.Items {
		t.Errorf("events = %+v; want every one going within 92 days", ev)
	}
	for _, name := range []string{"EFAKTURA_ANSWERS", "KV_EFAKTURA_documents", "KV_EFAKTURA_archive", "EFAKTURA_ARCHIVE", "KV_EFAKTURA_tenants"} {
		if _, ok := stores[name]; !ok {
			t.Errorf("no %s in the report: %v", name, out)
		}
	}
	// Within a day nothing of a fresh system goes.
	code, out, _ = runCmd(t, nil, "retention", "--nats", s.natsURL, "--json")
	if code != exitOK || strings.Contains(out, `"going":1`) || strings.Contains(out, `"going":3`) {
		t.Errorf("retention within a day: exit %d, %s; want nothing going", code, out)
	}
}
