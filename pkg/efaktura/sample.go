package efaktura

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/shopspring/decimal"
)

// SampleOptions size a bundle made by [Sample]. Zero or negative fields take
// their defaults.
type SampleOptions struct {
	// Documents is the number of DOCUMENT elements; default 1. More than
	// 1000 makes a bundle that breaks V07.
	Documents int
	// LinesPerDocument is the number of LINE elements in every document;
	// default 10.
	LinesPerDocument int
	// Seed selects the bundle; default 1 (so seeds 0 and 1 give the same
	// bundle). The same options always give the same bundle.
	Seed int64
	// FirstSerial numbers the first document (its receipt, document and
	// payment numbers); default 1, the next documents counting on. Bundles
	// with different first serials do not repeat each other's numbers, as
	// real senders' invoices do not. At most 999 999 minus Documents.
	FirstSerial int
}

func (o SampleOptions) withDefaults() SampleOptions {
	if o.Documents <= 0 {
		o.Documents = 1
	}
	if o.LinesPerDocument <= 0 {
		o.LinesPerDocument = 10
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.FirstSerial <= 0 {
		o.FirstSerial = 1
	}
	return o
}

// Sample builds a valid bundle of fictitious documents, deterministically
// from o.Seed (math/rand/v2 with a PCG source). Written with [Write], which
// computes the checksums Sample leaves empty, it passes [Validate] without a
// finding when the sender register holds (CVR 12345674), (CVR 24680134) and
// (EAN 7350000000030), the only senders it uses.
//
// About 70 % of the documents are invoices, paid by FIK card type 71 with a
// valid modulus-10 payment id or by direct debit (LS or BS) on a bank day;
// 15 % are credit notes (FIK 73, ORIGINAL_DOCUMENT_NO) and 15 % reminders
// (lump-sum lines at 0 % VAT, a reminder fee at 0 %, FIK 75 with a 16-digit
// id). Invoice and credit-note lines carry 25 % VAT, quantities and unit
// prices with up to 2 decimals and sometimes a line discount; documents
// sometimes have an invoice discount, charges, CPR final customers (fake
// numbers such as 0101001234) or the header account code Linjespecificeret
// with an account code on every priced line. Names hold Danish letters and
// escaped characters. The receiver is EAN 5798000000018, BILL_TO is always
// in Denmark, RECEIPT_NO is unique per document, and every total is
// computed exactly (section 8): amounts have 2 decimals and
// TOTAL_VAT_AMOUNT is 25 % of the VAT base, rounded, so it never drifts.
//
// With 40 lines per document a document takes about 30 KB.
func Sample(o SampleOptions) *Bundle {
	o = o.withDefaults()
	g := &sampler{
		r:   rand.New(rand.NewPCG(uint64(o.Seed), 0x9e3779b97f4a7c15)),
		cal: DanishBankCalendar(),
	}
	b := &Bundle{
		Reference: "SAMPLE-" + strconv.FormatInt(o.Seed, 10) + "-" + strconv.Itoa(o.Documents),
		Documents: make([]Invoice, o.Documents),
	}
	for i := range b.Documents {
		g.document(&b.Documents[i], o.FirstSerial+i, o.LinesPerDocument)
	}
	return b
}

// sampler holds the state of one Sample call.
type sampler struct {
	r   *rand.Rand
	cal *BankCalendar
}

// chance reports true with probability percent/100.
func (g *sampler) chance(percent int) bool { return g.r.IntN(100) < percent }

// samplePick returns a random element of s.
func samplePick[T any](g *sampler, s []T) T { return s[g.r.IntN(len(s))] }

// sampleSender is a registered sender with its fixed data.
type sampleSender struct {
	idType, id string
	prefix     string // of RECEIPT_NO
	creditorNo string // P_CREDITOR_NO
	party      Party
	address2   string // P_ADDRESS_2: post code and city
	department Party  // SOLD_FROM, when used
}

var sampleSenders = []sampleSender{
	{
		idType: "CVR", id: "12345674", prefix: "OEH", creditorNo: "81234567",
		party: Party{Name1: "Østbyens Hjælpemidler ApS",
			Address: Address{Address1: "Fabriksvej 12", PostCode: "8600", City: "Silkeborg", CountryCode: "DK"}},
		address2: "8600 Silkeborg",
		department: Party{Name1: "Østbyens Hjælpemidler ApS", Name2: "Afdeling Århus",
			Address: Address{Address1: "Søren Frichs Vej 38", Address2: "Bygning Ø", PostCode: "8000", City: "Aarhus C", CountryCode: "DK"}},
	},
	{
		idType: "CVR", id: "24680134", prefix: "NRD", creditorNo: "82468013",
		party: Party{Name1: "Nordlys Rengøring A/S", Name2: "Afdeling Syd",
			Address: Address{Address1: "Industrivej 7", PostCode: "7100", City: "Vejle", CountryCode: "DK"}},
		address2: "7100 Vejle",
		department: Party{Name1: "Nordlys Rengøring A/S", Name2: "Region Fyn",
			Address: Address{Address1: "Ørbækvej 260", PostCode: "5000", City: "Odense C", CountryCode: "DK"}},
	},
	{
		idType: "EAN", id: "7350000000030", prefix: "SKH", creditorNo: "87350003",
		party: Party{Name1: "Skånes Hälsoteknik AB, Danmark",
			Address: Address{Address1: "Strandgade 3", Address2: "2. sal", PostCode: "1050", City: "København K", CountryCode: "DK"}},
		address2: "1050 København K",
		department: Party{Name1: "Skånes Hälsoteknik AB", Name2: "Lager Kolding",
			Address: Address{Address1: "Trianglen 5", PostCode: "6000", City: "Kolding", CountryCode: "DK"}},
	},
}

// sampleBuyers are the BILL_TO parties, all in Denmark.
var sampleBuyers = []Party{
	{Name1: "Kærholm Kommune", Name2: "Pension og Boligstøtte",
		Address: Address{Address1: "Rådhustorvet 1", PostCode: "4300", City: "Holbæk", CountryCode: "DK"}},
	{Name1: "Kærholm Kommune - Job & Ydelse",
		Address: Address{Address1: "Rådhustorvet 1", PostCode: "4300", City: "Holbæk", CountryCode: "DK"}},
	{Name1: "Silkeborg Ældrecenter Søhøj", Name2: "Køkken og Rengøring",
		Address: Address{Address1: "Søhøjvej 14", PostCode: "8600", City: "Silkeborg", CountryCode: "DK"}},
	{Name1: "Østerbro Bofællesskab \"Ågården\"", Name2: "Att. Bjørn Ågård",
		Address: Address{Address1: "Ryesgade 101", Address2: "Baghuset", PostCode: "2100", City: "København Ø", CountryCode: "DK"}},
	{Name1: "Fyns Hjælpemiddelcentral", Name2: "Indkøb",
		Address: Address{Address1: "Ørbækvej 100", PostCode: "5000", City: "Odense C", CountryCode: "DK"}},
	{Name1: "Børnehuset Åens Venner", Name2: "Aalborg Kommune",
		Address: Address{Address1: "Vesterå 9", PostCode: "9000", City: "Aalborg", CountryCode: "DK"}},
	{Name1: "Bo Ørsted",
		Address: Address{Address1: "Strandvejen 5", Address2: "st. tv.", PostCode: "8000", City: "Aarhus C", CountryCode: "DK"}},
}

// sampleDepots are SHIP_TO parties.
var sampleDepots = []Party{
	{Name1: "Hjælpemiddeldepot Nord",
		Address: Address{Address1: "Depotvej 3", PostCode: "4300", City: "Holbæk", CountryCode: "DK"}},
	{Name1: "Plejecenter Åkanden", Name2: "Varemodtagelsen",
		Address: Address{Address1: "Søvej 21", PostCode: "9000", City: "Aalborg", CountryCode: "DK"}},
	{Name1: "Bostedet Lærkereden",
		Address: Address{Address1: "Lærkevej 2", PostCode: "2100", City: "København Ø", CountryCode: "DK"}},
}

// sampleItem is a catalogue entry for goods or service lines.
type sampleItem struct {
	no, desc, desc2, unit string
	price                 int64 // in øre
	qty                   byte  // 'n' whole numbers, 'h' quarter hours, 'k' one decimal
}

var sampleItems = []sampleItem{
	{"RL-200", "Rollator, letvægt", "Farve: grå", "STK", 145000, 'n'},
	{"SRV-MONT", "Montering og instruktion", "Inkl. opfølgende besøg", "TIME", 48000, 'h'},
	{"BB-110", "Badebænk med ryglæn", "Højdejusterbar 42-55 cm", "STK", 89500, 'n'},
	{"REN-UGE", "Ugentlig rengøring, fællesarealer", "Trappeopgange og vaskerum", "UGE", 123750, 'n'},
	{"KØR-KM", "Kørsel i egen bil", "Statens takst", "KM", 373, 'k'},
	{"KS-310", "Kørestol, sammenklappelig", "Sædebredde 45 cm", "STK", 499500, 'n'},
	{"TF-10", "Toiletforhøjer 10 cm", "Med armlæn", "STK", 32900, 'n'},
	{"GT-80", "Gribetang, 80 cm", "", "STK", 8995, 'n'},
	{"KONS", "Hjælpemiddelkonsulent", "Vurdering i borgerens hjem", "TIME", 72500, 'h'},
	{"VASK-KG", "Vask af linned og håndklæder", "Hentes og bringes", "KG", 1850, 'k'},
	{"MAD-H", "Måltider, hovedret", "Leveret kølet", "STK", 6200, 'n'},
	{"SB-EL", "Sengebund, elektrisk 90x200", "Med løftefunktion & sengehest", "STK", 845000, 'n'},
	{"HR-VINDUE", "Vinduespolering <inde og ude>", "Kvartalsvis", "GANG", 185000, 'n'},
}

// sampleCPRs are obviously fake CPR numbers (1 January 1900/2000).
var sampleCPRs = []string{"0101001234", "0101002345", "0101003456", "0101004567"}

var (
	sampleVAT25s = FormatDecimal(vat25.Decimal(), 2)
	sampleVAT0s  = FormatDecimal(vat0.Decimal(), 2)
	sampleEpoch  = time.Date(2025, time.January, 2, 0, 0, 0, 0, time.UTC)
)

// sampleMoney formats an amount with 2 decimals.
func sampleMoney(d decimal.Decimal) string { return FormatDecimal(d, 2) }

// sampleDocument accumulates one document's sums (section 8).
type sampleDocument struct {
	sn, sc, base decimal.Decimal
}

func (g *sampler) document(d *Invoice, serial, lines int) {
	s := &sampleSenders[g.r.IntN(len(sampleSenders))]
	kind, typeLetter := "INVOICE", "F" // the letter starts DOCUMENT_NO
	switch n := g.r.IntN(100); {
	case n >= 85:
		kind, typeLetter = "REMINDER", "R"
	case n >= 70:
		kind, typeLetter = "CREDIT_NOTE", "K"
	}
	date := sampleEpoch.AddDate(0, 0, g.r.IntN(330))
	year := date.Year()
	d.Header = Header{
		Version:             "2.1.0",
		PaymentMeansVersion: "2.1.0",
		SenderIDType:        s.idType,
		SenderID:            s.id,
		ReceiverIDType:      "EAN",
		ReceiverID:          "5798000000018",
		ReceiptNo:           fmt.Sprintf("%s-%d-%06d", s.prefix, year, serial),
	}
	d.Head = DocumentHead{
		DocumentType: kind,
		DocumentNo:   fmt.Sprintf("%s-%d-%05d", typeLetter, year, serial),
		DocumentDate: date.Format(time.DateOnly),
	}
	original := fmt.Sprintf("F-%d-%05d", year-1+g.r.IntN(2), 1+g.r.IntN(99999))
	if kind != "INVOICE" {
		d.Head.OriginalDocumentNo = original
	}
	if g.chance(60) {
		d.Head.ExternalDocumentNo = fmt.Sprintf("REK-%02d-%d-%04d", 10+g.r.IntN(90), year, g.r.IntN(10000))
	}
	lineCodes := false
	if kind != "REMINDER" {
		switch n := g.r.IntN(100); {
		case n < 50:
			d.Head.AccountCode = "Linjespecificeret"
			lineCodes = true
		case n < 65:
			d.Head.AccountCode = g.accountCode()
		}
	}
	switch {
	case kind == "REMINDER":
		d.Remark = &Remark{Texts: []string{fmt.Sprintf("%d. rykker. Fakturaen %s er forfalden.", 1+g.r.IntN(3), original)}}
	case g.chance(35):
		d.Remark = &Remark{Texts: []string{"Hjælpemidler bevilget efter servicelovens § 112."}}
		if g.chance(50) {
			d.Remark.Texts = append(d.Remark.Texts, "Spørgsmål: kontakt kundeservice <kundeservice@example.dk>.")
		}
	}
	d.BilledFrom = s.party
	if g.chance(15) {
		p := s.department
		d.SoldFrom = &p
	}
	d.BillTo = samplePick(g, sampleBuyers)
	if g.chance(15) {
		p := Party{Name1: d.BillTo.Name1, Name2: "Ældreområdet, Plejecenter Åkanden",
			Address: Address{Address1: "Søvej 21", PostCode: "4300", City: "Holbæk", CountryCode: "DK"}}
		d.SellTo = &p
	}
	if kind == "INVOICE" && g.chance(30) {
		p := samplePick(g, sampleDepots)
		d.ShipTo = &p
	}
	d.CurrencyCode = "DKK"

	var sums sampleDocument
	d.Lines = make([]Line, lines)
	if kind == "REMINDER" {
		for i := range d.Lines {
			g.reminderLine(&d.Lines[i], i+1, year, &sums)
		}
	} else {
		orderNo := ""
		if g.chance(75) {
			orderNo = fmt.Sprintf("ORD-%05d", g.r.IntN(100000))
		}
		cprs := g.chance(50)
		for i := range d.Lines {
			g.goodsLine(&d.Lines[i], i+1, lineCodes, orderNo, cprs, &sums)
		}
	}

	due := date.AddDate(0, 0, 30)
	switch kind {
	case "INVOICE":
		d.PaymentTerms = &PaymentTerms{DueDate: due.Format(time.DateOnly), Text: samplePick(g, []string{"Netto 30 dage", "Løbende måned + 30 dage", ""})}
	case "REMINDER":
		due = date.AddDate(0, 0, 10)
		d.PaymentTerms = &PaymentTerms{DueDate: due.Format(time.DateOnly), Text: "Betales senest 10 dage efter rykkerdato"}
	}
	g.totals(d, kind, &sums)
	if kind == "INVOICE" && g.chance(50) {
		d.DeliveryTerms = &DeliveryTerms{DeliveryDate: date.AddDate(0, 0, -g.r.IntN(10)).Format(time.DateOnly)}
		if g.chance(50) {
			d.DeliveryTerms.Text = "Leveret frit modtagers adresse"
		}
	}
	g.payment(d, s, kind, serial, year, due)
	if kind == "INVOICE" && g.chance(5) {
		d.Header.FactoringVersion = "2.0.0"
		d.Factoring = &Factoring{
			Name:  "Nordisk Factoring A/S",
			CVRNo: "35790241",
			Text:  "Fordringen er overdraget til Nordisk Factoring A/S. Betaling med frigørende virkning kan kun ske til Nordisk Factoring A/S.",
		}
	}
}

func (g *sampler) accountCode() string {
	return fmt.Sprintf("5.%02d.%02d.%d-%04d-%04d", 10+g.r.IntN(80), 10+g.r.IntN(80), 1+g.r.IntN(9), 4000+g.r.IntN(100), 1+g.r.IntN(20))
}

// goodsLine fills an invoice or credit-note line: an item at 25 % VAT, or
// now and then a text line.
func (g *sampler) goodsLine(l *Line, n int, lineCodes bool, orderNo string, cprs bool, sums *sampleDocument) {
	l.LineNo = strconv.Itoa(n)
	if n > 1 && g.chance(4) {
		l.Description1 = samplePick(g, []string{"Leveret til depot efter aftale med borgeren", "Ydelser i perioden jf. aftale", "Bemærk: ny kontaktperson fra næste måned"})
		return
	}
	it := &sampleItems[g.r.IntN(len(sampleItems))]
	l.Item = &ItemInfo{ItemNo: it.no}
	if g.chance(70) {
		l.Item.BuyerItemNo = fmt.Sprintf("KK-%06d", g.r.IntN(1000000))
	}
	if g.chance(55) {
		l.Item.EANItemNo = fmt.Sprintf("57012345%05d", g.r.IntN(100000))
	}
	l.Description1 = it.desc
	if it.desc2 != "" && g.chance(80) {
		l.Description2 = it.desc2
	}
	var qty decimal.Decimal
	switch {
	case g.chance(2):
		qty = decimal.Zero // back order: quantity 0 is valid
	case it.qty == 'h':
		qty = decimal.New(int64(1+g.r.IntN(40))*25, -2) // 0,25 to 10,00
	case it.qty == 'k':
		qty = decimal.New(int64(5+g.r.IntN(800)), -1) // 0,5 to 80,4
	default:
		qty = decimal.New(int64(1+g.r.IntN(12)), 0)
	}
	l.Quantity = FormatDecimal(qty, int(-qty.Exponent()))
	l.UnitOfMeasure = it.unit
	if g.chance(80) {
		l.QtyPerUnitOfMeasure = "1"
	}
	// Prices vary by up to 5 % around the catalogue price.
	price := decimal.New(it.price*int64(95+g.r.IntN(11))/100, -2)
	l.UnitPrice = sampleMoney(price)
	gross := qty.Mul(price).Round(2)
	a := &LineAmount{VATPercent: sampleVAT25s}
	net := gross
	if gross.IsPositive() && g.chance(15) {
		disc := gross.Mul(decimal.New(int64(samplePick(g, []int{5, 10, 15})), -2)).Round(2)
		a.LineDiscountAmount = sampleMoney(disc)
		net = gross.Sub(disc)
	}
	vat := net.Mul(vat25.Decimal()).Div(hundred).Round(2)
	a.NetPrice = sampleMoney(net)
	a.VATAmount = sampleMoney(vat)
	a.AmountInclVAT = sampleMoney(net.Add(vat))
	l.Amount = a
	sums.sn = sums.sn.Add(net)
	sums.base = sums.base.Add(net)
	if lineCodes {
		l.AccountCode = fmt.Sprintf("5.32.38.2-4010-%04d", 1+g.r.IntN(12))
	}
	if cprs && g.chance(85) {
		l.FinalCustomerType = "CPR"
		l.FinalCustomer = samplePick(g, sampleCPRs)
	}
	l.OrderNo = orderNo
}

// reminderLine fills a lump-sum line of a reminder: AMOUNT without QUANTITY
// at 0 % VAT, the VAT having been on the original invoice.
func (g *sampler) reminderLine(l *Line, n, year int, sums *sampleDocument) {
	l.LineNo = strconv.Itoa(n)
	inv := fmt.Sprintf("F-%d-%05d", year-1+g.r.IntN(2), 1+g.r.IntN(99999))
	if g.chance(10) {
		l.Description1 = "Morarenter, " + inv
		l.Description2 = "0,7 % pr. påbegyndt måned"
	} else {
		l.Description1 = "Restbeløb faktura " + inv
		if g.chance(80) {
			l.Description2 = "efter kreditnota og delbetaling"
		}
	}
	net := decimal.New(int64(1000+g.r.IntN(2_000_000)), -2)
	l.Amount = &LineAmount{
		NetPrice:      sampleMoney(net),
		VATPercent:    sampleVAT0s,
		VATAmount:     sampleVAT0s,
		AmountInclVAT: sampleMoney(net),
	}
	sums.sn = sums.sn.Add(net)
}

// totals fills TOTALAMOUNT with its charges and an invoice discount, all
// exact (section 8).
func (g *sampler) totals(d *Invoice, kind string, sums *sampleDocument) {
	t := &d.Totals
	charge := func(text string, amount int64, at25 bool) {
		amt := decimal.New(amount, -2)
		c := Charge{Text: text, Amount: sampleMoney(amt), VATPercent: sampleVAT0s}
		if at25 {
			c.VATPercent = sampleVAT25s
			sums.base = sums.base.Add(amt)
		}
		sums.sc = sums.sc.Add(amt)
		t.Charges = append(t.Charges, c)
	}
	switch kind {
	case "REMINDER":
		charge("Rykkergebyr", 10000, false)
	case "INVOICE":
		if g.chance(30) {
			charge("Fragt", int64(samplePick(g, []int{4900, 9500, 14900})), true)
		}
		if g.chance(10) {
			charge("Ekspeditionsgebyr & porto", 3500, true)
		}
		if g.chance(5) {
			charge("Pantafgift, momsfri", 20000, false)
		}
	}
	disc := decimal.Zero
	if kind == "INVOICE" && sums.sn.IsPositive() && g.chance(20) {
		disc = sums.sn.Mul(decimal.New(int64(samplePick(g, []int{2, 3, 5})), -2)).Round(2)
		t.InvoiceDiscountAmount = sampleMoney(disc)
		t.InvoiceDiscountVATPercent = sampleVAT25s
		sums.base = sums.base.Sub(disc)
	}
	excl := sums.sn.Add(sums.sc).Sub(disc)
	vat := sums.base.Mul(vat25.Decimal()).Div(hundred).Round(2)
	t.TotalLineAmount = sampleMoney(sums.sn)
	t.TotalChargeAmount = sampleMoney(sums.sc)
	t.TotalAmountExclVAT = sampleMoney(excl)
	t.VATBaseAmount = sampleMoney(sums.base)
	t.TotalVATAmount = sampleMoney(vat)
	t.TotalAmountInclVAT = sampleMoney(excl.Add(vat))
}

// payment fills PAYMENT_MEANS: FIK 71 or direct debit for an invoice, FIK 73
// for a credit note, FIK 75 for a reminder.
func (g *sampler) payment(d *Invoice, s *sampleSender, kind string, serial, year int, due time.Time) {
	creditor := &PAddress{Name: s.party.Name1, Address1: s.party.Address.Address1, Address2: s.address2}
	switch {
	case kind == "INVOICE" && g.chance(40):
		transfer := due
		for !g.cal.IsBankDay(transfer) {
			transfer = transfer.AddDate(0, 0, 1)
		}
		d.Payment = PaymentMeans{PaymentType: "DIRECT_DEBIT", DirectDebit: &DirectDebit{
			Type:         samplePick(g, []string{"LS", "BS"}),
			CurrencyCode: d.CurrencyCode,
			Amount:       d.Totals.TotalAmountInclVAT,
			TransferDate: transfer.Format(time.DateOnly),
			RegNo:        strconv.Itoa(1000 + g.r.IntN(9000)),
			AccountNo:    fmt.Sprintf("%010d", g.r.Int64N(10_000_000_000)),
		}}
	case kind == "INVOICE":
		f := &FIK{CardType: "71", FIKNo: sampleFIKNo(fmt.Sprintf("0000%04d%06d", year, serial%1_000_000)), CreditorNo: s.creditorNo}
		if g.chance(50) {
			f.CreditorAddress = creditor
		}
		if g.chance(10) {
			f.AlternateSender = &PAddress{Name: d.BillTo.Name1, Address1: d.BillTo.Address.Address1,
				Address2: d.BillTo.Address.PostCode + " " + d.BillTo.Address.City}
		}
		d.Payment = PaymentMeans{PaymentType: "FIK", FIK: f}
	case kind == "CREDIT_NOTE":
		f := &FIK{CardType: "73", CreditorNo: s.creditorNo}
		if g.chance(60) {
			f.Message = &PMessage{Texts: []string{"Kredit for faktura " + d.Head.OriginalDocumentNo}}
			if g.chance(50) {
				f.Message.Texts = append(f.Message.Texts, "Beløbet modregnes i restgælden.")
			}
		}
		d.Payment = PaymentMeans{PaymentType: "FIK", FIK: f}
	default: // REMINDER
		f := &FIK{CardType: "75", FIKNo: sampleFIKNo(fmt.Sprintf("00000%04d%06d", year, serial%1_000_000)), CreditorNo: s.creditorNo}
		if g.chance(60) {
			f.Message = &PMessage{Texts: []string{"Rykker " + d.Head.DocumentNo}}
		}
		if g.chance(30) {
			f.CreditorAddress = creditor
		}
		d.Payment = PaymentMeans{PaymentType: "FIK", FIK: f}
	}
}

// sampleFIKNo appends the modulus-10 check digit to body, which holds
// digits only.
func sampleFIKNo(body string) string {
	c, err := Mod10CheckDigit(body)
	if err != nil {
		panic(err) // body is built from digits
	}
	return body + strconv.Itoa(c)
}
