package tenant

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/answer"
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
	// Withdrawn: the municipality withdrew an approved agreement
	// (lifecycle.go lists the transitions).
	Withdrawn AgreementState = "withdrawn"
)

// Agreement is one service agreement.
type Agreement struct {
	State AgreementState `json:"state"`
	// EconomySystem is the id of the economy system the agreement names;
	// answers flow only when it is the municipality's own.
	EconomySystem string    `json:"economy_system"`
	UpdatedAt     time.Time `json:"updated_at"`
	// ChangedBy is who made the last change of state or economy system
	// (the store sets it; see [WithActor]).
	ChangedBy string `json:"changed_by,omitempty"`
}

// EconomySystem is the municipality's ERP that submits bundles and receives
// answers.
type EconomySystem struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Endpoint string `json:"endpoint"` // URL answers are POSTed to
	// Secrets sign answers (Standard Webhooks: HMAC-SHA256), each in the
	// form "whsec_" and the standard base64 of its key. Every one is
	// current: each answer is signed with all of them, one signature each,
	// so a secret is rotated by adding the new one, letting the economy
	// system switch to it, and then removing the old one. They never
	// appear in events, logs or API responses.
	//
	// In JSON they are left out when empty: [Store.Put] keeps the stored
	// secrets when the incoming tenant has none.
	Secrets []string `json:"secrets,omitempty"`
	// Secret is the single signing secret of records and files written
	// before Standard Webhooks. It is still accepted, as one more secret:
	// a plain secret's bytes are its key (answer.SecretFromRaw: "s3cret"
	// becomes "whsec_czNjcmV0"), a secret that starts with "whsec_" is
	// taken as it is. [Tenant.Normalized] moves it into Secrets, so the
	// store never writes it.
	Secret string `json:"secret,omitempty"`
}

// maxSecrets bounds an economy system's secrets: rotation needs two.
const maxSecrets = 5

// SigningSecrets returns the secrets to sign an answer with, each in the
// "whsec_" form: Secrets, and Secret mapped by answer.SecretFromRaw when
// set, without repeats.
func (es EconomySystem) SigningSecrets() []string {
	out := make([]string, 0, len(es.Secrets)+1)
	for _, s := range es.Secrets {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if es.Secret != "" {
		if s := answer.SecretFromRaw(es.Secret); !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
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
	// History are the agreements' and the rules' changes, oldest first,
	// at most [MaxHistory]; the store appends to it (lifecycle.go).
	History []Change `json:"history,omitempty"`
	// Tokens are the credentials of the municipality's economy system and
	// caseworkers. In JSON a nil list is left out and an empty one is
	// written as []: [Store.Put] keeps the stored tokens for nil and
	// replaces them for any other list, so [] revokes every token.
	Tokens []Token `json:"tokens,omitzero"`
	// Rules are the municipality's straight-through rules (issue 14; see
	// rules.go); nil when it has none. [Store.Put] keeps the stored rules
	// for nil; [Store.SetRules] replaces them.
	Rules *Rules `json:"rules,omitempty"`
	// Version is the store's revision of this record (the JetStream KV
	// revision); it orders changes. It grows with every change, but not by
	// one: the revision counts the writes of the whole bucket.
	Version uint64 `json:"version"`
	// UpdatedAt is when the record last changed; the store sets it.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

var (
	cvrPattern  = regexp.MustCompile(`^[0-9]{8}$`)
	hashPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Errors.
var (
	ErrInvalid  = errors.New("tenant: invalid")
	ErrNotFound = errors.New("tenant: not found")
	ErrConflict = errors.New("tenant: changed concurrently")
	ErrAuth     = errors.New("tenant: not authorised")
	// ErrNotPublished is returned by [Store.Put] and [Store.SetAgreement]
	// when the change was saved but its events were not published; calling
	// again with the same content publishes them.
	ErrNotPublished = errors.New("tenant: saved, but the change events were not published")
	// ErrStopped is returned by [Registry.WaitVersion] once the registry
	// no longer follows the bucket.
	ErrStopped = errors.New("tenant: registry stopped following the bucket")
)

// Validate reports every problem of a tenant at once, wrapped in
// [ErrInvalid]: the kommune is 4 digits, the name is set, the CVR is 8
// digits, the economy system has an id and an http(s) answer endpoint, each
// agreement is forside or bagside with a known state and names an economy
// system, the economy system's secrets (at most 5) are in the "whsec_"
// form, senders are CVR or EAN with an id and listed once, and tokens have
// the role ingest or caseworker and a distinct SHA-256 in lower-case hex.
// The problems never quote a secret or a token hash.
func (t Tenant) Validate() error {
	if err := errors.Join(t.problems()...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// problems lists what Validate reports.
func (t Tenant) problems() []error {
	var errs []error
	if !events.ValidKommune(t.Kommune) {
		errs = append(errs, fmt.Errorf("kommune %q is not 4 digits", t.Kommune))
	}
	if t.Name == "" {
		errs = append(errs, errors.New("name is empty"))
	}
	if !cvrPattern.MatchString(t.CVR) {
		errs = append(errs, fmt.Errorf("cvr %q is not 8 digits", t.CVR))
	}
	if t.EconomySystem.ID == "" || t.EconomySystem.Endpoint == "" {
		errs = append(errs, errors.New("economy system needs an id and an answer endpoint"))
	} else if u, err := url.Parse(t.EconomySystem.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("economy system endpoint %q is not an http or https URL", t.EconomySystem.Endpoint))
	}
	if n := len(t.EconomySystem.Secrets); n > maxSecrets {
		errs = append(errs, fmt.Errorf("economy system has %d secrets; at most %d (rotation needs two)", n, maxSecrets))
	}
	for i, s := range t.EconomySystem.Secrets {
		// The error of ParseSecret never quotes the secret.
		if _, err := answer.ParseSecret(s); err != nil {
			errs = append(errs, fmt.Errorf("economy system secret %d: %w", i+1, err))
		}
	}
	names := slices.Sorted(maps.Keys(t.Agreements))
	for _, name := range names {
		a := t.Agreements[name]
		if name != Forside && name != Bagside {
			errs = append(errs, fmt.Errorf("agreement %q is neither forside nor bagside", name))
		}
		switch a.State {
		case Requested, Approved, Rejected, Withdrawn:
		default:
			errs = append(errs, fmt.Errorf("agreement %s has state %q; expected requested, approved, rejected or withdrawn", name, a.State))
		}
		if a.EconomySystem == "" {
			errs = append(errs, fmt.Errorf("agreement %s names no economy system", name))
		}
	}
	senders := make(map[[2]string]bool, len(t.Senders))
	for _, s := range t.Senders {
		if (s.Type != "CVR" && s.Type != "EAN") || s.ID == "" {
			errs = append(errs, fmt.Errorf("sender %s %q: type must be CVR or EAN and id filled", s.Type, s.ID))
		}
		if k := [2]string{s.Type, s.ID}; senders[k] {
			errs = append(errs, fmt.Errorf("sender %s %q is listed twice", s.Type, s.ID))
		} else {
			senders[k] = true
		}
	}
	hashes := make(map[string]bool, len(t.Tokens))
	for _, tok := range t.Tokens {
		if (tok.Role != RoleIngest && tok.Role != RoleCaseworker) || !hashPattern.MatchString(tok.SHA256) {
			errs = append(errs, fmt.Errorf("token %q: role must be ingest or caseworker and sha256 64 lower-case hex digits", tok.Name))
			continue
		}
		if hashes[tok.SHA256] {
			errs = append(errs, fmt.Errorf("token %q: the same token is listed twice", tok.Name))
		}
		hashes[tok.SHA256] = true
	}
	return append(errs, t.rulesProblems()...)
}

// Normalized returns t in the form the store keeps and [Tenant.Validate]
// expects: the economy system's signing secrets in Secrets, each once and
// in the "whsec_" form (a legacy Secret mapped, see [EconomySystem]),
// token hashes in lower case, an agreement that names no economy
// system naming the municipality's, empty sender lists as nil, and rules
// without a rule holding an empty list ([Rules.Normalized]), as
// [Store.SetRules] stores them. Tokens keep the difference between nil and
// empty (see [Tenant].Tokens). The result shares nothing with t.
func (t Tenant) Normalized() Tenant {
	t = t.clone()
	if t.Rules != nil {
		rs := t.Rules.Normalized()
		t.Rules = &rs
	}
	t.EconomySystem.Secrets, t.EconomySystem.Secret = t.EconomySystem.SigningSecrets(), ""
	for i := range t.Tokens {
		t.Tokens[i].SHA256 = strings.ToLower(t.Tokens[i].SHA256)
	}
	for name, a := range t.Agreements {
		if a.EconomySystem == "" {
			a.EconomySystem = t.EconomySystem.ID
			t.Agreements[name] = a
		}
	}
	if len(t.Senders) == 0 {
		t.Senders = nil
	}
	if len(t.Agreements) == 0 {
		t.Agreements = nil
	}
	return t
}

// clone returns a copy of t that shares no slice or map with it.
func (t Tenant) clone() Tenant {
	t.Senders = slices.Clone(t.Senders)
	t.Tokens = slices.Clone(t.Tokens)
	t.EconomySystem.Secrets = slices.Clone(t.EconomySystem.Secrets)
	t.Agreements = maps.Clone(t.Agreements)
	t.Rules = cloneRules(t.Rules)
	t.History = slices.Clone(t.History)
	return t
}

// Public returns the tenant without secrets: no signing secrets, no token
// hashes. Use it for events and API responses.
func (t Tenant) Public() Tenant {
	t.EconomySystem.Secret, t.EconomySystem.Secrets = "", nil
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
