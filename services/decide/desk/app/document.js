// One document: the invoice, its findings, history and answer, and the
// caseworker's decision (approve, or reject in a dialog with a reason).
import {api, errorText, conflictText, ApiError, NetworkError} from './api.js';
import {h, icon, alert, badge, announce, date, dateTime, documentTypes, stateBadge, states, reasons, decisionText} from './util.js';
import {invoice} from './invoice.js';
import {queueOrder, queueHash} from './queue.js';

const happenings = {
  received: 'Modtaget', validated: 'Valideret', rejected_technically: 'Afvist automatisk (teknisk ugyldigt)',
  verdict: 'Afgørelse', answer_parked: 'Svaret venter', answer_delivered: 'Svaret er leveret',
  answer_failed: 'Levering af svaret mislykkedes', cpr_revealed: 'CPR-nummer vist', original_read: 'Original XML hentet',
  archived: 'Arkiveret',
  possible_duplicate: 'Mulig dublet', rule_matched: 'Regel opfyldt', rule_dry_run: 'Regel opfyldt (prøvekørsel)',
  rule_not_matched: 'Ingen regel opfyldt',
};
// Possible duplicates and rules (issue 14).
const duplicateReasons = {same_document_no: 'samme fakturanummer', same_amount_and_date: 'samme beløb og dato'};
const parkReasons = {
  agreement_missing: 'en serviceaftale mangler',
  agreement_not_approved: 'serviceaftalerne er ikke begge godkendt',
  economy_system_mismatch: 'en serviceaftale peger på et andet økonomisystem',
};
const details = {approve: 'godkendt', reject: 'afvist'};
const actors = {ingest: 'Systemet (modtagelse)', validate: 'Systemet (validering)', respond: 'Systemet (svar)', system: 'Systemet', decide: 'Systemet'};

// answerText is the answer's status in Danish.
export function answerText(d) {
  const a = d.answer || {};
  if (!d.state || d.state === 'received' || d.state === 'awaiting_verdict') return 'Der sendes svar, når dokumentet er afgjort.';
  switch (a.status) {
    case 'parked': return 'Svaret afventer serviceaftaler' + (parkReasons[a.park_reason] ? `: ${parkReasons[a.park_reason]}.` : '.');
    case 'delivered': return `Svaret er leveret til kommunens økonomisystem${a.delivered_at ? ' den ' + dateTime(a.delivered_at) : ''}.`;
    case 'failed': return a.permanent
      ? 'Svaret kunne ikke leveres, og der forsøges ikke igen. Driften er underrettet.'
      : `Levering af svaret mislykkedes (${a.attempts || 1} forsøg). Der forsøges igen automatisk${a.next_attempt_at ? ' den ' + dateTime(a.next_attempt_at) : ''}.`;
    default: return 'Svaret er på vej til kommunens økonomisystem.';
  }
}

export function documentView(id, ctx) {
  const me = ctx.app.me;
  const canDecide = me?.role === 'caseworker';
  let doc = null;
  let inv = null;
  let destroyed = false;
  const path = '/v1/documents/' + encodeURIComponent(id);

  const heading = h('h1', null, 'Dokument');
  const subtitle = h('p', {class: 'font-lead doc-subtitle'});
  const messages = h('div', {id: 'doc-messages', 'aria-live': 'polite'});
  const status = h('div', {class: 'doc-status', id: 'doc-status'});
  const actions = h('div', {class: 'button-group doc-actions', id: 'doc-actions'});
  const invoiceBox = h('div', {id: 'invoice'}, h('p', null, 'Henter fakturaen …'));
  const duplicatesBox = h('div', {id: 'possible-duplicates'});
  const findingsBox = h('section', {'aria-labelledby': 'findings-h', id: 'findings'});
  const historyBox = h('section', {'aria-labelledby': 'history-h', id: 'history'});
  const flowBox = h('section', {'aria-labelledby': 'flow-h', id: 'flow'});

  const order = queueOrder();
  const ids = order.ids || [];
  const pos = ids.indexOf(id);
  const prevId = pos > 0 ? ids[pos - 1] : null;
  const nextId = pos >= 0 && pos < ids.length - 1 ? ids[pos + 1] : null;
  const goto = (other) => { if (other) location.hash = '#/dokument/' + encodeURIComponent(other); };
  const nav = h('nav', {class: 'doc-nav', 'aria-label': 'Dokumenter i listen'},
    h('a', {href: queueHash(), class: 'back-link'}, icon('chevron-left'), 'Tilbage til listen'),
    h('span', {class: 'doc-nav-steps'},
      prevId ? h('a', {href: '#/dokument/' + encodeURIComponent(prevId), class: 'button button-tertiary', id: 'doc-prev'}, 'Forrige (k)') : null,
      pos >= 0 ? h('span', {class: 'doc-pos'}, `${pos + 1} af ${ids.length} på siden`) : null,
      nextId ? h('a', {href: '#/dokument/' + encodeURIComponent(nextId), class: 'button button-tertiary', id: 'doc-next'}, 'Næste (j)') : null));

  const shortcuts = h('details', {class: 'details'},
    h('summary', {class: 'details-summary'}, 'Tastaturgenveje'),
    h('div', {class: 'details-text'}, h('dl', {class: 'shortcuts'},
      h('dt', null, h('kbd', null, 'j')), h('dd', null, 'Næste dokument i listen'),
      h('dt', null, h('kbd', null, 'k')), h('dd', null, 'Forrige dokument i listen'),
      h('dt', null, h('kbd', null, 'a')), h('dd', null, 'Godkend dokumentet'),
      h('dt', null, h('kbd', null, 'r')), h('dd', null, 'Afvis dokumentet (åbner en dialog)'),
      h('dt', null, h('kbd', null, 'Esc')), h('dd', null, 'Luk dialogen'),
      h('dd', {class: 'shortcut-note'}, 'Genvejene virker ikke, mens du skriver i et felt.'))));

  const el = h('div', {class: 'document'}, nav, heading, subtitle, messages, status, actions, duplicatesBox, invoiceBox,
    findingsBox, historyBox, flowBox, shortcuts);

  function say(node, {focus = true} = {}) {
    messages.replaceChildren(node);
    if (focus) node.focus();
  }

  async function load() {
    try {
      doc = await api(path);
    } catch (err) {
      if (destroyed || (err instanceof ApiError && err.status === 401)) return;
      heading.textContent = err instanceof ApiError && err.status === 404 ? 'Dokumentet findes ikke' : 'Dokumentet kan ikke vises';
      invoiceBox.replaceChildren(alert('error', null, errorText(err)),
        err instanceof ApiError && err.status === 404 ? null
          : h('button', {class: 'button button-secondary', type: 'button', onclick: load}, 'Prøv igen'));
      return;
    }
    if (destroyed) return;
    renderDoc();
    loadInvoice(false);
  }

  async function loadInvoice(reveal) {
    try {
      inv = await api(path + '/invoice' + (reveal ? '?reveal=cpr' : ''));
    } catch (err) {
      if (destroyed || (err instanceof ApiError && err.status === 401)) return;
      if (reveal) { say(alert('error', 'CPR-nummeret kan ikke vises', errorText(err))); return; }
      invoiceBox.replaceChildren(alert(err instanceof ApiError && err.status === 410 ? 'info' : 'error',
        'Fakturaens indhold kan ikke vises', errorText(err)));
      return;
    }
    if (destroyed) return;
    renderInvoice();
    if (reveal) {
      announce('CPR-numrene vises nu. Visningen er registreret i historikken.');
      refreshRecord();
      invoiceBox.querySelector('.final-customer')?.closest('td')?.setAttribute('tabindex', '-1');
      invoiceBox.querySelector('.final-customer')?.closest('td')?.focus();
    }
  }

  function renderInvoice() {
    const reveal = h('button', {class: 'button button-secondary', type: 'button', id: 'reveal-cpr',
      onclick: () => loadInvoice(true)}, 'Vis CPR-nummer');
    const download = h('button', {class: 'button button-tertiary', type: 'button', id: 'download-original', onclick: downloadOriginal},
      'Hent original XML');
    invoiceBox.replaceChildren(h('div', {class: 'invoice-tools'}, download), invoice(inv, {revealCpr: reveal}));
    if (!doc?.billed_from_name && inv.billed_from?.name) subtitle.textContent = `Fra ${inv.billed_from.name}`;
  }

  async function refreshRecord() {
    try { doc = await api(path); } catch { return; }
    if (!destroyed) renderDoc();
  }

  function renderDoc() {
    const type = documentTypes[doc.document_type] || 'Dokument';
    heading.textContent = `${type} ${doc.document_no || ''}`.trim();
    ctx.app.view.title = heading.textContent;
    document.title = heading.textContent + ' – KP e-faktura';
    subtitle.textContent = doc.billed_from_name ? `Fra ${doc.billed_from_name}` : (inv?.billed_from?.name ? `Fra ${inv.billed_from.name}` : '');
    const facts = [
      h('dt', null, 'Status'), h('dd', {id: 'doc-state'}, stateBadge(doc.state),
        doc.overdue ? [' ', badge('error', 'Forfalden')] : null),
    ];
    if (doc.verdict) {
      facts.push(h('dt', null, 'Afgørelse'), h('dd', {id: 'doc-verdict'}, decisionText(doc.verdict),
        (doc.verdict.reasons || []).length ? h('ul', {class: 'reasons'}, doc.verdict.reasons.map((r) =>
          h('li', null, `${r.code} – ${reasons[r.code] || r.code}${r.text ? ': ' + r.text : ''}`))) : null,
        doc.verdict.note ? h('p', {class: 'form-hint'}, `Intern note: ${doc.verdict.note}`) : null));
    }
    facts.push(h('dt', null, 'Svar'), h('dd', {id: 'doc-answer'}, answerText(doc)));
    if (doc.due_date) facts.push(h('dt', null, 'Forfaldsdato'), h('dd', null, date(doc.due_date)));
    if (doc.received_at) facts.push(h('dt', null, 'Modtaget'), h('dd', null, dateTime(doc.received_at)));
    if (doc.archived) facts.push(h('dt', null, 'Arkiv'), h('dd', null, 'Dokumentet er besvaret og arkiveret.'));
    if (doc.rule?.name) {
      facts.push(h('dt', null, 'Regel'), h('dd', {id: 'doc-rule'}, doc.rule.mode === 'dry_run'
        ? `Reglen „${doc.rule.name}“ ville have godkendt dokumentet (prøvekørsel; intet er afgjort).`
        : `Reglen „${doc.rule.name}“ godkendte dokumentet.`));
    }
    status.replaceChildren(h('dl', {class: 'invoice-facts doc-facts'}, facts));
    duplicatesBox.replaceChildren(possibleDuplicates());

    const focused = actions.contains(document.activeElement) ? document.activeElement.id : null;
    actions.replaceChildren();
    if (canDecide && doc.state === 'awaiting_verdict') {
      actions.append(
        h('button', {class: 'button button-primary', type: 'button', id: 'approve', onclick: approve}, 'Godkend'),
        h('button', {class: 'button button-secondary', type: 'button', id: 'reject', onclick: (e) => openReject(e.currentTarget)}, 'Afvis …'));
      if (focused) document.getElementById(focused)?.focus();
    } else if (!canDecide && doc.state === 'awaiting_verdict') {
      actions.append(h('p', null, 'Du er logget ind som administrator og kan se, men ikke afgøre dokumentet.'));
    }

    findingsBox.replaceChildren(h('h2', {id: 'findings-h'}, 'Fund fra valideringen'), findings());
    historyBox.replaceChildren(h('h2', {id: 'history-h'}, 'Historik'), history());
    loadFlow();
  }

  // The flow is the document's way through the workers: a lane per worker,
  // a row per step, the wait before it and each delivery attempt's HTTP
  // status (GET /v1/documents/{id}/flow).
  async function loadFlow() {
    let flow;
    try {
      flow = await api(path + '/flow');
    } catch (err) {
      if (destroyed || (err instanceof ApiError && err.status === 401)) return;
      flowBox.replaceChildren(h('h2', {id: 'flow-h'}, 'Forløb'), alert('error', null, errorText(err)));
      return;
    }
    if (destroyed) return;
    flowBox.replaceChildren(h('h2', {id: 'flow-h'}, 'Forløb'), flowTable(flow));
  }

  function flowTable(flow) {
    const lanes = [['ingest', 'Modtagelse'], ['validate', 'Validering'], ['decide', 'Afgørelse'], ['respond', 'Svar']];
    const steps = flow.steps || [];
    return h('div', null,
      flow.trace_id ? h('p', {class: 'form-hint'}, 'Sporings-id (trace id): ', h('code', {id: 'flow-trace'}, flow.trace_id)) : null,
      steps.length ? h('div', {class: 'table--responsive-scroll', tabindex: '0', role: 'region', 'aria-labelledby': 'flow-h'},
        h('table', {class: 'table table--compact flow', id: 'flow-table'},
          h('thead', null, h('tr', null, h('th', {scope: 'col'}, 'Tidspunkt'), h('th', {scope: 'col'}, 'Ventetid'),
            lanes.map(([, label]) => h('th', {scope: 'col', class: 'flow-lane'}, label)),
            h('th', {scope: 'col'}, 'Hændelse'), h('th', {scope: 'col'}, 'HTTP'))),
          h('tbody', null, steps.map((s) => h('tr', null,
            h('td', {class: 'nowrap'}, dateTime(s.at)),
            h('td', {class: 'nowrap'}, wait(s.duration_ms)),
            lanes.map(([worker, label]) => h('td', {class: worker === s.worker ? 'flow-lane flow-here' : 'flow-lane'},
              worker === s.worker ? h('span', {class: 'flow-dot', role: 'img', 'aria-label': label}) : null)),
            h('td', null, (happenings[s.what] || s.what) + (s.attempt ? ` (forsøg ${s.attempt})` : '')),
            h('td', null, s.status_code ? String(s.status_code) : '')))))) : h('p', null, 'Intet forløb endnu.'));
  }

  // wait says a duration in milliseconds as a person reads it.
  function wait(ms) {
    if (!ms) return '–';
    if (ms < 1000) return `${ms} ms`;
    if (ms < 60000) return `${(ms / 1000).toLocaleString('da-DK', {maximumFractionDigits: 1})} s`;
    if (ms < 3600000) return `${Math.round(ms / 60000)} min.`;
    if (ms < 86400000) return `${(ms / 3600000).toLocaleString('da-DK', {maximumFractionDigits: 1})} t.`;
    return `${(ms / 86400000).toLocaleString('da-DK', {maximumFractionDigits: 1})} døgn`;
  }

  function findings() {
    const list = doc.findings || [];
    if (doc.archived && (doc.finding_rules || []).length) {
      return h('p', null, 'Regler med fund: ' + doc.finding_rules.join(', '));
    }
    if (!list.length) return h('p', null, 'Ingen fund: dokumentet overholder alle regler.');
    return h('div', {class: 'table--responsive-scroll', tabindex: '0', role: 'region', 'aria-labelledby': 'findings-h'},
      h('table', {class: 'table table--compact'},
        h('thead', null, h('tr', null, h('th', {scope: 'col'}, 'Regel'), h('th', {scope: 'col'}, 'Alvor'),
          h('th', {scope: 'col'}, 'Beskrivelse'), h('th', {scope: 'col'}, 'Sted i dokumentet'),
          h('th', {scope: 'col'}, 'Linje:kolonne'))),
        h('tbody', null, list.map((f) => h('tr', null,
          h('td', null, h('strong', null, f.rule)),
          h('td', null, f.severity === 'error' ? badge('error', 'Fejl') : badge('warning', 'Advarsel')),
          h('td', {lang: f.message_da ? null : 'en'}, f.message_da || f.message),
          h('td', {class: 'path'}, f.path),
          h('td', {class: 'nowrap'}, position(f)))))));
  }

  // position is where a finding's element starts, "line:column" in the
  // DOCUMENT element as validated (its start tag is 1:1); a dash for a
  // finding of before positions, or of the file as a whole.
  function position(f) {
    if (!f.line) return '–';
    return f.column ? `${f.line}:${f.column}` : String(f.line);
  }

  // possibleDuplicates warns, beside the invoice, of earlier documents from
  // the same sender that this one may repeat, each linked.
  function possibleDuplicates() {
    const list = doc.possible_duplicates || [];
    if (!list.length) return '';
    return alert('warning', 'Mulig dublet',
      h('p', null, 'Samme leverandør har tidligere sendt et dokument, som dette kan være en gentagelse af. Kontrollér, før du godkender.'),
      h('ul', null, list.map((d) => h('li', null,
        h('a', {href: '#/dokument/' + encodeURIComponent(d.document_id)}, 'Det tidligere dokument'),
        ` (${duplicateReasons[d.reason] || d.reason}; ${(states[d.state] || 'ukendt status').toLowerCase()})`))));
  }

  function history() {
    const list = doc.history || [];
    if (!list.length) return h('p', null, 'Ingen historik endnu.');
    return h('div', {class: 'table--responsive-scroll', tabindex: '0', role: 'region', 'aria-labelledby': 'history-h'},
      h('table', {class: 'table table--compact', id: 'history-table'},
        h('thead', null, h('tr', null, h('th', {scope: 'col'}, 'Tidspunkt'), h('th', {scope: 'col'}, 'Hændelse'),
          h('th', {scope: 'col'}, 'Af'), h('th', {scope: 'col'}, 'Detaljer'))),
        h('tbody', null, list.map((e) => h('tr', null,
          h('td', {class: 'nowrap'}, dateTime(e.at)),
          h('td', null, happenings[e.what] || e.what),
          h('td', null, actors[e.by] || e.by || ''),
          h('td', null, parkReasons[e.detail] || details[e.detail] || e.detail || ''))))));
  }

  async function decide(body) {
    return api(path + '/verdict', {method: 'POST', body});
  }

  function decided(what) {
    const later = ctx.app.me?.answers_allowed === false
      ? ' Svaret sendes, når begge serviceaftaler er godkendt.' : ' Svaret sendes til kommunens økonomisystem.';
    say(alert('success', `Dokumentet er ${what}.`, later.trim(), nextId ? ' Tryk j for det næste dokument.' : null));
    refreshRecord();
  }

  async function approve() {
    const btn = document.getElementById('approve');
    if (btn) btn.disabled = true;
    try {
      await decide({decision: 'approve'});
      decided('godkendt');
    } catch (err) {
      if (btn) btn.disabled = false;
      failed(err, 'Dokumentet blev ikke godkendt');
    }
  }

  function failed(err, heading) {
    if (err instanceof ApiError && err.status === 401) return;
    if (err instanceof ApiError && err.status === 409) {
      say(alert('warning', 'En anden har afgjort dokumentet først', conflictText(err.body)));
      refreshRecord();
      return;
    }
    say(alert('error', heading, errorText(err)));
  }

  // The reject dialog is DKFDS's modal in index.html; what is typed in it
  // stays there until a reject succeeds, also across network errors.
  const modalEl = document.getElementById('reject-modal');
  const modal = window.DKFDS ? new window.DKFDS.Modal(modalEl) : null;
  const form = document.getElementById('reject-form');
  const code = document.getElementById('reject-code');
  const text = document.getElementById('reject-text');
  const note = document.getElementById('reject-note');
  const rejectMessages = document.getElementById('reject-messages');
  if (modalEl.dataset.document !== id) { form.reset(); modalEl.dataset.document = id; }
  if (!modalEl.dataset.init && modal) { modal.init(); modalEl.dataset.init = '1'; }

  function openReject(opener) {
    if (!doc || doc.state !== 'awaiting_verdict' || !canDecide || !modal) return;
    rejectMessages.replaceChildren();
    document.getElementById('reject-subject').textContent =
      `${heading.textContent}${doc.billed_from_name ? ' fra ' + doc.billed_from_name : ''}. Svaret til kommunen fortæller leverandøren hvorfor.`;
    modal.show({target: opener || document.getElementById('reject')});
    code.focus();
  }

  function fieldError(groupId, errorId, on) {
    document.getElementById(groupId).classList.toggle('form-error', on);
    document.getElementById(errorId).hidden = !on;
  }

  async function submitReject(e) {
    e.preventDefault();
    if (modalEl.dataset.document !== id) return;
    const c = code.value;
    const t = text.value.trim();
    const noCode = !c;
    const noText = c === 'OTH' && !t;
    fieldError('reject-code-group', 'reject-code-error', noCode);
    code.toggleAttribute('aria-invalid', noCode);
    fieldError('reject-text-group', 'reject-text-error', noText);
    text.toggleAttribute('aria-invalid', noText);
    if (noCode) { code.focus(); return; }
    if (noText) { text.focus(); return; }
    const submit = document.getElementById('reject-submit');
    submit.disabled = true;
    try {
      await decide({decision: 'reject', reasons: [{code: c, text: t}], note: note.value.trim() || undefined});
    } catch (err) {
      submit.disabled = false;
      if (err instanceof ApiError && err.status === 401) { modal.hide(); return; }
      if (err instanceof ApiError && err.status === 409) {
        modal.hide();
        form.reset();
        failed(err);
        return;
      }
      const box = alert('error', 'Dokumentet blev ikke afvist', errorText(err),
        err instanceof NetworkError ? '' : ' Det, du har skrevet, står her stadig.');
      rejectMessages.replaceChildren(box);
      box.focus();
      return;
    }
    submit.disabled = false;
    form.reset();
    modal.hide();
    decided('afvist');
  }
  form.onsubmit = submitReject;

  async function downloadOriginal() {
    try {
      const resp = await api(path + '/original', {raw: true});
      const blob = await resp.blob();
      const m = /filename="?([^";]+)"?/.exec(resp.headers.get('Content-Disposition') || '');
      const a = h('a', {href: URL.createObjectURL(blob), download: m ? m[1] : `${doc?.document_no || id}.xml`, hidden: true});
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
      announce('Den originale XML-fil er hentet.');
      refreshRecord();
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) say(alert('error', 'Den originale XML kunne ikke hentes', errorText(err)));
    }
  }

  let rArmed = false;
  load();
  return {
    el, title: 'Dokument',
    destroy() {
      destroyed = true;
      if (modalEl.getAttribute('aria-hidden') === 'false') modal?.hide();
      form.onsubmit = null;
    },
    onKey(e) {
      switch (e.key) {
        case 'j': e.preventDefault(); goto(nextId); break;
        case 'k': e.preventDefault(); goto(prevId); break;
        case 'a': if (canDecide && doc?.state === 'awaiting_verdict') { e.preventDefault(); approve(); } break;
        // r opens the dialog on keyup, so the r itself does not pick a
        // reason in the picker that gets the focus.
        case 'r': if (canDecide && doc?.state === 'awaiting_verdict') { e.preventDefault(); rArmed = true; } break;
      }
    },
    onKeyUp(e) {
      if (e.key === 'r' && rArmed) { rArmed = false; openReject(); }
    },
  };
}
