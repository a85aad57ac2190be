// evaluation.js: the evaluator's grid — every trainee's report run with
// totals per competence and per CCP block — with the exports (the
// daemon's own CSV, and a JSON of the grid plus each trainee's results),
// the printable reports and the freeze of the final results.

import { get, post, paths } from '../api.js';
import { h, clear, card, pill, toast, modal, download, fmtNum, fmtTime, word } from '../dom.js';
import { gridTable, legend, taskTitles } from '../grid.js';

export async function render(root, params, ctx) {
  const id = params.id;
  const canFreeze = ['admin', 'evaluator'].includes(ctx.me.role);
  const [sess, grid, scenarios] = await Promise.all([get(paths.session(id)), get(`${paths.session(id)}/grid`), get('/scenarios')]);
  const title = (scenarios.find((s) => s.id === sess.scenario) || {}).title || sess.scenario;
  const scen = await get(`/scenarios/${encodeURIComponent(sess.scenario)}`).catch(() => null);
  const totals = new Map();
  await Promise.all(grid.rows.map(async (row) => {
    if (!row.run) return;
    try {
      totals.set(row.trainee, await get(`${paths.instance(id, row.trainee)}/results`));
    } catch { /* no report run yet */ }
  }));

  async function exportCsv() {
    const text = await get(`${paths.session(id)}/grid.csv`, { raw: true });
    download(`tssrlab-${id}-grille.csv`, 'text/csv;charset=utf-8', text);
    toast('Grille exportée (CSV)');
  }
  async function exportJson() {
    const results = {};
    for (const [t, v] of totals) results[t] = v;
    const doc = { exported_at: new Date().toISOString(), session: sess, grid, results };
    download(`tssrlab-${id}-resultats.json`, 'application/json', `${JSON.stringify(doc, null, 2)}\n`);
    toast('Résultats exportés (JSON)');
  }
  async function freeze() {
    const ok = await modal('Figer les résultats ?', [
      h('p', {}, 'Les résultats finaux et les notes du jury sont figés définitivement : plus rien ne pourra les modifier. '
        + 'Les machines des stagiaires sont ensuite supprimées.')],
    [{ label: 'Annuler', value: false }, { label: 'Figer', value: true, kind: 'danger', action: 'confirm' }]);
    if (!ok) return;
    try {
      await post(`${paths.session(id)}/freeze`);
      toast('Résultats figés');
      ctx.navigate(`sessions/${encodeURIComponent(id)}/evaluation`);
    } catch (e) {
      toast(e.status === 409 ? 'Terminez la session et attendez la notation finale avant de figer.' : e.message, 'error');
    }
  }

  // class summary: average percent per block and competence
  const agg = new Map();
  for (const v of totals.values()) {
    for (const t of [...(v.blocks || []), ...(v.competences || [])]) {
      const a = agg.get(t.id) || { id: t.id, label: t.label, sum: 0, n: 0, block: (v.blocks || []).includes(t) };
      a.sum += t.percent ?? 0;
      a.n++;
      agg.set(t.id, a);
    }
  }
  const totalAvg = totals.size ? [...totals.values()].reduce((s, v) => s + (v.total ? v.total.percent : 0), 0) / totals.size : null;
  const summary = h('div', { class: 'summary' },
    h('div', { class: 'stat' }, h('span', { class: 'stat-value' }, String(grid.rows.length)), h('span', { class: 'stat-label' }, 'stagiaires')),
    h('div', { class: 'stat' }, h('span', { class: 'stat-value' }, String(totals.size)), h('span', { class: 'stat-label' }, 'notés')),
    h('div', { class: 'stat' }, h('span', { class: 'stat-value' }, totalAvg === null ? '—' : `${fmtNum(totalAvg, 0)} %`), h('span', { class: 'stat-label' }, 'moyenne générale')),
    [...agg.values()].filter((a) => a.block).map((a) => h('div', { class: 'stat' },
      h('span', { class: 'stat-value' }, `${fmtNum(a.sum / a.n, 0)} %`), h('span', { class: 'stat-label', title: a.label }, a.id.toUpperCase()))));

  clear(root,
    h('div', { class: 'page-head' },
      h('div', {},
        h('a', { href: `#/sessions/${encodeURIComponent(id)}`, class: 'back' }, '← Suivi de la session'),
        h('h1', {}, `Évaluation — ${title}`),
        h('div', { class: 'head-meta' }, pill(sess.state), sess.frozen ? pill('frozen', 'Résultats figés') : null,
          h('span', { class: 'mono muted' }, id), h('span', {}, `Fin ${fmtTime(sess.window_end)}`))),
      h('div', { class: 'toolbar' },
        h('button', { class: 'btn', id: 'export-csv', onclick: () => exportCsv().catch((e) => toast(e.message, 'error')) }, 'Exporter CSV'),
        h('button', { class: 'btn', id: 'export-json', onclick: () => exportJson().catch((e) => toast(e.message, 'error')) }, 'Exporter JSON'),
        h('a', { class: 'btn', id: 'print-all', href: `#/sessions/${encodeURIComponent(id)}/reports` }, 'Rapports imprimables'),
        canFreeze && !sess.frozen ? h('button', {
          class: 'btn btn-danger-ghost', id: 'freeze', onclick: freeze, disabled: sess.state === 'active' || sess.state === 'ending',
          title: sess.state === 'active' ? 'Terminez d’abord la session' : '',
        }, 'Figer les résultats') : null)),
    summary,
    card('Résultats par critère, compétence et CCP', legend(),
      grid.rows.length ? gridTable(grid, {
        totals, taskTitles: taskTitles(scen), onRow: (t) => ctx.navigate(`sessions/${encodeURIComponent(id)}/report/${encodeURIComponent(t)}`),
      }) : h('p', { class: 'empty' }, 'Aucun stagiaire.'),
      h('p', { class: 'small muted' }, `Notes : dernière notation ${word('final').toLowerCase()} si la session est terminée, sinon la dernière notation du formateur. `
        + 'Cliquez sur un stagiaire pour son rapport détaillé et les critères notés par le jury.')));
}
