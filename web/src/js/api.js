// api.js: the daemon's HTTP/JSON API (docs/daemon.md) as the pages use it.
// The token lives in the browser's localStorage; every request carries it
// as "Authorization: Bearer". The event stream and the console cannot send
// a header: they put it in the URL (?access_token=), which the daemon
// accepts on those two routes only.

const KEY = 'tssrlab.token';
export const BASE = '/api/v1';

export const token = {
  get: () => localStorage.getItem(KEY),
  set: (t) => localStorage.setItem(KEY, t),
  clear: () => localStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.status = status;
    this.field = field;
  }
}

const MESSAGES = {
  401: 'Jeton invalide ou révoqué : reconnectez-vous.',
  403: 'Accès refusé pour votre rôle.',
  404: 'Introuvable.',
  409: 'Opération impossible dans l’état actuel.',
  429: 'Une notation est déjà en cours.',
  507: 'Le disque du serveur est plein.',
};

export async function request(method, path, body, { raw = false } = {}) {
  const headers = { Authorization: `Bearer ${token.get() || ''}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let resp;
  try {
    resp = await fetch(BASE + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'Le serveur ne répond pas.');
  }
  if (!resp.ok) {
    let msg = MESSAGES[resp.status] || `Erreur ${resp.status}`;
    let field;
    try {
      const j = await resp.json();
      if (j.error) msg = `${msg} (${j.error})`;
      field = j.field;
    } catch { /* not JSON */ }
    if (resp.status === 401) window.dispatchEvent(new CustomEvent('tssrlab:unauthorized'));
    throw new ApiError(resp.status, msg, field);
  }
  if (raw) return resp.text();
  if (resp.status === 204) return null;
  return resp.json();
}

export const get = (p, o) => request('GET', p, undefined, o);
export const post = (p, b = {}) => request('POST', p, b);
export const put = (p, b) => request('PUT', p, b);

const e = encodeURIComponent;
export const paths = {
  session: (s) => `/sessions/${e(s)}`,
  instance: (s, t) => `/sessions/${e(s)}/instances/${e(t)}`,
};

// Server-sent events of a session; onEvent(type, data). Returns a closer.
export function events(session, onEvent, onState) {
  const url = `${BASE}/events?session=${e(session)}&access_token=${e(token.get() || '')}`;
  const src = new EventSource(url);
  for (const type of ['session', 'instance', 'grading', 'graded', 'reset', 'solution']) {
    src.addEventListener(type, (ev) => {
      let data = {};
      try { data = JSON.parse(ev.data); } catch { /* keep {} */ }
      onEvent(type, data);
    });
  }
  src.onopen = () => onState && onState(true);
  src.onerror = () => onState && onState(false);
  return () => src.close();
}

// The WebSocket URL of a machine's console.
export function consoleUrl(s, t, m) {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}${BASE}/sessions/${e(s)}/instances/${e(t)}/machines/${e(m)}/console?access_token=${e(token.get() || '')}`;
}
