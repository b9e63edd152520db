package ingest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kp-efaktura/efaktura/pkg/efaktura"
)

// rawUpload is a POST /v1/bundles written by hand on a TCP connection, so a
// test controls when each byte of the body is sent.
type rawUpload struct {
	t    *testing.T
	conn net.Conn
}

// startUpload sends the request's headers: with a Content-Length when
// length >= 0, chunked otherwise.
func (f *fixture) startUpload(t *testing.T, token, contentType string, length int64) *rawUpload {
	t.Helper()
	u, _ := url.Parse(f.srv.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	framing := "Transfer-Encoding: chunked"
	if length >= 0 {
		framing = fmt.Sprintf("Content-Length: %d", length)
	}
	if _, err := fmt.Fprintf(conn, "POST /v1/bundles HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\n%s\r\n\r\n",
		u.Host, token, contentType, framing); err != nil {
		t.Fatal(err)
	}
	return &rawUpload{t: t, conn: conn}
}

func (u *rawUpload) send(b []byte) error {
	_, err := u.conn.Write(b)
	return err
}

// response reads the answer. The deadline only keeps a broken test from
// hanging; nothing is judged by time.
func (u *rawUpload) response() (int, http.Header, map[string]any) {
	u.t.Helper()
	u.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(u.conn), nil)
	if err != nil {
		u.t.Fatalf("read the response: %v", err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, resp.Header, out
}

// inProgress is how many requests of the token of kommune are in
// progress, as the per-token limit counts them.
func (f *fixture) inProgress(kommune string) int {
	l := f.w.limits
	l.mu.Lock()
	defer l.mu.Unlock()
	if t := l.byToken[kommune+"/erp-"+kommune]; t != nil {
		return t.uploads
	}
	return 0
}

// TestSlowUploadIsCutWhileOthersGoOn: an upload that stalls, or trickles
// below MinUploadRate, ends with 408, and holds no intake turn meanwhile:
// with a single turn, another bundle is accepted while the slow ones hang
// (issue 9: two connections at 100 bytes/s made every bundle wait 10 s and
// get 503).
func TestSlowUploadIsCutWhileOthersGoOn(t *testing.T) {
	f := setup(t, Config{MaxConcurrent: 1, SlotWait: time.Millisecond, MinUploadRate: 1000, UploadWindow: time.Second})
	bundle := example(t, "valid-invoice.xml")

	stalled := f.startUpload(t, "erp-token", "application/xml", int64(len(bundle)))
	if err := stalled.send(bundle[:100]); err != nil {
		t.Fatal(err)
	}
	trickle := f.startUpload(t, "erp-token", "application/xml", int64(len(bundle)))
	stop := make(chan struct{})
	trickled := make(chan struct{})
	go func() { // 100 bytes a second, a tenth of the minimum
		defer close(trickled)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < len(bundle); i += 10 {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if trickle.send(bundle[i:min(i+10, len(bundle))]) != nil {
				return
			}
		}
	}()
	defer func() { close(stop); <-trickled }()
	waitFor(t, func() bool { return f.inProgress("0101") == 2 })

	if code, body := f.post(t, "erp-token", bundle); code != http.StatusAccepted {
		t.Fatalf("a bundle sent while two uploads hang: %d %v, want 202", code, body)
	}
	for name, u := range map[string]*rawUpload{"stalled": stalled, "trickling": trickle} {
		code, _, body := u.response()
		if code != http.StatusRequestTimeout || !strings.Contains(toJSON(body), "slower than 1000 bytes a second") {
			t.Errorf("%s upload: %d %v, want 408 saying the minimum rate", name, code, body)
		}
	}
	waitFor(t, func() bool { return f.inProgress("0101") == 0 })
}

// TestUploadAtTheRateIsTakenIn: an upload slower than the window but at
// the minimum rate is not cut.
func TestUploadAtTheRateIsTakenIn(t *testing.T) {
	f := setup(t, Config{MinUploadRate: 2000, UploadWindow: 500 * time.Millisecond})
	bundle := example(t, "valid-bundle-3-documents.xml")
	u := f.startUpload(t, "erp-token", "application/xml", int64(len(bundle)))
	go func() { // about 5 KB a second, over about 2 s
		for i := 0; i < len(bundle); i += 500 {
			if u.send(bundle[i:min(i+500, len(bundle))]) != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	if code, _, body := u.response(); code != http.StatusAccepted {
		t.Errorf("upload at 5 KB/s with a minimum of 2 KB/s: %d %v, want 202", code, body)
	}
}

// zeros is an endless body that starts like a ZIP archive and costs no
// memory.
type zeros struct{ started bool }

func (z *zeros) Read(p []byte) (int, error) {
	clear(p)
	if !z.started && len(p) >= 4 {
		copy(p, "PK\x03\x04")
		z.started = true
	}
	return len(p), nil
}

// TestHugeBodyIsRefused: a 110 MB body streamed without a length is
// spooled up to the 100 MB ZIP limit and refused with 413; one that
// declares its length is refused before it is read. The spool is gone
// afterwards. (How much memory this costs is BenchmarkIntakeMemory's
// question.)
func TestHugeBodyIsRefused(t *testing.T) {
	dir := t.TempDir()
	f := setup(t, Config{SpoolDir: dir})

	u := f.startUpload(t, "erp-token", "application/zip", -1)
	go func() {
		w := bufio.NewWriterSize(u.conn, 1<<20)
		chunk := make([]byte, 1<<20)
		z := &zeros{}
		for range 110 {
			z.Read(chunk)
			fmt.Fprintf(w, "%x\r\n", len(chunk))
			w.Write(chunk)
			if _, err := w.WriteString("\r\n"); err != nil {
				return // the server hung up after its answer
			}
		}
		w.WriteString("0\r\n\r\n")
		w.Flush()
	}()
	code, _, body := u.response()
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(toJSON(body), fmt.Sprintf("%d bytes", efaktura.DefaultMaxZipBytes)) {
		t.Errorf("110 MB streamed: %d %v, want 413 naming the 100 MB limit", code, body)
	}

	declared := f.startUpload(t, "erp-token", "application/zip", 110_000_000)
	if code, _, body := declared.response(); code != http.StatusRequestEntityTooLarge {
		t.Errorf("110 MB declared: %d %v, want 413", code, body)
	}
	waitFor(t, func() bool { return f.inProgress("0101") == 0 })
	if left, err := os.ReadDir(dir); err != nil || len(left) != 0 {
		t.Errorf("spool dir holds %v (%v); want nothing", left, err)
	}
}

// TestBrokenUploadFreesItsPlace: an upload whose connection closes
// half-way frees its place among the token's uploads.
func TestBrokenUploadFreesItsPlace(t *testing.T) {
	f := setup(t, Config{})
	bundle := example(t, "valid-invoice.xml")
	u := f.startUpload(t, "erp-token", "application/xml", int64(len(bundle)))
	if err := u.send(bundle[:100]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return f.inProgress("0101") == 1 })
	u.conn.Close()
	waitFor(t, func() bool { return f.inProgress("0101") == 0 })
	if code, body := f.post(t, "erp-token", bundle); code != http.StatusAccepted {
		t.Errorf("the bundle sent whole afterwards: %d %v, want 202", code, body)
	}
}
