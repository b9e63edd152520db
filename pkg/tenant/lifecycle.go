package tenant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"
)

// The life cycle of a service agreement follows Serviceplatformen's own
// (issue 15). An agreement that does not exist yet may be recorded in any
// state but withdrawn: it may have been requested, approved or rejected on
// Serviceplatformen before the municipality was registered here. From then
// on:
//
//	requested → approved, rejected
//	approved  → withdrawn
//	rejected  → requested   (a new request)
//	withdrawn → requested   (a new request)
//
// Recording the same state again with another economy system is a
// correction of the record, not a transition, and is allowed in every
// state. Anything else is refused with an error wrapping [ErrTransition].
var transitions = map[AgreementState][]AgreementState{
	"":        {Requested, Approved, Rejected},
	Requested: {Approved, Rejected},
	Approved:  {Withdrawn},
	Rejected:  {Requested},
	Withdrawn: {Requested},
}

// ErrTransition: an agreement cannot go from its state to the one asked
// for. The admin API answers it with 409.
var ErrTransition = errors.New("tenant: agreement transition not allowed")

// TransitionError names the agreement and the states of a refused
// transition; it wraps [ErrTransition].
type TransitionError struct {
	Kommune   string
	Agreement AgreementName
	From, To  AgreementState // From is "" for an agreement not recorded yet
}

func (e *TransitionError) Error() string {
	from := string(e.From)
	if from == "" {
		from = "not recorded"
	}
	allowed := "nothing"
	if next := transitions[e.From]; len(next) > 0 {
		allowed = fmt.Sprint(next)
	}
	return fmt.Sprintf("kommune %s: the %s agreement cannot go from %s to %s; from %s it can go to %s",
		e.Kommune, e.Agreement, from, e.To, from, allowed)
}

func (e *TransitionError) Unwrap() error { return ErrTransition }

// CanTransition reports whether an agreement in state from may be recorded
// in state to; from is "" for an agreement not recorded yet. The same state
// is always allowed (a correction of the economy system, or nothing).
func CanTransition(from, to AgreementState) bool {
	return from == to || slices.Contains(transitions[from], to)
}

// TransitionPath returns the states an agreement goes through from from to
// to, by the allowed transitions and fewest steps, to excluded, to
// included; nil when to cannot be reached. E.g. approved to requested is
// [withdrawn requested].
func TransitionPath(from, to AgreementState) []AgreementState {
	if from == to {
		return nil
	}
	prev := map[AgreementState]AgreementState{from: from}
	queue := []AgreementState{from}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, n := range transitions[s] {
			if _, seen := prev[n]; seen {
				continue
			}
			prev[n] = s
			if n == to {
				var path []AgreementState
				for x := to; x != from; x = prev[x] {
					path = append(path, x)
				}
				slices.Reverse(path)
				return path
			}
			queue = append(queue, n)
		}
	}
	return nil
}

// checkTransitions refuses a next version of a tenant whose agreements
// changed state other than by the life cycle.
func checkTransitions(cur Tenant, found bool, next Tenant) error {
	var errs []error
	for _, name := range AgreementNames {
		a, ok := next.Agreements[name]
		if !ok {
			continue
		}
		var from AgreementState
		if found {
			from = cur.Agreements[name].State
		}
		if !CanTransition(from, a.State) {
			errs = append(errs, &TransitionError{Kommune: next.Kommune, Agreement: name, From: from, To: a.State})
		}
	}
	return errors.Join(errs...)
}

// MaxHistory bounds a tenant's [Tenant].History: the oldest changes go
// first. At a few changes per agreement over a rollout, 100 keeps them all;
// the record stays a few kilobytes.
const MaxHistory = 100

// Change is one change of one of a municipality's agreements, or of its
// straight-through rules, as its history keeps it: an agreement's change
// has Agreement, To and EconomySystem; a change of the rules has Rules.
// In JSON an agreement's change has every field it had before the rules'
// changes joined the history ("from" too when ""), and a change of the
// rules only at, by and rules (see [Change.MarshalJSON]).
type Change struct {
	At        time.Time     `json:"at"`
	By        string        `json:"by"`
	Agreement AgreementName `json:"agreement"`
	// From is the state before; "" when the agreement was not recorded.
	From AgreementState `json:"from"`
	To   AgreementState `json:"to"`
	// EconomySystem is the economy system the agreement names after the
	// change; FromEconomySystem the one before, when it changed.
	EconomySystem     string `json:"economy_system"`
	FromEconomySystem string `json:"from_economy_system,omitempty"`
	// Rules are the straight-through rules in force after the change,
	// by mode and names: who turned automatic approval on, and when, is
	// the audit's first question about it.
	Rules *RulesChange `json:"rules,omitempty"`
}

// MarshalJSON writes a change of the rules without the agreement's empty
// fields, and an agreement's change as it always was.
func (c Change) MarshalJSON() ([]byte, error) {
	if c.Rules != nil {
		return json.Marshal(struct {
			At    time.Time    `json:"at"`
			By    string       `json:"by"`
			Rules *RulesChange `json:"rules"`
		}{c.At, c.By, c.Rules})
	}
	type plain Change // without this method
	return json.Marshal(plain(c))
}

// RulesChange is the rules in force after a change of them, in short.
type RulesChange struct {
	Mode  RulesMode `json:"mode"`
	Names []string  `json:"names"`
}

// actorKey carries who makes a change through a context.
type actorKey struct{}

// WithActor returns a context under which the [Store] records changes as
// made by who: the admin API passes the token's holder, the tenants file
// "tenants file". Without it a change is by "system".
func WithActor(ctx context.Context, who string) context.Context {
	return context.WithValue(ctx, actorKey{}, who)
}

// Actor is who makes changes under ctx ([WithActor]); "system" when unset.
func Actor(ctx context.Context) string {
	if who, _ := ctx.Value(actorKey{}).(string); who != "" {
		return who
	}
	return "system"
}

// record stamps the agreements of next that differ from cur's with who
// and now, and appends their changes, and a change of the rules, to
// next's history, which it bounds.
func record(cur Tenant, found bool, next *Tenant, who string, now time.Time) {
	next.History = slices.Clone(cur.History)
	if !found {
		next.History = nil
	}
	for _, name := range AgreementNames {
		a, ok := next.Agreements[name]
		if !ok {
			continue
		}
		c, had := cur.Agreements[name]
		if found && had && sameAgreement(a, c) {
			continue
		}
		a.UpdatedAt, a.ChangedBy = now, who
		next.Agreements[name] = a
		ch := Change{At: now, By: who, Agreement: name, To: a.State, EconomySystem: a.EconomySystem}
		if found && had {
			ch.From = c.State
			if c.EconomySystem != a.EconomySystem {
				ch.FromEconomySystem = c.EconomySystem
			}
		}
		next.History = append(next.History, ch)
	}
	if rs := next.EffectiveRules(); !reflect.DeepEqual(rs, cur.EffectiveRules()) {
		names := make([]string, len(rs.Rules))
		for i, r := range rs.Rules {
			names[i] = r.Name
		}
		next.History = append(next.History, Change{At: now, By: who, Rules: &RulesChange{Mode: rs.Mode, Names: names}})
	}
	if n := len(next.History); n > MaxHistory {
		next.History = slices.Clone(next.History[n-MaxHistory:])
	}
}
