package events

import (
	"fmt"
	"strconv"
	"strings"
)

// Received documents are stored raw, beside the events (issue 10):
// ingest publishes each DOCUMENT element of an accepted bundle, its bytes as
// they stood in the bundle (ISO-8859-1), as one message of stream
// [RawStream] on [RawSubject]. Each message expires on its own (JetStream's
// per-message TTL, ingest's raw retention), so the raw XML, which holds CPR
// numbers, does not outlive the work on it.
//
// The subjects start with "efaktura_bundle.", not "efaktura.": that prefix
// belongs to the event stream ([StreamSubjects]).

// RawStream is the name of the stream of raw documents that ingest
// creates.
const RawStream = "EFAKTURA_BUNDLES"

// RawSubjects is the subject filter of [RawStream]: every raw document of
// every municipality.
const RawSubjects = rawPrefix + ".>"

// rawPrefix is the first token of every raw document's subject.
const rawPrefix = "efaktura_bundle"

// maxDocuments is the most documents a bundle holds (e-faktura 2.1.0), and
// so the largest document index.
const maxDocuments = 1000

// RawSubject returns the subject of the raw document at 1-based index in a
// bundle: efaktura_bundle.<kommune>.<bundle id>.<index>, e.g.
// efaktura_bundle.0101.47ee7f53-3709-58f4-8b97-14995449d02f.3. It returns an
// error wrapping [ErrKommune] for a kommune that is not 4 digits, or
// [ErrInvalid] for a bundle id that cannot be a subject token or an index
// outside 1 to 1000.
func RawSubject(kommune, bundleID string, index int) (string, error) {
	prefix, err := rawBundlePrefix(kommune, bundleID)
	if err != nil {
		return "", err
	}
	if index < 1 || index > maxDocuments {
		return "", fmt.Errorf("raw subject: %w: document index %d; want 1 to %d", ErrInvalid, index, maxDocuments)
	}
	return prefix + strconv.Itoa(index), nil
}

// RawBundleFilter returns the subject filter matching every raw document
// of a bundle, efaktura_bundle.<kommune>.<bundle id>.*: what to purge to
// remove a bundle's documents before they expire, say. Its errors are
// those of [RawSubject].
func RawBundleFilter(kommune, bundleID string) (string, error) {
	prefix, err := rawBundlePrefix(kommune, bundleID)
	if err != nil {
		return "", err
	}
	return prefix + "*", nil
}

func rawBundlePrefix(kommune, bundleID string) (string, error) {
	if !ValidKommune(kommune) {
		return "", fmt.Errorf("raw subject: %w: %q", ErrKommune, kommune)
	}
	if bundleID == "" || strings.ContainsAny(bundleID, ".*> \t\r\n") {
		return "", fmt.Errorf("raw subject: %w: bundle id %q is not a subject token", ErrInvalid, bundleID)
	}
	return rawPrefix + "." + kommune + "." + bundleID + ".", nil
}
