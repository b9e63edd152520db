package ingest

import (
	"archive/zip"
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus"
	"github.com/kp-efaktura/efaktura/pkg/efaktura"
	"github.com/kp-efaktura/efaktura/pkg/idem"
	"github.com/kp-efaktura/efaktura/pkg/natstest"
)

// memoryChildEnv makes this test binary run ingest alone (see TestMain):
// its value is the NATS URL.
const memoryChildEnv = "EFAKTURA_INGEST_MEMORY_CHILD"

// BenchmarkIntakeMemory measures how much ingest's resident memory grows
// while it takes in one large upload (issue 9: a streamed 110 MB ZIP took
// it to 300-380 MB). Ingest runs in a child process, this test binary with
// the default Config, against an embedded NATS server in the parent, so
// neither the server nor the client is counted. After a warm-up bundle, the
// child's peak resident set (VmHWM, which it reads from /proc/self/status)
// is the base; growth-MB is how far the upload raised it.
//
//	go test -run '^$' -bench IntakeMemory -benchtime 1x -count 3 ./services/ingest
//
// Linux only (/proc).
func BenchmarkIntakeMemory(b *testing.B) {
	dir := b.TempDir()
	bundle45 := filepath.Join(dir, "bundle-45MB.xml")
	data, err := efaktura.Sample(efaktura.SampleOptions{Documents: 1000, LinesPerDocument: 63, Seed: 1}).Bytes()
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(bundle45, data, 0o644); err != nil {
		b.Fatal(err)
	}
	data = nil
	zip100 := filepath.Join(dir, "stored-100MB.zip")
	writeStoredZip(b, zip100, efaktura.DefaultMaxZipBytes-1<<10)
	for _, c := range []struct {
		name, contentType string
		body              func() (io.Reader, int64) // the body and its length, -1 to send it chunked
		want              int
	}{
		{"zip-110MB-streamed", "application/zip", func() (io.Reader, int64) { return io.LimitReader(&zeros{}, 110<<20), -1 }, http.StatusRequestEntityTooLarge},
		// Within the ZIP limit; its content is not XML (400).
		{"zip-100MB-stored", "application/zip", fileBody(b, zip100), http.StatusBadRequest},
		{"xml-45MB-accepted", "application/xml", fileBody(b, bundle45), http.StatusAccepted},
	} {
		b.Run(c.name, func(b *testing.B) {
			var growth, peak float64
			for b.Loop() {
				child := startMemoryChild(b)
				body, n := c.body()
				if code := child.upload(b, c.contentType, body, n); code != c.want {
					b.Fatalf("upload: %d, want %d", code, c.want)
				}
				after := child.hwm(b)
				growth = max(growth, float64(after-child.base)/1024)
				peak = max(peak, float64(after)/1024)
				child.stop(b)
			}
			b.ReportMetric(growth, "growth-MB")
			b.ReportMetric(peak, "peak-RSS-MB")
		})
	}
}

func fileBody(b *testing.B, path string) func() (io.Reader, int64) {
	return func() (io.Reader, int64) {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { f.Close() })
		fi, err := f.Stat()
		if err != nil {
			b.Fatal(err)
		}
		return f, fi.Size()
	}
}

// writeStoredZip writes a ZIP archive of about size bytes holding one
// uncompressed file of zeros: just under the 100 MB limit.
func writeStoredZip(b *testing.B, path string, size int64) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "bundle.xml", Method: zip.Store})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(w, io.LimitReader(&zeros{started: true}, size-200)); err != nil {
		b.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
}

type memoryChild struct {
	cmd   *exec.Cmd
	stdin io.Closer
	addr  string
	base  int64 // VmHWM in KiB after the warm-up
}

func startMemoryChild(b *testing.B) *memoryChild {
	srv := natstest.Start(b)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), memoryChildEnv+"="+srv.ClientURL())
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("child: %v", err)
	}
	c := &memoryChild{cmd: cmd, stdin: stdin, addr: strings.TrimSpace(addr)}
	warm, err := os.Open("testdata/valid-bundle-3-documents.xml")
	if err != nil {
		b.Fatal(err)
	}
	defer warm.Close()
	fi, _ := warm.Stat()
	if code := c.upload(b, "application/xml", warm, fi.Size()); code != http.StatusAccepted {
		b.Fatalf("warm-up: %d", code)
	}
	c.base = c.hwm(b)
	return c
}

// upload posts body on a connection of its own, chunked when n < 0, and
// returns the status. The response is read while the body is still being
// written: ingest may answer 413 before the end.
func (c *memoryChild) upload(b *testing.B, contentType string, body io.Reader, n int64) int {
	conn, err := net.Dial("tcp", c.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	framing := "Transfer-Encoding: chunked"
	if n >= 0 {
		framing = "Content-Length: " + strconv.FormatInt(n, 10)
	}
	go func() {
		w := bufio.NewWriterSize(conn, 1<<20)
		fmt.Fprintf(w, "POST /v1/bundles HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer erp-token\r\nContent-Type: %s\r\n%s\r\n\r\n", c.addr, contentType, framing)
		if n >= 0 {
			io.Copy(w, body)
			w.Flush()
			return
		}
		chunk := make([]byte, 1<<20)
		for {
			k, err := io.ReadFull(body, chunk)
			if k > 0 {
				fmt.Fprintf(w, "%x\r\n", k)
				w.Write(chunk[:k])
				if _, err := w.WriteString("\r\n"); err != nil {
					return
				}
			}
			if err != nil {
				break
			}
		}
		w.WriteString("0\r\n\r\n")
		w.Flush()
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		b.Fatalf("upload: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// hwm asks the child for its VmHWM in KiB.
func (c *memoryChild) hwm(b *testing.B) int64 {
	resp, err := http.Get("http://" + c.addr + "/hwm")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	kib, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		b.Fatalf("child's VmHWM %q: %v", out, err)
	}
	return kib
}

func (c *memoryChild) stop(b *testing.B) {
	c.stdin.Close()
	if err := c.cmd.Wait(); err != nil {
		b.Fatalf("child: %v", err)
	}
}

// TestMain lets BenchmarkIntakeMemory run this binary as ingest alone.
func TestMain(m *testing.M) {
	if url := os.Getenv(memoryChildEnv); url != "" {
		if err := runMemoryChild(url); err != nil {
			fmt.Fprintln(os.Stderr, "ingest child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runMemoryChild serves POST /v1/bundles with the default Config (and the
// test's municipalities) and GET /hwm, prints its address, and runs until
// its standard input closes.
func runMemoryChild(url string) error {
	ctx := context.Background()
	nc, err := nats.Connect(url)
	if err != nil {
		return err
	}
	defer nc.Close()
	b, err := bus.New(ctx, nc, bus.Config{Service: "ingest", Subjects: events.StreamSubjects()}, bus.WithSubjects(events.SubjectOf))
	if err != nil {
		return err
	}
	store, err := idem.NewKV(ctx, b.JetStream(), idem.KVConfig{Bucket: "bundles_idem"})
	if err != nil {
		return err
	}
	w, err := New(ctx, b, demo, store, Config{}, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer w.Close(ctx)
	mux := http.NewServeMux()
	w.Routes(mux)
	mux.HandleFunc("GET /hwm", func(rw http.ResponseWriter, _ *http.Request) {
		status, err := os.ReadFile("/proc/self/status")
		if err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		for line := range strings.Lines(string(status)) {
			if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				fmt.Fprintln(rw, strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
				return
			}
		}
		http.Error(rw, "no VmHWM in /proc/self/status", http.StatusInternalServerError)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()
	fmt.Println(ln.Addr())
	io.Copy(io.Discard, os.Stdin)
	return nil
}
