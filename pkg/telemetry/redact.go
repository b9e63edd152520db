package telemetry

import (
	"github.com/kp-efaktura/efaktura/pkg/cpr"
	"go.opentelemetry.io/otel/attribute"
)

// mask is cpr.Mask except for random identifiers (see the package
// documentation, "Personal data"): canonical UUIDs and W3C trace and span ids.
func mask(s string) string {
	if isUUID(s) || isLowerHex(s, 32) || isLowerHex(s, 16) {
		return s
	}
	return cpr.Mask(s)
}

// isUUID reports whether s is xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx in hex,
// either case.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHex(s[i]) && !('A' <= s[i] && s[i] <= 'F') {
				return false
			}
		}
	}
	return true
}

// isLowerHex reports whether s is n lower-case hex digits, as trace ids (32)
// and span ids (16) are written.
func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := range len(s) {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

// maskAttrs returns kvs with every string value masked, in slices and maps
// too. It copies kvs only when something changes.
func maskAttrs(kvs []attribute.KeyValue) []attribute.KeyValue {
	out, _ := maskKeyValues(kvs)
	return out
}

func maskKeyValues(kvs []attribute.KeyValue) ([]attribute.KeyValue, bool) {
	out, copied := kvs, false
	for i, kv := range kvs {
		v, changed := maskValue(kv.Value)
		if !changed {
			continue
		}
		if !copied {
			out, copied = append([]attribute.KeyValue(nil), kvs...), true
		}
		out[i] = attribute.KeyValue{Key: kv.Key, Value: v}
	}
	return out, copied
}

func maskValue(v attribute.Value) (attribute.Value, bool) {
	switch v.Type() {
	case attribute.STRING:
		if s := v.AsString(); mask(s) != s {
			return attribute.StringValue(mask(s)), true
		}
	case attribute.STRINGSLICE:
		ss := v.AsStringSlice() // a copy
		changed := false
		for i, s := range ss {
			if m := mask(s); m != s {
				ss[i], changed = m, true
			}
		}
		if changed {
			return attribute.StringSliceValue(ss), true
		}
	case attribute.SLICE:
		vs := v.AsSlice()
		changed := false
		for i := range vs {
			var c bool
			vs[i], c = maskValue(vs[i])
			changed = changed || c
		}
		if changed {
			return attribute.SliceValue(vs...), true
		}
	case attribute.MAP:
		if kvs, changed := maskKeyValues(v.AsMap()); changed {
			return attribute.MapValue(kvs...), true
		}
	}
	return v, false
}
