// report.js: one trainee's report (or every trainee's, one per printed
// A4 page): totals per CCP, competence and task, then each criterion with
// its state, score and the evidence the probes collected; jury criteria
// take a manual score from an evaluator until the session is frozen.

import { get, put, paths } from '../api.js';
import { h, clear, pill, bar, toast, fmtDate, fmtNum, fmtScore, word } from '../dom.js';

function totalsTable(title, list) {
  if (!list || !list.length) return null;
  return h('div', { class: 'totals' },
    h('h3', {}, title),
    h('table', { class: 'table compact' },
      h('tbody', {}, list.map((t) => h('tr', {},
        h('td', { class: 'mono small' }, t.id),
        h('td', {}, t.label),
        h('td', { class: 'num nowrap' }, fmtScore(t.score, t.max)),
        h('td', { class: 'w-bar' }, bar(t.score, t.max || 1)),
        h('td', { class: 'num nowrap strong' }, `${fmtNum(t.percent, 0)} %`))))));
}

function evidence(list) {
  if (!list || !list.length) return null;
  return h('details', { class: 'evidence' },
    h('summary', {}, `Preuves (${list.length})`),
    list.map((e) => h('div', { class: 'probe' },
      h('div', { class: 'probe-head' },
        h('span', { class: 'mono strong' }, e.kind), e.machine ? h('span', { class: 'muted' }, ` sur ${e.machine}`) : null,
        e.status && e.status !== 'done'
          ? h('span', { class: 'pill pill-error' }, 'non exécutée')
          : h('span', { class: `pill pill-${e.passed ? 'pass' : 'fail'}` }, e.passed ? 'conforme' : 'non conforme')),
      h('dl', { class: 'probe-facts' },
        e.value !== undefined ? [h('dt', {}, 'Valeur relevée'), h('dd', { class: 'mono' }, e.value === '' ? '(vide)' : String(e.value))] : null,
        e.status && e.status !== 'done' ? [h('dt', {}, 'État'), h('dd', {}, e.status)] : null,
        e.command ? [h('dt', {}, 'Commande'), h('dd', { class: 'mono' }, e.command)] : null,
        e.exit !== undefined ? [h('dt', {}, 'Code retour'), h('dd', { class: 'mono' }, String(e.exit))] : null,
        e.output ? [h('dt', {}, 'Sortie'), h('dd', {}, h('pre', {}, e.output))] : null))));
}

function manualEditor(rep, c, manual, editable, onSaved) {
  const m = (manual || []).find((x) => x.criterion === c.id);
  if (!editable) {
    return m ? h('div', { class: 'manual-view small' }, `Note du jury : ${fmtNum(m.fraction * 100, 0)} %`,
      m.comment ? h('span', { class: 'muted' }, ` — ${m.comment}`) : null) : h('div', { class: 'small muted' }, 'Pas encore noté par le jury');
  }
  const frac = h('select', { class: 'input input-sm', dataset: { manual: c.id } },
    [0, 0.25, 0.5, 0.75, 1].map((f) => h('option', { value: f, selected: m && Math.abs(m.fraction - f) < 1e-9 }, `${f * 100} %`)));
  const comment = h('input', { class: 'input input-sm', placeholder: 'Commentaire du jury', value: (m && m.comment) || '', maxlength: 500 });
  return h('div', { class: 'manual-edit no-print' },
    frac, comment,
    h('button', { class: 'btn btn-sm btn-primary', type: 'button', onclick: async () => {
      try {
        const body = { fraction: Number(frac.value) };
        if (comment.value.trim()) body.comment = comment.value.trim();
        await put(`${paths.instance(rep.session, rep.trainee)}/manual/${encodeURIComponent(c.id)}`, body);
        toast('Note du jury enregistrée');
        onSaved();
      } catch (e) {
        toast(e.message, 'error');
      }
    } }, 'Enregistrer'));
}

function reportArticle(rep, title, sess, ctx, onSaved) {
  const run = rep.run;
  const editable = ['admin', 'evaluator'].includes(ctx.me.role) && !sess.frozen;
  const tasks = new Map();
  for (const c of (run && run.criteria) || []) {
    if (!tasks.has(c.task)) tasks.set(c.task, []);
    tasks.get(c.task).push(c);
  }
  const taskLabels = Object.fromEntries(((run && run.tasks) || []).map((t) => [t.id, t]));
  return h('article', { class: 'report', dataset: { trainee: rep.trainee } },
    h('header', { class: 'report-head' },
      h('div', { class: 'report-brand' }, h('img', { src: 'img/logo.svg', alt: '', width: 32, height: 32 }),
        h('div', {}, h('div', { class: 'strong' }, 'tssrlab'), h('div', { class: 'small muted' }, 'Titre professionnel TSSR — rapport d’évaluation'))),
      h('div', { class: 'report-who' },
        h('h2', {}, rep.name), h('div', { class: 'mono muted small' }, rep.trainee))),
    h('div', { class: 'report-meta' },
      h('div', {}, h('span', { class: 'muted' }, 'Mise en situation '), h('b', {}, title)),
      h('div', {}, h('span', { class: 'muted' }, 'Session '), h('span', { class: 'mono' }, rep.session)),
      run ? h('div', {}, h('span', { class: 'muted' }, 'Notation '), `${word(run.kind)} du ${fmtDate(run.finished || run.started)}`,
        run.frozen ? pill('frozen', 'Figée') : null) : h('div', {}, 'Aucune notation pour l’instant')),
    run ? h('div', { class: 'report-score' },
      h('div', { class: 'score-big' }, h('span', {}, `${fmtNum(run.total ? run.total.percent : 0, 0)} %`),
        h('span', { class: 'muted small' }, fmtScore(run.score, run.max))),
      h('div', { class: 'report-totals' },
        totalsTable('Par CCP', run.blocks), totalsTable('Par compétence', run.competences))) : null,
    run ? h('div', { class: 'report-criteria' }, [...tasks.entries()].map(([tid, list]) => h('section', { class: 'report-task' },
      h('h3', {}, (taskLabels[tid] && taskLabels[tid].label) || tid,
        taskLabels[tid] ? h('span', { class: 'muted small' }, `  ${fmtScore(taskLabels[tid].score, taskLabels[tid].max)}`) : null),
      list.map((c) => h('div', { class: `crit crit-${c.state}`, dataset: { criterion: c.id } },
        h('div', { class: 'crit-main' },
          pill(c.state),
          h('div', { class: 'crit-text' },
            h('div', { class: 'strong' }, c.label),
            h('div', { class: 'small muted' }, h('span', { class: 'mono' }, c.id), ` · réf. ${c.ref || '—'} · poids ${fmtNum(c.weight)}`),
            c.reason ? h('div', { class: 'small reason' }, c.reason.replace(/expectation not met/g, 'résultat non conforme')) : null),
          h('div', { class: 'num nowrap' }, fmtScore(c.score, c.weight))),
        c.state === 'manual' || c.manual ? manualEditor(rep, c, rep.manual_scores, editable, onSaved) : null,
        evidence(c.evidence)))))) : null,
    h('footer', { class: 'report-foot small muted' },
      `Rapport produit par tssrlab le ${fmtDate(Date.now() / 1000)}. Les preuves sont les relevés bruts des sondes sur les machines du stagiaire.`));
}

export async function render(root, params, ctx) {
  const id = params.id;
  const [sess, scenarios] = await Promise.all([get(paths.session(id)), get('/scenarios')]);
  const title = (scenarios.find((s) => s.id === sess.scenario) || {}).title || sess.scenario;
  const trainees = params.trainee ? [params.trainee] : (sess.instances || []).map((i) => i.trainee);
  const box = h('div', { class: 'reports' });

  async function load() {
    const reps = await Promise.all(trainees.map((t) => get(`${paths.instance(id, t)}/report`)));
    clear(box, reps.map((r) => reportArticle(r, title, sess, ctx, load)));
  }
  await load();
  const openAll = () => { for (const d of root.querySelectorAll('details')) d.open = true; };
  window.addEventListener('beforeprint', openAll);
  clear(root,
    h('div', { class: 'page-head no-print' },
      h('div', {},
        h('a', { href: `#/sessions/${encodeURIComponent(id)}/evaluation`, class: 'back' }, '← Évaluation'),
        h('h1', {}, params.trainee ? 'Rapport du stagiaire' : `Rapports — ${trainees.length} stagiaire(s)`)),
      h('div', { class: 'toolbar' },
        h('button', { class: 'btn', onclick: openAll }, 'Déplier les preuves'),
        h('button', { class: 'btn btn-primary', id: 'print', onclick: () => { openAll(); window.print(); } }, 'Imprimer (A4)'))),
    box);
  return () => window.removeEventListener('beforeprint', openAll);
}
