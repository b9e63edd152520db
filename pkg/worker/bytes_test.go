package worker

import (
	"strings"
	"testing"
)

func TestParseBytes(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
	}{
		{"0", 0},
		{"1048576", 1 << 20},
		{"512B", 512},
		{"512MiB", 512 << 20},
		{"512mib", 512 << 20},
		{"20GB", 20e9},
		{"20 GB", 20e9},
		{" 20gb ", 20e9},
		{"1.5GiB", 3 << 29},
		{"2Gi", 2 << 30},
		{"3KB", 3000},
		{"3KiB", 3072},
		{"1TiB", 1 << 40},
		{"8TB", 8e12},
		{"0.5KB", 500},
		{"1.0001KB", 1000}, // rounded down to whole bytes
	} {
		got, err := ParseBytes(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseBytes(%q) = %d, %v, want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestParseBytesRefuses(t *testing.T) {
	for _, tt := range []struct{ in, why string }{
		{"", "size such as"},
		{"GB", "size such as"},
		{"-1GB", "size such as"},
		{"1.2.3GB", "size such as"},
		{"20G", "unit G is ambiguous: write GB for powers of 1000 or GiB for powers of 1024"},
		{"512m", "unit M is ambiguous"},
		{"20 gigabytes", "unknown unit"},
		{"1e9", "unknown unit"},
		{"9000000TiB", "too large"},
		{"9223372036854775808", "too large"},
	} {
		if got, err := ParseBytes(tt.in); err == nil || !strings.Contains(err.Error(), tt.why) {
			t.Errorf("ParseBytes(%q) = %d, %v, want an error saying %q", tt.in, got, err, tt.why)
		}
	}
}

func TestFormatBytesRoundTrips(t *testing.T) {
	for _, tt := range []struct {
		in   int64
		want string
	}{
		{0, "0"},
		{1500, "1500"},
		{512 << 20, "512MiB"},
		{20e9, "20GB"},
		{1 << 40, "1TiB"},
		{3 << 29, "1536MiB"},
	} {
		got := FormatBytes(tt.in)
		if got != tt.want {
			t.Errorf("FormatBytes(%d) = %q, want %q", tt.in, got, tt.want)
		}
		if back, err := ParseBytes(got); err != nil || back != tt.in {
			t.Errorf("ParseBytes(FormatBytes(%d)) = %d, %v", tt.in, back, err)
		}
	}
}

func TestEnvBytes(t *testing.T) {
	e := NewEnv(env(map[string]string{"GOOD": "2GiB", "BAD": "2G"}))
	if got := e.Bytes("GOOD", 1); got != 2<<30 {
		t.Errorf("Bytes(GOOD) = %d, want %d", got, 2<<30)
	}
	if got := e.Bytes("UNSET", 7); got != 7 {
		t.Errorf("Bytes(UNSET) = %d, want the default 7", got)
	}
	if got := e.Bytes("BAD", 7); got != 7 {
		t.Errorf("Bytes(BAD) = %d, want the default 7", got)
	}
	if err := e.Err(); err == nil || !strings.Contains(err.Error(), `BAD="2G": unit G is ambiguous`) {
		t.Errorf("Err() = %v, want one naming BAD and its value", err)
	}
}
