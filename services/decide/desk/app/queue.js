// The queue: the municipality's open documents, filtered, searched, sorted
// and paged by the server (GET /v1/documents), refreshed every 5 seconds
// while the tab is visible, and approved several at a time (POST /v1/verdicts).
import {api, errorText, ApiError} from './api.js';
import {h, alert, badge, announce, money, date, dateTime, documentTypes, stateBadge, decisionText} from './util.js';

const PER_PAGE = 25;
const POLL_MS = 5000;
const DEFAULTS = {state: 'awaiting_verdict', q: '', type: '', overdue: '', sort: 'due_date', order: 'asc', page: '1'};

// queueOrder remembers the ids of the last list shown, for j/k on a document.
export function queueOrder() {
  try { return JSON.parse(sessionStorage.getItem('efaktura.desk.queue') || '{}'); } catch { return {}; }
}

// queueHash is the fragment of the last list shown, for "back to the list".
export function queueHash() { return queueOrder().hash || '#/'; }

function select(id, label, options, value) {
  return h('div', {class: 'form-group'},
    h('label', {class: 'form-label', for: id}, label),
    h('select', {class: 'form-select', id, name: id},
      options.map(([v, t]) => h('option', {value: v, selected: v === value}, t))));
}

function findingsCell(findings) {
  const errors = (findings || []).filter((f) => f.severity === 'error').length;
  const warnings = (findings || []).filter((f) => f.severity !== 'error').length;
  const out = [];
  if (errors) out.push(badge('error', `${errors} fejl`)); // fejl is its own plural
  if (warnings) out.push(badge('warning', `${warnings} ${warnings === 1 ? 'advarsel' : 'advarsler'}`));
  return out.length ? out : 'Ingen';
}

// amountOf is the total of a list item: the queue's field, else the summary's (decimal comma).
function amountOf(d) {
  if (d.total_amount_incl_vat) return d.total_amount_incl_vat;
  return (d.summary?.total_amount_incl_vat || '').replace(',', '.');
}

function supplierOf(d) { return d.billed_from_name || 'Ukendt leverandør'; }

export function queueView(params, ctx) {
  const p = {...DEFAULTS};
  for (const k of Object.keys(DEFAULTS)) if (params.has(k)) p[k] = params.get(k);
  const canDecide = ctx.app.me?.role === 'caseworker';
  const selected = new Set();
  let docs = []; // the documents shown, in order
  let total = 0;
  let loadSeq = 0;
  let timer = null;
  let destroyed = false;

  // The filters.
  const q = h('input', {class: 'form-input', type: 'search', id: 'filter-q', name: 'q', value: p.q,
    'aria-describedby': 'filter-q-hint'});
  const overdue = h('input', {class: 'form-checkbox', type: 'checkbox', id: 'filter-overdue', name: 'overdue',
    checked: p.overdue === 'true'});
  const form = h('form', {class: 'queue-filters', role: 'search', 'aria-label': 'Filtrér dokumenterne', novalidate: true},
    h('div', {class: 'form-group search-group'},
      h('label', {class: 'form-label', for: 'filter-q'}, 'Søg'),
      h('span', {class: 'form-hint', id: 'filter-q-hint'}, 'Leverandør, bilagsnummer eller kvitteringsnummer'),
      h('div', {class: 'search'}, q,
        h('button', {class: 'button button-search', type: 'submit', id: 'filter-submit'}, 'Søg'))),
    select('filter-state', 'Status', [
      ['awaiting_verdict', 'Afventer afgørelse'], ['alle', 'Alle åbne'], ['received', 'Modtaget, ikke valideret'],
      ['approved', 'Godkendt, svar ikke leveret'], ['rejected', 'Afvist, svar ikke leveret']], p.state),
    select('filter-type', 'Dokumenttype', [
      ['', 'Alle typer'], ['INVOICE', 'Faktura'], ['CREDIT_NOTE', 'Kreditnota'], ['REMINDER', 'Rykker']], p.type),
    select('filter-sort', 'Sortér efter', [
      ['due_date', 'Forfaldsdato'], ['received_at', 'Modtaget'], ['amount', 'Beløb']], p.sort),
    select('filter-order', 'Rækkefølge', [['asc', 'Stigende'], ['desc', 'Faldende']], p.order),
    h('div', {class: 'form-group-checkbox overdue-filter'}, overdue,
      h('label', {class: 'form-label', for: 'filter-overdue'}, 'Kun forfaldne')));

  const readForm = () => ({
    state: form.querySelector('#filter-state').value, q: q.value.trim(),
    type: form.querySelector('#filter-type').value, overdue: overdue.checked ? 'true' : '',
    sort: form.querySelector('#filter-sort').value, order: form.querySelector('#filter-order').value, page: '1',
  });
  form.addEventListener('submit', (e) => { e.preventDefault(); change(readForm()); });
  form.addEventListener('change', (e) => { if (e.target !== q) change(readForm()); });

  // The list.
  const count = h('p', {class: 'rows-message', id: 'queue-count'});
  const messages = h('div', {id: 'queue-messages', 'aria-live': 'polite'});
  const refreshNote = h('div', {id: 'queue-refresh', 'aria-live': 'polite'});
  const selectedNo = h('p', {class: 'table-selected-number no-selected', id: 'selected-count'}, 'Ingen dokumenter valgt');
  const approveButton = h('button', {class: 'button button-primary', type: 'button', id: 'approve-selected', disabled: true,
    onclick: approveSelected}, 'Godkend valgte');
  const all = h('input', {class: 'form-checkbox', type: 'checkbox', id: 'select-all', onchange: () => {
    for (const d of docs) if (selectable(d)) { if (all.checked) selected.add(d.id); else selected.delete(d.id); }
    syncSelection();
  }});
  const sortHeader = {due_date: 'due', received_at: 'received', amount: 'amount'}[p.sort];
  const th = (key, text, cls) => h('th', {scope: 'col', class: cls,
    'aria-sort': key === sortHeader ? (p.order === 'desc' ? 'descending' : 'ascending') : null}, text);
  const tbody = h('tbody');
  const table = h('table', {class: 'table table--selectable table--compact', id: 'queue'},
    h('caption', {class: 'sr-only'}, 'Dokumenter'),
    h('thead', null, h('tr', null,
      h('th', {class: 'select-cell'}, canDecide ? h('div', {class: 'form-group-checkbox'}, all,
        h('label', {class: 'form-label', for: 'select-all'}, h('span', {class: 'sr-only'}, 'Vælg alle dokumenter, der afventer afgørelse, på siden'))) : null),
      th('supplier', 'Leverandør'), th('no', 'Bilagsnr.'), th('type', 'Type'),
      th('amount', 'Beløb', 'num'), th('due', 'Forfaldsdato'), th('findings', 'Fund'),
      th('received', 'Modtaget'), th('state', 'Status', 'col-state'))),
    tbody);
  const pager = h('nav', {class: 'pagination', 'aria-label': 'Sider', id: 'queue-pages'});
  const shortcuts = h('details', {class: 'details'},
    h('summary', {class: 'details-summary'}, 'Tastaturgenveje'),
    h('div', {class: 'details-text'}, h('dl', {class: 'shortcuts'},
      h('dt', null, h('kbd', null, 'j')), h('dd', null, 'Næste dokument i listen'),
      h('dt', null, h('kbd', null, 'k')), h('dd', null, 'Forrige dokument i listen'),
      h('dt', null, h('kbd', null, 'Enter')), h('dd', null, 'Åbn dokumentet'),
      h('dt', null, h('kbd', null, 'a'), ' / ', h('kbd', null, 'r')), h('dd', null, 'Godkend eller afvis, på dokumentets side'))));

  const el = h('div', {class: 'queue'},
    h('h1', null, 'Dokumenter til behandling'),
    form, messages, refreshNote, count,
    canDecide ? h('div', {class: 'table-actions'}, selectedNo, h('div', {class: 'button-group'}, approveButton)) : null,
    h('div', {class: 'table--responsive-scroll', tabindex: '0', role: 'region', 'aria-labelledby': 'queue-count'}, table),
    pager, shortcuts);

  function selectable(d) { return canDecide && d.state === 'awaiting_verdict'; }

  function hashOf(v) {
    const s = new URLSearchParams();
    for (const [k, def] of Object.entries(DEFAULTS)) if (v[k] !== def) s.set(k, v[k]);
    const str = s.toString();
    return '#/' + (str ? '?' + str : '');
  }

  // change applies new filters or a new page without rebuilding the page,
  // so the focus stays on the control the caseworker used.
  function change(v, {push = false, focusList = false} = {}) {
    Object.assign(p, v);
    (push ? history.pushState : history.replaceState).call(history, null, '', hashOf(p));
    selected.clear();
    load({user: true, focusList});
  }

  function apiQuery() {
    const s = new URLSearchParams({sort: p.sort, order: p.order, page: p.page, per_page: String(PER_PAGE)});
    if (p.state !== 'alle') s.set('state', p.state);
    if (p.q) s.set('q', p.q);
    if (p.type) s.set('document_type', p.type);
    if (p.overdue === 'true') s.set('overdue', 'true');
    return s.toString();
  }

  async function load({user = false, focusList = false} = {}) {
    const seq = ++loadSeq;
    let page;
    try {
      page = await api('/v1/documents?' + apiQuery());
    } catch (err) {
      if (seq !== loadSeq || destroyed || (err instanceof ApiError && err.status === 401)) return;
      refreshNote.replaceChildren(alert(user ? 'error' : 'warning', 'Listen kunne ikke hentes', errorText(err),
        user ? '' : ' Listen prøver igen af sig selv.'));
      return;
    }
    if (seq !== loadSeq || destroyed) return;
    refreshNote.replaceChildren();
    total = page.total || 0;
    const last = Math.max(1, Math.ceil(total / PER_PAGE));
    if (Number(p.page) > last) { // the last page emptied while we looked at it
      p.page = String(last);
      history.replaceState(null, '', hashOf(p));
      return load({user, focusList});
    }
    render(page.documents || []);
    if (user) announce(count.textContent);
    if (focusList) { count.setAttribute('tabindex', '-1'); count.focus(); }
    sessionStorage.setItem('efaktura.desk.queue', JSON.stringify({hash: hashOf(p), ids: docs.map((d) => d.id)}));
  }

  function render(list) {
    const scrollY = window.scrollY;
    const active = document.activeElement;
    const activeKey = tbody.contains(active) ? active.dataset.key : null;
    docs = list;
    for (const id of [...selected]) if (!docs.some((d) => d.id === id && selectable(d))) selected.delete(id);
    const old = new Map([...tbody.rows].map((tr) => [tr.dataset.id, tr]));
    const rows = docs.map((d) => {
      const sig = JSON.stringify([d.state, d.billed_from_name, d.document_no, d.document_type, amountOf(d), d.currency,
        d.due_date, d.overdue, d.findings, d.received_at, d.answer?.status]);
      const tr = old.get(d.id);
      return tr && tr.dataset.sig === sig ? tr : row(d, sig);
    });
    // Move rows only where the order changed: a moved element loses focus.
    rows.forEach((tr, i) => { if (tbody.rows[i] !== tr) tbody.insertBefore(tr, tbody.rows[i] || null); });
    while (tbody.rows.length > rows.length) tbody.lastElementChild.remove();
    if (!docs.length) {
      tbody.append(h('tr', null, h('td', {colspan: '9'}, p.q || p.type || p.overdue
        ? 'Ingen dokumenter passer til søgningen.' : 'Der er ingen dokumenter her lige nu.')));
    }
    if (activeKey && document.activeElement !== active) {
      tbody.querySelector(`[data-key="${CSS.escape(activeKey)}"]`)?.focus({preventScroll: true});
    }
    const from = total ? (Number(p.page) - 1) * PER_PAGE + 1 : 0;
    count.textContent = total
      ? `Viser ${from}–${from + docs.length - 1} af ${total} ${total === 1 ? 'dokument' : 'dokumenter'}`
      : 'Ingen dokumenter';
    // The state column says nothing new while the list shows one state.
    table.classList.toggle('one-state', p.state === 'awaiting_verdict' || p.state === 'received');
    pagination();
    syncSelection();
    if (window.scrollY !== scrollY) window.scrollTo(0, scrollY);
  }

  function row(d, sig) {
    const cb = selectable(d) ? h('div', {class: 'form-group-checkbox'},
      h('input', {class: 'form-checkbox', type: 'checkbox', id: 'sel-' + d.id, 'data-key': d.id + ':check',
        checked: selected.has(d.id), onchange: (e) => {
          if (e.target.checked) selected.add(d.id); else selected.delete(d.id);
          syncSelection();
        }}),
      h('label', {class: 'form-label', for: 'sel-' + d.id},
        h('span', {class: 'sr-only'}, `Vælg ${documentTypes[d.document_type] || 'dokument'} ${d.document_no} fra ${supplierOf(d)}`))) : null;
    return h('tr', {'data-id': d.id, 'data-sig': sig},
      h('td', {class: 'select-cell'}, cb),
      h('td', null, h('a', {href: '#/dokument/' + encodeURIComponent(d.id), 'data-key': d.id + ':link', class: 'doc-link'}, supplierOf(d))),
      h('td', {class: 'nowrap'}, d.document_no),
      h('td', null, documentTypes[d.document_type] || d.document_type),
      h('td', {class: 'num'}, money(amountOf(d), d.currency)),
      h('td', {class: 'nowrap'}, date(d.due_date), d.overdue ? [' ', badge('error', 'Forfalden')] : null),
      h('td', null, findingsCell(d.findings)),
      h('td', {class: 'nowrap'}, dateTime(d.received_at || d.created_at)),
      h('td', {class: 'col-state'}, stateBadge(d.state), d.answer?.status === 'parked' ? h('span', {class: 'sr-only'}, ', svaret afventer serviceaftaler') : null));
  }

  function syncSelection() {
    for (const tr of tbody.rows) {
      const cb = tr.querySelector('input[type=checkbox]');
      if (!cb) continue;
      cb.checked = selected.has(tr.dataset.id);
      tr.classList.toggle('table-row-selected', cb.checked);
    }
    const n = selected.size;
    const candidates = docs.filter(selectable).length;
    all.checked = n > 0 && n === candidates;
    all.indeterminate = n > 0 && n < candidates;
    all.disabled = candidates === 0;
    selectedNo.textContent = n ? `${n} ${n === 1 ? 'dokument' : 'dokumenter'} valgt` : 'Ingen dokumenter valgt';
    selectedNo.classList.toggle('no-selected', n === 0);
    approveButton.disabled = n === 0;
    approveButton.textContent = n ? `Godkend valgte (${n})` : 'Godkend valgte';
  }

  function pagination() {
    const last = Math.max(1, Math.ceil(total / PER_PAGE));
    const cur = Number(p.page);
    pager.hidden = last <= 1;
    if (last <= 1) { pager.replaceChildren(); return; }
    const go = (n) => (e) => { e.preventDefault(); change({page: String(n)}, {push: true, focusList: true}); };
    const link = (n, text, cls, label) => h('a', {href: hashOf({...p, page: String(n)}), class: cls, 'aria-label': label, onclick: go(n)}, text);
    const nums = [];
    for (let n = 1; n <= last; n++) {
      if (n !== 1 && n !== last && Math.abs(n - cur) > 1) {
        if (nums[nums.length - 1] !== '…') nums.push('…');
        continue;
      }
      nums.push(n);
    }
    pager.replaceChildren(
      cur > 1 ? link(cur - 1, h('span', {class: 'pagination-nav-link'}, 'Forrige'), 'button button-arrow button-previous', 'Forrige side') : null,
      h('span', {class: 'pagination-mobile'}, `Side ${cur} af ${last}`),
      h('ul', {class: 'pagination__items'}, nums.map((n) => n === '…'
        ? h('li', {class: 'pagination-item pagination-overflow'}, h('span', null, '…'))
        : h('li', {class: 'pagination-item pagination-number'}, n === cur
          ? h('a', {href: hashOf(p), class: 'button current-page', 'aria-current': 'page', 'aria-label': `Side ${n}`, onclick: (e) => e.preventDefault()}, String(n))
          : link(n, String(n), 'button button-secondary', `Side ${n}`)))),
      cur < last ? link(cur + 1, h('span', {class: 'pagination-nav-link'}, 'Næste'), 'button button-arrow button-next', 'Næste side') : null);
  }

  async function approveSelected() {
    const ids = docs.filter((d) => selected.has(d.id)).map((d) => d.id);
    if (!ids.length) return;
    const byId = new Map(docs.map((d) => [d.id, d]));
    approveButton.disabled = true;
    approveButton.textContent = 'Godkender …';
    let res;
    try {
      res = await api('/v1/verdicts', {method: 'POST', body: {decision: 'approve', documents: ids}});
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return;
      show(alert('error', 'Dokumenterne blev ikke godkendt', errorText(err)));
      syncSelection();
      return;
    }
    let ok = 0;
    const items = (res.results || []).map((r) => {
      const d = byId.get(r.document_id) || {document_no: r.document_id};
      const name = `${documentTypes[d.document_type] || 'Dokument'} ${d.document_no}${d.billed_from_name ? ' fra ' + d.billed_from_name : ''}`;
      let text;
      if (r.status === 200) {
        ok++;
        selected.delete(r.document_id);
        text = r.outcome === 'repeated' ? 'var allerede godkendt' : 'godkendt';
      } else {
        if (r.status !== 503) selected.delete(r.document_id);
        text = {
          404: 'findes ikke længere',
          409: 'er allerede afgjort: ' + (r.verdict ? decisionText(r.verdict) : (r.state === 'rejected' ? 'afvist' : 'godkendt')),
          422: 'afventer ikke afgørelse endnu',
          503: 'kunne ikke gemmes lige nu – er stadig valgt, prøv igen',
        }[r.status] || `blev ikke godkendt (${r.error || 'fejlkode ' + r.status})`;
      }
      return h('li', {'data-id': r.document_id, 'data-status': String(r.status)}, `${name}: ${text}`);
    });
    const failed = items.length - ok;
    const heading = failed
      ? `${ok} af ${items.length} dokumenter er godkendt`
      : `${ok} ${ok === 1 ? 'dokument er godkendt' : 'dokumenter er godkendt'}`;
    const later = ctx.app.me?.answers_allowed === false ? ' Svarene sendes, når begge serviceaftaler er godkendt.' : '';
    show(alert(failed ? 'warning' : 'success', heading, h('ul', {class: 'bulk-results'}, items), later || null));
    syncSelection();
    load();
  }

  function show(node) {
    node.id = 'bulk-result';
    messages.replaceChildren(node);
    node.focus();
  }

  function tick() {
    if (document.hidden || destroyed) return;
    load();
    ctx.refreshMe();
  }
  function onVisible() { if (!document.hidden) tick(); }
  timer = setInterval(tick, POLL_MS);
  document.addEventListener('visibilitychange', onVisible);
  load();

  return {
    el, title: 'Dokumenter til behandling',
    destroy() {
      destroyed = true;
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
    },
    // j/k move the focus down and up the list.
    onKey(e) {
      if (e.key !== 'j' && e.key !== 'k') return;
      const links = [...tbody.querySelectorAll('a.doc-link')];
      if (!links.length) return;
      e.preventDefault();
      const i = links.indexOf(document.activeElement);
      const next = i < 0 ? 0 : Math.min(links.length - 1, Math.max(0, i + (e.key === 'j' ? 1 : -1)));
      links[next].focus();
    },
  };
}
