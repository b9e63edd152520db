package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/pkg/efaktura"
)

// TestRuleApprovesAndAnswersWithoutACaseworker is issue 14 through the
// all-in-one: rules set with `efaktura rules set`, a bundle in, the
// documents of the trusted sender approved by the rule and answered at
// the ERP simulator with no caseworker, the others left for one; the same
// bundle resent under another REFERENCE is flagged and held.
func TestRuleApprovesAndAnswersWithoutACaseworker(t *testing.T) {
	s := startUp(t, false)
	api := []string{"--api", s.base, "--token", "admin-t"}

	// Refused, every problem named; then set.
	bad := writeFile(t, "bad.json", []byte(`{"mode":"enforce","rules":[{"name":"X","decision":"reject","senders":[],"document_types":["INVOICE"],"max_amount_incl_vat":"1,5","currencies":["DKK"]}]}`))
	code, _, stderr := runCmd(t, nil, append([]string{"rules", "set", "0101", bad}, api...)...)
	if code != exitInvalid || !strings.Contains(stderr, "name must be") || !strings.Contains(stderr, "a rule can only approve") ||
		!strings.Contains(stderr, "senders lists no sender") || !strings.Contains(stderr, `max_amount_incl_vat "1,5"`) {
		t.Fatalf("rules set of bad rules: exit %d, %s", code, stderr)
	}
	rules := writeFile(t, "rules.json", []byte(`{"mode": "enforce", "rules": [{"name": "trusted", "decision": "approve",
	  "senders": ["CVR:12345674"], "document_types": ["INVOICE", "CREDIT_NOTE", "REMINDER"],
	  "max_amount_incl_vat": "1000000.00", "currencies": ["DKK"]}]}`))
	code, stdout, stderr := runCmd(t, nil, append([]string{"rules", "set", "0101", rules}, api...)...)
	if code != exitOK || !strings.Contains(stdout, `"name": "trusted"`) {
		t.Fatalf("rules set: exit %d, %s %s", code, stdout, stderr)
	}
	if code, stdout, _ := runCmd(t, nil, append([]string{"rules", "get", "0101"}, api...)...); code != exitOK || !strings.Contains(stdout, `"mode": "enforce"`) {
		t.Fatalf("rules get: exit %d, %s", code, stdout)
	}
	if code, body := s.do("GET", "/v1/tenants/0101/rules", "case-t", nil); code != 403 {
		t.Errorf("GET rules as a caseworker = %d %s", code, body)
	}

	b := efaktura.Sample(efaktura.SampleOptions{Documents: 6, LinesPerDocument: 1, Seed: 1400})
	trusted := map[string]bool{} // receipt numbers the rule should approve
	for _, d := range b.Documents {
		trusted[d.Header.ReceiptNo] = d.Header.SenderIDType == "CVR" && d.Header.SenderID == "12345674"
	}
	raw, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if code, body := s.do("POST", "/v1/bundles", "ingest-t", raw); code != 202 {
		t.Fatalf("POST bundle: %d %s", code, body)
	}
	var ruled, waiting int
	for _, ok := range trusted {
		if ok {
			ruled++
		} else {
			waiting++
		}
	}
	if ruled == 0 || waiting == 0 {
		t.Fatalf("the sample has %d documents of the trusted sender and %d others; want some of each", ruled, waiting)
	}
	// The rule's answers reach the economy system; nobody gave a verdict.
	bustest.Eventually(t, "the rule's answers at the ERP simulator", func() error {
		got := s.answers()
		for _, a := range got {
			if !trusted[a.Answer.ReceiptNo] || a.Answer.Decision != "approved" {
				return fmt.Errorf("an answer to %s (%s) the rule should not have given", a.Answer.ReceiptNo, a.Answer.Decision)
			}
		}
		return is(len(got), ruled)
	})
	bustest.Eventually(t, "the others waiting", func() error { return is(len(s.documents("awaiting_verdict")), waiting) })
	for _, d := range s.archived("approved") {
		code, body := s.do("GET", "/v1/documents/"+d.ID, "case-t", nil)
		if code != 200 || !strings.Contains(string(body), `"by":"rule:trusted"`) {
			t.Errorf("archived %s: %d %s", d.ID, code, body)
		}
	}
	bustest.Eventually(t, "the decisions counted", func() error {
		return expect(s.scrape(), []sample{
			eq("efaktura_documents_decided_total", labels{"by": "rule"}, float64(ruled)),
			eq("efaktura_documents_decided_total", labels{"by": "caseworker"}, 0),
		})
	})

	// Resent under another REFERENCE (V10 does not see it): every document
	// is flagged, none approved by the rule.
	b.Reference = "RESENT-1400"
	raw, err = b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if code, body := s.do("POST", "/v1/bundles", "ingest-t", raw); code != 202 {
		t.Fatalf("POST the resent bundle: %d %s", code, body)
	}
	bustest.Eventually(t, "the resent documents held", func() error { return is(len(s.documents("awaiting_verdict")), 2*waiting+ruled) })
	code, body := s.do("GET", "/v1/documents?state=awaiting_verdict&per_page=500", "case-t", nil)
	var page struct {
		Documents []struct {
			ID                 string `json:"id"`
			BundleID           string `json:"bundle_id"`
			PossibleDuplicates []struct {
				DocumentID string `json:"document_id"`
				Reason     string `json:"reason"`
				State      string `json:"state"`
			} `json:"possible_duplicates"`
		} `json:"documents"`
	}
	if err := json.Unmarshal(body, &page); code != 200 || err != nil {
		t.Fatalf("queue: %d %v", code, err)
	}
	flagged := 0
	for _, d := range page.Documents {
		if len(d.PossibleDuplicates) > 0 && d.PossibleDuplicates[0].Reason == "same_document_no" {
			flagged++
		}
	}
	if flagged != waiting+ruled {
		t.Errorf("%d resent documents flagged, want %d: %s", flagged, waiting+ruled, body)
	}
	if got := len(s.answers()); got != ruled {
		t.Errorf("%d answers after the resend, want %d", got, ruled)
	}
}
