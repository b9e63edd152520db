package efaktura

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	_ "time/tzdata" // V10's year is the Danish year, also where the system has no zone database
)

// Sender is an entry of the sender register.
type Sender struct {
	Type string // SENDER_ID_TYPE: CVR or EAN
	ID   string // SENDER_ID
	Nets bool   // flagged as Nets, the only sender allowed to use PBS (V48)
}

// SenderRegister answers whether a sender is known (V24, V48). It is
// configuration the caller provides; the library only asks.
type SenderRegister interface {
	// LookupSender returns the entry for (idType, id) and whether it exists.
	// An error means the register could not answer; the document then cannot
	// be accepted.
	LookupSender(ctx context.Context, idType, id string) (Sender, bool, error)
}

// SenderTable is a SenderRegister held in memory.
type SenderTable map[[2]string]Sender

var _ SenderRegister = SenderTable(nil)

// LookupSender implements [SenderRegister].
func (t SenderTable) LookupSender(_ context.Context, idType, id string) (Sender, bool, error) {
	s, ok := t[[2]string{idType, id}]
	return s, ok, nil
}

// Add puts s into the table.
func (t SenderTable) Add(s Sender) { t[[2]string{s.Type, s.ID}] = s }

// ErrSenders is wrapped by the errors of [ReadSenders].
var ErrSenders = errors.New("efaktura: invalid sender register")

// ReadSenders reads a sender register as CSV with the header type,id,nets,
// where nets is true or false.
func ReadSenders(r io.Reader) (SenderTable, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 3
	cr.TrimLeadingSpace = true
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSenders, err)
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != "type,id,nets" {
		return nil, fmt.Errorf("%w: the first line must be the header type,id,nets", ErrSenders)
	}
	t := SenderTable{}
	for i, row := range rows[1:] {
		var nets bool
		switch row[2] {
		case "true":
			nets = true
		case "false":
		default:
			return nil, fmt.Errorf("%w: line %d: nets is %q; expected true or false", ErrSenders, i+2, row[2])
		}
		if row[0] == "" || row[1] == "" {
			return nil, fmt.Errorf("%w: line %d: type and id must be filled", ErrSenders, i+2)
		}
		t.Add(Sender{Type: row[0], ID: row[1], Nets: nets})
	}
	return t, nil
}

// BundleKey identifies a bundle for the duplicate check (V10): unique per
// service provider, sender of the first document and REFERENCE within one
// calendar year.
type BundleKey struct {
	ServiceProvider string
	SenderType      string
	SenderID        string
	Reference       string
	Year            int // year of receipt, Danish time
}

// String renders the key for storage, e.g. as a Redis key suffix.
func (k BundleKey) String() string {
	return fmt.Sprintf("%d/%s/%s/%s/%s", k.Year, k.ServiceProvider, k.SenderType, k.SenderID, k.Reference)
}

// BundleRegistry remembers accepted bundles (V10).
type BundleRegistry interface {
	// Register records key for a bundle that passed V01 to V09, atomically,
	// and reports whether it had been recorded before. A bundle rejected
	// earlier never reaches it, so it does not use up its REFERENCE.
	Register(ctx context.Context, key BundleKey) (duplicate bool, err error)
}

var copenhagen = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		panic(err) // time/tzdata is linked in
	}
	return loc
}()

// danishYear is the calendar year of t in Denmark.
func danishYear(t time.Time) int { return t.In(copenhagen).Year() }
