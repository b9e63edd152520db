package events

import (
	"errors"
	"strings"
	"testing"
)

func TestRawSubject(t *testing.T) {
	got, err := RawSubject("0101", testBundle, 3)
	if want := "efaktura_bundle.0101." + testBundle + ".3"; err != nil || got != want {
		t.Errorf("RawSubject(0101, %s, 3) = %q, %v, want %q", testBundle, got, err, want)
	}
	filter, err := RawBundleFilter("0101", testBundle)
	if want := "efaktura_bundle.0101." + testBundle + ".*"; err != nil || filter != want {
		t.Errorf("RawBundleFilter(0101, %s) = %q, %v, want %q", testBundle, filter, err, want)
	}
	// Raw documents stay out of the other streams' subjects: JetStream lets
	// no two streams share one.
	for _, f := range append(StreamSubjects(), AnswerQueueSubjects) {
		if matches(f, got) || matches(f, filter) {
			t.Errorf("raw subject %q or filter %q falls under the event subject %q", got, filter, f)
		}
	}
	if !matches(RawSubjects, got) || !matches(RawSubjects, filter) {
		t.Errorf("raw subject %q or filter %q is not under RawSubjects %q", got, filter, RawSubjects)
	}
}

func TestRawSubjectErrors(t *testing.T) {
	tests := []struct {
		kommune, bundle string
		index           int
		want            error
	}{
		{"101", testBundle, 1, ErrKommune},
		{"*", testBundle, 1, ErrKommune},
		{"0101", "", 1, ErrInvalid},
		{"0101", "a.b", 1, ErrInvalid},
		{"0101", "*", 1, ErrInvalid},
		{"0101", ">", 1, ErrInvalid},
		{"0101", "a b", 1, ErrInvalid},
		{"0101", testBundle, 0, ErrInvalid},
		{"0101", testBundle, 1001, ErrInvalid},
	}
	for _, tt := range tests {
		if got, err := RawSubject(tt.kommune, tt.bundle, tt.index); !errors.Is(err, tt.want) {
			t.Errorf("RawSubject(%q, %q, %d) = %q, %v, want %v", tt.kommune, tt.bundle, tt.index, got, err, tt.want)
		}
	}
	if got, err := RawBundleFilter("0101", "a.b"); !errors.Is(err, ErrInvalid) {
		t.Errorf("RawBundleFilter(0101, a.b) = %q, %v, want %v", got, err, ErrInvalid)
	}
}

// matches reports whether the NATS subject filter f matches subject s
// ("*" one token, ">" the rest).
func matches(f, s string) bool {
	ft, st := strings.Split(f, "."), strings.Split(s, ".")
	for i, tok := range ft {
		switch {
		case tok == ">":
			return len(st) > i
		case i >= len(st):
			return false
		case tok != "*" && tok != st[i]:
			return false
		}
	}
	return len(ft) == len(st)
}
