package respond_test

import (
	"slices"
	"testing"
	"time"

	"github.com/kp-efaktura/efaktura/services/respond"
)

func TestParkKey(t *testing.T) {
	for _, tc := range []struct {
		at   time.Time
		id   string
		want string
	}{
		{time.Unix(1767225600, 5), "6ea48c1b-c844-5346-bfba-9568204f41ca", "0101.01767225600000000005.6ea48c1b-c844-5346-bfba-9568204f41ca"},
		{time.Unix(0, 0), "a.b/c=d e*>", "0101.00000000000000000000.a_b_c_d_e__"},
		{time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), "x", "0101.00000000000000000000.x"},
		{time.Unix(1, 0), "", "0101.00000000001000000000._"},
	} {
		if got := respond.ParkKey("0101", tc.at, tc.id); got != tc.want {
			t.Errorf("ParkKey(0101, %v, %q) = %q, want %q", tc.at, tc.id, got, tc.want)
		}
	}
}

func TestParkKeysSortInDecisionOrder(t *testing.T) {
	base := time.Date(2026, 2, 9, 10, 0, 0, 0, time.UTC)
	var want []string
	for _, d := range []time.Duration{0, time.Nanosecond, time.Second, time.Hour, 24 * 365 * time.Hour * 50} {
		want = append(want, respond.ParkKey("0101", base.Add(d), "z"))
	}
	got := slices.Clone(want)
	slices.Reverse(got)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("sorted keys = %v, want decision order %v", got, want)
	}
}
