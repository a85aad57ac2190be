// grid.js: the grid of trainees × criteria (GET /sessions/{id}/grid),
// one coloured cell per criterion: pass, fail, error, jury, or not yet
// graded. Criteria are grouped by task under a header row. The
// evaluator's version adds totals per competence and per CCP block.

import { h, word, fmtScore, fmtNum, pct } from './dom.js';

const ICON = { pass: '✓', fail: '✗', error: '!', manual: 'J', none: '·' };

export function legend() {
  return h('div', { class: 'legend' }, ['pass', 'fail', 'error', 'manual', 'none'].map((s) =>
    h('span', { class: 'legend-item' }, h('span', { class: `cell cell-${s}` }, ICON[s]), word(s))));
}

// opts: {totals: Map trainee -> results view, taskTitles: {id: title},
// onRow(trainee), rowActions(row)}
export function gridTable(grid, opts = {}) {
  const crits = grid.criteria || [];
  const tasks = [];
  for (const c of crits) {
    const last = tasks[tasks.length - 1];
    if (last && last.id === c.task) last.n++;
    else tasks.push({ id: c.task, n: 1 });
  }
  const totals = opts.totals;
  const compCols = [];
  const blockCols = [];
  if (totals) {
    for (const v of totals.values()) {
      for (const c of (v && v.competences) || []) if (!compCols.find((x) => x.id === c.id)) compCols.push(c);
      for (const b of (v && v.blocks) || []) if (!blockCols.find((x) => x.id === b.id)) blockCols.push(b);
    }
  }
  const head1 = h('tr', {},
    h('th', { class: 'sticky', rowspan: 2 }, 'Stagiaire'),
    h('th', { rowspan: 2 }, 'État'),
    h('th', { rowspan: 2, class: 'num' }, 'Score'),
    tasks.map((t) => h('th', { colspan: t.n, class: 'task-head', title: t.id }, (opts.taskTitles && opts.taskTitles[t.id]) || t.id)),
    compCols.length ? h('th', { colspan: compCols.length, class: 'task-head tot' }, 'Compétences') : null,
    blockCols.length ? h('th', { colspan: blockCols.length, class: 'task-head tot' }, 'CCP') : null,
    opts.rowActions ? h('th', { rowspan: 2 }, '') : null);
  const head2 = h('tr', {},
    crits.map((c) => h('th', { class: 'crit-head', title: `${c.id} — ${c.label}${c.manual ? ' (jury)' : ''}` },
      h('span', { class: 'crit-label' }, c.label), h('span', { class: 'crit-id mono' }, c.id))),
    compCols.map((c) => h('th', { class: 'crit-head tot', title: c.label }, h('span', { class: 'crit-label' }, c.label), h('span', { class: 'crit-id mono' }, c.id))),
    blockCols.map((b) => h('th', { class: 'crit-head tot', title: b.label }, h('span', { class: 'crit-label' }, b.label), h('span', { class: 'crit-id mono' }, b.id))));
  const body = (grid.rows || []).map((row) => {
    const run = row.run;
    const view = totals && totals.get(row.trainee);
    const cells = crits.map((c) => {
      const cell = row.cells && row.cells[c.id];
      const st = cell ? cell.state : 'none';
      return h('td', { class: 'c', dataset: { criterion: c.id, state: st } },
        h('span', { class: `cell cell-${st}`, title: `${row.name} — ${c.label} : ${word(st)}` }, ICON[st] || '?'));
    });
    const tot = (list, cols) => cols.map((col) => {
      const t = (list || []).find((x) => x.id === col.id);
      return h('td', { class: 'num tot' }, t ? h('span', { class: `score-chip ${scoreClass(t.score, t.max)}` },
        `${fmtNum(t.percent ?? pct(t.score, t.max), 0)} %`) : '—');
    });
    return h('tr', { dataset: { trainee: row.trainee }, class: opts.onRow ? 'row-link' : '' },
      h('td', { class: 'sticky name', onclick: opts.onRow ? () => opts.onRow(row.trainee) : null },
        h('span', { class: 'strong' }, row.name), h('span', { class: 'mono muted small' }, row.trainee)),
      h('td', {}, h('span', { class: `pill pill-${row.state}` }, word(row.state)),
        run ? h('div', { class: 'muted small' }, word(run.kind)) : null),
      h('td', { class: 'num' }, run ? h('span', { class: `score-chip ${scoreClass(run.score, run.max)}` }, fmtScore(run.score, run.max)) : '—'),
      cells,
      view ? tot(view.competences, compCols) : compCols.map(() => h('td', { class: 'tot' }, '—')),
      view ? tot(view.blocks, blockCols) : blockCols.map(() => h('td', { class: 'tot' }, '—')),
      opts.rowActions ? h('td', { class: 'row-actions' }, opts.rowActions(row)) : null);
  });
  return h('div', { class: 'grid-wrap' },
    h('table', { class: 'grid', id: 'grid' }, h('thead', {}, head1, head2), h('tbody', {}, body)));
}

// Task titles of a scenario (staff view of GET /scenarios/{id}).
export function taskTitles(scenario) {
  return Object.fromEntries(((scenario && scenario.tasks) || []).map((t) => [t.id, t.title]));
}

export function scoreClass(score, max) {
  if (!max) return 'score-none';
  const p = (100 * score) / max;
  return p >= 75 ? 'score-good' : p >= 50 ? 'score-mid' : 'score-low';
}
