package tenant

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/kp-efaktura/efaktura/pkg/efaktura"
)

// RulesMode says what a municipality's straight-through rules do (issue
// 14).
type RulesMode string

const (
	// RulesEnforce: the first rule that matches a valid document decides
	// it, as a verdict by "rule:<name>".
	RulesEnforce RulesMode = "enforce"
	// RulesDryRun: the rules are evaluated and the document's history and
	// queue entry say what the first match would have done; nothing is
	// decided.
	RulesDryRun RulesMode = "dry_run"
	// RulesOff: the rules are kept but not evaluated.
	RulesOff RulesMode = "off"
)

// RuleApprove is the one decision a rule may take. A rule never rejects:
// a rejection needs a Peppol reason and a text a person answers for.
const RuleApprove = "approve"

// Limits of a municipality's rules.
const (
	MaxRules          = 50   // rules per municipality
	MaxRuleSenders    = 1000 // senders per rule
	MaxRuleCurrencies = 20   // currencies per rule
)

// Rules are a municipality's straight-through rules, kept with its record
// ([Tenant].Rules) and served by GET and PUT /v1/tenants/{kommune}/rules.
// decide evaluates them when a document becomes valid; see
// services/decide/rules.go.
type Rules struct {
	Mode  RulesMode `json:"mode"`
	Rules []Rule    `json:"rules"`
}

// Rule approves a document when every condition holds: its sender is
// listed, its type is listed, its currency is listed and its total
// including VAT is at most MaxAmountInclVAT. decide adds two of its own
// that no rule can waive: the document has no finding of any severity,
// and no possible duplicate.
type Rule struct {
	// Name identifies the rule in verdicts ("rule:<name>"): lower-case
	// letters, digits, '-' and '_', at most 64, unique.
	Name string `json:"name"`
	// Decision is "approve".
	Decision string `json:"decision"`
	// Senders are "CVR:<8 digits>" or "EAN:<13 digits>"; at least one.
	Senders []string `json:"senders"`
	// DocumentTypes are INVOICE, CREDIT_NOTE and REMINDER; at least one.
	DocumentTypes []string `json:"document_types"`
	// MaxAmountInclVAT is the highest TOTAL_AMOUNT_INCL_VAT approved, with
	// a decimal point and at most 3 decimals: "5000.00". Compared exactly.
	MaxAmountInclVAT string `json:"max_amount_incl_vat"`
	// Currencies are ISO 4217 codes, e.g. "DKK"; at least one.
	Currencies []string `json:"currencies"`
}

var (
	ruleNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	ruleSender      = regexp.MustCompile(`^(CVR:[0-9]{8}|EAN:[0-9]{13})$`)
	ruleAmount      = regexp.MustCompile(`^[0-9]{1,17}(\.[0-9]{1,3})?$`)
	ruleCurrency    = regexp.MustCompile(`^[A-Z]{3}$`)
	ruleDocTypes    = []string{"INVOICE", "CREDIT_NOTE", "REMINDER"}
)

// Problems lists every problem of rs, each naming the rule (by position
// and name) and the field; nil when there is none.
func (rs Rules) Problems() []string {
	var ps []string
	switch rs.Mode {
	case RulesEnforce, RulesDryRun, RulesOff:
	default:
		ps = append(ps, fmt.Sprintf("mode %q: expected enforce, dry_run or off", short(string(rs.Mode))))
	}
	if len(rs.Rules) > MaxRules {
		ps = append(ps, fmt.Sprintf("%d rules; at most %d", len(rs.Rules), MaxRules))
	}
	names := map[string]bool{}
	for i, r := range rs.Rules {
		at := fmt.Sprintf("rules[%d]", i)
		if r.Name != "" {
			at += " (" + short(r.Name) + ")"
		}
		bad := func(format string, a ...any) { ps = append(ps, at+": "+fmt.Sprintf(format, a...)) }
		switch {
		case !ruleNamePattern.MatchString(r.Name):
			bad("name must be 1 to 64 lower-case letters, digits, '-' or '_', starting with a letter or digit")
		case names[r.Name]:
			bad("name is used by an earlier rule")
		}
		names[r.Name] = true
		if r.Decision != RuleApprove {
			bad("decision %q: a rule can only approve", short(r.Decision))
		}
		if len(r.Senders) == 0 {
			bad("senders lists no sender")
		}
		if len(r.Senders) > MaxRuleSenders {
			bad("%d senders; at most %d", len(r.Senders), MaxRuleSenders)
		}
		for j, s := range r.Senders {
			if !ruleSender.MatchString(s) {
				bad("senders[%d] %q is not CVR:<8 digits> or EAN:<13 digits>", j, short(s))
			} else if slices.Index(r.Senders, s) < j {
				bad("senders[%d] %q is listed twice", j, s)
			}
		}
		if len(r.DocumentTypes) == 0 {
			bad("document_types lists no type")
		}
		for j, d := range r.DocumentTypes {
			if !slices.Contains(ruleDocTypes, d) {
				bad("document_types[%d] %q is not INVOICE, CREDIT_NOTE or REMINDER", j, short(d))
			}
		}
		if _, err := r.MaxAmount(); err != nil {
			bad("max_amount_incl_vat %q: %v", short(r.MaxAmountInclVAT), err)
		}
		if len(r.Currencies) == 0 {
			bad("currencies lists no currency")
		}
		if len(r.Currencies) > MaxRuleCurrencies {
			bad("%d currencies; at most %d", len(r.Currencies), MaxRuleCurrencies)
		}
		for j, c := range r.Currencies {
			if !ruleCurrency.MatchString(c) {
				bad("currencies[%d] %q is not an ISO 4217 code of 3 capital letters", j, short(c))
			}
		}
	}
	return ps
}

// short cuts what a problem quotes to 40 bytes.
func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// MaxAmount returns MaxAmountInclVAT as an exact decimal, parsed as the
// format's amounts are ([efaktura.ParseDecimal], up to 20 digits and 3
// decimals), with a decimal point instead of the format's comma.
func (r Rule) MaxAmount() (decimal.Decimal, error) {
	if !ruleAmount.MatchString(r.MaxAmountInclVAT) {
		return decimal.Decimal{}, errors.New(`expected digits with an optional decimal point and at most 3 decimals, e.g. "5000.00"`)
	}
	return efaktura.ParseDecimal(strings.Replace(r.MaxAmountInclVAT, ".", ",", 1), 20, 3)
}

// Normalized returns rs with nil lists as empty ones; it shares nothing
// with rs.
func (rs Rules) Normalized() Rules {
	c := rs.clone()
	if c.Rules == nil {
		c.Rules = []Rule{}
	}
	return c
}

func (rs Rules) clone() Rules {
	rs.Rules = slices.Clone(rs.Rules)
	for i, r := range rs.Rules {
		r.Senders = slices.Clone(r.Senders)
		r.DocumentTypes = slices.Clone(r.DocumentTypes)
		r.Currencies = slices.Clone(r.Currencies)
		rs.Rules[i] = r
	}
	return rs
}

// cloneRules copies a tenant's rules, nil staying nil.
func cloneRules(rs *Rules) *Rules {
	if rs == nil {
		return nil
	}
	c := rs.clone()
	return &c
}

// EffectiveRules returns t's rules: mode off and no rule when it has none.
func (t Tenant) EffectiveRules() Rules {
	if t.Rules == nil {
		return Rules{Mode: RulesOff, Rules: []Rule{}}
	}
	return t.Rules.Normalized()
}

// rulesProblems is [Tenant.Validate]'s part for the rules.
func (t Tenant) rulesProblems() []error {
	if t.Rules == nil {
		return nil
	}
	var errs []error
	for _, p := range t.Rules.Problems() {
		errs = append(errs, errors.New("rules: "+p))
	}
	return errs
}

// SetRules replaces a municipality's rules and publishes the change as
// [Store.Put] does (the rules are no part of the events). When another
// writer changes the tenant in between, it reads it again and retries.
// The error wraps [ErrInvalid] for rules with problems (every one named),
// [ErrNotFound] for an unknown tenant, [ErrConflict] when the retries ran
// out, or [ErrNotPublished].
func (s *Store) SetRules(ctx context.Context, kommune string, rules Rules) (Tenant, error) {
	rules = rules.Normalized()
	if ps := rules.Problems(); len(ps) > 0 {
		return Tenant{}, fmt.Errorf("set rules of kommune %s: %w: %s", kommune, ErrInvalid, strings.Join(ps, "; "))
	}
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		cur, err := s.Get(ctx, kommune)
		if err != nil {
			return Tenant{}, err
		}
		next := cur.clone()
		next.Rules = &rules
		if sameContent(cur, next) {
			return s.republish(ctx, cur)
		}
		if err := next.Validate(); err != nil {
			return Tenant{}, fmt.Errorf("set rules of kommune %s: %w", kommune, err)
		}
		saved, err := s.commit(ctx, cur, true, next)
		if errors.Is(err, errRace) {
			continue
		}
		return saved, err
	}
	return Tenant{}, fmt.Errorf("set rules of kommune %s: %w", kommune, ErrConflict)
}

// RulesProblems is the body of a 400 of PUT /v1/tenants/{kommune}/rules.
type RulesProblems struct {
	Error    string   `json:"error"`
	Problems []string `json:"problems"`
}

// getRules serves GET /v1/tenants/{kommune}/rules.
func (a *adminAPI) getRules(w http.ResponseWriter, r *http.Request) {
	t, err := a.store.Get(r.Context(), r.PathValue("kommune"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("ETag", strconv.Quote(strconv.FormatUint(t.Version, 10)))
	writeJSON(w, http.StatusOK, t.EffectiveRules())
}

// putRules serves PUT /v1/tenants/{kommune}/rules: 400 with every problem
// of the rules, otherwise the rules as saved.
func (a *adminAPI) putRules(w http.ResponseWriter, r *http.Request) {
	var rules Rules
	if !decodeBody(w, r, &rules) {
		return
	}
	if ps := rules.Problems(); len(ps) > 0 {
		writeJSON(w, http.StatusBadRequest, RulesProblems{Error: "invalid rules: " + strings.Join(ps, "; "), Problems: ps})
		return
	}
	saved, err := a.store.SetRules(r.Context(), r.PathValue("kommune"), rules)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("ETag", strconv.Quote(strconv.FormatUint(saved.Version, 10)))
	writeJSON(w, http.StatusOK, saved.EffectiveRules())
}
