package worker

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Env reads settings from the environment, as the defaults of flags, and
// keeps every value that does not parse, so start-up stops with one error
// naming each variable and its value instead of running on a default. It
// is not safe for concurrent use.
type Env struct {
	getenv func(string) string
	errs   []error
}

// NewEnv returns an Env reading with getenv, e.g. os.Getenv.
func NewEnv(getenv func(string) string) *Env { return &Env{getenv: getenv} }

// String returns the variable's value, or def when it is unset or empty.
func (e *Env) String(name, def string) string {
	if v := e.getenv(name); v != "" {
		return v
	}
	return def
}

// Int returns the variable as a whole number, or def when it is unset.
func (e *Env) Int(name string, def int) int {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s=%q is not a whole number", name, v))
		return def
	}
	return n
}

// Float returns the variable as a decimal number, or def when it is unset.
func (e *Env) Float(name string, def float64) float64 {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s=%q is not a number such as 2.5", name, v))
		return def
	}
	return f
}

// Duration returns the variable as a duration such as 30s or 2m, or def
// when it is unset.
func (e *Env) Duration(name string, def time.Duration) time.Duration {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s=%q is not a duration such as 30s or 2m", name, v))
		return def
	}
	return d
}

// Bytes returns the variable as a size in bytes, such as 512MiB or 20GB
// ([ParseBytes]), or def when it is unset.
func (e *Env) Bytes(name string, def int64) int64 {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	n, err := ParseBytes(v)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s=%q: %w", name, v, err))
		return def
	}
	return n
}

// Durations returns the variable as a comma-separated list of durations,
// e.g. "1s,5s,30s", or def when it is unset.
func (e *Env) Durations(name string, def []time.Duration) []time.Duration {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	ds, err := ParseDurations(v)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s=%q: %w", name, v, err))
		return def
	}
	return ds
}

// Err returns every value that did not parse, joined; nil when all did.
func (e *Env) Err() error { return errors.Join(e.errs...) }

// ParseDurations parses a comma-separated list of positive durations, e.g.
// "1s,5s,30s".
func ParseDurations(s string) ([]time.Duration, error) {
	var ds []time.Duration
	for part := range strings.SplitSeq(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%q is not a positive duration such as 30s; expected a list such as 1s,5s,30s", strings.TrimSpace(part))
		}
		ds = append(ds, d)
	}
	return ds, nil
}

// DurationsFlag is a flag.Value of a comma-separated list of durations.
type DurationsFlag []time.Duration

func (f *DurationsFlag) String() string {
	if f == nil {
		return ""
	}
	parts := make([]string, len(*f))
	for i, d := range *f {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}

func (f *DurationsFlag) Set(s string) error {
	ds, err := ParseDurations(s)
	if err != nil {
		return err
	}
	*f = ds
	return nil
}
