package events

import (
	"strconv"

	"github.com/google/uuid"
)

// Namespace is the UUID namespace of every id derived here. It is itself
// UUID v5 of the URL https://github.com/kp-efaktura/efaktura/events in the
// RFC 9562 URL namespace, and must never change: every id would change
// with it, and JetStream would take retried publishes for new events.
const Namespace = "6ea48c1b-c844-5346-bfba-9568204f41ca"

var namespace = uuid.MustParse(Namespace)

// ID returns the id of an event of eventType about key: a UUID v5 (SHA-1,
// [Namespace]) of the type and the key parts, each written as a netstring
// (byte length in decimal, ':', the UTF-8 bytes, ','), so ("ab", "c") and
// ("a", "bc") differ. The same
// document at the same step always gets the same id, and the bus publishes
// with Nats-Msg-Id set to it, so a retried publish is dropped by JetStream.
// Any language reproduces it from this description.
func ID(eventType string, key ...string) string {
	return derive(eventType, key...)
}

// BundleID returns the id of a bundle: a UUID v5 of "bundle" and the
// bundle's duplicate key (V10): the service provider, the sender of the first
// DOCUMENT (SENDER_ID_TYPE, SENDER_ID), INVOICES/REFERENCE and the year of
// receipt in Danish time. A duplicate bundle therefore has the id of the one
// accepted before it.
func BundleID(serviceProvider, senderType, senderID, reference string, year int) string {
	return derive("bundle", serviceProvider, senderType, senderID, reference, strconv.Itoa(year))
}

// DocumentID returns the id of the document at 1-based index in a bundle: a
// UUID v5 of "document", the bundle id and the index.
func DocumentID(bundleID string, index int) string {
	return derive("document", bundleID, strconv.Itoa(index))
}

// derive is UUID v5 of the netstrings of kind and parts. The kinds "bundle"
// and "document" cannot be event types, which all start with "dk.".
func derive(kind string, parts ...string) string {
	n := len(kind) + 8
	for _, p := range parts {
		n += len(p) + 8
	}
	b := make([]byte, 0, n)
	b = netstring(b, kind)
	for _, p := range parts {
		b = netstring(b, p)
	}
	return uuid.NewSHA1(namespace, b).String()
}

func netstring(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	b = append(b, s...)
	return append(b, ',')
}
