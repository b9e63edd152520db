package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
)

var deskScreenshots = flag.String("screenshots", "",
	"`directory` where TestDeskInBrowser writes its screenshots of the desk (desk-login.png, desk-queue.png, desk-document.png; TestAgreementsPageInBrowser desk-agreements.png), e.g. ../../../../docs; none when empty")

// axeDir holds the pinned axe-core (its README says which and how to update).
const axeDir = "testdata/axe-core-4.14.1"

// chromiumPath is Debian's chromium, or EFAKTURA_CHROMIUM.
func chromiumPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("EFAKTURA_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(p); err != nil {
		t.Fatalf("the desk's browser test needs Chromium at %s (or EFAKTURA_CHROMIUM): %v.\n"+
			"Install Debian's package: apt-get install -y chromium (make test and .ci/run do it through .ci/system-deps)", p, err)
	}
	return p
}

// browser is a headless Chromium of its own, with a fresh profile, until the
// test ends. It records what the page logs: uncaught exceptions and the
// browser's own errors (a script or style the CSP refused, say).
type browser struct {
	t   *testing.T
	ctx context.Context
	mu  sync.Mutex
	// problems are the page's exceptions and the browser's error entries.
	problems []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	exe := chromiumPath(t)
	profile := t.TempDir() // removed after the browser has stopped (cleanups run last in, first out)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe), chromedp.UserDataDir(profile),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("lang", "da-DK"), chromedp.WindowSize(1280, 860),
	)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelTab(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx}
	if err := chromedp.Do(ctx); err != nil { // starts the browser and opens the tab
		t.Fatalf("start Chromium (%s): %v", exe, err)
	}
	err := chromedp.Listen(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			b.problems = append(b.problems, fmt.Sprintf("exception: %s (%s:%d)", msg, d.URL, d.LineNumber))
		case *log.EventEntryAdded:
			e := ev.Entry
			// A refused request (401, 409) is the network's business: the
			// test checks what the desk makes of it.
			if e.Level == log.EntryLevelError && e.Source != log.EntrySourceNetwork {
				b.problems = append(b.problems, fmt.Sprintf("%s: %s (%s)", e.Source, e.Text, e.URL))
			}
		}
	})
	if err == nil {
		_, err = chromedp.Call(ctx, log.Enable, cdp.Empty{})
	}
	if err == nil {
		_, err = chromedp.Call(ctx, runtime.Enable, cdp.Empty{})
	}
	if err != nil {
		t.Fatalf("listen to Chromium's log: %v", err)
	}
	return b
}

// run runs steps, failing the test with what on an error.
func (b *browser) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail(what, err)
	}
}

// value runs one action and returns its value, failing the test with what
// on an error.
func value[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.fail(what, err)
	}
	return v
}

func (b *browser) fail(what string, err error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
	b.t.Fatalf("%s: %v\nthe page's main:\n%s\nthe page logged: %v", what, err, html, b.logged())
}

func (b *browser) logged() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.problems)
}

// text returns the text of the first element sel matches, now.
func (b *browser) text(sel string) string {
	return value(b, "read "+sel, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
}

// until waits, up to 30 seconds, until the JavaScript expression cond is true.
func (b *browser) until(what, cond string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		b.fail(fmt.Sprintf("waiting for %s (%s)", what, cond), err)
	}
}

// axeViolation is one rule axe-core found broken.
type axeViolation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"`
	Help    string `json:"help"`
	HelpURL string `json:"helpUrl"`
	Nodes   []struct {
		Target         []any  `json:"target"`
		HTML           string `json:"html"`
		FailureSummary string `json:"failureSummary"`
	} `json:"nodes"`
}

// axe runs axe-core's WCAG 2.0 and 2.1 A and AA rules on the page and
// fails the test on any violation, whatever its impact: the README says
// the desk has none, and a minor one let through would go unnoticed in a
// log line.
func (b *browser) axe(page string) {
	b.t.Helper()
	src, err := os.ReadFile(filepath.Join(axeDir, "axe.min.js"))
	if err != nil {
		b.t.Fatal(err)
	}
	if !value(b, "look for axe", chromedp.Evaluate[bool](`typeof window.axe === 'object'`)) {
		// Evaluated through the DevTools protocol, which the page's CSP does
		// not govern: the desk itself never allows an inline script.
		value(b, "inject axe-core", chromedp.Evaluate[bool](string(src)+"\n;true"))
	}
	type result struct {
		Violations []axeViolation `json:"violations"`
	}
	res := value(b, "axe.run on the "+page+" page", chromedp.Evaluate[result](`axe.run(document, {
		runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
		resultTypes: ['violations']}).then(r => ({violations: r.violations}))`,
		func(p *runtime.EvaluateParams) { p.AwaitPromise = new(true) }))
	for _, v := range res.Violations {
		detail, _ := json.MarshalIndent(v, "  ", "  ")
		b.t.Errorf("axe-core on the %s page: %s violation %s: %s\n  %s", page, v.Impact, v.ID, v.Help, detail)
	}
	b.t.Logf("axe-core on the %s page: %d violations", page, len(res.Violations))
}

// screenshot writes the viewport as name.png under -screenshots, if given.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	if *deskScreenshots == "" {
		return
	}
	// The page down to 1500 pixels: the viewport grown to the page's height
	// for the shot, with a cap that keeps the file small.
	height := min(1500, value(b, "measure the page", chromedp.Evaluate[int64](`document.documentElement.scrollHeight`)))
	b.run("grow the viewport", chromedp.EmulateViewport(1280, height))
	png := value(b, "screenshot "+name, chromedp.CaptureScreenshot())
	b.run("restore the viewport", chromedp.EmulateReset())
	p := filepath.Join(*deskScreenshots, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("wrote %s (%d KB)", p, len(png)/1024)
}

// TestDeskInBrowser drives the caseworker's desk in headless Chromium
// against a real all-in-one: log in, find the format's example invoice by
// its supplier, read it, reject it with a reason, approve two others at
// once, and find the three answers at the ERP simulator. axe-core checks
// the log-in, queue and document pages. With -screenshots DIR it also
// writes the three screens for the README (nothing otherwise, so make
// test leaves the tree as it was).
func TestDeskInBrowser(t *testing.T) {
	s := startUp(t, false)
	// The browser after the system, so that it closes first: a connection
	// it opened ahead (Chromium preconnects) would hold up's shutdown.
	b := newBrowser(t)
	for _, f := range []string{"valid-invoice.xml", "valid-bundle-3-documents.xml"} {
		if code, body := s.post(f); code != 202 {
			t.Fatalf("POST %s: %d %s", f, code, body)
		}
	}
	bustest.Eventually(t, "four documents awaiting a verdict", func() error {
		return is(len(s.documents("awaiting_verdict")), 4)
	})
	deskScenario(t, b, s, s.base)
}

// deskScenario is TestDeskInBrowser's walk through the desk at base, which
// serves s's API.
func deskScenario(t *testing.T, b *browser, s *system, base string) {
	// Log in: first with a wrong token, which the desk refuses in Danish.
	b.run("open the desk", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("token")))
	b.until("the log-in heading focused", `document.activeElement && document.activeElement.tagName === 'H1'`)
	if lang := b.attr("html", "lang"); lang != "da" {
		t.Errorf(`<html lang=%q>, want "da"`, lang)
	}
	b.axe("log-in")
	b.screenshot("desk-login")
	b.run("log in with a wrong token",
		chromedp.SendKeys(chromedp.ID("token"), "wrong-token"), chromedp.Click(chromedp.ID("login-submit")))
	b.until("the wrong token refused", `(document.querySelector('#login-messages')?.textContent || '').includes('forkert')`)
	b.clear("#token")
	b.run("log in", chromedp.SendKeys(chromedp.ID("token"), "case-t"),
		chromedp.Click(chromedp.ID("login-submit")))
	b.until("the queue with four documents", `document.querySelectorAll('#queue tbody tr[data-id]').length === 4`)
	stored := value(b, "read the session", chromedp.Evaluate[string](`sessionStorage.getItem('efaktura.desk.token')`))
	href := value(b, "read the location", chromedp.Location())
	if stored != "case-t" || strings.Contains(href, "case-t") {
		t.Errorf("token in sessionStorage %q, location %s: want it stored, and never in the URL", stored, href)
	}
	if who := b.text("#who"); !strings.Contains(who, "demo") && !strings.Contains(who, "0101") {
		t.Errorf("the header says %q of who is logged in", who)
	}
	b.axe("queue")
	b.screenshot("desk-queue")

	// Find the example invoice by its supplier.
	b.run("search for the supplier",
		chromedp.SendKeys(chromedp.ID("filter-q"), "Østbyens Hjælpemidler ApS"),
		chromedp.Click(chromedp.ID("filter-submit")))
	b.until("one document found", `(() => {
		const rows = document.querySelectorAll('#queue tbody tr[data-id]');
		return rows.length === 1 && rows[0].textContent.includes('Østbyens Hjælpemidler ApS') && rows[0].textContent.includes('F-2025-0412');
	})()`)
	if row := b.text("#queue tbody tr[data-id]"); !strings.Contains(row, "4.431,25") || !strings.Contains(row, "02.07.2025") {
		t.Errorf("the queue's row of F-2025-0412 reads %q; want the amount 4.431,25 and the due date 02.07.2025", row)
	}
	b.run("open the invoice", chromedp.Click(chromedp.CSS("#queue tbody tr[data-id] a.doc-link")))
	b.until("the invoice rendered", `!!document.querySelector('#invoice-total')`)
	b.until("the document heading focused", `document.activeElement && document.activeElement.tagName === 'H1'`)
	if total := b.text("#invoice-total"); !strings.Contains(total, "4.431,25") {
		t.Errorf("the rendered total is %q, want 4.431,25", total)
	}
	if due := b.text("#invoice-due"); due != "02.07.2025" {
		t.Errorf("the rendered due date is %q, want 02.07.2025", due)
	}
	page := b.text("#invoice")
	for _, want := range []string{"Østbyens Hjælpemidler ApS", "Kærholm Kommune", "Leveres til", "Rollator, letvægt", "3.500,00", "886,25", "+71<000000202504122+81234567<", "010100-****"} {
		if !strings.Contains(page, want) {
			t.Errorf("the rendered invoice lacks %q", want)
		}
	}
	if strings.Contains(page, "0101001234") {
		t.Error("the rendered invoice shows the CPR number before it was asked to")
	}
	// Forløb: the document's way through the workers, a lane per worker.
	b.until("the flow rendered", `document.querySelectorAll('#flow-table tbody tr').length >= 2`)
	lanes := value(b, "read the flow's lanes", chromedp.Evaluate[[]string](
		`[...document.querySelectorAll('#flow-table tbody tr')].map(tr => tr.querySelector('.flow-here .flow-dot')?.getAttribute('aria-label') + ':' + tr.cells[tr.cells.length - 2].textContent)`))
	if len(lanes) < 2 || lanes[0] != "Modtagelse:Modtaget" || lanes[1] != "Validering:Valideret" {
		t.Errorf("the flow's steps are %q; want Modtaget in the lane Modtagelse, then Valideret in Validering", lanes)
	}
	if trace := b.text("#flow-trace"); len(trace) != 32 {
		t.Errorf("the flow's trace id is %q; want 32 hex digits", trace)
	}
	b.axe("document")
	b.screenshot("desk-document")

	// Reject it: r opens the dialog; a reason code and a text.
	b.run("press r", chromedp.KeyEvent("r"))
	b.until("the reject dialog open, its reason picker focused",
		`document.querySelector('#reject-modal').getAttribute('aria-hidden') === 'false' && document.activeElement.id === 'reject-code'`)
	b.run("fill in the rejection",
		chromedp.SetValue(chromedp.ID("reject-code"), "PRI"),
		chromedp.SendKeys(chromedp.ID("reject-text"), "Prisen svarer ikke til rammeaftalen."),
		chromedp.Click(chromedp.ID("reject-submit")))
	b.until("the document rejected", `(document.querySelector('#doc-verdict')?.textContent || '').includes('Afvist af demo')`)
	if v := b.text("#doc-verdict"); !strings.Contains(v, "PRI") || !strings.Contains(v, "Prisen svarer ikke til rammeaftalen.") {
		t.Errorf("the verdict reads %q; want the reason code and text", v)
	}

	// Back to the list, all of it: approve two at once.
	b.run("back to the list", chromedp.Click(chromedp.CSS("a.back-link")))
	b.run("wait for the list", chromedp.WaitVisible(chromedp.ID("filter-q")))
	b.clear("#filter-q")
	b.run("clear the search", chromedp.Click(chromedp.ID("filter-submit")))
	b.until("the three documents left", `document.querySelectorAll('#queue tbody tr[data-id] input[type=checkbox]').length === 3`)
	ids := value(b, "read the rows", chromedp.Evaluate[[]string](`[...document.querySelectorAll('#queue tbody tr[data-id]')].map(tr => tr.dataset.id)`))
	for _, id := range ids[:2] {
		b.run("select "+id, chromedp.Click(chromedp.CSS(`label[for="sel-`+id+`"]`)))
	}
	b.until("two selected", `document.querySelector('#approve-selected').textContent.includes('(2)')`)
	b.run("approve the selected", chromedp.Click(chromedp.ID("approve-selected")))
	b.until("two approved", `(document.querySelector('#bulk-result')?.textContent || '').includes('2 dokumenter er godkendt')`)
	if n := len(b.logged()); n > 0 {
		t.Errorf("the page logged %d problems: %v", n, b.logged())
	}

	// The three answers reach the economy system.
	bustest.Eventually(t, "three answers at the ERP simulator", func() error { return is(len(s.answers()), 3) })
	decisions := map[string]string{}
	for _, a := range s.answers() {
		decisions[a.Answer.ReceiptNo] = a.Answer.Decision
	}
	if decisions["OEH-2025-000412"] != "rejected" {
		t.Errorf("the example invoice's answer: %q, want rejected (answers %v)", decisions["OEH-2025-000412"], decisions)
	}
	approved := 0
	for _, d := range decisions {
		if d == "approved" {
			approved++
		}
	}
	if approved != 2 {
		t.Errorf("answers %v: want two approved", decisions)
	}

	// The agreements no longer both approved: a banner says decisions are
	// kept and answers wait.
	if code, body := s.do("PUT", "/v1/tenants/0101/agreements/bagside", "admin-t", []byte(`{"state":"withdrawn"}`)); code != 200 {
		t.Fatalf("bagside withdrawn: %d %s", code, body)
	}
	b.run("reload the desk", chromedp.Reload())
	b.until("the agreements banner", `(document.querySelector('#agreements-banner')?.textContent || '').includes('svarene sendes først, når begge aftaler er godkendt')`)

	// Another caseworker decides the last document first: approving it in
	// the desk says who did and what, and nothing else is decided.
	b.until("the last document listed", `document.querySelectorAll('#queue tbody tr[data-id] a.doc-link').length === 1`)
	last := value(b, "read the last row", chromedp.Evaluate[string](`document.querySelector('#queue tbody tr[data-id]').dataset.id`))
	b.run("open the last document", chromedp.Click(chromedp.CSS("#queue tbody tr[data-id] a.doc-link")))
	b.run("wait for its approve button", chromedp.WaitVisible(chromedp.ID("approve")))
	if code, body := s.verdict(last, `{"decision":"reject","reasons":[{"code":"QTY","text":"forkert antal"}]}`); code != 200 {
		t.Fatalf("reject %s over the API: %d %s", last, code, body)
	}
	b.run("approve in the desk", chromedp.Click(chromedp.ID("approve")))
	b.until("the conflict explained", `(document.querySelector('#doc-messages')?.textContent || '').includes('En anden har afgjort dokumentet først')`)
	if msg := b.text("#doc-messages"); !strings.Contains(msg, "Afvist af demo-caseworker") {
		t.Errorf("the conflict reads %q; want who decided first and what (Afvist af demo-caseworker)", msg)
	}
	if n := len(b.logged()); n > 0 {
		t.Errorf("the page logged %d problems: %v", n, b.logged())
	}
}

// clear empties the field sel matches, as selecting its text and deleting
// it would.
func (b *browser) clear(sel string) {
	b.t.Helper()
	value(b, "clear "+sel, chromedp.Evaluate[bool](`(() => { const el = document.querySelector(`+"`"+sel+"`"+`); el.value = ''; el.dispatchEvent(new Event('input', {bubbles: true})); return true; })()`))
}

// attr returns attribute name of the first element sel matches.
func (b *browser) attr(sel, name string) string {
	return value(b, "read "+sel+"'s "+name, chromedp.AttributeValue(chromedp.CSS(sel), name)).Value
}
