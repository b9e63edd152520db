package efaktura

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// checker applies the document rules to one document.
type checker struct {
	v   *validation
	doc *Document
	res *DocumentResult
	bad map[int32]bool // elements whose value broke a content rule

	// The sender register's answer for this document, asked at most once
	// because V24 and V48 both need it.
	senderAsked bool
	senderEntry Sender
	senderFound bool
	senderErr   error
}

// report records a finding of the rule the message key names, at element at.
func (c *checker) report(key string, at Element, args ...any) {
	c.emit(ruleOf(key), key, at.Path(), at, args...)
}

// emit records a finding of rule with message key at path; at gives its
// position: the element itself, or for a missing one the element that
// should hold it.
func (c *checker) emit(rule, key, path string, at Element, args ...any) {
	c.v.add(&c.res.Findings, maxFindingsPerDocument, rule, path, elementPos(at), key, args...)
}

// ruleOf is the rule a message key names: "V43" for "V43.check".
func ruleOf(key string) string {
	rule, _, _ := strings.Cut(key, ".")
	return rule
}

func (c *checker) unusable(e Element) {
	if c.bad == nil {
		c.bad = make(map[int32]bool)
	}
	c.bad[e.i] = true
}

func (c *checker) isUnusable(e Element) bool { return e.Exists() && c.bad[e.i] }

// text returns the value of a filled element that passed its content rules.
func (c *checker) text(e Element) (string, bool) {
	if !e.Filled() || c.isUnusable(e) {
		return "", false
	}
	return e.Value(), true
}

// amount returns the value of a filled decimal element that passed V18.
func (c *checker) amount(e Element) (fixed, bool) {
	s, ok := c.text(e)
	if !ok || e.Def() == nil || e.Def().Kind != KindDecimal {
		return fixed{}, false
	}
	d, err := parseFixed(s, e.Def().MaxLength, e.Def().Decimals)
	return d, err == nil
}

// amountOrZero is amount for sums, where an unusable value counts as 0
// (section 5.3).
func (c *checker) amountOrZero(e Element) fixed {
	d, _ := c.amount(e)
	return d
}

// documentRule is one rule, or a group of closely related rules, over a
// whole document.
type documentRule struct {
	id    string // reported if the rule cannot run
	check func(*checker)
}

// documentRules run in this order after the structure rules (section 5.3).
var documentRules = []documentRule{
	{"V22", (*checker).versions},
	{"V23", (*checker).receiptTo},
	{"V24", (*checker).senderKnown},
	{"V25", (*checker).identifiers},
	{"V26", (*checker).checksum},
	{"V29", (*checker).billToDenmark},
	{"V30", (*checker).foreignPayment},
	{"V31", (*checker).postalCodes},
	{"V32", (*checker).vatRates},
	{"V33", (*checker).lineAmounts},
	{"V35", (*checker).totals},
	{"V41", (*checker).directDebitAmount},
	{"V42", (*checker).itemNumbers},
	{"V43", (*checker).fik},
	{"V46", (*checker).directDebit},
	{"V48", (*checker).pbs},
	{"V49", (*checker).finalCustomers},
	{"V50", (*checker).accountCodes},
}

// run applies V11-V50 to the document. A rule that panics becomes an error
// finding under its id: a result is never valid when a rule could not run.
func (c *checker) run() {
	c.safely("V11", func() { c.structure(c.doc.Root()) })
	for _, r := range documentRules {
		c.safely(r.id, func() { r.check(c) })
	}
}

func (c *checker) safely(id string, f func()) {
	defer func() {
		if p := recover(); p != nil {
			c.emit(id, "internal", c.doc.Root().Path(), c.doc.Root(), id)
		}
	}()
	f()
}

// within reports whether a and b differ by at most the tolerance amounts
// and totals may have, in the document's currency.
func within(a, b fixed) bool { return a.Sub(b).Abs().Cmp(tolerance) <= 0 }

// written is the value of parent's child name as written, a number, for a
// message.
func written(parent Element, name string) number { return number(parent.Child(name).Value()) }

// money renders an amount for a message with 2 or 3 decimals, as amounts are
// written; computed values are rounded to 3 decimals for display only.
func money(d decimal.Decimal) number {
	return number(strings.TrimSuffix(FormatDecimal(d, 3), "0"))
}

// fixedValues are HEADER's required values (V22), applied when filled.
var fixedValues = []struct{ path, want string }{
	{"HEADER/VERSION", "2.1.0"},
	{"HEADER/PAYMENT_MEANS_VERSION", "2.1.0"},
	{"HEADER/FACTORING_VERSION", "2.0.0"},
}

// versions is V22.
func (c *checker) versions() {
	for _, f := range fixedValues {
		e := c.doc.Root().Find(f.path)
		if v, ok := c.text(e); ok && v != f.want {
			c.report("V22", e, e.Name(), quoteValue(v), f.want)
		}
	}
}

// receiptTo is V23.
func (c *checker) receiptTo() {
	h := c.doc.Root().Child("HEADER")
	if !h.Exists() {
		return
	}
	e := h.Child("RECEIPT_TO")
	switch {
	case !e.Exists():
		c.emit("V23", "V23.missing", h.ChildPath("RECEIPT_TO"), h)
	case e.Chars() > 0:
		c.report("V23.value", e)
	}
}

func (c *checker) sender() (idType, id string, ok bool) {
	h := c.doc.Root().Child("HEADER")
	idType, ok1 := c.text(h.Child("SENDER_ID_TYPE"))
	id, ok2 := c.text(h.Child("SENDER_ID"))
	return idType, id, ok1 && ok2
}

// lookupSender consults the register once per document, however many
// rules ask.
func (c *checker) lookupSender() (Sender, bool, error) {
	if !c.senderAsked {
		c.senderAsked = true
		if idType, id, ok := c.sender(); ok {
			c.senderEntry, c.senderFound, c.senderErr = c.v.opts.Senders.LookupSender(c.v.ctx, idType, id)
		}
	}
	return c.senderEntry, c.senderFound, c.senderErr
}

// senderKnown is V24.
func (c *checker) senderKnown() {
	if c.v.opts.Senders == nil {
		return
	}
	idType, id, ok := c.sender()
	if !ok {
		return
	}
	at := c.doc.Root().Find("HEADER/SENDER_ID")
	_, found, err := c.lookupSender()
	switch {
	case err != nil:
		c.report("V24.unavailable", at)
	case !found:
		c.report("V24.unknown", at, idType, quoteNumber(id))
	}
}

// identifiers is V25.
func (c *checker) identifiers() {
	h := c.doc.Root().Child("HEADER")
	for _, p := range []struct{ typ, id string }{{"SENDER_ID_TYPE", "SENDER_ID"}, {"RECEIVER_ID_TYPE", "RECEIVER_ID"}} {
		typ, ok1 := c.text(h.Child(p.typ))
		id, ok2 := c.text(h.Child(p.id))
		f, known := partyIDFormats[typ]
		if ok1 && ok2 && known && !f.valid(id) {
			c.report("V25.id", h.Child(p.id), p.id, quoteNumber(id), typ, f.want)
		}
	}
	e := c.doc.Root().Find("FACTORING_INFO/FACTORING_CVR_NO")
	if v, ok := c.text(e); ok && !isDigits(v, 8, 8) {
		c.report("V25.factoring", e, quoteNumber(v))
	}
}

// checksum is V26 (section 6).
func (c *checker) checksum() {
	cs := c.doc.Root().Find("HEADER/CHECKSUM")
	written, ok := c.amount(cs)
	if !ok {
		return
	}
	parts, err := c.doc.Checksum()
	if err != nil {
		return // P_FIK_NO is not a number: V43 reports it, and the checksum has no value
	}
	if w := written.Decimal(); !w.Equal(parts.Computed) {
		c.report("V26", cs, number(FormatDecimal(w, 3)), number(FormatDecimal(parts.Computed, 3)),
			number(strconv.FormatInt(parts.Name, 10)), number(orZero(parts.FIK)), money(parts.NetPrices))
	}
}

// ChecksumParts is a document's checksum as declared and as computed, with
// the three parts of section 6.2.
type ChecksumParts struct {
	Declared  string          // HEADER/CHECKSUM as written
	Computed  decimal.Decimal // Name + FIK + NetPrices
	Name      int64           // L: the value of BILL_TO/NAME_1
	FIK       string          // F: P_FIK_NO when PAYMENT_TYPE is FIK and it is filled, else ""
	NetPrices decimal.Decimal // S: the sum of LINE/AMOUNT/NET_PRICE
}

// Checksum computes the document's checksum from its content (section 6).
// A missing part counts 0, and so does a NET_PRICE that is not a valid
// decimal, as in the sums of section 5.3; the name counts as written, since
// any text has a value. When P_FIK_NO counts but is not all digits, the
// checksum has no value and the error wraps [ErrNotDigits].
func (d *Document) Checksum() (ChecksumParts, error) {
	root := d.Root()
	p := ChecksumParts{
		Declared: root.Find("HEADER/CHECKSUM").Value(),
		Name:     NameValue(root.Find("BILL_TO/NAME_1").Value()),
	}
	if root.Find("PAYMENT_MEANS/PAYMENT_TYPE").Value() == "FIK" {
		p.FIK = root.Find("PAYMENT_MEANS/FIK/P_FIK_NO").Value()
	}
	var sum fixed
	for line := range root.All("LINE") {
		if v, err := parseFixed(line.Find("AMOUNT/NET_PRICE").Value(), 20, 3); err == nil {
			sum = sum.Add(v)
		}
	}
	p.NetPrices = sum.Decimal()
	computed, err := checksum(p.Name, p.FIK, p.NetPrices)
	if err != nil {
		return p, fmt.Errorf("P_FIK_NO: %w", err)
	}
	p.Computed = computed
	return p, nil
}

func orZero(digits string) string {
	if t := strings.TrimLeft(digits, "0"); t != "" {
		return t
	}
	return "0"
}

// addresses yields each party block's name and its ADDRESS element.
func (c *checker) addresses(yield func(party string, addr Element) bool) {
	for e := range c.doc.Root().Children() {
		if a := e.Child("ADDRESS"); a.Exists() && e.Def() != nil {
			if !yield(e.Name(), a) {
				return
			}
		}
	}
}

// billToDenmark is V29.
func (c *checker) billToDenmark() {
	e := c.doc.Root().Find("BILL_TO/ADDRESS/COUNTRY_CODE")
	if v, ok := c.text(e); ok && !strings.EqualFold(v, "DK") {
		c.report("V29", e, quoteValue(v))
	}
}

// foreignPayment is V30.
func (c *checker) foreignPayment() {
	root := c.doc.Root()
	var foreign, country string
	for party, addr := range c.addresses {
		if v, ok := c.text(addr.Child("COUNTRY_CODE")); ok && !strings.EqualFold(v, "DK") {
			foreign, country = party, strings.ToUpper(v)
			break
		}
	}
	if foreign == "" {
		return
	}
	pt := root.Find("PAYMENT_MEANS/PAYMENT_TYPE")
	ptype, ok := c.text(pt)
	if !ok {
		return
	}
	if ptype != "DIRECT_DEBIT" {
		c.report("V30.payment_type", pt, foreign, country, quoteValue(ptype))
		return
	}
	dt := root.Find("PAYMENT_MEANS/DIRECT_DEBIT/P_DIRECT_DEBIT_TYPE")
	if v, ok := c.text(dt); ok && v != "OTHER" {
		c.report("V30.direct_debit_type", dt, foreign, country, quoteValue(v))
	}
}

// postalCodes is V31.
func (c *checker) postalCodes() {
	for party, addr := range c.addresses {
		cc, ok := c.text(addr.Child("COUNTRY_CODE"))
		pc := addr.Child("POST_CODE")
		if !ok || !strings.EqualFold(cc, "DK") || !pc.Exists() || c.isUnusable(pc) {
			continue
		}
		if v := pc.Value(); !IsDanishPostalCode(v) {
			c.report("V31", pc, party, quoteNumber(v))
		}
	}
}

func (c *checker) vatPercents(yield func(Element) bool) {
	root := c.doc.Root()
	for line := range root.All("LINE") {
		if !yield(line.Find("AMOUNT/VAT_PERCENT")) {
			return
		}
	}
	total := root.Child("TOTALAMOUNT")
	for ch := range total.All("CHARGE") {
		if !yield(ch.Child("CHARGE_VAT_PERCENT")) {
			return
		}
	}
	yield(total.Child("INVOICE_DISCOUNT_VAT_PERCENT"))
}

// vatRates is V32.
func (c *checker) vatRates() {
	for e := range c.vatPercents {
		if v, ok := c.amount(e); ok && !v.Equal(vat0) && !v.Equal(vat25) {
			c.report("V32", e, e.Name(), number(e.Value()))
		}
	}
}

// lineAmounts is V33 and V34.
func (c *checker) lineAmounts() {
	for line := range c.doc.Root().All("LINE") {
		a := line.Child("AMOUNT")
		if !a.Exists() {
			continue
		}
		net, okNet := c.amount(a.Child("NET_PRICE"))
		pct, okPct := c.amount(a.Child("VAT_PERCENT"))
		vat, okVat := c.amount(a.Child("VAT_AMOUNT"))
		incl, okIncl := c.amount(a.Child("AMOUNT_INCL_VAT"))
		if okNet && okPct && okVat {
			if want := net.Mul(pct).Percent(); !within(vat, want) {
				c.report("V33.vat", a.Child("VAT_AMOUNT"), written(a, "VAT_AMOUNT"), written(a, "NET_PRICE"), written(a, "VAT_PERCENT"), money(want.Decimal()))
			}
		}
		if okNet && okVat && okIncl {
			if want := net.Add(vat); !within(incl, want) {
				c.report("V33.incl", a.Child("AMOUNT_INCL_VAT"), written(a, "AMOUNT_INCL_VAT"), written(a, "NET_PRICE"), written(a, "VAT_AMOUNT"), money(want.Decimal()))
			}
		}
		qty, okQty := c.amount(line.Child("QUANTITY"))
		price, okPrice := c.amount(line.Child("UNIT_PRICE"))
		de := a.Child("LINE_DISCOUNT_AMOUNT")
		disc, okDisc := c.amount(de)
		if !de.Filled() {
			okDisc = true
		}
		if okNet && okQty && okPrice && okDisc {
			if want := qty.Mul(price).Sub(disc); !within(net, want) {
				c.report("V34", a.Child("NET_PRICE"), written(a, "NET_PRICE"), written(line, "QUANTITY"), written(line, "UNIT_PRICE"), number(cmp.Or(de.Value(), "0")), money(want.Decimal()))
			}
		}
	}
}

// totals is V35 to V40 (section 8): each total is compared with what the
// lines, charges and discount give, never with another written total, except
// in V40.
func (c *checker) totals() {
	root := c.doc.Root()
	t := root.Child("TOTALAMOUNT")
	if !t.Exists() {
		return
	}
	// Amounts that are missing or unusable count 0 in the sums (section
	// 5.3). A VAT rate that is missing or unusable leaves the VAT base B
	// unknown, so V38 and V39, which need it, are skipped.
	var sn, sc, base fixed
	baseKnown := true
	addToBase := func(rate Element, amount fixed) {
		p, ok := c.amount(rate)
		switch {
		case !ok:
			baseKnown = false
		case p.Equal(vat25):
			base = base.Add(amount)
		}
	}
	for line := range root.All("LINE") {
		a := line.Child("AMOUNT")
		if !a.Exists() {
			continue
		}
		net := c.amountOrZero(a.Child("NET_PRICE"))
		sn = sn.Add(net)
		addToBase(a.Child("VAT_PERCENT"), net)
	}
	for ch := range t.All("CHARGE") {
		amt := c.amountOrZero(ch.Child("CHARGE_AMOUNT"))
		sc = sc.Add(amt)
		addToBase(ch.Child("CHARGE_VAT_PERCENT"), amt)
	}
	disc := c.amountOrZero(t.Child("INVOICE_DISCOUNT_AMOUNT"))
	if t.Child("INVOICE_DISCOUNT_AMOUNT").Filled() {
		addToBase(t.Child("INVOICE_DISCOUNT_VAT_PERCENT"), disc.Neg())
	}
	excl := sn.Add(sc).Sub(disc)
	vat := base.Mul(vat25).Percent()
	checks := []struct {
		rule, name string
		want       fixed
		how        []fixed // the message's further arguments, rendered only for a finding
	}{
		{"V35", "TOTAL_LINE_AMOUNT", sn, nil},
		{"V36", "TOTAL_CHARGE_AMOUNT", sc, nil},
		{"V37", "TOTAL_AMOUNT_EXCL_VAT", excl, []fixed{sn, sc, disc}},
		{"V38", "VAT_BASE_AMOUNT", base, nil},
		{"V39", "TOTAL_VAT_AMOUNT", vat, []fixed{base}},
	}
	for _, ch := range checks {
		if !baseKnown && (ch.rule == "V38" || ch.rule == "V39") {
			continue
		}
		e := t.Child(ch.name)
		if got, ok := c.amount(e); ok && !within(got, ch.want) {
			args := []any{number(e.Value()), money(ch.want.Decimal())}
			for _, h := range ch.how {
				args = append(args, money(h.Decimal()))
			}
			c.report(ch.rule, e, args...)
		}
	}
	we, ok1 := c.amount(t.Child("TOTAL_AMOUNT_EXCL_VAT"))
	wv, ok2 := c.amount(t.Child("TOTAL_VAT_AMOUNT"))
	e := t.Child("TOTAL_AMOUNT_INCL_VAT")
	if got, ok3 := c.amount(e); ok1 && ok2 && ok3 && !within(got, we.Add(wv)) {
		c.report("V40", e, number(e.Value()), written(t, "TOTAL_AMOUNT_EXCL_VAT"), written(t, "TOTAL_VAT_AMOUNT"), money(we.Add(wv).Decimal()))
	}
}

// directDebitAmount is V41.
func (c *checker) directDebitAmount() {
	root := c.doc.Root()
	dd := root.Find("PAYMENT_MEANS/DIRECT_DEBIT")
	if root.Find("PAYMENT_MEANS/PAYMENT_TYPE").Value() != "DIRECT_DEBIT" || !dd.Exists() {
		return
	}
	pc, ok1 := c.text(dd.Child("P_CURRENCY_CODE"))
	cc, ok2 := c.text(root.Find("CURRENCY/CURRENCY_CODE"))
	amt, ok3 := c.amount(dd.Child("P_AMOUNT"))
	total, ok4 := c.amount(root.Find("TOTALAMOUNT/TOTAL_AMOUNT_INCL_VAT"))
	if ok1 && ok2 && ok3 && ok4 && pc == cc && !within(amt, total) {
		c.report("V41", dd.Child("P_AMOUNT"), written(dd, "P_AMOUNT"), pc, number(root.Find("TOTALAMOUNT/TOTAL_AMOUNT_INCL_VAT").Value()))
	}
}

// itemNumbers is V42.
func (c *checker) itemNumbers() {
	for line := range c.doc.Root().All("LINE") {
		if !line.Child("QUANTITY").Filled() || !line.Find("AMOUNT/NET_PRICE").Filled() {
			continue
		}
		info := line.Child("ITEM_INFO")
		if !info.Child("ITEM_NO").Filled() && !info.Child("BUYER_ITEM_NO").Filled() && !info.Child("EAN_ITEM_NO").Filled() {
			c.report("V42", line)
		}
	}
}

// fikLengths are the payment-id lengths per card type (table R2).
var fikLengths = map[string]int{"71": 15, "75": 16}

// fik is V43, V44 and V45.
func (c *checker) fik() {
	fik := c.doc.Root().Find("PAYMENT_MEANS/FIK")
	if !fik.Exists() {
		return
	}
	card, cardOK := c.text(fik.Child("P_CARD_TYPE"))
	if n, ok := fikLengths[card]; ok && cardOK {
		e := fik.Child("P_FIK_NO")
		if id, ok := c.text(e); ok {
			switch {
			case !isDigits(id, n, n):
				c.report("V43.length", e, quoteNumber(id), card, n)
			case !ValidMod10(id):
				check, _ := Mod10CheckDigit(id[:n-1])
				c.report("V43.check", e, quoteNumber(id), string(id[n-1]), check)
			}
		}
	}
	e := fik.Child("P_CREDITOR_NO")
	if v, ok := c.text(e); ok && !isDigits(v, 8, 8) {
		c.report("V44", e, quoteNumber(v))
	}
	if m := fik.Child("P_MESSAGE"); m.Exists() && cardOK && card != "73" && card != "75" {
		c.report("V45", m, card)
	}
}

// directDebit is V46 and V47.
func (c *checker) directDebit() {
	dd := c.doc.Root().Find("PAYMENT_MEANS/DIRECT_DEBIT")
	if !dd.Exists() {
		return
	}
	e := dd.Child("P_TRANSFER_DATE")
	if v, ok := c.text(e); ok {
		day, _ := time.Parse(time.DateOnly, v)
		if !c.v.opts.Calendar.IsBankDay(day) {
			c.report("V46", e, v, dayKind(day))
		}
	}
	typ, ok := c.text(dd.Child("P_DIRECT_DEBIT_TYPE"))
	if !ok || !slices.Contains([]string{"BS", "LS", "PBS"}, typ) {
		return
	}
	if reg := dd.Child("P_REG_NO"); reg.Filled() && !c.isUnusable(reg) && !isDigits(reg.Value(), 4, 4) {
		c.report("V47.reg", reg, quoteNumber(reg.Value()), typ)
	}
	if acc := dd.Child("P_ACCOUNT_NO"); acc.Filled() && !c.isUnusable(acc) && !isDigits(acc.Value(), 1, 10) {
		c.report("V47.account", acc, quoteNumber(acc.Value()), typ)
	}
}

func dayKind(t time.Time) both {
	switch t.Weekday() {
	case time.Saturday:
		return both{"lørdag", "Saturday"}
	case time.Sunday:
		return both{"søndag", "Sunday"}
	}
	return both{"banklukkedag", "bank holiday"}
}

// pbs is V48.
func (c *checker) pbs() {
	e := c.doc.Root().Find("PAYMENT_MEANS/DIRECT_DEBIT/P_DIRECT_DEBIT_TYPE")
	if c.v.opts.Senders == nil || e.Value() != "PBS" {
		return
	}
	s, found, err := c.lookupSender()
	if err != nil || !found {
		return // V24 reports an unknown sender or an unreachable register
	}
	if !s.Nets {
		c.report("V48", e, s.Type, quoteNumber(s.ID))
	}
}

// finalCustomers is V49. FINAL_CUSTOMER may be a CPR number: its value never
// appears in a message.
func (c *checker) finalCustomers() {
	for line := range c.doc.Root().All("LINE") {
		te, ve := line.Child("FINAL_CUSTOMER_TYPE"), line.Child("FINAL_CUSTOMER")
		switch {
		case te.Filled() && !ve.Filled():
			c.emit("V49", "V49.no_customer", line.ChildPath("FINAL_CUSTOMER"), atOr(ve, line))
		case !te.Filled() && ve.Filled():
			c.emit("V49", "V49.no_type", line.ChildPath("FINAL_CUSTOMER_TYPE"), atOr(te, line))
		case te.Filled():
			typ, ok := c.text(te)
			f, known := finalCustomerFormats[typ]
			if ok && known && !c.isUnusable(ve) && !f.valid(ve.Value()) {
				c.report("V49.format", ve, typ, f.want)
			}
		}
	}
}

// accountCodes is V50.
func (c *checker) accountCodes() {
	root := c.doc.Root()
	if !strings.EqualFold(root.Find("DOCUMENT_HEAD/ACCOUNT_CODE").Value(), "Linjespecificeret") {
		return
	}
	for line := range root.All("LINE") {
		if line.Find("AMOUNT/NET_PRICE").Filled() && !line.Child("ACCOUNT_CODE").Filled() {
			c.emit("V50", "V50", line.ChildPath("ACCOUNT_CODE"), atOr(line.Child("ACCOUNT_CODE"), line))
		}
	}
}
