package efaktura

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"golang.org/x/text/encoding/charmap"
)

// The benchmarks' inputs: a 10-line invoice, a 1000-document bundle of about
// 30 MB, and a bundle of about 45 MB, the plain-file limit, for peak memory.
var benchBundles = sync.OnceValue(func() map[string][]byte {
	out := map[string][]byte{}
	for name, o := range map[string]SampleOptions{
		"invoice-10-lines": {Documents: 1, LinesPerDocument: 10, Seed: 1},
		"bundle-1000-docs": {Documents: 1000, LinesPerDocument: 40, Seed: 1},
		"bundle-45MB":      {Documents: 1000, LinesPerDocument: 63, Seed: 1},
	} {
		b, err := Sample(o).Bytes()
		if err != nil {
			panic(err)
		}
		out[name] = b
	}
	return out
})

func benchmarkValidate(b *testing.B, name string) {
	data := benchBundles()[name]
	opts := Options{Senders: exampleSenders()}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := Validate(context.Background(), bytes.NewReader(data), opts)
		if err != nil || !res.Valid {
			b.Fatalf("Validate: valid %v, err %v", res != nil && res.Valid, err)
		}
	}
}

// BenchmarkValidate runs full validation of a 10-line invoice and of a
// 1000-document bundle from memory. Peak memory is BenchmarkPeakRSS's: in
// this process the heap mostly reflects the GC's pacing over the inputs.
func BenchmarkValidate(b *testing.B) {
	b.Run("invoice-10-lines", func(b *testing.B) { benchmarkValidate(b, "invoice-10-lines") })
	b.Run("bundle-1000-docs", func(b *testing.B) { benchmarkValidate(b, "bundle-1000-docs") })
}

// BenchmarkBaseline measures, on the 1000-document bundle, what validation
// is compared with: xmllint --noout (libxml2's well-formedness check, run as
// a process, so its start-up is included) and a bare encoding/xml token loop,
// which shows why the reader has its own tokenizer.
func BenchmarkBaseline(b *testing.B) {
	data := benchBundles()["bundle-1000-docs"]
	b.Run("xmllint-noout", func(b *testing.B) {
		path, err := exec.LookPath("xmllint")
		if err != nil {
			b.Fatal("xmllint is not installed: run .ci/system-deps or apt-get install libxml2-utils; without it there is no comparison figure")
		}
		file := filepath.Join(b.TempDir(), "bundle.xml")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if out, err := exec.Command(path, "--noout", file).CombinedOutput(); err != nil {
				b.Fatalf("xmllint: %v: %s", err, out)
			}
		}
	})
	b.Run("encoding-xml-tokens", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			d := xml.NewDecoder(bytes.NewReader(data))
			d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return charmap.ISO8859_1.NewDecoder().Reader(r), nil }
			for {
				if _, err := d.RawToken(); err != nil {
					if !errors.Is(err, io.EOF) {
						b.Fatal(err)
					}
					break
				}
			}
		}
	})
}

// BenchmarkPeakRSS validates the 45 MB bundle in a child process (this test
// binary, see TestMain) and reports the child's peak resident set size.
func BenchmarkPeakRSS(b *testing.B) {
	data := benchBundles()["bundle-45MB"]
	file := filepath.Join(b.TempDir(), "bundle.xml")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	var rss int64
	for b.Loop() {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "EFAKTURA_BENCH_VALIDATE="+file)
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("child: %v", err)
		}
		// The child reports its own VmHWM: the parent's rusage would count
		// the memory the child shared with it before exec.
		var kib int64
		if _, err := fmt.Sscan(string(out), &kib); err != nil {
			b.Fatalf("child output %q: %v", out, err)
		}
		rss = max(rss, kib)
	}
	b.ReportMetric(float64(rss)/1024, "peak-RSS-MB")
	b.ReportMetric(float64(len(data))/(1<<20), "file-MB")
}

// TestMain lets BenchmarkPeakRSS run this binary as a plain validator.
func TestMain(m *testing.M) {
	if file := os.Getenv("EFAKTURA_BENCH_VALIDATE"); file != "" {
		os.Exit(validateForRSS(file))
	}
	os.Exit(m.Run())
}

func validateForRSS(file string) int {
	f, err := os.Open(file)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer f.Close()
	res, err := Validate(context.Background(), f, Options{Senders: exampleSenders()})
	if err != nil || !res.Valid {
		fmt.Fprintln(os.Stderr, "not valid:", err, describe(res))
		return 1
	}
	runtime.KeepAlive(res)
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fmt.Println(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return 0
		}
	}
	fmt.Fprintln(os.Stderr, "no VmHWM in /proc/self/status")
	return 2
}
