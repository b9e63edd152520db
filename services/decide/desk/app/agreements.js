// The administrator's page (#/aftaler): every municipality's two SF1590_D
// service agreements, whether answers can reach its economy system, the
// answers waiting meanwhile, each municipality's change history, and a CSV
// of those not ready for the follow-up letters (issue 15). Only for an
// admin token; the admin API says 403 to anyone else.
import {api, errorText, ApiError} from './api.js';
import {h, alert, badge, announce, date, dateTime, icon} from './util.js';

const STATES = {
  requested: 'Anmodet', approved: 'Godkendt', rejected: 'Afvist', withdrawn: 'Tilbagekaldt', missing: 'Ikke anmodet',
};
const RULES_MODE = {enforce: 'Håndhæves', dry_run: 'Prøvekørsel', off: 'Slået fra'};
const STATE_BADGE = {approved: 'success', rejected: 'error', withdrawn: 'error', requested: 'warning', missing: 'warning'};

// The sortable columns: key, heading, the row's value to sort by.
const COLUMNS = [
  ['kommune', 'Kommune', (r) => r.kommune],
  ['name', 'Navn', (r) => r.name.toLocaleLowerCase('da')],
  ['forside', 'Forside', (r) => r.forside.state],
  ['bagside', 'Bagside', (r) => r.bagside.state],
  ['ready', 'Klar', (r) => (r.ready ? 1 : 0)],
  ['parked', 'Ventende svar', (r) => r.parked_answers],
  ['oldest', 'Ældste ventende', (r) => (r.oldest_parked_at ? -Date.parse(r.oldest_parked_at) : -Infinity)],
];

export function stateText(s) { return STATES[s] || s; }

// age says how long ago ts was, in Danish: "3 dage", "5 timer", "12 min.".
export function age(ts, now = Date.now()) {
  const s = Math.max(0, (now - Date.parse(ts)) / 1000);
  if (s >= 2 * 86400) return `${Math.floor(s / 86400)} dage`;
  if (s >= 86400) return '1 dag';
  if (s >= 2 * 3600) return `${Math.floor(s / 3600)} timer`;
  if (s >= 3600) return '1 time';
  return `${Math.max(1, Math.floor(s / 60))} min.`;
}

// adminOnly is what a caseworker sees at #/aftaler.
export function adminOnlyView() {
  const el = h('div', null,
    h('h1', null, 'Serviceaftaler'),
    alert('info', 'Siden er kun for administratorer',
      h('p', null, 'Oversigten over kommunernes serviceaftaler kræver en administrators adgangsnøgle. Som sagsbehandler finder du dine dokumenter i køen.')),
    h('p', null, h('a', {href: '#/', class: 'button button-secondary'}, 'Gå til køen')));
  return {el, title: 'Kun for administratorer'};
}

export function agreementsView(params) {
  const sortKey = COLUMNS.some(([k]) => k === params.get('sort')) ? params.get('sort') : 'parked';
  const order = params.get('order') === 'asc' ? 'asc' : (params.get('order') === 'desc' ? 'desc' : (sortKey === 'parked' || sortKey === 'oldest' ? 'desc' : 'asc'));
  const messages = h('div', {id: 'agreements-messages', 'aria-live': 'polite'});
  const summary = h('div', {id: 'agreements-summary'});
  const tableWrap = h('div', {class: 'table--responsive-scroll'}, h('p', null, 'Henter kommunerne …'));
  const history = h('div', {id: 'history'});
  const exportButton = h('button', {class: 'button button-secondary', type: 'button', id: 'export-csv', onclick: exportCSV},
    icon('download'), 'Hent CSV over kommuner, der ikke er klar');
  const el = h('div', null,
    h('h1', null, 'Serviceaftaler'),
    h('p', {class: 'font-lead'}, 'Kommunernes to serviceaftaler for FakturaInformationAfsendSvar (SF1590_D) på Serviceplatformen. Svar til en kommunes økonomisystem venter, indtil både Forside og Bagside er godkendt og nævner kommunens eget økonomisystem.'),
    messages, summary, h('p', null, exportButton), tableWrap, history);
  let rows = [];
  let destroyed = false;

  async function load() {
    try {
      const body = await api('/v1/agreements');
      if (destroyed) return;
      rows = body.municipalities || [];
      render();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return;
      const text = err instanceof ApiError && err.status === 403
        ? 'Din adgangsnøgle giver ikke adgang til kommunernes serviceaftaler. Log ind med en administrators nøgle.'
        : errorText(err);
      tableWrap.replaceChildren();
      messages.replaceChildren(alert('error', 'Serviceaftalerne kan ikke vises', text));
    }
  }

  function render() {
    const notReady = rows.filter((r) => !r.ready);
    const waiting = rows.filter((r) => r.parked_answers > 0);
    const deadline = rows.find((r) => r.deadline)?.deadline;
    summary.replaceChildren(h('ul', {class: 'nobullet-list'},
      h('li', null, h('strong', null, `${rows.length - notReady.length} af ${rows.length}`), ' kommuner er klar til at modtage svar.'),
      h('li', null, h('strong', null, String(waiting.length)), waiting.length === 1 ? ' kommune har' : ' kommuner har',
        ` svar, der venter (i alt ${waiting.reduce((n, r) => n + r.parked_answers, 0)}).`),
      deadline ? h('li', null, 'Frist for godkendelse: ', h('strong', null, date(deadline)), '.') : null));
    const col = COLUMNS.find(([k]) => k === sortKey);
    const sorted = rows.slice().sort((a, b) => {
      const x = col[2](a), y = col[2](b);
      const c = x < y ? -1 : x > y ? 1 : a.kommune.localeCompare(b.kommune);
      return order === 'desc' ? -c : c;
    });
    const th = ([key, text]) => {
      const next = key === sortKey && order === 'asc' ? 'desc' : 'asc';
      const q = new URLSearchParams({sort: key, order: next});
      return h('th', {scope: 'col', 'aria-sort': key === sortKey ? (order === 'desc' ? 'descending' : 'ascending') : null},
        h('a', {href: '#/aftaler?' + q, class: 'sort-link', id: 'sort-' + key}, text,
          key === sortKey ? h('span', {class: 'sr-only'}, order === 'desc' ? ' (sorteret faldende)' : ' (sorteret stigende)') : null));
    };
    const table = h('table', {class: 'table table--zebra', id: 'agreements-table'},
      h('caption', {class: 'sr-only'}, 'Kommunernes serviceaftaler, sorteret efter ' + col[1].toLowerCase()),
      h('thead', null, h('tr', null, COLUMNS.map(th), h('th', {scope: 'col'}, 'Historik'))),
      h('tbody', null, sorted.map(row)));
    tableWrap.replaceChildren(table);
  }

  function row(r) {
    const waiting = r.parked_answers > 0;
    return h('tr', {class: waiting ? 'row-waiting' : null, 'data-kommune': r.kommune},
      h('td', null, r.kommune),
      h('th', {scope: 'row'}, r.name),
      h('td', null, agreementCell(r.forside, r)),
      h('td', null, agreementCell(r.bagside, r)),
      h('td', null, r.ready ? badge('success', 'Klar') : badge('warning', 'Ikke klar'),
        r.mismatch ? h('span', {class: 'd-block mismatch'}, 'Forkert økonomisystem') : null),
      h('td', {class: 'num'}, waiting ? h('strong', null, String(r.parked_answers)) : '0'),
      h('td', {class: 'nowrap'}, r.oldest_parked_at
        ? h('span', {title: dateTime(r.oldest_parked_at)}, h('strong', null, age(r.oldest_parked_at)))
        : '–'),
      h('td', null, h('button', {class: 'function-link', type: 'button', 'data-history': r.kommune,
        'aria-controls': 'history', onclick: () => showHistory(r)}, 'Vis historik', h('span', {class: 'sr-only'}, ` for ${r.name}`))));
  }

  function agreementCell(a, r) {
    return [badge(STATE_BADGE[a.state], stateText(a.state)),
      a.state !== 'missing' && a.economy_system !== r.economy_system
        ? h('span', {class: 'd-block mismatch'}, `Nævner ${a.economy_system}, ikke ${r.economy_system}`) : null,
      a.changed_at ? h('span', {class: 'd-block form-hint'}, dateTime(a.changed_at)) : null];
  }

  // rulesChangeCells fills the agreement columns of a change of the
  // straight-through rules: what is in force after it.
  function rulesChangeCells(rules) {
    const names = rules.names.length ? ': ' + rules.names.join(', ') : '';
    return [h('td', null, 'Regler for automatisk afgørelse'), h('td', null, '–'),
      h('td', null, (RULES_MODE[rules.mode] || rules.mode) + names), h('td', null, '–')];
  }

  async function showHistory(r) {
    history.replaceChildren(h('p', null, 'Henter historikken …'));
    try {
      const body = await api(`/v1/tenants/${encodeURIComponent(r.kommune)}/history`);
      if (destroyed) return;
      const changes = (body.history || []).slice().reverse();
      const heading = h('h2', {tabindex: '-1', id: 'history-heading'}, `Historik for ${body.name} (${body.kommune})`);
      history.replaceChildren(heading, changes.length === 0 ? h('p', null, 'Ingen ændringer registreret.') :
        h('div', {class: 'table--responsive-scroll'}, h('table', {class: 'table', id: 'history-table'},
          h('thead', null, h('tr', null, ['Tidspunkt', 'Aftale', 'Fra', 'Til', 'Økonomisystem', 'Af'].map((t) => h('th', {scope: 'col'}, t)))),
          h('tbody', null, changes.map((c) => h('tr', null,
            h('td', {class: 'nowrap'}, dateTime(c.at)),
            ...(c.rules ? rulesChangeCells(c.rules) : [
              h('td', null, c.agreement === 'forside' ? 'Forside' : 'Bagside'),
              h('td', null, c.from ? stateText(c.from) : '–'),
              h('td', null, stateText(c.to)),
              h('td', null, c.from_economy_system ? `${c.from_economy_system} → ${c.economy_system}` : c.economy_system)]),
            h('td', null, c.by)))))));
      heading.focus();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return;
      history.replaceChildren(alert('error', 'Historikken kan ikke vises', errorText(err)));
    }
  }

  // exportCSV fetches the not-ready municipalities as CSV with the token
  // in a header, and hands the browser a blob: the token is never in a URL.
  async function exportCSV() {
    exportButton.disabled = true;
    try {
      const resp = await api('/v1/agreements?ready=false&format=csv', {raw: true});
      const blob = new Blob([await resp.text()], {type: 'text/csv;charset=utf-8'});
      const url = URL.createObjectURL(blob);
      const a = h('a', {href: url, download: `serviceaftaler-ikke-klar-${new Date().toISOString().slice(0, 10)}.csv`, hidden: true});
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      announce('CSV-filen er hentet.');
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return;
      messages.replaceChildren(alert('error', 'CSV-filen kunne ikke hentes', errorText(err)));
    } finally {
      exportButton.disabled = false;
    }
  }

  load();
  return {el, title: 'Serviceaftaler', destroy() { destroyed = true; }};
}
