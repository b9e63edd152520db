package decide

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/efaktura"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// Decision assistance (issue 14): when a document becomes valid, decide
// looks for earlier documents it may repeat ([Worker.possibleDuplicates])
// and evaluates the municipality's straight-through rules ([tenant.Rules])
// on it. Both go into the record in the same write as the validation
// ([Assist]); a rule that matches in enforce mode then decides the
// document through the caseworkers' own verdict path
// ([Worker.applyVerdict]), so exactly one verdict wins, whoever comes
// first.

// Assist is what decide found to help decide a document; part of its
// [Record] and queue entry.
type Assist struct {
	// PossibleDuplicates are earlier documents of the same municipality
	// and sender this one may repeat; none when empty.
	PossibleDuplicates []PossibleDuplicate `json:"possible_duplicates,omitempty"`
	// Rule is what the municipality's rules made of the document; nil
	// when its rules were off or it has none.
	Rule *RuleOutcome `json:"rule,omitempty"`
}

// RuleOutcome is what the rules made of a document.
type RuleOutcome struct {
	// Mode is enforce (Name decided the document, unless a caseworker
	// was first) or dry_run (Name would have; nothing was decided).
	Mode tenant.RulesMode `json:"mode"`
	// Name is the first rule that matched; empty when none did.
	Name string `json:"name,omitempty"`
	// Decision is what that rule decides: approve.
	Decision events.Decision `json:"decision,omitempty"`

	// facts are what the rule matched, or why no rule matched. They are
	// kept once, in the history entry [withAssist] writes from them, not
	// in the record: the record is encoded again on each of its writes
	// and in every queue page that lists it (issue 14's CPU budget).
	facts []string
}

// rulePrefix starts the verdict's "by" of a rule: "rule:<name>".
const rulePrefix = "rule:"

// History entries of decision assistance.
const (
	// WhatPossibleDuplicate: earlier documents the document may repeat.
	WhatPossibleDuplicate = "possible_duplicate"
	// WhatRuleMatched: a rule matched in enforce mode; its verdict follows.
	WhatRuleMatched = "rule_matched"
	// WhatRuleDryRun: a rule matched in dry_run mode; nothing decided.
	WhatRuleDryRun = "rule_dry_run"
	// WhatRuleNotMatched: no rule matched; the document waits.
	WhatRuleNotMatched = "rule_not_matched"
)

// maxAssistDetail bounds the detail of an assistance history entry: room
// for why each of 50 rules did not match.
const maxAssistDetail = 4000

func (a Assist) clone() Assist {
	a.PossibleDuplicates = slices.Clone(a.PossibleDuplicates)
	if a.Rule != nil {
		o := *a.Rule
		o.facts = slices.Clone(o.facts)
		a.Rule = &o
	}
	return a
}

// evaluateRules applies rs to a validated document with its possible
// duplicates: the first rule that matches decides. A rule never approves a
// document with a finding of any severity or a possible duplicate. It
// returns nil when the rules are off or there are none.
func evaluateRules(rs tenant.Rules, p events.DocumentValidated, dups []PossibleDuplicate) *RuleOutcome {
	if rs.Mode != tenant.RulesEnforce && rs.Mode != tenant.RulesDryRun || len(rs.Rules) == 0 {
		return nil
	}
	out := &RuleOutcome{Mode: rs.Mode}
	if n := len(p.Findings); n > 0 {
		var ids []string
		for _, f := range p.Findings {
			if !slices.Contains(ids, f.Rule) {
				ids = append(ids, f.Rule)
			}
		}
		out.facts = append(out.facts, fmt.Sprintf("%d finding(s) (%s): no rule approves a document with findings", n, strings.Join(ids, ", ")))
	}
	if len(dups) > 0 {
		var ds []string
		for _, d := range dups {
			ds = append(ds, fmt.Sprintf("%s (%s, %s)", d.DocumentID, d.Reason, d.State))
		}
		out.facts = append(out.facts, "possible duplicate of "+strings.Join(ds, ", ")+": no rule approves a possible duplicate")
	}
	if len(out.facts) > 0 {
		return out
	}
	sender := p.Sender.Type + ":" + p.Sender.ID
	total, totalErr := efaktura.ParseDecimal(p.Summary.TotalAmountInclVAT, 20, 3)
	amount := strings.Replace(p.Summary.TotalAmountInclVAT, ",", ".", 1) + " " + p.Summary.Currency
	for _, r := range rs.Rules {
		var miss []string
		if !slices.Contains(r.Senders, sender) {
			miss = append(miss, "sender "+sender+" is not listed")
		}
		if !slices.Contains(r.DocumentTypes, string(p.DocumentType)) {
			miss = append(miss, "document type "+string(p.DocumentType)+" is not listed")
		}
		if !slices.Contains(r.Currencies, p.Summary.Currency) {
			miss = append(miss, "currency "+p.Summary.Currency+" is not listed")
		}
		limit, err := r.MaxAmount()
		switch {
		case totalErr != nil || err != nil:
			miss = append(miss, "the total "+amount+" is not an amount")
		case total.GreaterThan(limit):
			miss = append(miss, "the total "+amount+" is over "+r.MaxAmountInclVAT)
		}
		if len(miss) > 0 {
			out.facts = append(out.facts, r.Name+": "+strings.Join(miss, "; "))
			continue
		}
		out.Name, out.Decision = r.Name, events.DecisionApprove
		out.facts = []string{
			"sender " + sender + " is listed",
			"document type " + string(p.DocumentType) + " is listed",
			"currency " + p.Summary.Currency + " is listed",
			"the total " + amount + " is at most " + r.MaxAmountInclVAT,
			"no findings", "no possible duplicate",
		}
		return out
	}
	return out
}

// withAssist puts a into n, the record [Validated] returned, with history
// entries at the validation's time at. n is the transition's own copy.
func withAssist(n *Record, a Assist, at time.Time) *Record {
	n.Assist = a.clone()
	if len(a.PossibleDuplicates) > 0 {
		var ds []string
		for _, d := range a.PossibleDuplicates {
			ds = append(ds, fmt.Sprintf("%s %s (%s)", d.Reason, d.DocumentID, d.State))
		}
		addHistory(n, Entry{At: at, What: WhatPossibleDuplicate, State: n.State, By: "decide", Detail: truncate(strings.Join(ds, "; "), maxAssistDetail)})
	}
	if o := a.Rule; o != nil {
		e := Entry{At: at, State: n.State, By: rulePrefix + o.Name, Detail: strings.Join(o.facts, "; ")}
		switch {
		case o.Name == "":
			e.What, e.By = WhatRuleNotMatched, "rules"
		case o.Mode == tenant.RulesDryRun:
			e.What, e.Detail = WhatRuleDryRun, "would "+string(o.Decision)+" (dry run): "+e.Detail
		default:
			e.What, e.Detail = WhatRuleMatched, string(o.Decision)+": "+e.Detail
		}
		e.Detail = truncate(e.Detail, maxAssistDetail)
		addHistory(n, e)
	}
	return n
}

// assess finds a validated document's possible duplicates and evaluates
// its municipality's rules. A document this replica knows as judged
// already (a redelivery) is not assessed again: its record holds the
// assessment.
func (w *Worker) assess(ctx context.Context, p events.DocumentValidated) (Assist, error) {
	if checkIDs(events.TypeDocumentValidated, p.Kommune, p.DocumentID) != nil {
		return Assist{}, nil // the transition refuses it
	}
	if r, _ := w.store.idx.get(key(p.Kommune, p.DocumentID)); r != nil && !r.JudgedAt.IsZero() {
		return Assist{}, nil
	}
	dups, err := w.possibleDuplicates(ctx, p)
	if err != nil {
		return Assist{}, err
	}
	a := Assist{PossibleDuplicates: dups}
	if w.tenants != nil {
		if t, ok := w.tenants.Get(p.Kommune); ok && t.Rules != nil {
			a.Rule = evaluateRules(*t.Rules, p, dups)
		}
	}
	return a, nil
}

// applyRule decides r by the rule that matched it in enforce mode, as one
// verdict through [Worker.applyVerdict]: the caseworkers' path, so a
// caseworker's verdict and the rule's cannot both win. Its note names the
// rule; the facts it matched are in the record's rule_matched history
// entry. A record awaiting no rule's verdict is left alone. An error means
// the verdict may not be recorded or announced: the document.validated is
// retried, and the same verdict (the same id) repeats.
func (w *Worker) applyRule(ctx context.Context, r *Record) error {
	if r == nil || r.State != StateAwaitingVerdict || r.Rule == nil || r.Rule.Mode != tenant.RulesEnforce || r.Rule.Name == "" {
		return nil
	}
	body := VerdictRequest{Decision: r.Rule.Decision, Note: "rule " + r.Rule.Name}
	d := w.applyVerdict(ctx, r.Kommune, r.ID, rulePrefix+r.Rule.Name, body)
	switch {
	case d.status == http.StatusOK:
		return nil
	case d.status == http.StatusConflict:
		// A caseworker's verdict came first: it stands.
		w.log.InfoContext(ctx, "rule verdict refused", "document_id", r.ID, "kommune", r.Kommune, "rule", r.Rule.Name, "reason", d.err)
		return nil
	case d.status == http.StatusNotFound:
		return ErrUnknownDocument
	}
	return errors.New(d.err)
}

// decidedBy is the metrics label of a verdict's "by".
func decidedBy(who string) string {
	switch {
	case who == events.DecidedBySystem:
		return "automatic"
	case strings.HasPrefix(who, rulePrefix):
		return "rule"
	}
	return "caseworker"
}
