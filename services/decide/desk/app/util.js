// DOM helpers and Danish formats. Data from the API only ever becomes text
// nodes and attribute values: nothing is parsed as HTML.

const SPRITE = '/desk/vendor/dkfds-11.2.0/img/all-svg-icons.svg';
const SVG = 'http://www.w3.org/2000/svg';

// h builds an element: h('a', {href: '#/', class: 'x', onclick: f}, 'text', child, [more]).
// Attributes that are false, null or undefined are left out; true sets an empty attribute.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

// icon is a DKFDS icon from the sprite, hidden from assistive technology.
export function icon(name) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'icon-svg');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('aria-hidden', 'true');
  const use = document.createElementNS(SVG, 'use');
  use.setAttribute('href', SPRITE + '#' + name);
  svg.append(use);
  return svg;
}

// alert is a DKFDS alert: variant info, success, warning or error.
export function alert(variant, heading, ...body) {
  const labels = {info: 'Information', success: 'Succes', warning: 'Advarsel', error: 'Fejl'};
  const iconEl = icon(variant);
  iconEl.setAttribute('class', 'icon-svg alert-icon');
  iconEl.removeAttribute('aria-hidden');
  iconEl.setAttribute('role', 'img');
  iconEl.setAttribute('aria-label', labels[variant]);
  return h('div', {class: `alert alert-${variant}`, tabindex: '-1'}, iconEl,
    h('div', {class: 'alert-body'},
      heading ? h('p', {class: 'alert-heading'}, heading) : null,
      body.length ? h('div', {class: 'alert-text'}, body) : null));
}

export function badge(variant, text) {
  return h('span', {class: variant ? `badge badge-${variant}` : 'badge'}, text);
}

// announce says text to screen readers through the page's live region.
export function announce(text) {
  const el = document.getElementById('announcer');
  el.textContent = '';
  // A new text node in a cleared region is announced even if the text repeats.
  setTimeout(() => { el.textContent = text; }, 50);
}

// decimal formats a decimal string of the API ("4431.25", "-1.5") the Danish
// way ("4.431,25", "-1,5"), with at least minFrac decimals, without going
// through a float.
export function decimal(s, minFrac = 0) {
  if (s === null || s === undefined || s === '') return '';
  let str = String(s).trim();
  const neg = str.startsWith('-');
  if (neg || str.startsWith('+')) str = str.slice(1);
  if (!/^\d*(\.\d*)?$/.test(str)) return String(s);
  let [int, frac = ''] = str.split('.');
  int = (int.replace(/^0+(?=\d)/, '') || '0').replace(/\B(?=(\d{3})+(?!\d))/g, '.');
  while (frac.length < minFrac) frac += '0';
  return (neg ? '-' : '') + int + (frac ? ',' + frac : '');
}

// money is an amount with its currency: "4.431,25 kr." for DKK.
export function money(s, currency) {
  if (s === null || s === undefined || s === '') return '';
  const unit = !currency || currency === 'DKK' ? 'kr.' : currency;
  return decimal(s, 2) + '\u00a0' + unit;
}

// date formats "2025-07-02" as "02.07.2025".
export function date(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(s || '');
  return m ? `${m[3]}.${m[2]}.${m[1]}` : (s || '');
}

const dtf = new Intl.DateTimeFormat('da-DK', {
  timeZone: 'Europe/Copenhagen', year: 'numeric', month: '2-digit', day: '2-digit',
  hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
});

// dateTime formats a timestamp as "02.06.2025 kl. 10:15", Danish time.
export function dateTime(ts) {
  if (!ts) return '';
  const d = new Date(ts);
  if (Number.isNaN(d.getTime()) || d.getFullYear() < 2) return '';
  const p = Object.fromEntries(dtf.formatToParts(d).map((x) => [x.type, x.value]));
  return `${p.day}.${p.month}.${p.year} kl.\u00a0${p.hour}:${p.minute}`;
}

export const documentTypes = {INVOICE: 'Faktura', CREDIT_NOTE: 'Kreditnota', REMINDER: 'Rykker'};

export const states = {
  received: 'Modtaget', awaiting_verdict: 'Afventer afgørelse', approved: 'Godkendt', rejected: 'Afvist',
};

export function stateBadge(state) {
  const variant = {received: 'info', awaiting_verdict: 'warning', approved: 'success', rejected: 'error'}[state];
  return badge(variant, states[state] || state || 'Ukendt');
}

export const reasons = {
  NON: 'Ingen fejl', REF: 'Referencer er forkerte', LEG: 'Juridiske oplysninger er forkerte',
  REC: 'Modtager er ukendt', QUA: 'Varens kvalitet er utilstrækkelig', DEL: 'Leveringsproblemer',
  PRI: 'Priserne er forkerte', QTY: 'Antallet er forkert', ITM: 'Varerne er forkerte',
  PAY: 'Betalingsbetingelserne er forkerte', UNR: 'Ikke genkendt',
  FIN: 'Finansielle betingelser er forkerte', OTH: 'Andet',
};

// decisionText is "Godkendt af X den 02.06.2025 kl. 10:15".
export function decisionText(v) {
  if (!v) return '';
  const what = v.decision === 'approve' ? 'Godkendt' : 'Afvist';
  const who = v.by === 'system' ? 'automatisk af systemet' : `af ${v.by || 'ukendt'}`;
  const when = dateTime(v.at);
  return `${what} ${who}${when ? ' den ' + when : ''}`;
}

// typing reports whether a key press goes to a field, where letters are text.
export function typing(target) {
  if (!(target instanceof Element)) return false;
  return target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName);
}
