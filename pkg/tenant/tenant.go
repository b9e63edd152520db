// Package tenant holds the municipalities (kommuner) efaktura serves: their
// economy system, the senders allowed to submit for them, their two SF1590_D
// service agreements, and the tokens their systems and caseworkers use.
package tenant

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// AgreementName names one of the two SF1590_D service agreements for
// FakturaInformationAfsendSvar that a municipality must approve before
// answers can reach its economy system.
type AgreementName string

const (
	Forside AgreementName = "forside"
	Bagside AgreementName = "bagside"
)

// AgreementNames lists both agreements, in a fixed order.
var AgreementNames = []AgreementName{Forside, Bagside}

// AgreementState is where an agreement stands on Serviceplatformen.
type AgreementState string

const (
	Requested AgreementState = "requested"
	Approved  AgreementState = "approved"
	Rejected  AgreementState = "rejected"
)

// Agreement is one service agreement.
type Agreement struct {
	State AgreementState `json:"state"`
	// EconomySystem is the id of the economy system the agreement names;
	// answers flow only when it is the municipality's own.
	EconomySystem string    `json:"economy_system"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// EconomySystem is the municipality's ERP that submits bundles and receives
// answers.
type EconomySystem struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Endpoint string `json:"endpoint"` // URL answers are POSTed to
	// Secret signs answers (HMAC-SHA256). It never appears in events, logs
	// or API responses.
	Secret string `json:"secret"`
}

// Sender is an entry of the municipality's sender register: who may submit
// e-invoices for it (V24; Nets for V48).
type Sender struct {
	Type string `json:"type"` // CVR or EAN
	ID   string `json:"id"`
	Nets bool   `json:"nets"`
}

// Role is what a token lets its holder do.
type Role string

const (
	RoleIngest     Role = "ingest"     // the economy system submitting bundles
	RoleCaseworker Role = "caseworker" // a caseworker deciding documents
	RoleAdmin      Role = "admin"      // an operator managing municipalities
)

// Token is a credential of a municipality. Only its SHA-256 is stored.
type Token struct {
	Role   Role   `json:"role"`
	Name   string `json:"name"`   // who holds it, e.g. the caseworker's initials
	SHA256 string `json:"sha256"` // hex SHA-256 of the bearer token
}

// HashToken returns the hex SHA-256 of a bearer token, as Token stores it.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Tenant is one municipality.
type Tenant struct {
	Kommune       string                      `json:"kommune"` // 4-digit municipality code, e.g. "0101"
	Name          string                      `json:"name"`
	CVR           string                      `json:"cvr"`
	EconomySystem EconomySystem               `json:"economy_system"`
	Senders       []Sender                    `json:"senders"`
	Agreements    map[AgreementName]Agreement `json:"agreements"`
	Tokens        []Token                     `json:"tokens"`
	// Version is the store's revision of this record; it orders changes.
	Version uint64 `json:"version"`
}

var (
	kommunePattern = regexp.MustCompile(`^[0-9]{4}$`)
	cvrPattern     = regexp.MustCompile(`^[0-9]{8}$`)
)

// Errors.
var (
	ErrInvalid  = errors.New("tenant: invalid")
	ErrNotFound = errors.New("tenant: not found")
	ErrConflict = errors.New("tenant: changed concurrently")
	ErrAuth     = errors.New("tenant: not authorised")
)

// Validate reports every problem of a tenant at once.
func (t Tenant) Validate() error {
	var errs []error
	if !kommunePattern.MatchString(t.Kommune) {
		errs = append(errs, fmt.Errorf("kommune %q is not 4 digits", t.Kommune))
	}
	if t.Name == "" {
		errs = append(errs, errors.New("name is empty"))
	}
	if t.CVR != "" && !cvrPattern.MatchString(t.CVR) {
		errs = append(errs, fmt.Errorf("cvr %q is not 8 digits", t.CVR))
	}
	if t.EconomySystem.ID == "" || t.EconomySystem.Endpoint == "" {
		errs = append(errs, errors.New("economy system needs an id and an answer endpoint"))
	}
	for name, a := range t.Agreements {
		if name != Forside && name != Bagside {
			errs = append(errs, fmt.Errorf("agreement %q is neither forside nor bagside", name))
		}
		switch a.State {
		case Requested, Approved, Rejected:
		default:
			errs = append(errs, fmt.Errorf("agreement %s has state %q; expected requested, approved or rejected", name, a.State))
		}
	}
	for _, s := range t.Senders {
		if (s.Type != "CVR" && s.Type != "EAN") || s.ID == "" {
			errs = append(errs, fmt.Errorf("sender %s %q: type must be CVR or EAN and id filled", s.Type, s.ID))
		}
	}
	for _, tok := range t.Tokens {
		if (tok.Role != RoleIngest && tok.Role != RoleCaseworker) || len(tok.SHA256) != 64 {
			errs = append(errs, fmt.Errorf("token %q: role must be ingest or caseworker and sha256 64 hex digits", tok.Name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// Public returns the tenant without secrets: no signing secret, no token
// hashes. Use it for events and API responses.
func (t Tenant) Public() Tenant {
	t.EconomySystem.Secret = ""
	t.Tokens = nil
	return t
}

// ParkReason says why answers cannot flow yet.
type ParkReason string

const (
	ParkAgreementMissing      ParkReason = "agreement_missing"
	ParkAgreementNotApproved  ParkReason = "agreement_not_approved"
	ParkEconomySystemMismatch ParkReason = "economy_system_mismatch"
)

// AnswersAllowed reports whether answers may be delivered to the
// municipality's economy system: both agreements approved, and both naming
// that economy system. Otherwise it says why not, in words a municipality's
// agreement administrator can act on.
func (t Tenant) AnswersAllowed() (ok bool, reason ParkReason, detail string) {
	for _, name := range AgreementNames {
		a, found := t.Agreements[name]
		switch {
		case !found:
			return false, ParkAgreementMissing, fmt.Sprintf("the %s agreement for FakturaInformationAfsendSvar (SF1590_D) has not been requested", name)
		case a.State != Approved:
			return false, ParkAgreementNotApproved, fmt.Sprintf("the %s agreement is %s, not approved", name, a.State)
		case a.EconomySystem != t.EconomySystem.ID:
			return false, ParkEconomySystemMismatch, fmt.Sprintf("the %s agreement names economy system %q, but the municipality's economy system is %q", name, a.EconomySystem, t.EconomySystem.ID)
		}
	}
	return true, "", ""
}

// Principal is who presented a token.
type Principal struct {
	Role    Role
	Kommune string // empty for an admin
	Name    string // the token's name; for RoleIngest the economy system's id
}
