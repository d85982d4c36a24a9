// The fleet console: bramble-deployer's admin API, read and driven from a browser with the admin token the CLI
// uses. Every button calls the route the matching CLI command calls.
import {Api, ApiError, ago, fill, frame, h, heading, loginView, mb, notice, router, table, tiles} from './lib/console.js';

const root = document.getElementById('app');
const api = new Api('bramble.fleet.token', () => login('Signed out: the token was refused.'));
const enc = encodeURIComponent;

function login(error) {
  api.token = null;
  loginView(root, {
    title: 'Bramble fleet console',
    hint: 'The deployer\'s admin token, the one the bramble CLI sends (--token or BRAMBLE_TOKEN): '
      + 'admin.token in the deployer\'s data directory unless its configuration sets one.',
    error,
    check: async (token) => {
      api.token = token;
      try { await api.get('/v1/devices'); } catch (e) { api.token = null; throw e; }
    },
    onLogin: () => { if (location.hash === '' || location.hash === '#') location.hash = '#/'; route(); },
  });
}

function page(current) {
  return frame(root, {
    product: 'Bramble fleet',
    current,
    links: [['#/', 'Devices'], ['#/functions', 'Functions'], ['#/rollouts', 'Rollouts'], ['#/logs', 'Logs']],
    onLogout: () => login(''),
  });
}

function failed(el, e) {
  if (e instanceof ApiError && (e.status === 401 || e.status === 403)) return;
  fill(el, h('p', {class: 'error', role: 'alert'}, 'Could not load this page: ' + e.message));
}

/** thermostat:3, or thermostat:none for an undeploy. */
function what(d) {
  return d.function + ':' + (d.undeploy ? 'none' : d.version);
}

function badge(state) {
  const good = ['succeeded', 'online'];
  const bad = ['failed', 'halted', 'offline', 'cancelled', 'revoked'];
  return h('span', {class: 'badge ' + (good.includes(state) ? 'good' : bad.includes(state) ? 'bad' : '')},
    state ?? '–');
}

// --- devices ---------------------------------------------------------------------------------------------------

async function devices(params, live) {
  const main = page('#/');
  const body = h('div', {});
  fill(main, heading(main, 'Devices', h('span', {class: 'hint'}, 'refreshes every 5 s')), body);
  live.every(5_000, async () => {
    try {
      const [d, r] = await Promise.all([api.get('/v1/devices'), api.get('/v1/deployments')]);
      const list = d.devices;
      const online = list.filter((x) => x.link === 'online').length;
      fill(body,
        tiles([['Devices', list.length], ['Online', online], ['Offline', list.length - online],
          ['Rollouts in progress', r.deployments.filter((x) => x.state === 'in_progress').length]]),
        table('Devices', [
          ['Device', (x) => h('span', {}, h('strong', {}, x.name), h('br'), h('small', {}, x.id))],
          ['Link', (x) => badge(x.link)],
          ['Last seen', (x) => ago(x.lastSeen)],
          ['Group', (x) => x.group ?? '–'],
          ['Tags', (x) => Object.entries(x.tags).map(([k, v]) => k + '=' + v).join(', ') || '–'],
          ['Functions', (x) => x.functions.length ? h('ul', {class: 'plain'}, x.functions.map((f) =>
            h('li', {}, f.function, ':', f.version === 0 ? 'none (removed)' : f.version, ' ', badge(f.state)))) : 'none'],
          ['Outbox', (x) => outbox(x.telemetry)],
        ], list, 'No devices have enrolled. Create an enrolment token: bramble enrolment-token create.'));
    } catch (e) { failed(body, e); }
  });
}

function outbox(t) {
  if (!t) return 'no upload yet';
  const b = t.backlog;
  return h('span', {}, 'uploaded ', ago(t.lastUpload), b ? h('br') : null,
    b ? h('small', {}, b.entries + ' waiting (' + mb(b.bytes) + ')' + (b.entries ? ', oldest ' + b.oldestAgeSeconds
      + ' s' : '') + (b.dropped ? ', ' + b.dropped + ' dropped' : '')) : null);
}

// --- functions -------------------------------------------------------------------------------------------------

async function functions() {
  const main = page('#/functions');
  const body = h('div', {});
  fill(main, heading(main, 'Functions'), body);
  try {
    const list = (await api.get('/v1/functions')).functions;
    const details = await Promise.all(list.map((f) => api.get('/v1/functions/' + enc(f.name) + '/versions')));
    fill(body, list.length ? details.map(functionCard) : h('p', {class: 'empty'}, 'Nothing is published yet: '
      + 'bramble publish BUNDLE.'));
  } catch (e) { failed(body, e); }
}

function functionCard(f) {
  const status = h('div', {'aria-live': 'polite'});
  const aliasName = h('input', {id: 'alias-' + f.function, value: 'stable', 'aria-label': 'Alias'});
  const version = h('select', {id: 'promote-version-' + f.function, 'aria-label': 'Version'},
    [...f.versions].reverse().map((v) => h('option', {value: v.version}, String(v.version))));
  const promote = async () => {
    try {
      const r = await api.call('PUT', '/v1/functions/' + enc(f.function) + '/aliases/' + enc(aliasName.value),
        {version: Number(version.value)});
      notice(status, f.function + ':' + r.alias + ' now points at version ' + r.version + '. Deploy '
        + f.function + ':' + r.alias + ' to roll it out.', 'ok');
      fill(aliasLine, aliasText(f.aliases.filter((a) => a.name !== r.alias).concat([{name: r.alias,
        version: r.version}])));
    } catch (e) { notice(status, 'Not promoted: ' + e.message, 'error'); }
  };
  const aliasText = (list) => list.length ? 'Aliases: ' + list.map((a) => a.name + ' → ' + a.version).join(', ')
    : 'No aliases.';
  const aliasLine = h('p', {}, aliasText(f.aliases || []));
  return h('section', {class: 'card', 'aria-labelledby': 'fn-' + f.function},
    h('h2', {id: 'fn-' + f.function}, f.function),
    aliasLine,
    table('Versions of ' + f.function, [['Version', (v) => v.version],
      ['Published', (v) => new Date(v.created).toLocaleString()], ['Signed by', (v) => v.keyId],
      ['SHA-256', (v) => h('code', {}, v.sha256.slice(0, 16) + '…')]], [...f.versions].reverse()),
    h('div', {class: 'row'},
      h('div', {class: 'field'}, h('label', {for: 'alias-' + f.function}, 'Promote to alias'), aliasName),
      h('div', {class: 'field'}, h('label', {for: 'promote-version-' + f.function}, 'Version'), version),
      h('button', {type: 'button', class: 'secondary', id: 'promote-' + f.function, onclick: promote}, 'Promote')),
    status);
}

// --- rollouts --------------------------------------------------------------------------------------------------

async function rollouts(params, live) {
  const main = page('#/rollouts');
  const body = h('div', {});
  fill(main, heading(main, 'Rollouts'), body);
  live.every(5_000, async () => {
    try {
      const list = (await api.get('/v1/deployments')).deployments;
      fill(body, table('Rollouts, newest first', [
        ['Rollout', (d) => h('a', {href: '#/rollouts/' + enc(d.id)}, what(d))],
        ['Target', (d) => d.target], ['State', (d) => badge(d.state)], ['Id', (d) => h('small', {}, d.id)],
      ], list, 'No rollouts yet: bramble deploy FUNCTION:VERSION --group G.'));
    } catch (e) { failed(body, e); }
  });
}

async function rollout({id}, live) {
  id = decodeURIComponent(id);
  const main = page('#/rollouts');
  const status = h('div', {'aria-live': 'polite'});
  const body = h('div', {});
  const act = (verb, what) => async () => {
    if (!window.confirm(what + '?')) return;
    try {
      const r = await api.call('POST', '/v1/deployments/' + enc(id) + '/' + verb);
      notice(status, what + ': the rollout is now ' + r.state + '.', 'ok');
      refresh();
    } catch (e) { notice(status, e.message, 'error'); }
  };
  const pause = h('button', {type: 'button', class: 'secondary', id: 'pause',
    onclick: act('pause', 'Pause the rollout (devices already released still report)')}, 'Pause');
  const resume = h('button', {type: 'button', class: 'secondary', id: 'resume',
    onclick: act('resume', 'Resume the rollout')}, 'Resume');
  const cancel = h('button', {type: 'button', class: 'secondary', id: 'cancel',
    onclick: act('cancel', 'Cancel the rollout (devices not yet released are skipped)')}, 'Cancel');
  const back = h('button', {type: 'button', class: 'danger', id: 'rollback',
    onclick: act('rollback', 'Roll every device it reached back to its previous version')}, 'Roll back');
  fill(main, heading(main, 'Rollout', pause, resume, cancel, back), status, body);
  const refresh = async () => {
    try {
      const d = await api.get('/v1/deployments/' + enc(id));
      const total = d.devices.length;
      const done = (d.counts.succeeded || 0);
      pause.disabled = d.state !== 'in_progress';
      resume.disabled = d.state !== 'paused';
      cancel.disabled = d.state !== 'in_progress' && d.state !== 'paused';
      back.disabled = d.state === 'rolled_back';
      const plan = d.plan || {};
      const waves = [...new Set(d.devices.map((x) => x.wave))].sort();
      fill(body,
        h('p', {id: 'rollout-summary'}, what(d), ' to ', d.target, ' — ', badge(d.state), ' ',
          done, '/', total, ' succeeded',
          Object.entries(d.counts).filter(([k]) => k !== 'succeeded').map(([k, n]) => ', ' + n + ' ' + k).join('')),
        d.reason ? h('p', {id: 'rollout-reason'}, d.reason) : null,
        h('progress', {max: Math.max(1, total), value: done, 'aria-label': 'Devices succeeded'}),
        tiles(Object.entries(d.counts).map(([k, n]) => [k, n])),
        waves.map((w) => [h('h2', {}, w === 0 && waves.length > 1 ? 'Wave 0 (canary)' : 'Wave ' + w),
          table('Devices in wave ' + w, [['Device', (x) => x.device], ['State', (x) => badge(x.state)],
            ['Previous version', (x) => x.previousVersion ?? 'none'],
            ['Error', (x) => x.errorCode ? x.errorCode + ': ' + (x.error || '') : '']],
          d.devices.filter((x) => x.wave === w))]),
        h('p', {class: 'hint'},
          plan.rate ? 'Releases ' + plan.rate.perMinute + ' device(s) a minute'
            + (plan.rate.factor > 1 ? ', times ' + plan.rate.factor + ' every ' + plan.rate.every
              + ' successes, up to ' + plan.rate.maxPerMinute : '') + '. ' : 'Releases every device at once. ',
          d.maxFailures !== null ? 'Halts past ' + d.maxFailures + ' failure(s). ' : '',
          plan.abort ? 'Halts past ' + plan.abort.failurePercent + ' % failed once ' + plan.abort.minDevices
            + ' device(s) settled. ' : '',
          'A device has ', Math.round((plan.deviceTimeoutSeconds || 0) / 60), ' min to report. ',
          'Same as bramble rollout status ', id, ' --watch; the buttons are bramble rollout pause, resume, cancel ',
          'and bramble rollback.'));
    } catch (e) { failed(body, e); }
  };
  live.every(2_000, refresh);
}

// --- logs ------------------------------------------------------------------------------------------------------

async function logs(params, live) {
  const main = page('#/logs');
  const device = h('input', {id: 'log-device', placeholder: 'every device', 'aria-label': 'Device id'});
  const fn = h('input', {id: 'log-function', placeholder: 'every function', 'aria-label': 'Function'});
  const follow = h('input', {type: 'checkbox', id: 'follow', checked: true});
  const out = h('pre', {class: 'log', id: 'logs', tabindex: '0', 'aria-label': 'Log lines'});
  const status = h('div', {'aria-live': 'polite'});
  let next = null;
  let lines = [];
  const restart = () => { next = null; lines = []; fill(out, ''); };
  device.addEventListener('change', restart);
  fn.addEventListener('change', restart);
  fill(main, heading(main, 'Fleet logs', h('span', {class: 'hint'}, 'as the devices uploaded them')),
    h('div', {class: 'row'},
      h('div', {class: 'field grow'}, h('label', {for: 'log-device'}, 'Device'), device),
      h('div', {class: 'field grow'}, h('label', {for: 'log-function'}, 'Function'), fn),
      h('label', {for: 'follow'}, follow, ' Follow')),
    status, out);
  live.every(2_000, async () => {
    if (next !== null && !follow.checked) return;
    const q = '&device=' + enc(device.value.trim()) + '&function=' + enc(fn.value.trim());
    try {
      const page = await api.get('/v1/logs?' + (next === null ? 'tail=300' : 'after=' + next + '&limit=1000') + q);
      notice(status, '');
      next = page.next;
      if (!page.lines.length && lines.length) return;
      lines = lines.concat(page.lines).slice(-2000);
      const atBottom = out.scrollTop + out.clientHeight >= out.scrollHeight - 8;
      fill(out, lines.length ? lines.map((l) => [new Date(l.timestamp).toISOString().slice(11, 23), ' ',
        l.device ? '[' + l.device.slice(0, 8) + '] ' : '', l.function ? l.function + ' ' : '',
        l.kind === 'gap' ? '… ' + l.dropped + ' lines dropped on the device (its outbox was full)' : l.message,
        '\n']) : 'No log lines yet.');
      if (atBottom) out.scrollTop = out.scrollHeight;
    } catch (e) { notice(status, e.message, 'error'); }
  });
}

const route = router([
  ['/', devices],
  ['/functions', functions],
  ['/rollouts', rollouts],
  ['/rollouts/:id', rollout],
  ['/logs', logs],
], (path) => fill(page(''), h('p', {}, 'No page ', path, '. ', h('a', {href: '#/'}, 'Back to the devices'))),
() => Boolean(api.token));

if (api.token) route(); else login('');
