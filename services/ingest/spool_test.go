package ingest

import (
	"bytes"
	"io"
	"os"
	"testing"
)

// TestSpool: a spool keeps small contents in memory and moves larger ones
// to a file, reads back what was written either way, and returns its
// memory to the budget on Close.
func TestSpool(t *testing.T) {
	for _, c := range []struct {
		name   string
		size   int
		budget int64
		inFile bool
	}{
		{"small", 100 << 10, spoolMemoryTotal, false},
		{"over the spool's share", spoolMemoryEach + 1, spoolMemoryTotal, true},
		{"over the budget", 100 << 10, 64 << 10, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			budget := newMemoryBudget(c.budget)
			s := newSpool(dir, "test-*", budget, 0)
			want := bytes.Repeat([]byte("0123456789abcdef"), c.size/16+1)[:c.size]
			for rest := want; len(rest) > 0; rest = rest[min(len(rest), 7000):] {
				if _, err := s.Write(rest[:min(len(rest), 7000)]); err != nil {
					t.Fatal(err)
				}
			}
			if (s.f != nil) != c.inFile {
				t.Errorf("in a file: %t, want %t", s.f != nil, c.inFile)
			}
			got, err := io.ReadAll(io.NewSectionReader(s, 0, s.size))
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("read back %d bytes (%v), want the %d written", len(got), err, len(want))
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if left := budget.left.Load(); left != c.budget {
				t.Errorf("budget after Close: %d, want %d", left, c.budget)
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Errorf("spool dir holds %v after Close", left)
			}
		})
	}
}
