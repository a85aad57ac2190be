// trainee.js: a trainee's workplace — the briefing and the tasks, the
// access details of each machine with a console in the browser, the
// self-check (with the detail the scenario allows) and a line of their
// self-check scores over time. A trainee sees only their own instance:
// the daemon enforces it, this page just never asks for more.

import { get, post, events, paths } from '../api.js';
import { h, clear, card, pill, toast, copy, fmtTime, fmtTimeSec, remaining, word, pct, fmtScore } from '../dom.js';

const NS = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

// Score over time (percent) as an SVG line; points oldest first.
function progressLine(points) {
  const W = 560; const H = 180; const L = 36; const R = 12; const T = 12; const B = 28;
  const g = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': 'Progression des auto-évaluations' });
  for (const y of [0, 25, 50, 75, 100]) {
    const py = T + (H - T - B) * (1 - y / 100);
    g.append(svg('line', { x1: L, x2: W - R, y1: py, y2: py, class: 'chart-grid' }),
      svg('text', { x: L - 6, y: py + 4, class: 'chart-label', 'text-anchor': 'end' }, `${y}`));
  }
  if (!points.length) return g;
  const t0 = points[0].t; const t1 = points[points.length - 1].t;
  const span = Math.max(1, t1 - t0);
  const xy = points.map((p) => [points.length === 1 ? (L + W - R) / 2 : L + ((W - L - R) * (p.t - t0)) / span, T + (H - T - B) * (1 - p.v / 100)]);
  g.append(svg('polyline', { points: xy.map((p) => p.join(',')).join(' '), class: 'chart-line' }));
  xy.forEach(([x, y], i) => g.append(svg('circle', { cx: x, cy: y, r: 4, class: 'chart-dot' },
    svg('title', {}, `${fmtTime(points[i].t)} : ${points[i].v} %`))));
  g.append(svg('text', { x: L, y: H - 8, class: 'chart-label' }, fmtTime(t0)));
  if (points.length > 1) g.append(svg('text', { x: W - R, y: H - 8, class: 'chart-label', 'text-anchor': 'end' }, fmtTime(t1)));
  return g;
}

function secret(value) {
  const span = h('span', { class: 'mono secret' }, '••••••••');
  let shown = false;
  return h('span', { class: 'secret-wrap' }, span,
    h('button', { type: 'button', class: 'btn btn-xs btn-ghost', onclick: (ev) => {
      shown = !shown;
      span.textContent = shown ? value : '••••••••';
      ev.target.textContent = shown ? 'Masquer' : 'Afficher';
    } }, 'Afficher'),
    h('button', { type: 'button', class: 'btn btn-xs btn-ghost', onclick: () => copy(value) }, 'Copier'));
}

export async function render(root, params, ctx) {
  const s = ctx.me.session;
  const t = ctx.me.trainee;
  const sess = await get(paths.session(s));
  const scen = await get(`/scenarios/${encodeURIComponent(sess.scenario)}`);

  const machinesBox = h('div', { id: 'machines' });
  const checkBox = h('div', { id: 'selfcheck' });
  const chartBox = h('div', { id: 'progress-line' });
  const tasksBox = h('div', { id: 'tasks' });
  const stateBox = h('div', { class: 'head-meta' });
  let busy = false;

  const checkBtn = h('button', { class: 'btn btn-primary', id: 'selfcheck-run', disabled: !scen.self_check, onclick: async () => {
    try {
      await post(`${paths.instance(s, t)}/selfcheck`);
      busy = true;
      toast('Vérification lancée : résultat dans quelques secondes');
      renderBusy();
    } catch (e) {
      toast(e.message, 'error');
    }
  } }, 'Vérifier mon travail');
  const busyNote = h('span', { class: 'muted small' });
  function renderBusy() { busyNote.textContent = busy ? 'Vérification en cours…' : ''; checkBtn.disabled = busy || !scen.self_check; }

  clear(root,
    h('div', { class: 'page-head' },
      h('div', {}, h('p', { class: 'eyebrow' }, 'Mise en situation professionnelle'),
        h('h1', {}, scen.title), stateBox)),
    h('div', { class: 'grid-2 trainee-grid' },
      h('div', { class: 'col' },
        card('Contexte', h('p', { class: 'briefing', id: 'briefing' }, scen.briefing)),
        card('Travail demandé', tasksBox)),
      h('div', { class: 'col' },
        card('Mes machines', machinesBox),
        card('Auto-évaluation',
          scen.self_check
            ? h('p', { class: 'help' }, 'Lancez une vérification quand vous voulez : elle n’est pas la note finale, '
              + 'mais montre où vous en êtes.')
            : h('p', { class: 'help' }, 'Ce scénario ne propose pas d’auto-évaluation.'),
          h('div', { class: 'row' }, checkBtn, busyNote), checkBox),
        card('Ma progression', chartBox))));

  async function refresh() {
    const [inst, res, hist, cur] = await Promise.all([
      get(paths.instance(s, t)),
      get(`${paths.instance(s, t)}/results`).catch(() => null),
      get(`${paths.instance(s, t)}/history`).catch(() => []),
      get(paths.session(s)),
    ]);
    clear(stateBox, pill(cur.state), h('span', {}, `Fin ${fmtTime(cur.window_end)}`),
      cur.state === 'active' ? h('span', { class: 'strong' }, remaining(cur.window_end)) : null,
      h('span', { class: 'mono muted' }, `${t} · ${s}`));

    const byTask = new Map();
    for (const c of (res && res.criteria) || []) {
      if (!byTask.has(c.task)) byTask.set(c.task, []);
      byTask.get(c.task).push(c);
    }
    clear(tasksBox, h('ol', { class: 'task-cards' }, (scen.tasks || []).map((task) => h('li', { class: 'task-card' },
      h('div', { class: 'strong' }, task.title),
      task.description ? h('p', {}, task.description) : null,
      (byTask.get(task.id) || []).map((c) => h('div', { class: `crit-line crit-${c.state}` },
        pill(c.state), h('span', {}, c.label),
        c.hint && c.state !== 'pass' ? h('div', { class: 'hint small' }, `Indice : ${c.hint}`) : null))))));

    const ready = inst.state === 'ready';
    clear(machinesBox, inst.machines && inst.machines.length ? (inst.machines || []).map((m) => h('div', { class: 'machine', dataset: { machine: m.machine } },
      h('div', { class: 'machine-head' },
        h('span', { class: 'machine-name' }, m.machine), pill(ready ? (m.state || 'running') : inst.state),
        h('a', {
          class: `btn btn-sm btn-primary ${ready ? '' : 'disabled'}`, id: `console-${m.machine}`,
          href: ready ? `#/console/${encodeURIComponent(s)}/${encodeURIComponent(t)}/${encodeURIComponent(m.machine)}` : null,
        }, 'Ouvrir la console')),
      h('dl', { class: 'access' },
        h('dt', {}, 'Adresse'), h('dd', { class: 'mono' }, `${m.access_host}:${m.access_port}`),
        h('dt', {}, 'Utilisateur'), h('dd', { class: 'mono' }, m.user || '—'),
        h('dt', {}, 'Mot de passe'), h('dd', {}, m.password ? secret(m.password) : h('span', { class: 'muted' }, 'non communiqué')),
        m.host_key_fp ? [h('dt', {}, 'Empreinte SSH'), h('dd', { class: 'mono small fp' }, m.host_key_fp)] : null),
      m.user && m.password ? h('div', { class: 'cmd' }, h('code', {}, `ssh -p ${m.access_port} ${m.user}@${m.access_host}`),
        h('button', { class: 'btn btn-xs btn-ghost', type: 'button', onclick: () => copy(`ssh -p ${m.access_port} ${m.user}@${m.access_host}`) }, 'Copier')) : null))
      : h('p', { class: 'empty' }, inst.state === 'failed' ? `La création de vos machines a échoué : ${inst.error || ''}` : 'Vos machines sont en cours de création…'));

    const last = (hist || [])[0];
    clear(checkBox, res && res.criteria && res.id ? h('div', { class: 'selfcheck-result' },
      h('div', { class: 'small muted' }, `Dernière vérification à ${fmtTimeSec(res.finished || res.started)}`),
      res.total ? h('div', { class: 'score-line' }, `${fmtScore(res.score, res.max)} (${pct(res.score, res.max)} %)`) : null,
      h('ul', { class: 'check-list' }, res.criteria.map((c) => h('li', {}, pill(c.state), ' ', c.label))))
      : h('p', { class: 'empty' }, last ? '' : 'Aucune vérification pour l’instant.'));

    const points = (hist || []).filter((r) => r.max > 0).map((r) => ({ t: r.finished || r.started, v: pct(r.score, r.max) })).reverse();
    clear(chartBox, points.length ? progressLine(points)
      : h('p', { class: 'empty' }, 'Votre courbe apparaîtra après votre première vérification.'),
    points.length ? h('p', { class: 'small muted' }, `${points.length} vérification(s) · score en % du maximum`) : null);
  }

  await refresh();
  const close = events(s, (type) => {
    if (type === 'graded') { busy = false; renderBusy(); }
    if (type === 'grading') { busy = true; renderBusy(); }
    refresh().catch((e) => toast(e.message, 'error'));
  });
  return () => close();
}
