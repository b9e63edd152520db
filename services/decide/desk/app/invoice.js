// The invoice as a person reads a paper one, from GET /v1/documents/{id}/invoice.
import {h, money, decimal, date} from './util.js';

const idTypes = {CVR: 'CVR-nr.', EAN: 'EAN-nr.', SE: 'SE-nr.', CPR: 'CPR-nr.', DUNS: 'DUNS-nr.'};

function party(title, p, headingId, cols) {
  if (!p) return null;
  const cityLine = [p.post_code, p.city].filter(Boolean).join(' ');
  return h('div', {class: `${cols} party`},
    h('h3', {class: 'h5', id: headingId}, title),
    h('address', null,
      [p.name, p.name_2, ...(p.address || []), cityLine, p.country && p.country !== 'DK' ? p.country : null]
        .filter(Boolean).map((line, i) => [i ? h('br') : null, line])),
    p.id ? h('p', {class: 'party-id'}, `${idTypes[p.id_type] || p.id_type || 'Id'} ${p.id}`) : null,
    p.contact ? h('p', null, p.contact) : null);
}

// facts is a <dl> of the label/value pairs that have a value.
function facts(pairs, cls = 'invoice-facts') {
  const items = pairs.filter(([, v]) => v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && !v.length));
  if (!items.length) return null;
  return h('dl', {class: cls}, items.map(([k, v, id]) => [h('dt', null, k), h('dd', {id}, v)]));
}

function finalCustomer(fc) {
  if (!fc) return null;
  return h('span', {class: 'final-customer'}, `Slutbruger: ${fc.type === 'CPR' ? 'CPR-nr.' : fc.type || ''} ${fc.id}`);
}

function linesTable(inv) {
  const cur = inv.currency;
  const anyDiscount = (inv.lines || []).some((l) => l.line_discount_amount && Number(l.line_discount_amount) !== 0);
  return h('div', {class: 'table--responsive-scroll', tabindex: '0', role: 'region', 'aria-labelledby': 'lines-caption'},
    h('table', {class: 'table table--compact invoice-lines'},
      h('caption', {id: 'lines-caption'}, 'Fakturalinjer'),
      h('thead', null, h('tr', null,
        h('th', {scope: 'col'}, 'Linje'), h('th', {scope: 'col'}, 'Varenr.'), h('th', {scope: 'col'}, 'Beskrivelse'),
        h('th', {scope: 'col', class: 'num'}, 'Antal'), h('th', {scope: 'col', class: 'num'}, 'Enhedspris'),
        anyDiscount ? h('th', {scope: 'col', class: 'num'}, 'Rabat') : null,
        h('th', {scope: 'col', class: 'num'}, 'Beløb ekskl. moms'), h('th', {scope: 'col', class: 'num'}, 'Moms'),
        h('th', {scope: 'col', class: 'num'}, 'Beløb inkl. moms'))),
      h('tbody', null, (inv.lines || []).map((l) => h('tr', null,
        h('td', null, String(l.line_no ?? '')),
        h('td', null, l.item_no || l.buyer_item_no || l.ean_item_no || ''),
        h('td', null,
          (l.description || []).map((d, i) => [i ? h('br') : null, d]),
          l.order_no ? [h('br'), h('span', {class: 'line-extra'}, `Ordrenr. ${l.order_no}`)] : null,
          l.account_code ? [h('br'), h('span', {class: 'line-extra'}, `Kontering ${l.account_code}`)] : null,
          l.final_customer ? [h('br'), finalCustomer(l.final_customer)] : null),
        h('td', {class: 'num'}, [decimal(l.quantity), l.unit ? ' ' + l.unit.toLowerCase() : ''].join('')),
        h('td', {class: 'num'}, money(l.unit_price, cur)),
        anyDiscount ? h('td', {class: 'num'}, l.line_discount_amount ? money(l.line_discount_amount, cur) : '') : null,
        h('td', {class: 'num'}, money(l.net_price, cur)),
        h('td', {class: 'num'}, l.vat_amount ? money(l.vat_amount, cur) : '',
          l.vat_percent ? h('span', {class: 'line-extra d-block'}, `${decimal(l.vat_percent)} %`) : null),
        h('td', {class: 'num'}, money(l.amount_incl_vat, cur)))))));
}

function totals(inv) {
  const t = inv.totals || {};
  const cur = inv.currency;
  const row = (label, v, attrs = {}) => (v === undefined || v === null || v === '') ? null
    : h('tr', attrs, h('th', {scope: 'row'}, label), h('td', {class: 'num'}, money(v, cur)));
  return h('table', {class: 'table table--borderless table--compact invoice-totals', 'aria-label': 'Beløb i alt'},
    h('tbody', null,
      row('Linjer i alt', t.total_line_amount),
      t.invoice_discount_amount && Number(t.invoice_discount_amount) !== 0 ? row('Fakturarabat', '-' + t.invoice_discount_amount) : null,
      (t.charges || []).map((c) => row(c.text || 'Gebyr', c.amount)),
      !(t.charges || []).length && t.total_charge_amount && Number(t.total_charge_amount) !== 0 ? row('Gebyrer', t.total_charge_amount) : null,
      row('I alt ekskl. moms', t.total_amount_excl_vat),
      row(t.vat_base_amount ? `Moms af ${money(t.vat_base_amount, cur)}` : 'Moms', t.total_vat_amount),
      t.total_amount_incl_vat ? h('tr', {class: 'grand-total'}, h('th', {scope: 'row'}, 'I alt inkl. moms'),
        h('td', {class: 'num', id: 'invoice-total'}, money(t.total_amount_incl_vat, cur))) : null));
}

const labels = {
  card_type: 'Kortart', fik_no: 'Betalings-id', creditor_no: 'Kreditornr.', message: 'Meddelelse',
  pbs_no: 'PBS-nr.', debtor_group: 'Debitorgruppe', customer_no: 'Kundenr.', debtor_group_no: 'Debitorgruppenr.',
  agreement_no: 'Aftalenr.', payment_date: 'Betalingsdato', reg_no: 'Reg.nr.', account_no: 'Kontonr.',
  bank_name: 'Bank', iban: 'IBAN', swift: 'SWIFT/BIC', bic: 'SWIFT/BIC', text: 'Tekst', name: 'Navn',
  address: 'Adresse', id: 'Id', id_type: 'Id-type', amount: 'Beløb', due_date: 'Forfaldsdato', date: 'Dato',
};

// generic renders any other part of the payload (direct debit, factoring,
// alternate sender) as label/value pairs, so nothing the API says is hidden.
function generic(obj) {
  if (obj === null || obj === undefined || obj === '') return null;
  if (typeof obj !== 'object') return String(obj);
  if (Array.isArray(obj)) return obj.every((x) => typeof x !== 'object') ? obj.join(', ') : obj.map(generic);
  const pairs = Object.entries(obj).filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => [labels[k] || k.replaceAll('_', ' '), generic(v)]);
  return facts(pairs, 'invoice-facts nested');
}

function payment(inv) {
  const pay = inv.payment;
  if (!pay) return null;
  const out = [];
  if (pay.fik) {
    const f = pay.fik;
    const line = `+${f.card_type}<${f.fik_no}+${f.creditor_no}<`;
    out.push(h('p', null, 'Indbetalingskort (FIK): ', h('strong', {class: 'fik-line', id: 'fik-line'}, line)));
    out.push(facts([
      ['Kortart', f.card_type], ['Betalings-id', f.fik_no], ['Kreditornr.', f.creditor_no],
      ['Meddelelse', (f.message || []).length ? (f.message || []).map((m, i) => [i ? h('br') : null, m]) : null],
      ['Betalingsmodtager', f.creditor_address ? [f.creditor_address.name, ...(f.creditor_address.address || [])]
        .filter(Boolean).map((m, i) => [i ? h('br') : null, m]) : null],
      ['Anden afsender', f.alternate_sender ? generic(f.alternate_sender) : null],
    ]));
  }
  if (pay.direct_debit) {
    out.push(h('p', null, 'Betales ved ', h('strong', null, 'automatisk betaling (Betalingsservice/Leverandørservice)'), '.'));
    out.push(generic(pay.direct_debit));
  }
  if (!pay.fik && !pay.direct_debit) out.push(generic(pay));
  return h('section', {class: 'invoice-part', 'aria-labelledby': 'payment-h'},
    h('h3', {class: 'h4', id: 'payment-h'}, 'Betaling', pay.type ? ` (${pay.type === 'FIK' ? 'FIK' : pay.type})` : ''), out);
}

// invoice renders the document's content; revealCpr is the "Vis CPR-nummer" button, if any.
export function invoice(inv, {revealCpr} = {}) {
  const typeTitle = {INVOICE: 'Faktura', CREDIT_NOTE: 'Kreditnota', REMINDER: 'Rykker'}[inv.document_type] || 'Dokument';
  const hasMaskedCpr = inv.cpr_masked;
  return h('article', {class: 'invoice', 'aria-labelledby': 'invoice-h'},
    h('div', {class: 'row invoice-head'},
      h('div', {class: 'col-12 col-md-7'},
        h('h2', {id: 'invoice-h'}, `${typeTitle} ${inv.document_no || ''}`),
        h('div', {class: 'row parties'}, party('Leverandør', inv.billed_from, 'party-from', 'col-12'))),
      h('div', {class: 'col-12 col-md-5'}, facts([
        [typeTitle + 'dato', date(inv.document_date)],
        ['Forfaldsdato', date(inv.due_date || inv.payment_terms?.due_date), 'invoice-due'],
        ['Leveringsdato', date(inv.delivery?.date)],
        ['Rekvisitionsnr.', inv.external_document_no],
        ['Oprindeligt bilagsnr.', inv.original_document_no],
        ['Kvitteringsnr.', inv.receipt_no],
        ['Kontering', inv.account_code],
        ['Valuta', inv.currency],
      ]))),
    h('div', {class: 'row parties'},
      party('Faktureres til', inv.bill_to, 'party-to', 'col-12 col-md-4'),
      party('Leveres til', inv.ship_to, 'party-ship', 'col-12 col-md-4'),
      inv.sold_from ? party('Sælger', inv.sold_from, 'party-sold-from', 'col-12 col-md-4') : null,
      inv.sell_to ? party('Køber', inv.sell_to, 'party-sell-to', 'col-12 col-md-4') : null),
    hasMaskedCpr && revealCpr ? h('p', {class: 'cpr-reveal'}, revealCpr,
      h('span', {class: 'form-hint d-block'}, 'CPR-numre er skjult. Hvis du viser dem, bliver det registreret i dokumentets historik.')) : null,
    inv.cpr_revealed ? h('p', {class: 'form-hint'}, 'CPR-numrene vises. Visningen er registreret i dokumentets historik.') : null,
    linesTable(inv),
    h('div', {class: 'row'},
      h('div', {class: 'col-12 col-md-6'},
        facts([
          ['Betalingsbetingelser', inv.payment_terms?.text],
          ['Levering', inv.delivery?.text],
        ]),
        payment(inv)),
      h('div', {class: 'col-12 col-md-6'}, totals(inv))),
    (inv.remarks || []).length ? h('section', {class: 'invoice-part', 'aria-labelledby': 'remarks-h'},
      h('h3', {class: 'h4', id: 'remarks-h'}, 'Bemærkninger'),
      h('ul', null, inv.remarks.map((r) => h('li', null, r)))) : null,
    inv.factoring ? h('section', {class: 'invoice-part', 'aria-labelledby': 'factoring-h'},
      h('h3', {class: 'h4', id: 'factoring-h'}, 'Factoring'), generic(inv.factoring)) : null);
}
