// session-new.js: a trainer creates a session — the scenario (with the
// competences of the TSSR title it covers), the trainees (pasted, or a CSV
// file "id,name"), optionally an id and a duration.

import { get, post } from '../api.js';
import { h, clear, card, toast } from '../dom.js';

const SLUG = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export function slugify(s) {
  return s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '').replace(/-+$/, '').slice(0, 63);
}

// One CSV line into fields ("a","b ""c""" quoting, , or ; separators).
function csvFields(line) {
  const out = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q) {
      if (c === '"' && line[i + 1] === '"') { cur += '"'; i++; } else if (c === '"') q = false; else cur += c;
    } else if (c === '"') q = true;
    else if (c === ',' || c === ';' || c === '\t') { out.push(cur.trim()); cur = ''; } else cur += c;
  }
  out.push(cur.trim());
  return out;
}

// Trainees from "id,name" lines (a header line is skipped; a lone name
// gets an id made from it). Returns {trainees, errors}.
export function parseTrainees(text) {
  const trainees = [];
  const errors = [];
  const seen = new Set();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const f = csvFields(line);
    if (i === 0 && f[0].toLowerCase() === 'id') return;
    let [id, name] = f;
    if (f.length === 1) { name = f[0]; id = slugify(f[0]); }
    name = name || id;
    if (!SLUG.test(id)) {
      errors.push(`ligne ${i + 1} : identifiant « ${id} » invalide (minuscules, chiffres, . _ -)`);
      return;
    }
    if (seen.has(id)) {
      errors.push(`ligne ${i + 1} : « ${id} » apparaît deux fois`);
      return;
    }
    seen.add(id);
    trainees.push({ id, name: name.slice(0, 200) });
  });
  return { trainees, errors };
}

export async function render(root, params, ctx) {
  const [scenarios, referential] = await Promise.all([get('/scenarios'), get('/referential')]);
  const comp = {};
  for (const b of referential.blocks || []) {
    for (const c of b.competences || []) comp[c.id] = { ...c, block: b };
  }
  let chosen = null;
  let detail = null;

  const detailBox = h('div', { class: 'scenario-detail', id: 'scenario-detail' },
    h('p', { class: 'muted' }, 'Choisissez un scénario pour voir les compétences qu’il évalue.'));
  const duration = h('input', { id: 'duration', class: 'input', type: 'number', min: 1, max: 10080, placeholder: '60' });
  const sid = h('input', { id: 'session-id', class: 'input', placeholder: 'automatique', pattern: '[a-z0-9][a-z0-9._\\-]*' });
  const textarea = h('textarea', {
    id: 'trainees', class: 'input mono', rows: 8,
    placeholder: 'id,nom\nalice,Alice Martin\nbob,Bob Durand',
  });
  const preview = h('div', { class: 'trainee-preview', id: 'trainee-preview' });
  const fileInput = h('input', { type: 'file', accept: '.csv,text/csv,text/plain', id: 'trainees-file', class: 'hidden' });
  const submit = h('button', { class: 'btn btn-primary', type: 'submit', id: 'create' }, 'Créer la session');
  const formError = h('p', { class: 'form-error', role: 'alert' });

  function updatePreview() {
    const { trainees, errors } = parseTrainees(textarea.value);
    clear(preview,
      h('p', { class: 'small' }, trainees.length ? `${trainees.length} stagiaire(s)` : 'Aucun stagiaire'),
      errors.length ? h('ul', { class: 'errors small' }, errors.map((e) => h('li', {}, e))) : null,
      trainees.length ? h('div', { class: 'chips' }, trainees.map((t) => h('span', { class: 'chip' },
        h('b', {}, t.name), ' ', h('span', { class: 'mono muted' }, t.id)))) : null);
    return { trainees, errors };
  }
  textarea.addEventListener('input', updatePreview);
  fileInput.addEventListener('change', async () => {
    const f = fileInput.files[0];
    if (!f) return;
    textarea.value = await f.text();
    updatePreview();
    toast(`Fichier « ${f.name} » chargé`);
  });

  async function choose(s, el) {
    chosen = s;
    for (const x of root.querySelectorAll('.scenario-option')) x.classList.toggle('selected', x === el);
    duration.placeholder = String(s.duration_min);
    detail = await get(`/scenarios/${encodeURIComponent(s.id)}`);
    const byBlock = new Map();
    for (const cid of detail.competences || []) {
      const c = comp[cid];
      const key = c ? c.block.id : '?';
      if (!byBlock.has(key)) byBlock.set(key, { block: c && c.block, list: [] });
      byBlock.get(key).list.push(c || { id: cid, label: cid });
    }
    const nCrit = (detail.tasks || []).reduce((n, t) => n + (t.criteria || []).length, 0);
    clear(detailBox,
      h('h3', {}, detail.title),
      h('p', { class: 'briefing' }, detail.briefing),
      h('div', { class: 'facts' },
        h('span', {}, h('b', {}, 'Lab '), detail.lab),
        h('span', {}, h('b', {}, 'Durée '), `${detail.duration_min} min`),
        h('span', {}, h('b', {}, 'Critères '), String(nCrit)),
        h('span', {}, h('b', {}, 'Auto-évaluation '), detail.self_check ? 'oui' : 'non')),
      h('h4', {}, 'Compétences évaluées'),
      h('div', { class: 'competences', id: 'competences' }, [...byBlock.values()].map(({ block, list }) =>
        h('div', { class: 'comp-block' },
          h('div', { class: 'comp-block-title' }, block ? `${block.id.toUpperCase()} — ${block.label}` : 'Hors référentiel'),
          h('ul', {}, list.map((c) => h('li', {}, h('span', { class: 'tag' }, c.id), ' ', c.label)))))),
      h('h4', {}, 'Tâches'),
      h('ol', { class: 'tasks-list' }, (detail.tasks || []).map((t) => h('li', {}, h('b', {}, t.title),
        t.description ? h('span', { class: 'muted' }, ` — ${t.description}`) : null))),
      detail.runnable_here === false
        ? h('p', { class: 'warn' }, 'Attention : ce scénario ne peut pas être lancé sur cet hôte (images manquantes).') : null);
  }

  const options = scenarios.map((s) => {
    const el = h('button', {
      type: 'button', class: 'scenario-option', dataset: { id: s.id },
      onclick: () => choose(s, el),
    },
    h('span', { class: 'scenario-title' }, s.title),
    h('span', { class: 'scenario-meta' }, h('span', { class: 'mono' }, s.id), ` · ${s.criteria} critères · ${s.duration_min} min`));
    return el;
  });

  async function create(ev) {
    ev.preventDefault();
    formError.textContent = '';
    if (!chosen) { formError.textContent = 'Choisissez un scénario.'; return; }
    const { trainees, errors } = updatePreview();
    if (errors.length) { formError.textContent = 'Corrigez la liste des stagiaires.'; return; }
    if (!trainees.length) { formError.textContent = 'Ajoutez au moins un stagiaire.'; return; }
    const body = { scenario: chosen.id, trainees };
    if (sid.value.trim()) body.id = sid.value.trim();
    if (duration.value) body.duration_min = Number(duration.value);
    submit.disabled = true;
    try {
      const s = await post('/sessions', body);
      toast(`Session ${s.id} créée : création des machines en cours`);
      ctx.navigate(`sessions/${encodeURIComponent(s.id)}`);
    } catch (e) {
      formError.textContent = e.message + (e.field ? ` [${e.field}]` : '');
      submit.disabled = false;
    }
  }

  clear(root,
    h('div', { class: 'page-head' },
      h('div', {}, h('a', { href: '#/sessions', class: 'back' }, '← Sessions'), h('h1', {}, 'Nouvelle session'))),
    h('form', { class: 'grid-2', onsubmit: create },
      h('div', { class: 'col' },
        card('1. Scénario', h('div', { class: 'scenario-list', id: 'scenarios' }, options)),
        card('Compétences couvertes', detailBox)),
      h('div', { class: 'col' },
        card('2. Stagiaires',
          h('p', { class: 'help' }, 'Une ligne par stagiaire, au format « id,nom » (un fichier CSV exporté d’un tableur convient).'),
          textarea,
          h('div', { class: 'row' },
            h('button', { type: 'button', class: 'btn btn-ghost btn-sm', onclick: () => fileInput.click() }, 'Importer un fichier CSV…'),
            fileInput),
          preview),
        card('3. Options',
          h('div', { class: 'field' }, h('label', { class: 'label', for: 'session-id' }, 'Identifiant de la session'), sid),
          h('div', { class: 'field' }, h('label', { class: 'label', for: 'duration' }, 'Durée (minutes)'), duration)),
        h('div', { class: 'actions' }, formError, submit))));
  updatePreview();
  if (scenarios.length === 1) options[0].click();
}
