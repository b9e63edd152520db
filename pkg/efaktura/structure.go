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

func newSequence(def *ElementDef) *sequence {
	return &sequence{def: def, counts: make([]int, len(def.Children))}
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

func (q *sequence) describe(v seqVerdict, d *ElementDef, name, parent string) string {
	switch v {
	case seqUnknown:
		if succ, ok := removedTags[name]; ok {
			return fmt.Sprintf("<%s> was removed in format 2.1.0; expected %s instead", name, succ)
		}
		names := make([]string, len(q.def.Children))
		for i, c := range q.def.Children {
			names[i] = c.Name
		}
		return fmt.Sprintf("<%s> is not defined inside <%s>; expected only %s", name, parent, strings.Join(names, ", "))
	case seqOrder:
		return fmt.Sprintf("<%s> comes after <%s>; expected it before <%s>, in the order of the format (repeated elements together)", name, q.def.Children[q.pos].Name, q.def.Children[q.pos].Name)
	case seqTooMany:
		return fmt.Sprintf("<%s> occurs %d times inside <%s>; expected %s", name, q.counts[d.pos], parent, occursText(d))
	}
	return ""
}

func occursText(d *ElementDef) string {
	switch {
	case d.MinOccurs == d.MaxOccurs && d.MaxOccurs == 1:
		return "exactly once"
	case d.MaxOccurs == 1:
		return "at most once"
	case d.MinOccurs == 0:
		return fmt.Sprintf("at most %d times", d.MaxOccurs)
	}
	return fmt.Sprintf("%d to %d times", d.MinOccurs, d.MaxOccurs)
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
// V19, then V21, V27 or V28. It returns the first rule broken, since a value
// that cannot be used is reported once.
func checkValue(d *ElementDef, value string, chars int) (rule, msg string) {
	if strings.Trim(value, " ") == "" && chars > 0 && !spacesAllowed[d.Path] {
		want := "a value or an empty element"
		if d.Usage == Mandatory {
			want = "a value"
		}
		return "V20", fmt.Sprintf("%s consists of spaces only; expected %s", d.Name, want)
	}
	switch d.Kind {
	case KindText:
		if chars > d.MaxLength {
			if d.MaxLength == 0 {
				return "V17", fmt.Sprintf("%s has a value; expected it empty", d.Name)
			}
			return "V17", fmt.Sprintf("%s has %d characters; expected at most %d (Text A(%d))", d.Name, chars, d.MaxLength, d.MaxLength)
		}
	case KindDecimal:
		if _, _, err := checkDecimal(value, d.MaxLength, d.Decimals); err != nil {
			return "V18", fmt.Sprintf("%s is %s, which %v (Decimal %d.%d: up to %d digits, a decimal comma and up to %d decimals, no sign)", d.Name, quoteValue(value), err, d.MaxLength, d.Decimals, d.MaxLength, d.Decimals)
		}
	case KindDate:
		if !validDate(value) {
			return "V19", fmt.Sprintf("%s is %s; expected a calendar date written YYYY-MM-DD", d.Name, quoteValue(value))
		}
	}
	switch d.ChoiceTable {
	case "":
	case codeListCountry:
		if !IsCountryCode(value) {
			return "V27", fmt.Sprintf("%s is %s; expected an ISO 3166-1 alpha-2 country code such as DK or SE", d.Name, quoteValue(value))
		}
	case codeListCurrency:
		if !IsCurrencyCode(value) {
			return "V28", fmt.Sprintf("%s is %s; expected an ISO 4217 currency code in upper case such as DKK or EUR", d.Name, quoteValue(value))
		}
	default:
		if table := choiceTables[d.ChoiceTable]; !slices.Contains(table, value) {
			return "V21", fmt.Sprintf("%s is %s; expected one of %s (table %s, exact upper case)", d.Name, quoteValue(value), strings.Join(table, ", "), d.ChoiceTable)
		}
	}
	return "", ""
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
		c.report("V11", e.Path(), "<%s> holds text; a sub-level holds only elements", d.Name)
	}
	seq := newSequence(d)
	children := slices.Collect(e.Children())
	var misplaced []bool
	if !inOrder(children) {
		misplaced = outOfOrder(children)
	}
	for i, child := range children {
		cd := child.Def()
		verdict := seq.visit(cd)
		if misplaced != nil && (verdict == seqOrder || verdict == seqOK && misplaced[i]) {
			// The greedy sequence blames whatever follows a moved element;
			// the longest ordered run blames the moved element itself.
			verdict = seqOK
			if misplaced[i] {
				c.report("V11", child.Path(), "<%s> is out of order; the format places it %s", child.Name(), placement(cd))
			}
		}
		if verdict != seqOK {
			c.report("V11", child.Path(), "%s", seq.describe(verdict, cd, child.Name(), d.Name))
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
		c.report("V11", e.Path(), "the document has more than %d elements, this reader's limit; the rest was not checked", maxDocumentNodes)
	}
	for _, cd := range d.Children {
		if _, ok := checkedElsewhere[cd.Path]; ok {
			continue
		}
		if seq.count(cd) < cd.MinOccurs {
			rule := c.usageRule(d, cd)
			path := e.ChildPath(cd.Name)
			if cd.MaxOccurs > 1 {
				path += fmt.Sprintf("[%d]", seq.count(cd)+1)
			}
			c.report(rule, path, "<%s> lacks <%s>; expected %s", d.Name, cd.Name, requirement(cd))
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
		c.report("V11", e.Path(), "<%s> has attributes; expected none", e.Name())
	}
}

// leaf applies the content rules to a leaf element.
func (c *checker) leaf(e Element) {
	d := e.Def()
	n := e.n()
	c.noAttributes(e)
	if n.flags&skipped != 0 {
		c.report("V11", e.Path(), "<%s> holds elements; expected text only", d.Name)
		c.unusable(e)
		return
	}
	if _, ok := checkedElsewhere[d.Path]; ok {
		return
	}
	if e.Chars() == 0 {
		if d.Usage == Mandatory {
			c.report(c.usageRule(d.Parent, d), e.Path(), "<%s> is empty; expected a value", d.Name)
		}
		return
	}
	if rule, msg := checkValue(d, e.Value(), e.Chars()); rule != "" {
		c.report(rule, e.Path(), "%s", msg)
		c.unusable(e)
	}
}

// dependent applies V14 and V15 to the D child d of parent.
func (c *checker) dependent(parent Element, d *ElementDef) {
	el := parent.Child(d.Name)
	on := c.resolve(parent, d.DependsOn)
	onName := d.DependsOn.Parent.Name + "/" + d.DependsOn.Name
	if len(d.DependsValues) == 0 {
		if on.Filled() && !el.Filled() {
			c.report("V14", parent.ChildPath(d.Name), "<%s> is %s although %s is %s; expected it filled", d.Name, presence(el), onName, filledWord(d.DependsOn))
		}
		return
	}
	if c.isUnusable(on) || !on.Filled() {
		return // its own rule reports the condition's element
	}
	values := strings.Join(d.DependsValues, " or ")
	holds := slices.Contains(d.DependsValues, on.Value())
	switch {
	case holds && !el.Filled():
		c.report("V15", parent.ChildPath(d.Name), "<%s> is %s although %s is %s; expected it filled", d.Name, presence(el), onName, on.Value())
	case !holds && el.Filled():
		want := "absent"
		if d.MinOccurs == 1 {
			want = "empty"
		}
		c.report("V15", el.Path(), "<%s> is filled although %s is %s; expected it %s unless %s is %s", d.Name, onName, quoteValue(on.Value()), want, onName, values)
	}
}

// requirement says what the table requires of d, for a message.
func requirement(d *ElementDef) string {
	switch {
	case d.Kind == KindGroup:
		return fmt.Sprintf("<%s> %s", d.Name, occursText(d))
	case d.Usage == Mandatory:
		return fmt.Sprintf("<%s> %s, with a value", d.Name, occursText(d))
	}
	return fmt.Sprintf("<%s> present, empty or with a value (usage %c, N=1)", d.Name, d.Usage)
}

func presence(e Element) string {
	if e.Exists() {
		return "empty"
	}
	return "missing"
}

func filledWord(d *ElementDef) string {
	if d.Kind == KindGroup {
		return "present"
	}
	return "filled"
}

// resolve finds the element def stands for, looked up inside the same
// enclosing instance as from (the same LINE, the same DOCUMENT, ...).
func (c *checker) resolve(from Element, def *ElementDef) Element {
	anc := from
	for anc.Exists() && !strings.HasPrefix(def.Path, anc.Def().Path+"/") {
		anc = anc.Parent()
	}
	if !anc.Exists() {
		return Element{}
	}
	return anc.Find(strings.TrimPrefix(def.Path, anc.Def().Path+"/"))
}

// inOrder reports whether the known children stand in table order.
func inOrder(children []Element) bool {
	last := -1
	for _, c := range children {
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
func placement(d *ElementDef) string {
	sib := d.Parent.Children
	switch {
	case d.pos == 0:
		return fmt.Sprintf("first, before <%s>", sib[1].Name)
	case d.pos == len(sib)-1:
		return fmt.Sprintf("last, after <%s>", sib[d.pos-1].Name)
	}
	return fmt.Sprintf("after <%s> and before <%s>", sib[d.pos-1].Name, sib[d.pos+1].Name)
}
