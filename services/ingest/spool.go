package ingest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
)

// Spools keep small bundles in memory: creating, unlinking and closing a
// temporary file per upload and per accepted bundle cost about 7 % of the
// CPU per document at full load (issue 17). Memory stays bounded (issue 9):
// a spool holds at most spoolMemoryEach bytes in memory, all spools of a
// worker together at most spoolMemoryTotal; a spool that would go over
// moves to a file in Config.SpoolDir.
const (
	spoolMemoryEach  = 1 << 20
	spoolMemoryTotal = 8 << 20
)

// memoryBudget is the bytes a worker's spools may still take in memory.
type memoryBudget struct{ left atomic.Int64 }

func newMemoryBudget(n int64) *memoryBudget {
	b := &memoryBudget{}
	b.left.Store(n)
	return b
}

// take reserves n bytes, or reports that they are not there.
func (b *memoryBudget) take(n int64) bool {
	if b.left.Add(-n) >= 0 {
		return true
	}
	b.left.Add(n)
	return false
}

func (b *memoryBudget) give(n int64) { b.left.Add(n) }

// spool holds bytes written once and then read at random: in memory while
// they fit the budget, else in a temporary file. Its errors are the file's;
// callers wrap them in errSpool. It is not safe for concurrent use.
type spool struct {
	dir, pattern string
	budget       *memoryBudget
	first        int    // bytes to take first: the expected size, if known
	mem          []byte // the bytes while in memory; cap(mem) is taken from budget

	f     *spoolFile // once the bytes moved to a file
	w     *bufio.Writer
	size  int64
	dirty bool // w holds bytes not yet in f
}

// newSpool returns an empty spool; size is how many bytes are expected, 0
// if not known.
func newSpool(dir, pattern string, budget *memoryBudget, size int64) *spool {
	first := 64 << 10
	if size > 0 {
		first = int(min(size, spoolMemoryEach))
	}
	return &spool{dir: dir, pattern: pattern, budget: budget, first: first}
}

func (s *spool) Write(p []byte) (int, error) {
	if s.f == nil {
		if s.grow(len(p)) {
			s.mem = append(s.mem, p...)
			s.size += int64(len(p))
			return len(p), nil
		}
		if err := s.spill(); err != nil {
			return 0, err
		}
	}
	n, err := s.w.Write(p)
	s.size += int64(n)
	s.dirty = true
	return n, err
}

// grow makes room in mem for n more bytes, within the budget.
func (s *spool) grow(n int) bool {
	need := len(s.mem) + n
	if need <= cap(s.mem) {
		return true
	}
	if need > spoolMemoryEach {
		return false
	}
	c := min(max(2*cap(s.mem), need, s.first), spoolMemoryEach)
	if !s.budget.take(int64(c - cap(s.mem))) {
		return false
	}
	m := make([]byte, len(s.mem), c)
	copy(m, s.mem)
	s.mem = m
	return true
}

// spill moves the bytes in memory to a file, which takes every later write.
func (s *spool) spill() error {
	f, err := newSpoolFile(s.dir, s.pattern)
	if err != nil {
		return err
	}
	s.f, s.w = f, bufio.NewWriterSize(f, 256<<10)
	_, err = s.w.Write(s.mem)
	s.dirty = true
	s.budget.give(int64(cap(s.mem)))
	s.mem = nil
	return err
}

func (s *spool) ReadAt(p []byte, off int64) (int, error) {
	if s.f == nil {
		if off >= int64(len(s.mem)) {
			return 0, io.EOF
		}
		n := copy(p, s.mem[off:])
		if n < len(p) {
			return n, io.EOF
		}
		return n, nil
	}
	if s.dirty {
		if err := s.w.Flush(); err != nil {
			return 0, err
		}
		s.dirty = false
	}
	return s.f.ReadAt(p, off)
}

// Close frees the memory or removes the file.
func (s *spool) Close() error {
	if s.f == nil {
		s.budget.give(int64(cap(s.mem)))
		s.mem = nil
		return nil
	}
	return s.f.Close()
}

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
		return nil, err
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
// are published, in a spool: memory then does not grow with the bundle
// (issue 9; it held up to MaxUnzippedBytes before).
type documentFile struct{ s *spool }

// newDocumentFile returns an empty documentFile for a bundle of size bytes
// (more when zipped).
func (w *Worker) newDocumentFile(size int64) *documentFile {
	return &documentFile{s: newSpool(w.cfg.SpoolDir, "ingest-documents-*", w.spoolMemory, size)}
}

// add appends a document's bytes and says where they are.
func (d *documentFile) add(raw []byte) (span, error) {
	off := d.s.size
	n, err := d.s.Write(raw)
	s := span{off: off, n: int64(n)}
	if err != nil {
		return s, fmt.Errorf("%w: a document: %w", errSpool, err)
	}
	return s, nil
}

// read returns the bytes of the document at s.
func (d *documentFile) read(s span) ([]byte, error) {
	b := make([]byte, s.n)
	if _, err := d.s.ReadAt(b, s.off); err != nil {
		return nil, fmt.Errorf("%w: read a document: %w", errSpool, err)
	}
	return b, nil
}

// Close frees the documents' memory or file.
func (d *documentFile) Close() error { return d.s.Close() }
