package main

import (
	"encoding/csv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
)

// TestAgreementsPageInBrowser drives the desk's administrator page in
// headless Chromium against a real all-in-one with two municipalities, the
// demo one pending with parked answers and 0202 ready: an admin token
// opens the page, the waiting municipality stands out with the number and
// age of its answers, sorting works, the history is one click away, the CSV
// downloads as a blob without the token in any URL; a caseworker token
// gets the page that says it is for admins. axe-core checks both.
func TestAgreementsPageInBrowser(t *testing.T) {
	b := newBrowser(t)
	s := startTwoMunicipalities(t)
	if code, body := s.post("valid-bundle-3-documents.xml"); code != 202 {
		t.Fatalf("POST bundle: %d %s", code, body)
	}
	bustest.Eventually(t, "three documents approved", func() error {
		s.approveWaiting("case-t", 3)
		return is(len(s.documents("approved")), 3)
	})
	bustest.Eventually(t, "three answers parked", func() error {
		return is(rowOf(s.agreements(""), demoKommune).ParkedAnswers, uint64(3))
	})

	// A caseworker: the page is not theirs.
	b.run("open the agreements page as a caseworker", chromedp.Navigate(s.base+"/#/aftaler"), chromedp.WaitVisible(chromedp.ID("token")))
	b.run("log in as a caseworker", chromedp.SendKeys(chromedp.ID("token"), "case-t"), chromedp.Click(chromedp.ID("login-submit")))
	b.until("the queue", `!!document.querySelector('#queue')`)
	b.run("go to the agreements page", chromedp.Navigate(s.base+"/#/aftaler"))
	b.until("the page for admins only", `(document.querySelector('main')?.textContent || '').includes('kun for administratorer')`)
	if b.value(`!!document.querySelector('#agreements-table')`) {
		t.Error("a caseworker sees the agreements table")
	}
	b.axe("admins-only")
	b.run("log out", chromedp.Click(chromedp.ID("logout")))
	b.until("the log-in form", `!!document.querySelector('#token')`)

	// An administrator: the table.
	b.run("log in as the administrator", chromedp.SendKeys(chromedp.ID("token"), "admin-t"), chromedp.Click(chromedp.ID("login-submit")))
	b.until("the agreements table with both municipalities", `document.querySelectorAll('#agreements-table tbody tr').length === 2`)
	if href := value(b, "read the location", chromedp.Location()); !strings.Contains(href, "#/aftaler") || strings.Contains(href, "admin-t") {
		t.Errorf("location %s: want the agreements page, and no token", href)
	}
	waiting := b.text("#agreements-table tr.row-waiting")
	for _, want := range []string{"0101", "Kærholm", "Anmodet", "Ikke klar", "3", "min."} {
		if !strings.Contains(waiting, want) {
			t.Errorf("the waiting municipality's row %q lacks %q", waiting, want)
		}
	}
	if n := value(b, "count waiting rows", chromedp.Evaluate[int](`document.querySelectorAll('#agreements-table tr.row-waiting').length`)); n != 1 {
		t.Errorf("%d rows highlighted as waiting, want 1", n)
	}
	// Sorted by waiting answers, most first; then by kommune, 0202 last.
	first := value(b, "first row", chromedp.Evaluate[string](`document.querySelector('#agreements-table tbody tr').dataset.kommune`))
	if first != "0101" {
		t.Errorf("first row %s, want 0101 (most answers waiting)", first)
	}
	if summary := b.text("#agreements-summary"); !strings.Contains(summary, "1 af 2") || !strings.Contains(summary, "09.02.2026") {
		t.Errorf("summary %q; want 1 of 2 ready and the deadline", summary)
	}
	b.axe("agreements")
	b.screenshot("desk-agreements")
	b.run("sort by kommune", chromedp.Click(chromedp.ID("sort-kommune")))
	b.until("sorted by kommune, ascending",
		`document.querySelector('#agreements-table th[aria-sort]')?.textContent.startsWith('Kommune') && document.querySelector('#agreements-table tbody tr').dataset.kommune === '0101'`)
	b.run("sort by kommune, descending", chromedp.Click(chromedp.ID("sort-kommune")))
	b.until("0202 first", `document.querySelector('#agreements-table th[aria-sort="descending"]') && document.querySelector('#agreements-table tbody tr').dataset.kommune === '0202'`)

	// The history, one click away, with a change of the straight-through
	// rules beside the agreements'.
	rules := `{"mode":"dry_run","rules":[{"name":"small-trusted","decision":"approve","senders":["CVR:12345674"],"document_types":["INVOICE"],"max_amount_incl_vat":"5000.00","currencies":["DKK"]}]}`
	if code, body := s.do("PUT", "/v1/tenants/0101/rules", "admin-t", []byte(rules)); code != 200 {
		t.Fatalf("PUT rules: %d %s", code, body)
	}
	b.run("show 0101's history", chromedp.Click(chromedp.CSS(`button[data-history="0101"]`)))
	b.until("the history", `document.querySelectorAll('#history-table tbody tr').length === 3`)
	if h := b.text("#history"); !strings.Contains(h, "Historik for Kærholm") || !strings.Contains(h, "efaktura up") || !strings.Contains(h, "Anmodet") ||
		!strings.Contains(h, "Regler for automatisk afgørelse") || !strings.Contains(h, "Prøvekørsel: small-trusted") {
		t.Errorf("history %q", h)
	}
	b.axe("agreements with history")

	// The CSV export: fetched with the token in a header, handed over as
	// a blob. The test watches the blobs the page makes.
	b.value(`(() => { window.__blobs = []; const o = URL.createObjectURL; URL.createObjectURL = (x) => { window.__blobs.push(x); return o.call(URL, x); }; return true; })()`)
	b.run("export the CSV", chromedp.Click(chromedp.ID("export-csv")))
	b.until("a CSV blob", `window.__blobs.length === 1`)
	text := value(b, "read the CSV", chromedp.Evaluate[string](`window.__blobs[0].text()`, func(p *runtime.EvaluateParams) { p.AwaitPromise = new(true) }))
	recs, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	if err != nil || len(recs) != 2 || recs[0][0] != "kommune" || recs[1][0] != "0101" || recs[1][13] != "3" {
		t.Errorf("the CSV %q (%v); want the header and 0101, not ready, with 3 answers waiting", text, err)
	}
}

// value evaluates a JavaScript expression that yields a bool.
func (b *browser) value(expr string) bool {
	b.t.Helper()
	return value(b, expr, chromedp.Evaluate[bool](expr))
}
