package efaktura

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// sequence checks one parent's children against the table: defined, in
// table order, repeated elements together, within max_occurs.
type sequence struct {
	def    *ElementDef
	pos    int // table position of the last child in order
	counts []int
}

type seqVerdict uint8

const (
	seqOK seqVerdict = iota
	seqUnknown
	seqOrder
	seqTooMany
)

// newSequence returns a sequence over def's children that counts in counts,
// zeroed storage for one count per child.
func newSequence(def *ElementDef, counts []int) *sequence {
	return &sequence{def: def, counts: counts}
}

func (q *sequence) visit(d *ElementDef) seqVerdict {
	if d == nil || d.Parent != q.def {
		return seqUnknown
	}
	q.counts[d.pos]++
	if d.pos < q.pos {
		return seqOrder
	}
	q.pos = d.pos
	if q.counts[d.pos] > d.MaxOccurs {
		return seqTooMany
	}
	return seqOK
}

func (q *sequence) count(d *ElementDef) int { return q.counts[d.pos] }

// missing returns the children that occur fewer than min_occurs times.
func (q *sequence) missing() []*ElementDef {
	var out []*ElementDef
	for _, c := range q.def.Children {
		if q.counts[c.pos] < c.MinOccurs {
			out = append(out, c)
		}
	}
	return out
}

// removedTags are the tags format 2.1.0 dropped, with their successors.
var removedTags = map[string]string{
	"PAYMENT_INFO_JOINT_TRANSFER_FORM":         "PAYMENT_MEANS/FIK",
	"PAYMENT_INFO_JOINT_TRANSFER_FORM_VERSION": "HEADER/PAYMENT_MEANS_VERSION",
}

// describe returns the message key and arguments of a verdict other than
// seqOK.
func (q *sequence) describe(v seqVerdict, d *ElementDef, name, parent string) (string, []any) {
	switch v {
	case seqUnknown:
		if succ, ok := removedTags[name]; ok {
			return "V11.removed", []any{name, succ}
		}
		names := make([]string, len(q.def.Children))
		for i, c := range q.def.Children {
			names[i] = c.Name
		}
		return "V11.unknown", []any{name, parent, strings.Join(names, ", ")}
	case seqOrder:
		return "V11.order", []any{name, q.def.Children[q.pos].Name}
	case seqTooMany:
		return "V11.too_many", []any{name, q.counts[d.pos], parent, occursText(d)}
	}
	return "", nil
}

func occursText(d *ElementDef) both {
	switch {
	case d.MinOccurs == d.MaxOccurs && d.MaxOccurs == 1:
		return both{"præcis én gang", "exactly once"}
	case d.MaxOccurs == 1:
		return both{"højst én gang", "at most once"}
	case d.MinOccurs == 0:
		return both{fmt.Sprintf("højst %d gange", d.MaxOccurs), fmt.Sprintf("at most %d times", d.MaxOccurs)}
	}
	return both{fmt.Sprintf("%d til %d gange", d.MinOccurs, d.MaxOccurs), fmt.Sprintf("%d to %d times", d.MinOccurs, d.MaxOccurs)}
}

// checkedElsewhere are elements whose presence and content a later rule
// judges instead of V12-V17, so nothing is reported twice (section 5.3).
var checkedElsewhere = map[string]string{
	"/INVOICES/DOCUMENT/HEADER/RECEIPT_TO": "V23",
}

// spacesAllowed are the elements V20 exempts (history 3.9).
var spacesAllowed = map[string]bool{
	"/INVOICES/DOCUMENT/LINE/DESCRIPTION_1": true,
}

// checkValue applies the content rules to a filled value: V20, V17, V18,
// V19, then V21, V27 or V28. It returns the message key and arguments of
// the first rule broken (the key names the rule), since a value that cannot
// be used is reported once; "" when the value is fine.
func checkValue(d *ElementDef, value string, chars int) (key string, args []any) {
	if strings.Trim(value, " ") == "" && chars > 0 && !spacesAllowed[d.Path] {
		want := both{"en værdi eller et tomt element", "a value or an empty element"}
		if d.Usage == Mandatory {
			want = both{"en værdi", "a value"}
		}
		return "V20", []any{d.Name, want}
	}
	switch d.Kind {
	case KindText:
		if chars > d.MaxLength {
			if d.MaxLength == 0 {
				return "V17.not_empty", []any{d.Name}
			}
			return "V17.length", []any{d.Name, chars, d.MaxLength}
		}
	case KindDecimal:
		if _, _, err := checkDecimal(value, d.MaxLength, d.Decimals); err != nil {
			reason := both{err.Error(), err.Error()}
			if de, ok := err.(*decimalError); ok {
				reason = both{de.da, de.en}
			}
			return "V18", []any{d.Name, quoteValue(value), reason, d.MaxLength, d.Decimals}
		}
	case KindDate:
		if !validDate(value) {
			return "V19", []any{d.Name, quoteValue(value)}
		}
	}
	switch d.ChoiceTable {
	case "":
	case codeListCountry:
		if !IsCountryCode(value) {
			return "V27", []any{d.Name, quoteValue(value)}
		}
	case codeListCurrency:
		if !IsCurrencyCode(value) {
			return "V28", []any{d.Name, quoteValue(value)}
		}
	default:
		if table := choiceTables[d.ChoiceTable]; !slices.Contains(table, value) {
			return "V21", []any{d.Name, quoteValue(value), strings.Join(table, ", "), d.ChoiceTable}
		}
	}
	return "", nil
}

func validDate(s string) bool {
	if len(s) != 10 {
		return false
	}
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

// structure applies V11-V21 to a group element and, recursively, its
// children.
func (c *checker) structure(e Element) {
	d := e.Def()
	n := e.n()
	c.noAttributes(e)
	if n.flags&hasText != 0 {
		c.report("V11.text", e, d.Name)
	}
	// The counts live on a stack shared by the nested calls, reused for
	// every group: a slice per group was most of what the rules allocated.
	base, size := len(c.v.seqCounts), len(d.Children)
	c.v.seqCounts = append(c.v.seqCounts, make([]int, size)...)
	seq := newSequence(d, c.v.seqCounts[base:base+size:base+size])
	defer func() { c.v.seqCounts = c.v.seqCounts[:base] }()
	var misplaced []bool
	if !inOrder(e) {
		misplaced = outOfOrder(slices.Collect(e.Children()))
	}
	i := -1
	for child := range e.Children() {
		i++
		cd := child.Def()
		verdict := seq.visit(cd)
		if misplaced != nil && (verdict == seqOrder || verdict == seqOK && misplaced[i]) {
			// The greedy sequence blames whatever follows a moved element;
			// the longest ordered run blames the moved element itself.
			verdict = seqOK
			if misplaced[i] {
				c.report("V11.misplaced", child, child.Name(), placement(cd))
			}
		}
		if verdict != seqOK {
			key, args := seq.describe(verdict, cd, child.Name(), d.Name)
			c.report(key, child, args...)
		}
		if verdict == seqUnknown || verdict == seqTooMany {
			c.unusable(child)
			continue
		}
		if cd.Kind == KindGroup {
			c.structure(child)
		} else {
			c.leaf(child)
		}
	}
	if e.doc.truncated && e.i == 0 {
		c.report("V11.truncated", e, maxDocumentNodes)
	}
	for _, cd := range d.Children {
		if cd.elsewhere {
			continue
		}
		if seq.count(cd) < cd.MinOccurs {
			rule := c.usageRule(d, cd)
			path := e.ChildPath(cd.Name)
			if cd.MaxOccurs > 1 {
				path += fmt.Sprintf("[%d]", seq.count(cd)+1)
			}
			c.emit(rule, rule+".missing", path, e, d.Name, cd.Name, requirement(cd))
			continue
		}
		if cd.Usage == Dependent {
			c.dependent(e, cd)
		}
	}
}

// usageRule names the rule for a missing or empty child (section 5.3): the
// M rule is V16 under a present C or D sub-level and V12 under an M one; a
// C child with N=1 is V13; a D child with N=1 is V14 or V15.
func (c *checker) usageRule(parent, d *ElementDef) string {
	switch d.Usage {
	case Conditional:
		return "V13"
	case Dependent:
		if len(d.DependsValues) > 0 {
			return "V15"
		}
		return "V14"
	}
	if parent.Usage == Mandatory {
		return "V12"
	}
	return "V16"
}

// noAttributes is V11's "no attributes".
func (c *checker) noAttributes(e Element) {
	if e.n().flags&hasAttrs != 0 {
		c.report("V11.attrs", e, e.Name())
	}
}

// leaf applies the content rules to a leaf element.
func (c *checker) leaf(e Element) {
	d := e.Def()
	n := e.n()
	c.noAttributes(e)
	if n.flags&skipped != 0 {
		c.report("V11.holds_elements", e, d.Name)
		c.unusable(e)
		return
	}
	if d.elsewhere {
		return
	}
	if e.Chars() == 0 {
		if d.Usage == Mandatory {
			rule := c.usageRule(d.Parent, d)
			c.emit(rule, rule+".empty", e.Path(), e, d.Name)
		}
		return
	}
	if key, args := checkValue(d, e.Value(), e.Chars()); key != "" {
		c.report(key, e, args...)
		c.unusable(e)
	}
}

// dependent applies V14 and V15 to the D child d of parent.
func (c *checker) dependent(parent Element, d *ElementDef) {
	el := parent.Child(d.Name)
	on := c.resolve(parent, d.DependsOn)
	onName := func() string { return d.DependsOn.Parent.Name + "/" + d.DependsOn.Name } // for messages only
	if len(d.DependsValues) == 0 {
		if on.Filled() && !el.Filled() {
			c.emit("V14", "V14.dependent", parent.ChildPath(d.Name), atOr(el, parent), d.Name, presence(el), onName(), filledWord(d.DependsOn))
		}
		return
	}
	if c.isUnusable(on) || !on.Filled() {
		return // its own rule reports the condition's element
	}
	holds := slices.Contains(d.DependsValues, on.Value())
	switch {
	case holds && !el.Filled():
		c.emit("V15", "V15.required", parent.ChildPath(d.Name), atOr(el, parent), d.Name, presence(el), onName(), on.Value())
	case !holds && el.Filled():
		want := both{"fraværende", "absent"}
		if d.MinOccurs == 1 {
			want = both{"tomt", "empty"}
		}
		values := both{strings.Join(d.DependsValues, " eller "), strings.Join(d.DependsValues, " or ")}
		c.report("V15.forbidden", el, d.Name, onName(), quoteValue(on.Value()), want, onName(), values)
	}
}

// requirement says what the table requires of d, for a message.
func requirement(d *ElementDef) both {
	o := occursText(d)
	switch {
	case d.Kind == KindGroup:
		return both{fmt.Sprintf("<%s> %s", d.Name, o.da), fmt.Sprintf("<%s> %s", d.Name, o.en)}
	case d.Usage == Mandatory:
		return both{fmt.Sprintf("<%s> %s med en værdi", d.Name, o.da), fmt.Sprintf("<%s> %s, with a value", d.Name, o.en)}
	}
	return both{fmt.Sprintf("<%s> til stede, tomt eller med en værdi (anvendelse %c, N=1)", d.Name, d.Usage),
		fmt.Sprintf("<%s> present, empty or with a value (usage %c, N=1)", d.Name, d.Usage)}
}

func presence(e Element) both {
	if e.Exists() {
		return both{"tomt", "empty"}
	}
	return both{"fraværende", "missing"}
}

func filledWord(d *ElementDef) both {
	if d.Kind == KindGroup {
		return both{"til stede", "present"}
	}
	return both{"udfyldt", "filled"}
}

// atOr is e when it exists, else where its finding is placed instead: the
// element that should hold it.
func atOr(e, parent Element) Element {
	if e.Exists() {
		return e
	}
	return parent
}

// resolve finds the element def stands for, looked up inside the same
// enclosing instance as from (the same LINE, the same DOCUMENT, ...).
func (c *checker) resolve(from Element, def *ElementDef) Element {
	anc := from
	for anc.Exists() && !pathUnder(def.Path, anc.Def().Path) {
		anc = anc.Parent()
	}
	if !anc.Exists() {
		return Element{}
	}
	return anc.Find(def.Path[len(anc.Def().Path)+1:])
}

// pathUnder reports whether path lies under dir, without building dir+"/":
// resolve runs for every D element.
func pathUnder(path, dir string) bool {
	return len(path) > len(dir) && path[len(dir)] == '/' && strings.HasPrefix(path, dir)
}

// inOrder reports whether e's known children stand in table order.
func inOrder(e Element) bool {
	last := -1
	for c := range e.Children() {
		if d := c.Def(); d != nil {
			if d.pos < last {
				return false
			}
			last = d.pos
		}
	}
	return true
}

// outOfOrder marks the children that are not part of a longest run in table
// order (repeated elements together), so a moved element is blamed rather
// than everything after it. Unknown children are left to the sequence.
func outOfOrder(children []Element) []bool {
	// Patience sorting for the longest non-decreasing subsequence of table
	// positions, O(n log n) since LINE may repeat 9999 times.
	var tails []int // tails[k]: index into children ending a run of length k+1
	prev := make([]int, len(children))
	for i, c := range children {
		d := c.Def()
		if d == nil {
			prev[i] = -2
			continue
		}
		k, _ := slices.BinarySearchFunc(tails, d.pos, func(t, pos int) int {
			if children[t].Def().pos <= pos {
				return -1
			}
			return 1
		})
		prev[i] = -1
		if k > 0 {
			prev[i] = tails[k-1]
		}
		if k == len(tails) {
			tails = append(tails, i)
		} else {
			tails[k] = i
		}
	}
	misplaced := make([]bool, len(children))
	for i := range children {
		misplaced[i] = prev[i] != -2
	}
	if len(tails) > 0 {
		for i := tails[len(tails)-1]; i >= 0; i = prev[i] {
			misplaced[i] = false
		}
	}
	return misplaced
}

// placement says where the table puts d among its siblings.
func placement(d *ElementDef) both {
	sib := d.Parent.Children
	switch {
	case d.pos == 0:
		return both{fmt.Sprintf("først, før <%s>", sib[1].Name), fmt.Sprintf("first, before <%s>", sib[1].Name)}
	case d.pos == len(sib)-1:
		return both{fmt.Sprintf("sidst, efter <%s>", sib[d.pos-1].Name), fmt.Sprintf("last, after <%s>", sib[d.pos-1].Name)}
	}
	return both{fmt.Sprintf("efter <%s> og før <%s>", sib[d.pos-1].Name, sib[d.pos+1].Name),
		fmt.Sprintf("after <%s> and before <%s>", sib[d.pos-1].Name, sib[d.pos+1].Name)}
}
