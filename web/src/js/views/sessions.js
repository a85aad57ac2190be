// sessions.js: the list of sessions (trainers, evaluators, admins).

import { get } from '../api.js';
import { h, clear, pill, fmtDate, fmtTime, remaining, card, empty } from '../dom.js';

export async function render(root, params, ctx) {
  const [list, scenarios] = await Promise.all([get('/sessions'), get('/scenarios')]);
  const titles = Object.fromEntries(scenarios.map((s) => [s.id, s.title]));
  const canCreate = ['admin', 'trainer'].includes(ctx.me.role);
  list.sort((a, b) => b.created_at - a.created_at);
  const live = list.filter((s) => !['destroyed'].includes(s.state));

  const rows = live.map((s) => {
    const target = ctx.me.role === 'evaluator' ? `#/sessions/${encodeURIComponent(s.id)}/evaluation`
      : `#/sessions/${encodeURIComponent(s.id)}`;
    return h('tr', { class: 'row-link', onclick: () => { location.hash = target; } },
      h('td', {}, h('a', { href: target, class: 'strong' }, titles[s.scenario] || s.scenario),
        h('div', { class: 'muted small mono' }, s.id)),
      h('td', {}, pill(s.state), s.frozen ? pill('frozen', 'Figée') : null),
      h('td', { class: 'num' }, String(s.trainees ?? '—')),
      h('td', {}, fmtDate(s.window_start)),
      h('td', {}, s.state === 'active' ? `${fmtTime(s.window_end)} (${remaining(s.window_end)})` : fmtTime(s.window_end)),
      h('td', {}, s.created_by));
  });

  clear(root,
    h('div', { class: 'page-head' },
      h('div', {}, h('h1', {}, 'Sessions'),
        h('p', { class: 'muted' }, 'Mises en situation en cours et passées')),
      canCreate ? h('a', { class: 'btn btn-primary', href: '#/sessions/new', id: 'new-session' }, '+ Nouvelle session') : null),
    card(null, rows.length
      ? h('table', { class: 'table', id: 'sessions' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Scénario'), h('th', {}, 'État'), h('th', { class: 'num' }, 'Stagiaires'),
          h('th', {}, 'Début'), h('th', {}, 'Fin'), h('th', {}, 'Créée par'))),
        h('tbody', {}, rows))
      : empty(canCreate ? 'Aucune session pour l’instant : créez-en une.' : 'Aucune session pour l’instant.')));
}
