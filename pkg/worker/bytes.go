package worker

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// byteUnits are the units ParseBytes takes, lower case, and their size.
var byteUnits = map[string]int64{
	"": 1, "b": 1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
	"ki": 1 << 10, "mi": 1 << 20, "gi": 1 << 30, "ti": 1 << 40,
}

// formatUnits are the units FormatBytes writes, largest first.
var formatUnits = []struct {
	name string
	size int64
}{{"TiB", 1 << 40}, {"TB", 1e12}, {"GiB", 1 << 30}, {"GB", 1e9}, {"MiB", 1 << 20}, {"MB", 1e6}, {"KiB", 1 << 10}, {"KB", 1e3}}

var (
	errNotSize  = errors.New("not a size such as 512MiB or 20GB")
	errTooLarge = errors.New("too large")
)

// ParseBytes parses a size in bytes: a number, whole or decimal, with an
// optional unit, e.g. 512MiB, 20GB, 1.5GiB, 20 GB or 1048576. KB, MB, GB
// and TB are powers of 1000; KiB, MiB, GiB and TiB, or Ki, Mi, Gi and Ti
// as Kubernetes writes them, powers of 1024. Letters may be in any case.
// A bare K, M, G or T is refused as ambiguous: Kubernetes reads G as 10^9,
// and NATS's configuration files read 20g as 20*10^9 but "20G" as 20*2^30.
// Note that those files also read GB as 2^30. A decimal size is rounded
// down to whole bytes.
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	end := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if end < 0 {
		end = len(t)
	}
	number, unit := t[:end], strings.ToLower(strings.TrimSpace(t[end:]))
	size, ok := byteUnits[unit]
	switch {
	case number == "":
		return 0, errNotSize
	case !ok && len(unit) == 1 && strings.Contains("kmgt", unit):
		u := strings.ToUpper(unit)
		return 0, fmt.Errorf("unit %s is ambiguous: write %sB for powers of 1000 or %siB for powers of 1024", u, u, u)
	case !ok:
		return 0, fmt.Errorf("unknown unit %q; expected B, KB, MB, GB, TB, KiB, MiB, GiB or TiB", strings.TrimSpace(t[end:]))
	}
	if n, err := strconv.ParseInt(number, 10, 64); err == nil {
		if n > math.MaxInt64/size {
			return 0, errTooLarge
		}
		return n * size, nil
	}
	f, err := strconv.ParseFloat(number, 64)
	if err != nil {
		return 0, errNotSize
	}
	if f*float64(size) >= math.MaxInt64 {
		return 0, errTooLarge
	}
	return int64(f * float64(size)), nil
}

// FormatBytes writes n as ParseBytes reads it, in the largest unit that
// divides it: 536870912 is 512MiB, 20000000000 is 20GB, 1500 is 1500.
func FormatBytes(n int64) string {
	for _, u := range formatUnits {
		if n != 0 && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}

// BytesFlag is a flag.Value of a size in bytes, such as 512MiB or 20GB
// ([ParseBytes]); it does not take a negative size.
type BytesFlag int64

func (f *BytesFlag) String() string {
	if f == nil {
		return "0"
	}
	return FormatBytes(int64(*f))
}

func (f *BytesFlag) Set(s string) error {
	n, err := ParseBytes(s)
	if err != nil {
		return err
	}
	*f = BytesFlag(n)
	return nil
}
