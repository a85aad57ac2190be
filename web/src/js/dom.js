// dom.js: the few helpers every view uses. Pages are built with h(), never
// with innerHTML: every text that comes from the API (trainee names,
// labels, evidence) lands in the page as text, whatever it contains.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    // through CSSOM: the Content-Security-Policy refuses style attributes
    else if (k === 'style') Object.assign(el.style, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const dateFmt = new Intl.DateTimeFormat('fr-FR', { dateStyle: 'medium', timeStyle: 'short' });
const timeFmt = new Intl.DateTimeFormat('fr-FR', { hour: '2-digit', minute: '2-digit' });
const timeSecFmt = new Intl.DateTimeFormat('fr-FR', { hour: '2-digit', minute: '2-digit', second: '2-digit' });

export const fmtDate = (s) => (s ? dateFmt.format(new Date(s * 1000)) : '—');
export const fmtTime = (s) => (s ? timeFmt.format(new Date(s * 1000)) : '—');
export const fmtTimeSec = (s) => (s ? timeSecFmt.format(new Date(s * 1000)) : '—');

export function fmtNum(x, digits = 1) {
  if (x === undefined || x === null || Number.isNaN(x)) return '—';
  return Number(x).toLocaleString('fr-FR', { maximumFractionDigits: digits });
}

export function fmtScore(score, max) {
  if (max === undefined || max === null) return '—';
  return `${fmtNum(score)} / ${fmtNum(max)}`;
}

export function pct(score, max) {
  return max > 0 ? Math.round((100 * score) / max) : 0;
}

export function remaining(end) {
  const s = end - Date.now() / 1000;
  if (s <= 0) return 'terminée';
  const m = Math.ceil(s / 60);
  if (m < 60) return `reste ${m} min`;
  return `reste ${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')}`;
}

// French words for the API's states.
const STATE_WORDS = {
  pass: 'Réussi', fail: 'Échoué', error: 'Erreur', manual: 'Jury', none: 'Non noté',
  active: 'En cours', ending: 'Notation finale', ended: 'Terminée', destroying: 'Suppression',
  destroyed: 'Supprimée', pending: 'En attente', provisioning: 'Création', ready: 'Prête',
  stopped: 'Arrêtée', failed: 'Échec', running: 'En marche', queued: 'En file', done: 'Fait',
  trainer: 'Formateur', self: 'Auto-évaluation', final: 'Finale',
};
export const word = (s) => STATE_WORDS[s] || s || '—';

export function pill(state, text) {
  return h('span', { class: `pill pill-${state || 'none'}` }, text || word(state));
}

export function bar(value, max, cls = '') {
  const p = max > 0 ? Math.max(0, Math.min(100, (100 * value) / max)) : 0;
  return h('div', { class: `bar ${cls}`, role: 'progressbar', 'aria-valuenow': Math.round(p),
    'aria-valuemin': 0, 'aria-valuemax': 100 },
  h('div', { class: 'bar-fill', style: { width: `${p.toFixed(1)}%` } }));
}

let toastTimer;
export function toast(message, kind = 'info') {
  const el = document.getElementById('toast');
  if (!el) return;
  el.className = `toast toast-${kind} show`;
  el.textContent = message;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove('show'), kind === 'error' ? 7000 : 3500);
}

export function card(title, ...children) {
  return h('section', { class: 'card' }, title ? h('h2', { class: 'card-title' }, title) : null, ...children);
}

export function empty(text) {
  return h('p', { class: 'empty' }, text);
}

export function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name, class: 'hidden' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    toast('Copié dans le presse-papiers');
  } catch {
    toast('Copie impossible : sélectionnez le texte et copiez-le', 'error');
  }
}

// A modal dialog; resolves with the value of the button pressed (or null
// when dismissed). buttons: [{label, value, kind}].
export function modal(title, body, buttons = [{ label: 'Fermer', value: null }]) {
  return new Promise((resolve) => {
    const dlg = h('dialog', { class: 'modal' },
      h('form', { method: 'dialog' },
        h('h2', { class: 'modal-title' }, title),
        h('div', { class: 'modal-body' }, body),
        h('div', { class: 'modal-actions' }, buttons.map((b, i) => h('button', {
          class: `btn ${b.kind ? `btn-${b.kind}` : 'btn-ghost'}`, value: String(i), dataset: { action: b.action || '' },
        }, b.label)))));
    dlg.addEventListener('close', () => {
      const i = Number(dlg.returnValue);
      dlg.remove();
      resolve(Number.isInteger(i) && buttons[i] ? buttons[i].value : null);
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}
