package main

import (
	"archive/zip"
	"bufio"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/kp-efaktura/efaktura/pkg/efaktura"
)

// maxOccurs is how often the element at path may occur in a valid bundle,
// from the built-in element table: 1000 documents, 9999 lines a document.
func maxOccurs(path string) int {
	if d := efaktura.DefaultSchema().Lookup(path); d != nil && d.MaxOccurs > 0 {
		return d.MaxOccurs
	}
	return 1
}

// zipEntryName is the name of the bundle inside a --zip archive.
const zipEntryName = "bundle.xml"

func runSample(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("sample", "efaktura sample [--documents N] [--lines N] [--seed N] [--zip] [-o FILE]")
	maxDocuments, maxLines := maxOccurs("/INVOICES/DOCUMENT"), maxOccurs("/INVOICES/DOCUMENT/LINE")
	documents := fs.Int("documents", 1, fmt.Sprintf("number of documents in the bundle (1 to %d)", maxDocuments))
	lines := fs.Int("lines", 10, fmt.Sprintf("number of lines per document (1 to %d)", maxLines))
	seed := fs.Int64("seed", 1, "seed of the generator; the same seed gives the same bundle")
	zipped := fs.Bool("zip", false, "write a ZIP archive holding the bundle as "+zipEntryName)
	output := fs.String("o", "", "write to `file` instead of standard output")
	operands, err := fs.parse(args, stdout, stderr)
	if err != nil {
		return parseStatus(err)
	}
	switch {
	case len(operands) > 0:
		return fs.usageError(stderr, "takes no arguments; use -o FILE to name the output")
	case *documents < 1 || *documents > maxDocuments:
		return fs.usageError(stderr, "--documents must be 1 to %d, not %d", maxDocuments, *documents)
	case *lines < 1 || *lines > maxLines:
		return fs.usageError(stderr, "--lines must be 1 to %d, not %d", maxLines, *lines)
	}

	b := efaktura.Sample(efaktura.SampleOptions{Documents: *documents, LinesPerDocument: *lines, Seed: *seed})
	if *output == "" {
		if err := writeSample(stdout, b, *zipped); err != nil {
			fmt.Fprintf(stderr, "efaktura sample: %v\n", err)
			return exitError
		}
		return exitOK
	}
	if err := writeSampleFile(*output, b, *zipped); err != nil {
		fmt.Fprintf(stderr, "efaktura sample: %v\n", err)
		return exitError
	}
	return exitOK
}

// writeSampleFile writes the bundle to path, removing a partial file on error.
func writeSampleFile(path string, b *efaktura.Bundle, zipped bool) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	if err := writeSample(f, b, zipped); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// writeSample writes the bundle as XML, or as a ZIP archive holding it.
func writeSample(w io.Writer, b *efaktura.Bundle, zipped bool) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if zipped {
		zw := zip.NewWriter(bw)
		entry, err := zw.Create(zipEntryName)
		if err != nil {
			return err
		}
		if err := efaktura.Write(entry, b); err != nil {
			return err
		}
		if err := zw.Close(); err != nil {
			return err
		}
	} else if err := efaktura.Write(bw, b); err != nil {
		return err
	}
	return bw.Flush()
}
