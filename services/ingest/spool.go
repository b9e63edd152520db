package ingest

import (
	"bufio"
	"errors"
	"fmt"
	"os"
)

// spoolFile is a temporary file in Config.SpoolDir. It is unlinked as soon
// as it is created, so it lives until Close and a crash leaves nothing
// behind; where a file cannot be unlinked while open, Close removes it.
type spoolFile struct {
	*os.File
	name string // set while the file still has a name
}

func newSpoolFile(dir, pattern string) (*spoolFile, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errSpool, err)
	}
	s := &spoolFile{File: f}
	if err := os.Remove(f.Name()); err != nil {
		s.name = f.Name()
	}
	return s, nil
}

// Close closes and removes the file.
func (s *spoolFile) Close() error {
	err := s.File.Close()
	if s.name != "" {
		if rerr := os.Remove(s.name); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
	}
	return err
}

// span is where a document's bytes are in a [documentFile].
type span struct{ off, n int64 }

// documentFile keeps each document's own bytes from validation until they
// are published, on disk: memory then does not grow with the bundle
// (issue 9; it held up to MaxUnzippedBytes before).
type documentFile struct {
	f     *spoolFile
	w     *bufio.Writer
	size  int64
	dirty bool // w holds bytes not yet in f
}

func newDocumentFile(dir string) (*documentFile, error) {
	f, err := newSpoolFile(dir, "ingest-documents-*")
	if err != nil {
		return nil, err
	}
	return &documentFile{f: f, w: bufio.NewWriterSize(f, 256<<10)}, nil
}

// add appends a document's bytes and says where they are.
func (d *documentFile) add(raw []byte) (span, error) {
	n, err := d.w.Write(raw)
	s := span{off: d.size, n: int64(n)}
	d.size += int64(n)
	d.dirty = true
	if err != nil {
		return s, fmt.Errorf("%w: a document: %w", errSpool, err)
	}
	return s, nil
}

// read returns the bytes of the document at s.
func (d *documentFile) read(s span) ([]byte, error) {
	if d.dirty {
		if err := d.w.Flush(); err != nil {
			return nil, fmt.Errorf("%w: a document: %w", errSpool, err)
		}
		d.dirty = false
	}
	b := make([]byte, s.n)
	if _, err := d.f.ReadAt(b, s.off); err != nil {
		return nil, fmt.Errorf("%w: read a document: %w", errSpool, err)
	}
	return b, nil
}

// Close removes the file.
func (d *documentFile) Close() error { return d.f.Close() }
