// web_e2e.mjs: tssrlab's web interface in a real browser (Debian's
// Chromium, headless, driven by playwright-core from web/package.json)
// against a real tssrlabd whose sessions run real tiny guests
// (run_web_e2e.sh starts it). Roles, in the order a training day has them:
//   - a trainer creates a session of 2 trainees in the UI, watches the
//     machines come up, grades, and sees the grid fill with states by
//     server-sent events (no reload); issues a trainee's access link;
//   - that trainee logs in with the link, sees only their own instance,
//     runs a self-check and opens a machine's console (noVNC through the
//     daemon's WebSocket bridge: connected, framebuffer size > 0);
//   - the trainee's token is refused (403) on every trainer and evaluator
//     route and on the other trainee's instance and console;
//   - an evaluator exports the CSV, which must equal the API's grid.csv,
//     and opens a report (screen and print);
//   - the trainer ends the session and the evaluator freezes the results.
// Every page is saved as a PNG under --shots. Ends with "N passed, N failed".

import { createRequire } from 'node:module';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const { base, admin, session, shots, deps, profile } = args;
const require = createRequire(path.join(deps, 'package.json'));
const { chromium } = require('playwright-core');

let passed = 0;
let failed = 0;
function check(name, ok, detail = '') {
  if (ok) { passed++; console.log(`ok   ${name}`); } else { failed++; console.log(`FAIL ${name}${detail ? `\n  ${detail}` : ''}`); }
  return ok;
}
const t0 = Date.now();
const log = (m) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);

async function api(tok, method, p, body) {
  const r = await fetch(`${base}/api/v1${p}`, {
    method, headers: { Authorization: `Bearer ${tok}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* CSV or empty */ }
  return { status: r.status, text, json };
}

// playwright gives each launch a fresh profile (--user-data-dir) in the
// temporary folder: ours, removed by run_web_e2e.sh
fs.mkdirSync(profile, { recursive: true });
process.env.TMPDIR = profile;
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const problems = [];
async function newPage(who) {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true, locale: 'fr-FR' });
  const page = await ctx.newPage();
  page.setDefaultTimeout(30000);
  page.on('pageerror', (e) => problems.push(`${who}: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/WebSocket|Failed to load resource/.test(m.text())) problems.push(`${who}: console: ${m.text()}`);
  });
  return page;
}
async function shot(page, name) {
  await page.waitForTimeout(400);
  // a notification would hide part of the page
  await page.evaluate(() => { const t = document.getElementById('toast'); if (t) t.classList.remove('show'); });
  await page.waitForTimeout(250);
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

let exitCode = 1;
try {
  const trainerTok = (await api(admin, 'POST', '/tokens', { name: 'formatrice', role: 'trainer' })).json.token;
  const evalTok = (await api(admin, 'POST', '/tokens', { name: 'jury', role: 'evaluator' })).json.token;

  // ---- trainer ----
  const tp = await newPage('trainer');
  await tp.goto(`${base}/`);
  await tp.waitForSelector('#token');
  await shot(tp, '01-login');
  await tp.fill('#token', trainerTok);
  await tp.click('button[type=submit]');
  await tp.waitForSelector('#new-session');
  check('trainer lands on the sessions page', (await tp.locator('.role').innerText()).toLowerCase().includes('formateur'));
  await shot(tp, '02-sessions');
  await tp.click('#new-session');
  await tp.click('.scenario-option[data-id="tiny-01"]');
  await tp.waitForSelector('#competences li');
  check('scenario picker shows the competences covered',
    (await tp.locator('#competences').innerText()).includes('cp9'));
  await tp.fill('#trainees', 'id,name\nalice,Alice Martin\nbruno,Bruno Petit');
  await tp.dispatchEvent('#trainees', 'input');
  await tp.fill('#session-id', session);
  await shot(tp, '03-new-session');
  await tp.click('#create');
  await tp.waitForSelector('#instances .inst');
  log('session created; waiting for the machines');
  await shot(tp, '04-session-provisioning');
  await tp.waitForFunction(() => document.querySelectorAll('#instances .inst[data-state="ready"]').length === 2
    || document.querySelector('#instances .inst[data-state="failed"]'), null, { timeout: 300000 });
  const ready = await tp.locator('#instances .inst[data-state="ready"]').count();
  check('both instances become ready (progress shown live)', ready === 2,
    await tp.locator('#instances').innerText());
  log(`instances ready: ${ready}`);
  await shot(tp, '05-session-ready');
  check('grid not graded yet', await tp.locator('#grid td.c[data-state="none"]').count() === 8);
  // half of the reference solution on alice's machines (solutions = on):
  // the grid then shows both passes and failures
  const sol = await api(admin, 'POST', `/sessions/${session}/instances/alice/solution`, { part: 'half' });
  if (sol.status === 202) {
    for (let i = 0; i < 120; i++) {
      const j = (await api(admin, 'GET', `/jobs/${sol.json.job}`)).json;
      if (j && ['done', 'failed'].includes(j.state)) { log(`solution: ${j.state} ${j.error || ''}`); break; }
      await new Promise((r) => setTimeout(r, 500));
    }
  } else {
    log(`solution not applied: ${sol.status} ${sol.text}`);
  }
  await tp.click('#grade-now');
  await tp.waitForFunction(() => document.querySelectorAll('#grid td.c').length === 8
    && document.querySelectorAll('#grid td.c[data-state="none"]').length === 0, null, { timeout: 240000 });
  const states = await tp.locator('#grid td.c').evaluateAll((els) => els.map((e) => e.dataset.state));
  check('grid fills by events after "grade now": every cell has a state',
    states.length === 8 && states.every((s) => ['pass', 'fail', 'error', 'manual'].includes(s)), states.join(','));
  log(`grid: ${states.join(',')}`);
  await shot(tp, '06-session-graded');
  await tp.click('button[data-action="token"][data-trainee="alice"]');
  await tp.waitForSelector('#access-link');
  const link = await tp.inputValue('#access-link');
  check('an access link is issued', /#\/login\?token=tlk_[0-9a-f]{48}$/.test(link), link);
  await shot(tp, '07-access-link');
  await tp.click('dialog .modal-actions button');
  const traineeTok = decodeURIComponent(link.split('token=')[1]);

  // ---- trainee ----
  const sp = await newPage('trainee');
  await sp.goto(link);
  await sp.waitForSelector('#machines .machine');
  check('the link logs the trainee in and removes the token from the address bar', !sp.url().includes('tlk_'), sp.url());
  const page = await sp.locator('#app').innerText();
  check('trainee sees the briefing and tasks', page.includes('Message d') && page.includes('Compte technicien'));
  check('trainee sees their machines with access details',
    await sp.locator('#machines .machine').count() === 2 && page.includes('stagiaire'));
  check('trainee sees nothing of the other trainee', !page.includes('bruno') && !page.includes('Bruno'));
  const mine = await api(traineeTok, 'GET', `/sessions/${session}`);
  check('API: the trainee\'s session view holds only their instance',
    mine.status === 200 && mine.json.instances.length === 1 && mine.json.instances[0].trainee === 'alice');
  await shot(sp, '08-trainee');
  await sp.click('#selfcheck-run');
  await sp.waitForSelector('.selfcheck-result', { timeout: 180000 });
  check('self-check shows its result', await sp.locator('.selfcheck-result li').count() > 0);
  await sp.waitForSelector('#progress-line svg circle');
  await shot(sp, '09-trainee-selfcheck');
  await sp.click('#console-alpha');
  await sp.waitForSelector('#console[data-state="connected"], #console[data-state="failed"]', { timeout: 60000 });
  const cstate = await sp.getAttribute('#console', 'data-state');
  check('the console connects (noVNC through the daemon)', cstate === 'connected',
    await sp.locator('#console-status').innerText());
  const fb = await sp.evaluate(() => {
    const c = document.querySelector('#console canvas');
    return c ? [c.width, c.height] : [0, 0];
  });
  check('the console has a framebuffer', fb[0] > 0 && fb[1] > 0, fb.join('x'));
  log(`console framebuffer ${fb.join('x')}`);
  await sp.waitForTimeout(3000);
  await shot(sp, '10-console');

  // ---- a trainee's token on routes that are not theirs ----
  const s = `/sessions/${session}`;
  const denied = [
    ['POST', '/tokens', { name: 'x', role: 'trainer' }], ['GET', '/audit'], ['GET', '/jobs/1'], ['GET', '/labs'],
    ['POST', '/sessions', { scenario: 'tiny-01', trainees: [{ id: 'x', name: 'x' }] }], ['GET', '/sessions'],
    ['DELETE', s], ['POST', `${s}/extend`, { minutes: 5 }], ['POST', `${s}/end`, {}], ['POST', `${s}/grade`, {}],
    ['GET', `${s}/grid`], ['GET', `${s}/grid?format=csv`], ['GET', `${s}/grid.csv`], ['POST', `${s}/freeze`, {}],
    ['POST', `${s}/trainees/alice/token`, {}], ['POST', `${s}/trainees/bruno/token`, {}],
    ['POST', `${s}/instances/alice/machines/alpha/reset`, {}], ['POST', `${s}/instances/alice/solution`, { part: 'full' }],
    ['POST', `${s}/instances/alice/grade`, {}], ['GET', `${s}/instances/alice/report`],
    ['PUT', `${s}/instances/alice/manual/motd`, { fraction: 1 }],
    // the other trainee's instance
    ['GET', `${s}/instances/bruno`], ['GET', `${s}/instances/bruno/results`], ['GET', `${s}/instances/bruno/history`],
    ['POST', `${s}/instances/bruno/selfcheck`, {}], ['GET', `${s}/instances/bruno/machines/alpha/console`],
  ];
  const wrong = [];
  for (const [m, p, b] of denied) {
    const r = await api(traineeTok, m, p, b);
    if (r.status !== 403) wrong.push(`${m} ${p}: ${r.status} ${r.text.slice(0, 120)}`);
  }
  check(`a trainee's token gets 403 on ${denied.length} trainer, evaluator and other-trainee routes`, wrong.length === 0, wrong.join('\n  '));
  // a real WebSocket opening handshake (fetch may not send these headers)
  const ws = await new Promise((resolve) => {
    const req = http.get(`${base}/api/v1${s}/instances/bruno/machines/alpha/console?access_token=${traineeTok}`, {
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    });
    req.on('response', (r) => { r.resume(); resolve(r.statusCode); });
    req.on('upgrade', (r, sock) => { sock.destroy(); resolve(r.statusCode); });
    req.on('error', (e) => resolve(`error ${e.message}`));
  });
  check('another trainee\'s console is refused (403, token in the query)', ws === 403, String(ws));
  const noTok = await fetch(`${base}/api/v1${s}/instances/alice/machines/alpha/console`).then((r) => r.status);
  check('the console without a token is refused (401)', noTok === 401, String(noTok));

  // ---- evaluator ----
  const ep = await newPage('evaluator');
  await ep.goto(`${base}/#/login`);
  await ep.fill('#token', evalTok);
  await ep.click('button[type=submit]');
  await ep.waitForSelector('#sessions');
  await ep.click(`#sessions a[href$="${session}/evaluation"]`);
  await ep.waitForSelector('#grid td.c');
  await ep.waitForSelector('#export-csv');
  check('evaluator grid has totals per competence and per CCP',
    (await ep.locator('#grid thead').innerText()).includes('COMPÉTENCES') || (await ep.locator('#grid thead').innerText()).includes('Compétences'));
  await shot(ep, '11-evaluation');
  const [dl] = await Promise.all([ep.waitForEvent('download'), ep.click('#export-csv')]);
  const csv = fs.readFileSync(await dl.path(), 'utf8');
  const apiCsv = await api(evalTok, 'GET', `${s}/grid.csv`);
  check('exported CSV equals the API\'s grid.csv', apiCsv.status === 200 && csv === apiCsv.text,
    `UI:\n${csv}\nAPI:\n${apiCsv.text}`);
  check('the CSV has a line per trainee', csv.trim().split(/\r?\n/).length === 3);
  fs.writeFileSync(path.join(shots, 'export.csv'), csv);
  const [dj] = await Promise.all([ep.waitForEvent('download'), ep.click('#export-json')]);
  const exported = JSON.parse(fs.readFileSync(await dj.path(), 'utf8'));
  check('exported JSON holds the grid and each trainee\'s results',
    exported.grid.rows.length === 2 && exported.results.alice && exported.results.alice.competences);
  await ep.click('#grid tr[data-trainee="alice"] td.name');
  await ep.waitForSelector('.report[data-trainee="alice"] .crit');
  check('the report shows every criterion with its evidence',
    await ep.locator('.report .crit').count() === 4 && await ep.locator('.report details.evidence').count() > 0);
  await ep.evaluate(() => { for (const d of document.querySelectorAll('details')) d.open = true; });
  await shot(ep, '12-report');
  await ep.emulateMedia({ media: 'print' });
  await shot(ep, '13-report-print');
  await ep.emulateMedia({ media: 'screen' });
  await ep.goto(`${base}/#/sessions/${session}/reports`);
  await ep.waitForSelector('.report[data-trainee="bruno"]');
  await ep.pdf({ path: path.join(shots, 'reports-a4.pdf'), format: 'A4', printBackground: true });
  check('printable reports: one article per trainee', await ep.locator('article.report').count() === 2);

  // ---- end of the day: the trainer ends, the evaluator freezes ----
  await tp.click('#end');
  await tp.click('dialog button[data-action="confirm"]');
  await tp.waitForFunction(() => {
    const p = document.querySelector('.head-meta .pill');
    return p && p.textContent === 'Terminée';
  }, null, { timeout: 180000 });
  check('the trainer ends the session: final grading, then "ended" (live)', true);
  await shot(tp, '14-session-ended');
  await ep.goto(`${base}/#/sessions/${session}/evaluation`);
  await ep.waitForSelector('#freeze:not([disabled])');
  await ep.click('#freeze');
  await ep.click('dialog button[data-action="confirm"]');
  await ep.waitForSelector('.head-meta .pill-frozen');
  const frozen = await api(evalTok, 'GET', s);
  check('the evaluator freezes the results', frozen.json && frozen.json.frozen === true, frozen.text.slice(0, 200));
  await shot(ep, '15-evaluation-frozen');

  check('no script error in any page', problems.length === 0, problems.join('\n  '));

  // ---- teardown through the API ----
  const del = await api(admin, 'DELETE', s);
  let st = del.json && del.json.state;
  for (let i = 0; i < 240 && st !== 'destroyed'; i++) {
    await new Promise((r) => setTimeout(r, 500));
    st = (await api(admin, 'GET', s)).json.state;
  }
  check('the session is torn down', st === 'destroyed', st);
  exitCode = failed === 0 ? 0 : 1;
} catch (e) {
  check('the scenario ran to its end', false, e.stack || String(e));
  exitCode = 1;
} finally {
  await browser.close();
}
log('done');
console.log(`${passed} passed, ${failed} failed`);
process.exit(exitCode);
