package ingest

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus"
	"github.com/kp-efaktura/efaktura/pkg/natstest"
)

func TestConfigDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	want := Config{RawRetention: 90 * 24 * time.Hour, Lease: 2 * time.Minute, MaxUnzippedBytes: 64 << 20, MaxConcurrent: 2,
		SlotWait: 10 * time.Second, SpoolDir: c.SpoolDir, MinUploadRate: 16 << 10, UploadWindow: 10 * time.Second,
		MaxUploadsPerToken: 4, RatePerToken: 10, BurstPerToken: 200}
	if c != want || c.SpoolDir == "" {
		t.Errorf("Config{}.withDefaults() = %+v, want %+v", c, want)
	}
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("Config{}.Validate() = %v, want nil", err)
	}
}

// TestConfigValidateJoinsEveryProblem: Validate names each bad field at
// once.
func TestConfigValidateJoinsEveryProblem(t *testing.T) {
	c := Config{MaxConcurrent: -1, MinUploadRate: -5, UploadWindow: -time.Second, MaxUploadsPerToken: -1,
		RatePerToken: -1, BurstPerToken: -2, Lease: -time.Second, RawRetention: 500 * time.Millisecond,
		SpoolDir: filepath.Join(t.TempDir(), "missing")}
	err := c.Validate()
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("Validate() = %v, want ErrConfig", err)
	}
	for _, want := range []string{"max concurrent", "min upload rate", "upload window", "max uploads per token",
		"rate per token", "burst per token", "lease", "raw retention", "spool dir"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v; want it to name %q", err, want)
		}
	}
}

func TestNewRefusesAnInvalidConfig(t *testing.T) {
	nc := natstest.Connect(t, natstest.Start(t))
	b, err := bus.New(t.Context(), nc, bus.Config{Service: "ingest", Subjects: events.StreamSubjects()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(t.Context(), b, demo, nil, Config{MinUploadRate: -1}, slog.New(slog.DiscardHandler)); !errors.Is(err, ErrConfig) {
		t.Errorf("New with MinUploadRate -1 = %v, want ErrConfig", err)
	}
}

// TestConfigSpoolDirMustBeWritable: a spool dir in which no file can be
// created fails Validate, so the worker stops at start rather than at
// every bundle. (A read-only directory is not among the cases: tests may
// run as root, who writes anyway.)
func TestConfigSpoolDirMustBeWritable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{filepath.Join(t.TempDir(), "missing"), file} {
		if err := (Config{SpoolDir: dir}).Validate(); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "spool dir") {
			t.Errorf("Validate with SpoolDir %s = %v; want ErrConfig naming the spool dir", dir, err)
		}
	}
	dir := t.TempDir()
	if err := (Config{SpoolDir: dir}).Validate(); err != nil {
		t.Errorf("Validate with a writable SpoolDir = %v", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("Validate left %v in the spool dir", left)
	}
}
