// The desk's only way to the server: decide's public HTTP API, with the
// caseworker's token as a bearer header. The token lives in this tab's
// sessionStorage, never in a URL.
import {decisionText} from './util.js';

const KEY = 'efaktura.desk.token';

export const session = {
  get token() { return sessionStorage.getItem(KEY) || ''; },
  set token(t) { if (t) sessionStorage.setItem(KEY, t); else sessionStorage.removeItem(KEY); },
};

// ApiError is an answer other than 2xx; body is its JSON ({error, problems, verdict, ...}).
export class ApiError extends Error {
  constructor(status, body) {
    super(`HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

// NetworkError is a request that got no answer at all.
export class NetworkError extends Error {}

let unauthorized = () => {};

// onUnauthorized sets what happens on any 401: the token expired or is wrong.
export function onUnauthorized(f) { unauthorized = f; }

// api requests path and returns its JSON (or the Response with raw: true).
export async function api(path, {method = 'GET', body, raw = false, token = session.token} = {}) {
  const headers = {Authorization: 'Bearer ' + token, Accept: raw ? '*/*' : 'application/json'};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let resp;
  try {
    resp = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store', credentials: 'omit', redirect: 'error',
    });
  } catch {
    throw new NetworkError('no answer');
  }
  if (!resp.ok) {
    let b = {};
    try { b = await resp.json(); } catch { /* not JSON */ }
    const err = new ApiError(resp.status, b);
    if (resp.status === 401) unauthorized(err);
    throw err;
  }
  return raw ? resp : resp.json();
}

// errorText says in Danish what went wrong, for a person.
export function errorText(err) {
  if (err instanceof NetworkError) {
    return 'Der er ingen forbindelse til serveren. Tjek netforbindelsen, og prøv igen. Intet af det, du har skrevet, er gået tabt.';
  }
  if (!(err instanceof ApiError)) return 'Der opstod en uventet fejl i skrivebordet. Genindlæs siden, og prøv igen.';
  const b = err.body;
  switch (err.status) {
    case 400: return 'Serveren kunne ikke bruge forespørgslen' + (b.problems?.length ? ': ' + b.problems.join('; ') : '.');
    case 401: return 'Din adgangsnøgle er udløbet eller forkert. Log ind igen.';
    case 403: return 'Din adgangsnøgle giver ikke adgang til sagsbehandling.';
    case 404: return 'Dokumentet findes ikke, eller det hører til en anden kommune.';
    case 409: return conflictText(b);
    case 410: return 'Det oprindelige dokument er slettet, fordi opbevaringsperioden er udløbet.';
    case 413: return 'Der er valgt for mange dokumenter på én gang.';
    case 422: return 'Dokumentet afventer ikke en afgørelse endnu. Vent, til det er valideret.';
    case 503: return 'Tjenesten er midlertidigt utilgængelig. Prøv igen om lidt.';
  }
  if (err.status >= 500) return `Der opstod en fejl på serveren (fejlkode ${err.status}). Prøv igen om lidt.`;
  return `Forespørgslen blev afvist (fejlkode ${err.status}).`;
}

// conflictText says who decided a document first, and what (a 409's body).
export function conflictText(b) {
  if (b && b.verdict) return `Dokumentet er allerede afgjort: ${decisionText(b.verdict)}. Din afgørelse er ikke gemt.`;
  return 'Dokumentet er allerede afgjort af en anden. Din afgørelse er ikke gemt.';
}
