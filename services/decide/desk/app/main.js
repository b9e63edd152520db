// The caseworker's desk: log-in, the queue (#/) and a document (#/dokument/ID).
// Routes live in the fragment so the server only ever serves one page, and so
// the token never needs to be in a URL.
import {api, session, onUnauthorized, errorText, ApiError, NetworkError} from './api.js';
import {h, alert, announce, typing} from './util.js';
import {queueView} from './queue.js';
import {documentView} from './document.js';
import {agreementsView, adminOnlyView} from './agreements.js';

const app = {
  me: null,
  view: null, // the current view: {destroy(), onKey(event)}
  loginMessage: '',
};

const viewEl = document.getElementById('view');

// show replaces the view, and moves focus to its heading so a keyboard or
// screen reader user starts at the top of the new page.
function show(view, {focus = true} = {}) {
  if (app.view && app.view !== view) app.view.destroy?.();
  app.view = view;
  viewEl.replaceChildren(view.el);
  document.title = (view.title ? view.title + ' – ' : '') + 'KP e-faktura';
  if (focus) {
    const h1 = view.el.querySelector('h1');
    if (h1) { h1.setAttribute('tabindex', '-1'); h1.focus({preventScroll: false}); }
    window.scrollTo(0, 0);
  }
}

function loginView(message) {
  const input = h('input', {
    class: 'form-input', type: 'password', id: 'token', name: 'token',
    autocomplete: 'current-password', required: true, 'aria-describedby': 'token-hint',
  });
  const messages = h('div', {id: 'login-messages', 'aria-live': 'polite'});
  if (message) messages.append(alert('warning', null, message));
  const group = h('div', {class: 'form-group', id: 'token-group'},
    h('label', {class: 'form-label', for: 'token'}, 'Adgangsnøgle'),
    h('span', {class: 'form-hint', id: 'token-hint'},
      'Nøglen gemmes kun i denne fane, indtil du logger af eller lukker fanen.'),
    input);
  const submit = h('button', {class: 'button button-primary', type: 'submit', id: 'login-submit'}, 'Log ind');
  const form = h('form', {id: 'login-form', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    const token = input.value.trim();
    group.classList.remove('form-error');
    input.removeAttribute('aria-invalid');
    group.querySelector('.form-error-message')?.remove();
    if (!token) {
      fieldError(group, input, 'Skriv din adgangsnøgle.');
      input.focus();
      return;
    }
    submit.disabled = true;
    try {
      const me = await api('/v1/me', {token});
      session.token = token;
      app.me = me;
      header();
      announce('Du er logget ind.');
      location.hash = me.role === 'admin' ? '#/aftaler' : '#/';
      route();
    } catch (err) {
      const text = err instanceof ApiError && err.status === 401
        ? 'Adgangsnøglen er forkert eller udløbet.' : errorText(err);
      messages.replaceChildren(alert('error', 'Du blev ikke logget ind', text));
      if (err instanceof ApiError && err.status === 401) fieldError(group, input, 'Adgangsnøglen er forkert eller udløbet.');
      input.focus();
    } finally {
      submit.disabled = false;
    }
  }}, group, submit);
  const el = h('div', {class: 'login'},
    h('h1', null, 'Log ind'),
    h('p', {class: 'font-lead'}, 'Log ind med din adgangsnøgle som sagsbehandler for at se og afgøre kommunens fakturaer, kreditnotaer og rykkere, eller som administrator for at følge kommunernes serviceaftaler.'),
    messages, form);
  return {el, title: 'Log ind', focusInput: () => input.focus()};
}

function fieldError(group, input, text) {
  group.classList.add('form-error');
  input.setAttribute('aria-invalid', 'true');
  const id = input.id + '-error';
  input.setAttribute('aria-describedby', `${input.id}-hint ${id}`);
  input.before(h('span', {class: 'form-error-message', id}, h('span', {class: 'sr-only'}, 'Fejl: '), text));
}

function showLogin(message) {
  session.token = '';
  app.me = null;
  header();
  show(loginView(message));
}

// header shows who is logged in, and the banner when answers wait.
function header() {
  const me = app.me;
  document.getElementById('portal-user').hidden = !me;
  document.getElementById('who').textContent = me
    ? (me.role === 'admin' ? `${me.name} (administrator)` : `${me.name}, ${me.municipality || 'kommune'} (${me.kommune})`)
    : '';
  const banner = document.getElementById('banner');
  if (me && me.answers_allowed === false) {
    if (!banner.firstChild) {
      banner.append(alert('warning', null,
        'Kommunens serviceaftaler er ikke begge godkendt. Dine afgørelser gemmes, men svarene sendes først, når begge aftaler er godkendt.'));
      banner.firstChild.id = 'agreements-banner';
    }
  } else {
    banner.replaceChildren();
  }
}

// refreshMe reads /v1/me again, for the banner; failures leave it as it was.
async function refreshMe() {
  try {
    app.me = await api('/v1/me');
    header();
  } catch (err) {
    if (!(err instanceof NetworkError) && !(err instanceof ApiError)) throw err;
  }
}

async function route() {
  if (!session.token) { showLogin(app.loginMessage); app.loginMessage = ''; return; }
  if (!app.me) {
    try {
      app.me = await api('/v1/me');
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return; // onUnauthorized showed the log-in
      viewEl.replaceChildren(h('h1', {tabindex: '-1'}, 'Skrivebordet kan ikke vises'),
        alert('error', null, errorText(err)),
        h('button', {class: 'button button-secondary', type: 'button', onclick: route}, 'Prøv igen'));
      return;
    }
    header();
  }
  let hash = location.hash || '#/';
  // An administrator has no queue: the desk's page for them is the
  // municipalities' agreements (issue 15); a caseworker is told it is not
  // theirs.
  if (app.me.role === 'admin' && !hash.startsWith('#/aftaler')) { history.replaceState(null, '', '#/aftaler'); hash = '#/aftaler'; }
  const m = /^#\/dokument\/([^?/]+)/.exec(hash);
  const ctx = {app, show, refreshMe};
  if (hash.startsWith('#/aftaler')) {
    show(app.me.role === 'admin' ? agreementsView(new URLSearchParams(hash.slice(hash.indexOf('?') + 1 || hash.length))) : adminOnlyView());
  } else if (m) show(documentView(decodeURIComponent(m[1]), ctx));
  else if (hash.startsWith('#/')) show(queueView(new URLSearchParams(hash.slice(hash.indexOf('?') + 1 || hash.length)), ctx));
}

onUnauthorized(() => {
  if (!session.token) return;
  app.loginMessage = '';
  showLogin('Din adgangsnøgle er udløbet eller ikke længere gyldig. Log ind igen. Det, du var i gang med, er ikke gemt.');
});

document.getElementById('logout').addEventListener('click', () => {
  showLogin('Du er logget af.');
  announce('Du er logget af.');
});

// The skip link moves the focus without touching the route in the fragment.
document.getElementById('skipnav').addEventListener('click', (e) => {
  e.preventDefault();
  const target = viewEl.querySelector('h1') || viewEl;
  target.setAttribute('tabindex', '-1');
  target.focus();
});

// Keyboard shortcuts (j, k, a, r): not while typing, not with a modifier,
// not while a dialog is open. A shortcut that moves the focus into a field
// acts on keyup, so the key's own character does not land in that field.
document.addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing || typing(e.target)) return;
  if (document.body.classList.contains('modal-open')) return;
  app.view?.onKey?.(e);
});
document.addEventListener('keyup', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing || typing(e.target)) return;
  if (document.body.classList.contains('modal-open')) return;
  app.view?.onKeyUp?.(e);
});

window.addEventListener('hashchange', route);
route();
