// login.js: sign-in with a token. A trainer hands each trainee a link
// (#/login?token=...): the token is kept, taken out of the address bar,
// and the page the role calls for opens.

import { get, token } from '../api.js';
import { h, clear } from '../dom.js';

export async function render(root, params, ctx) {
  const given = ctx.query.get('token');
  const msg = h('p', { class: 'form-error', role: 'alert' });
  const input = h('input', {
    id: 'token', type: 'password', class: 'input', placeholder: 'tlk_…', autocomplete: 'off',
    spellcheck: 'false', required: true,
  });
  const button = h('button', { class: 'btn btn-primary btn-block', type: 'submit' }, 'Se connecter');

  async function signIn(t) {
    token.set(t.trim());
    button.disabled = true;
    msg.textContent = '';
    try {
      const me = await get('/whoami');
      ctx.setMe(me);
      history.replaceState(null, '', `${location.pathname}#/${ctx.home()}`);
      ctx.navigate(ctx.home());
    } catch (e) {
      token.clear();
      msg.textContent = e.status === 401
        ? 'Ce jeton est invalide ou a été révoqué. Demandez un nouveau lien à votre formateur.'
        : e.message;
      button.disabled = false;
    }
  }

  const form = h('form', { class: 'login-form', onsubmit: (ev) => { ev.preventDefault(); signIn(input.value); } },
    h('label', { for: 'token', class: 'label' }, 'Jeton d’accès'),
    input,
    h('p', { class: 'help' }, 'Les stagiaires reçoivent un lien de connexion de leur formateur. '
      + 'Les formateurs et évaluateurs utilisent le jeton fourni par l’administrateur.'),
    msg, button);

  clear(root, h('div', { class: 'login-wrap' },
    h('div', { class: 'login-card card' },
      h('div', { class: 'login-head' },
        h('img', { src: 'img/logo.svg', alt: '', width: 48, height: 48 }),
        h('div', {},
          h('h1', {}, 'tssrlab'),
          h('p', { class: 'muted' }, 'Plateau technique du titre professionnel TSSR'))),
      form),
    h('p', { class: 'login-foot muted' },
      'Technicien supérieur systèmes et réseaux — mises en situation professionnelle')));

  if (given) await signIn(given);
  else input.focus();
}
