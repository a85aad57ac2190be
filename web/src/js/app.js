// app.js: the shell of tssrlab's web interface — who is logged in (GET
// /whoami), the header, and a small hash router (#/sessions, #/trainee,
// ...) that mounts one view at a time. A view is a module exporting
// render(root, params, ctx) that may return a cleanup function (closing
// its event stream or console) run when the user leaves the page.

import { get, token, ApiError } from './api.js';
import { h, clear, toast } from './dom.js';
import * as login from './views/login.js';
import * as sessions from './views/sessions.js';
import * as sessionNew from './views/session-new.js';
import * as session from './views/session.js';
import * as evaluation from './views/evaluation.js';
import * as report from './views/report.js';
import * as trainee from './views/trainee.js';
import * as consoleView from './views/console.js';

const ROLE_WORDS = { admin: 'Administrateur', trainer: 'Formateur', evaluator: 'Évaluateur', trainee: 'Stagiaire' };

const routes = [
  ['login', login, null],
  ['sessions', sessions, ['admin', 'trainer', 'evaluator']],
  ['sessions/new', sessionNew, ['admin', 'trainer']],
  ['sessions/:id', session, ['admin', 'trainer', 'evaluator']],
  ['sessions/:id/evaluation', evaluation, ['admin', 'trainer', 'evaluator']],
  ['sessions/:id/reports', report, ['admin', 'trainer', 'evaluator']],
  ['sessions/:id/report/:trainee', report, ['admin', 'trainer', 'evaluator']],
  ['trainee', trainee, ['trainee']],
  ['console/:session/:trainee/:machine', consoleView, ['admin', 'trainer', 'trainee']],
];

const state = { me: null, cleanup: null };

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query] = raw.split('?');
  const segs = path.split('/').filter(Boolean).map(decodeURIComponent);
  const q = new URLSearchParams(query || '');
  for (const [pattern, view, roles] of routes) {
    const ps = pattern.split('/');
    if (ps.length !== segs.length) continue;
    const params = {};
    let ok = true;
    ps.forEach((p, i) => {
      if (p.startsWith(':')) params[p.slice(1)] = segs[i];
      else if (p !== segs[i]) ok = false;
    });
    if (ok) return { view, roles, params, query: q, path: segs.join('/') };
  }
  return { view: null, params: {}, query: q, path: segs.join('/') };
}

export function navigate(path) {
  if (location.hash === `#/${path}`) route();
  else location.hash = `#/${path}`;
}

export function home() {
  if (!state.me) return 'login';
  return state.me.role === 'trainee' ? 'trainee' : 'sessions';
}

function header() {
  const me = state.me;
  const nav = [];
  if (me && me.role !== 'trainee') nav.push(h('a', { href: '#/sessions', class: 'nav-link' }, 'Sessions'));
  if (me && me.role === 'trainee') nav.push(h('a', { href: '#/trainee', class: 'nav-link' }, 'Mon poste de travail'));
  return h('header', { class: 'topbar' },
    h('a', { class: 'brand', href: `#/${home()}` },
      h('img', { src: 'img/logo.svg', alt: '', width: 28, height: 28 }),
      h('span', { class: 'brand-name' }, 'tssrlab'),
      h('span', { class: 'brand-sub' }, 'Plateau technique TSSR')),
    h('nav', { class: 'nav' }, nav),
    me ? h('div', { class: 'user' },
      h('span', { class: 'user-name' }, me.role === 'trainee' ? me.trainee : me.name),
      h('span', { class: `role role-${me.role}` }, ROLE_WORDS[me.role] || me.role),
      h('button', { class: 'btn btn-ghost btn-sm', id: 'logout', onclick: logout }, 'Se déconnecter'))
      : null);
}

function logout() {
  token.clear();
  state.me = null;
  navigate('login');
}

async function whoami() {
  if (!token.get()) return null;
  try {
    return await get('/whoami');
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) token.clear();
    return null;
  }
}

async function route() {
  if (state.cleanup) {
    try { state.cleanup(); } catch { /* ignore */ }
    state.cleanup = null;
  }
  let r = parseHash();
  const app = document.getElementById('app');
  if (r.view === login) {
    state.me = null;
  } else if (!state.me) {
    state.me = await whoami();
  }
  if (r.view !== login && !state.me) {
    navigate('login');
    return;
  }
  if (!r.view) {
    navigate(home());
    return;
  }
  if (r.roles && !r.roles.includes(state.me.role)) {
    navigate(home());
    return;
  }
  document.getElementById('header').replaceWith(Object.assign(header(), { id: 'header' }));
  const root = clear(app);
  root.className = `page page-${r.path.split('/')[0] || 'home'}`;
  const ctx = {
    me: state.me, query: r.query, navigate, home,
    setMe: (me) => { state.me = me; },
  };
  try {
    const c = await r.view.render(root, r.params, ctx);
    state.cleanup = typeof c === 'function' ? c : null;
  } catch (e) {
    clear(root, h('div', { class: 'card error-card' },
      h('h2', {}, 'Cette page ne peut pas s’afficher'),
      h('p', {}, e.message || String(e)),
      h('a', { class: 'btn', href: `#/${home()}` }, 'Retour à l’accueil')));
  }
  window.scrollTo(0, 0);
}

window.addEventListener('hashchange', route);
window.addEventListener('tssrlab:unauthorized', () => {
  if (parseHash().view !== login) {
    toast('Votre jeton n’est plus valide : reconnectez-vous.', 'error');
    token.clear();
    state.me = null;
    navigate('login');
  }
});
route();
