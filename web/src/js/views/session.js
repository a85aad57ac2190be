// session.js: a trainer's live view of a session — the time window and
// the session's actions (grade now, extend, end), provisioning progress
// per instance (with each trainee's access link and machine reset), and
// the live grid trainees × criteria. Both refresh on the session's
// server-sent events.

import { get, post, events, paths } from '../api.js';
import { h, clear, card, pill, bar, toast, modal, fmtTime, remaining, word, copy, fmtTimeSec } from '../dom.js';
import { gridTable, legend, taskTitles } from '../grid.js';

const STAGE = { pending: 8, provisioning: 55, ready: 100, stopped: 100, failed: 100, destroyed: 100 };
const STAGE_TEXT = {
  pending: 'En attente d’un créneau',
  provisioning: 'Création et démarrage des machines…',
  ready: 'Machines prêtes',
  stopped: 'Machines arrêtées (conservées pour le jury)',
  failed: 'Échec de la création',
  destroyed: 'Machines supprimées',
};

export async function render(root, params, ctx) {
  const id = params.id;
  const isTrainer = ['admin', 'trainer'].includes(ctx.me.role);
  const scenarios = await get('/scenarios');
  const titles = Object.fromEntries(scenarios.map((s) => [s.id, s.title]));

  const headBox = h('div', { class: 'page-head' });
  const progressBox = h('div', { id: 'progress' });
  const gridBox = h('div', { id: 'grid-box' });
  let titlesOfTasks = null;
  const liveDot = h('span', { class: 'live', id: 'live' }, 'Hors ligne');
  const grading = new Set();
  let sess = null;

  clear(root, headBox,
    h('div', { class: 'stack' },
      card(h('span', {}, 'Machines des stagiaires'), progressBox),
      card(h('span', { class: 'card-title-row' }, 'Grille de suivi', liveDot), legend(), gridBox)));

  async function act(what, fn) {
    try {
      await fn();
    } catch (e) {
      toast(`${what} : ${e.message}`, 'error');
    }
  }

  function renderHead() {
    const s = sess;
    const active = s.state === 'active';
    const extendSel = h('select', { class: 'input input-sm', id: 'extend-minutes' },
      [15, 30, 60].map((m) => h('option', { value: m }, `+${m} min`)));
    clear(headBox,
      h('div', {},
        h('a', { href: '#/sessions', class: 'back' }, '← Sessions'),
        h('h1', {}, titles[s.scenario] || s.scenario),
        h('div', { class: 'head-meta' },
          pill(s.state), s.frozen ? pill('frozen', 'Figée') : null,
          h('span', { class: 'mono muted' }, s.id),
          h('span', {}, `Fin prévue ${fmtTime(s.window_end)}`),
          active ? h('span', { class: 'strong', id: 'remaining' }, remaining(s.window_end)) : null)),
      h('div', { class: 'toolbar' },
        isTrainer && active ? h('button', { class: 'btn btn-primary', id: 'grade-now', onclick: () => act('Notation', async () => {
          const r = await post(`${paths.session(id)}/grade`);
          toast(`Notation lancée pour ${r.jobs.length} stagiaire(s)`);
        }) }, 'Noter maintenant') : null,
        isTrainer && active ? h('span', { class: 'input-group' }, extendSel,
          h('button', { class: 'btn', id: 'extend', onclick: () => act('Prolongation', async () => {
            const r = await post(`${paths.session(id)}/extend`, { minutes: Number(extendSel.value) });
            toast(`Session prolongée jusqu’à ${fmtTime(r.window_end)}`);
            await refresh();
          }) }, 'Prolonger')) : null,
        isTrainer && active ? h('button', { class: 'btn btn-danger-ghost', id: 'end', onclick: () => act('Fin de session', async () => {
          const ok = await modal('Terminer la session ?', h('p', {},
            'Une notation finale de chaque stagiaire est faite, puis les machines sont arrêtées '
            + '(elles restent disponibles pour le jury jusqu’au gel des résultats).'),
          [{ label: 'Annuler', value: false }, { label: 'Terminer', value: true, kind: 'danger', action: 'confirm' }]);
          if (!ok) return;
          await post(`${paths.session(id)}/end`);
          toast('Notation finale en cours…');
        }) }, 'Terminer') : null,
        h('a', { class: 'btn', href: `#/sessions/${encodeURIComponent(id)}/evaluation`, id: 'to-evaluation' }, 'Évaluation et rapports')));
  }

  function renderProgress() {
    const s = sess;
    const p = s.progress || {};
    const rows = (s.instances || []).map((inst) => {
      const st = inst.state;
      const machines = (inst.machines || []).map((m) => m.machine);
      const actions = [];
      if (isTrainer && s.state === 'active' && !['destroyed', 'failed'].includes(st)) {
        actions.push(h('button', { class: 'btn btn-sm', dataset: { action: 'token', trainee: inst.trainee },
          onclick: () => act('Lien d’accès', () => issueLink(inst)) }, 'Lien d’accès'));
      }
      if (isTrainer && st === 'ready' && s.state === 'active') {
        actions.push(h('button', { class: 'btn btn-sm btn-ghost', dataset: { action: 'grade', trainee: inst.trainee },
          onclick: () => act('Notation', async () => {
            await post(`${paths.instance(id, inst.trainee)}/grade`);
            toast(`Notation de ${inst.name} lancée`);
          }) }, 'Noter'));
        actions.push(h('button', { class: 'btn btn-sm btn-ghost', dataset: { action: 'reset', trainee: inst.trainee },
          onclick: () => act('Réinitialisation', () => resetMachine(inst, machines)) }, 'Réinitialiser…'));
      }
      const busy = grading.has(inst.trainee);
      return h('div', { class: `inst inst-${st}`, dataset: { trainee: inst.trainee, state: st } },
        h('div', { class: 'inst-name' }, h('span', { class: 'strong' }, inst.name),
          h('span', { class: 'mono muted small' }, inst.trainee)),
        h('div', { class: 'inst-progress' },
          bar(STAGE[st] ?? 0, 100, `bar-${st}`),
          h('div', { class: 'small muted' }, busy ? 'Notation en cours…' : (inst.error ? `${STAGE_TEXT[st]} : ${inst.error}` : STAGE_TEXT[st] || word(st)),
            st === 'ready' && machines.length ? ` · ${machines.join(', ')}` : '')),
        h('div', {}, pill(st)),
        h('div', { class: 'inst-actions' }, actions));
    });
    clear(progressBox,
      h('div', { class: 'overall' },
        h('div', { class: 'overall-text' },
          h('span', { class: 'big' }, `${p.machines_ready ?? 0} / ${p.machines_total ?? 0}`),
          h('span', { class: 'muted' }, ' machines prêtes'),
          h('span', { class: 'muted sep' }, `${p.instances_ready ?? 0} / ${p.instances_total ?? 0} postes prêts`),
          p.instances_failed ? h('span', { class: 'bad sep' }, `${p.instances_failed} en échec`) : null),
        bar(p.machines_ready || 0, p.machines_total || 1, 'bar-lg')),
      h('div', { class: 'inst-list', id: 'instances' }, rows));
  }

  async function issueLink(inst) {
    const r = await post(`${paths.session(id)}/trainees/${encodeURIComponent(inst.trainee)}/token`);
    const link = `${location.origin}${location.pathname}#/login?token=${encodeURIComponent(r.token)}`;
    const field = h('input', { class: 'input mono', id: 'access-link', readonly: true, value: link });
    await modal(`Lien d’accès de ${inst.name}`, [
      h('p', {}, 'Transmettez ce lien au stagiaire : il ouvre son poste de travail sans autre identifiant. '
        + 'Il n’est affiché qu’une fois ; en créer un nouveau révoque le précédent.'),
      field,
      h('div', { class: 'row' }, h('button', { type: 'button', class: 'btn btn-sm', onclick: () => copy(link) }, 'Copier le lien'))],
    [{ label: 'Fermer', value: null, kind: 'primary' }]);
  }

  async function resetMachine(inst, machines) {
    const sel = h('select', { class: 'input', id: 'reset-machine' }, machines.map((m) => h('option', { value: m }, m)));
    const ok = await modal(`Réinitialiser une machine de ${inst.name}`, [
      h('p', {}, 'La machine revient à son état initial : tout le travail fait dessus est perdu.'),
      h('label', { class: 'label' }, 'Machine'), sel],
    [{ label: 'Annuler', value: false }, { label: 'Réinitialiser', value: true, kind: 'danger', action: 'confirm' }]);
    if (!ok) return;
    await post(`${paths.instance(id, inst.trainee)}/machines/${encodeURIComponent(sel.value)}/reset`);
    toast(`Réinitialisation de ${sel.value} (${inst.name}) lancée`);
  }

  async function renderGrid() {
    const grid = await get(`${paths.session(id)}/grid`);
    if (!titlesOfTasks) {
      titlesOfTasks = taskTitles(await get(`/scenarios/${encodeURIComponent(grid.scenario)}`).catch(() => null));
    }
    clear(gridBox, grid.rows.length ? gridTable(grid, {
      taskTitles: titlesOfTasks,
      onRow: (t) => ctx.navigate(`sessions/${encodeURIComponent(id)}/report/${encodeURIComponent(t)}`),
    }) : h('p', { class: 'empty' }, 'Aucun stagiaire.'),
    h('p', { class: 'small muted', id: 'grid-updated' }, `Mis à jour à ${fmtTimeSec(Date.now() / 1000)}`));
  }

  async function refresh() {
    sess = await get(paths.session(id));
    renderHead();
    renderProgress();
    await renderGrid();
  }

  await refresh();
  let timer = null;
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => refresh().catch((e) => toast(e.message, 'error')), 250);
  };
  const close = events(id, (type, data) => {
    if (type === 'grading') grading.add(data.trainee);
    if (type === 'graded') grading.delete(data.trainee);
    schedule();
  }, (up) => {
    liveDot.textContent = up ? 'En direct' : 'Reconnexion…';
    liveDot.classList.toggle('on', up);
  });
  const tick = setInterval(() => {
    const el = document.getElementById('remaining');
    if (el && sess) el.textContent = remaining(sess.window_end);
  }, 15000);
  return () => { close(); clearInterval(tick); clearTimeout(timer); };
}
