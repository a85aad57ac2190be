// console.js: a machine's screen in the browser. noVNC (pinned in
// web/package.json, copied into vendor/ by the build) speaks RFB over a
// WebSocket to tssrlabd, which checks the token and that the machine is
// the trainee's own, then bridges to the machine's VNC display.

import RFB from '../../vendor/novnc/core/rfb.js';
import { consoleUrl } from '../api.js';
import { h, clear } from '../dom.js';

const STATUS = {
  connecting: 'Connexion…', connected: 'Connecté', disconnected: 'Déconnecté', failed: 'Connexion impossible',
};

export async function render(root, params, ctx) {
  const { session, trainee, machine } = params;
  const screen = h('div', { class: 'console-screen', id: 'console', dataset: { state: 'connecting' } });
  const status = h('span', { class: 'console-status', id: 'console-status' }, STATUS.connecting);
  const back = ctx.me.role === 'trainee' ? '#/trainee' : `#/sessions/${encodeURIComponent(session)}`;
  let rfb = null;

  function setState(st, detail) {
    screen.dataset.state = st;
    status.textContent = detail ? `${STATUS[st]} — ${detail}` : STATUS[st];
    status.className = `console-status st-${st}`;
  }

  function connect() {
    setState('connecting');
    rfb = new RFB(screen, consoleUrl(session, trainee, machine), { wsProtocols: ['binary'] });
    rfb.scaleViewport = true;
    rfb.resizeSession = false;
    rfb.background = '#0b1220';
    rfb.addEventListener('connect', () => {
      setState('connected');
      const canvas = screen.querySelector('canvas');
      if (canvas) screen.dataset.fb = `${canvas.width}x${canvas.height}`;
      rfb.focus();
    });
    rfb.addEventListener('disconnect', (e) => setState(e.detail.clean ? 'disconnected' : 'failed',
      e.detail.clean ? '' : 'la machine est-elle démarrée ?'));
    rfb.addEventListener('desktopname', (e) => { screen.dataset.name = e.detail.name; });
  }

  clear(root,
    h('div', { class: 'console-bar' },
      h('a', { href: back, class: 'back' }, '← Retour'),
      h('h1', {}, `Console de ${machine}`),
      h('span', { class: 'mono muted small' }, `${trainee} · ${session}`),
      status,
      h('div', { class: 'toolbar' },
        h('button', { class: 'btn btn-sm', onclick: () => rfb && rfb.sendCtrlAltDel() }, 'Ctrl+Alt+Suppr'),
        h('button', { class: 'btn btn-sm', onclick: () => { if (rfb) rfb.disconnect(); connect(); } }, 'Reconnecter'),
        h('button', { class: 'btn btn-sm', onclick: () => screen.requestFullscreen && screen.requestFullscreen() }, 'Plein écran'))),
    screen,
    h('p', { class: 'small muted console-help' }, 'Cliquez dans l’écran pour lui donner le clavier. '
      + 'La console passe par le serveur tssrlab : seule la propriétaire ou le propriétaire du poste (et les formateurs) peut l’ouvrir.'));
  connect();
  return () => { if (rfb) rfb.disconnect(); };
}
