// The device console: brambled's admin API, read and driven from a browser with the device's admin token.
import {Api, ApiError, ago, chart, code, fill, frame, h, heading, loginView, mb, ms, notice, pct, router, table,
  tiles} from './lib/console.js';

const root = document.getElementById('app');
const api = new Api('bramble.device.token', () => login('Signed out: the token was refused.'));
const enc = encodeURIComponent;

function login(error) {
  api.token = null;
  loginView(root, {
    title: 'Bramble device console',
    hint: 'The device\'s admin token: sudo cat /var/lib/bramble/admin.token (or <data-dir>/admin.token).',
    error,
    check: async (token) => {
      api.token = token;
      try { await api.get('/v1/status'); } catch (e) { api.token = null; throw e; }
    },
    onLogin: () => { if (location.hash === '' || location.hash === '#') location.hash = '#/'; route(); },
  });
}

function page(current) {
  return frame(root, {
    product: 'Bramble device',
    current,
    links: [['#/', 'Dashboard'], ['#/functions', 'Functions'], ['#/dead-letters', 'Dead letters']],
    onLogout: () => login(''),
  });
}

function failed(main, e) {
  if (e instanceof ApiError && (e.status === 401 || e.status === 403)) return;
  fill(main, h('p', {class: 'error', role: 'alert'}, 'Could not load this page: ' + e.message));
}

// --- dashboard -----------------------------------------------------------------------------------------------

function hourTiles(hour) {
  return tiles([
    ['Invocations', hour.invocations],
    ['Errors', hour.errors],
    ['Success rate', pct(hour.invocations - hour.errors, hour.invocations)],
    ['Throttles', hour.throttles],
    ['Cold starts', hour.coldStarts],
    ['Duration p50', ms(hour.p50Ms)],
    ['Duration p99', ms(hour.p99Ms)],
    ['Concurrent executions', hour.concurrentMax, 'max'],
  ]);
}

function hourCharts(history, series) {
  const {start, stepSeconds} = history;
  return h('div', {class: 'charts'},
    chart('Invocations and errors', start, stepSeconds, [
      {label: 'Invocations', values: series.invocations, kind: 'bar'},
      {label: 'Errors', values: series.errors, kind: 'bar'},
      {label: 'Throttles', values: series.throttles, kind: 'bar'}]),
    chart('Duration', start, stepSeconds, [
      {label: 'p50', values: series.p50Ms}, {label: 'p99', values: series.p99Ms},
      {label: 'max', values: series.maxMs}], ' ms'),
    chart('Success rate', start, stepSeconds, [{label: 'Success', values: series.invocations.map((n, i) =>
      n ? Math.round(1000 * (n - series.errors[i]) / n) / 10 : null)}], ' %'),
    chart('Concurrent executions', start, stepSeconds, [
      {label: 'Max', values: series.concurrentMax, kind: 'bar'},
      {label: 'Cold starts', values: series.coldStarts, kind: 'bar'}]));
}

async function dashboard(params, live) {
  const main = page('#/');
  const body = h('div', {});
  fill(main, heading(main, 'Dashboard', h('span', {class: 'hint'}, 'last hour, per minute; refreshes every 10 s')),
    body);
  live.every(10_000, async () => {
    try {
      const [status, history, functions] = await Promise.all([api.get('/v1/status'),
        api.get('/v1/metrics/history'), api.get('/v1/functions')]);
      const mem = status.memory;
      const running = (name) => status.environments.filter((e) => e.function === name && e.state !== 'DEAD').length;
      const hourOf = (name) => (history.functions[name] || {}).hour || {};
      fill(body,
        h('p', {id: 'device-facts'}, 'brambled ', status.version, ' · up ', Math.round(status.uptimeSeconds / 60),
          ' min · isolation ', status.isolation.mode, ' · memory ', mem.usedMb, ' of ', mem.budgetMb, ' MB · ',
          status.environments.length, ' environments',
          status.dataDisk && status.dataDisk.freeMb !== undefined ? ' · data disk ' + status.dataDisk.freeMb
            + ' MB free' : ''),
        hourTiles(history.total.hour),
        hourCharts(history, history.total),
        h('h2', {}, 'Functions'),
        table('Functions, last hour', [
          ['Function', (f) => h('a', {href: '#/functions/' + enc(f.name)}, f.name)],
          ['Live', (f) => f.aliases.live ?? '–'],
          ['Invocations', (f) => hourOf(f.name).invocations ?? 0],
          ['Errors', (f) => hourOf(f.name).errors ?? 0],
          ['Throttles', (f) => hourOf(f.name).throttles ?? 0],
          ['p99', (f) => ms(hourOf(f.name).p99Ms)],
          ['Environments', (f) => running(f.name)],
          ['Description', (f) => f.description || ''],
        ], functions.functions, 'No functions are deployed. Deploy one with bramble deploy or bramble device deploy.'));
    } catch (e) { failed(body, e); }
  });
}

// --- functions -----------------------------------------------------------------------------------------------

async function functionList() {
  const main = page('#/functions');
  try {
    const list = await api.get('/v1/functions');
    fill(main, heading(main, 'Functions'), table('Functions', [
      ['Function', (f) => h('a', {href: '#/functions/' + enc(f.name)}, f.name)],
      ['Versions', (f) => f.versions.join(', ')],
      ['Aliases', (f) => Object.entries(f.aliases).map(([a, v]) => a + ' → ' + v).join(', ')],
      ['Description', (f) => f.description || ''],
    ], list.functions, 'No functions are deployed.'));
  } catch (e) { failed(main, e); }
}

const TABS = [['test', 'Test'], ['monitor', 'Monitor'], ['configuration', 'Configuration'],
  ['versions', 'Versions and aliases'], ['environments', 'Environments']];

async function functionPage({name, tab}, live) {
  name = decodeURIComponent(name);
  tab = tab || 'test';
  const main = page('#/functions');
  let f;
  try { f = await api.get('/v1/functions/' + enc(name)); } catch (e) { failed(main, e); return; }
  const body = h('section', {'aria-labelledby': 'tab-' + tab});
  fill(main, heading(main, name),
    h('ul', {class: 'tabs', role: 'list'}, TABS.map(([id, label]) => h('li', {}, h('a', {id: 'tab-' + id,
      href: '#/functions/' + enc(name) + '/' + id, 'aria-current': id === tab ? 'page' : null}, label)))),
    body);
  ({test: testTab, monitor: monitorTab, configuration: configTab, versions: versionsTab,
    environments: environmentsTab}[tab] || testTab)(body, f, live);
}

/** Lambda's Test tab: saved events, run one, see the result, the summary and the log tail. */
async function testTab(body, f, live) {
  const name = f.name;
  const select = h('select', {id: 'saved-events', 'aria-label': 'Saved test events'});
  const eventName = h('input', {id: 'event-name', maxlength: 25, pattern: '[A-Za-z0-9._-]{1,25}',
    'aria-describedby': 'event-name-hint'});
  const editor = h('textarea', {id: 'event-json', spellcheck: 'false', 'aria-label': 'Event JSON'});
  const qualifiers = [...Object.keys(f.aliases), ...f.versions.map((v) => String(v.version))];
  const qualifier = h('select', {id: 'qualifier'}, qualifiers.map((q) => h('option', {value: q}, q)));
  const status = h('div', {'aria-live': 'polite'});
  const result = h('div', {id: 'test-result', 'aria-live': 'polite'});
  let saved = [];

  const load = async (pick) => {
    saved = (await api.get('/v1/functions/' + enc(name) + '/test-events')).testEvents;
    fill(select, h('option', {value: ''}, saved.length ? '— choose a saved event —' : 'no saved events'),
      saved.map((e) => h('option', {value: e.name, selected: e.name === pick}, e.name)));
    if (pick) choose(pick);
  };
  const choose = (n) => {
    const e = saved.find((x) => x.name === n);
    if (e) { eventName.value = e.name; editor.value = JSON.stringify(e.event, null, 2); }
  };
  select.addEventListener('change', () => choose(select.value));

  const parsed = () => {
    try { return JSON.parse(editor.value || '{}'); } catch (e) {
      notice(status, 'The event is not JSON: ' + e.message, 'error');
      return undefined;
    }
  };
  const save = async () => {
    if (parsed() === undefined) return;
    try {
      await api.call('PUT', '/v1/functions/' + enc(name) + '/test-events/' + enc(eventName.value),
        editor.value || '{}', {'Content-Type': 'application/json'});
      notice(status, 'Saved ' + eventName.value + '.', 'ok');
      await load(eventName.value);
    } catch (e) { notice(status, 'Not saved: ' + e.message, 'error'); }
  };
  const remove = async () => {
    try {
      await api.call('DELETE', '/v1/functions/' + enc(name) + '/test-events/' + enc(eventName.value));
      notice(status, 'Deleted ' + eventName.value + '.', 'ok');
      eventName.value = '';
      await load();
    } catch (e) { notice(status, 'Not deleted: ' + e.message, 'error'); }
  };
  const run = async () => {
    if (parsed() === undefined) return;
    notice(status, 'Running…');
    fill(result, '');
    try {
      const res = await api.raw('POST', '/2015-03-31/functions/' + enc(name) + '/invocations?Qualifier='
        + enc(qualifier.value), editor.value || '{}', {'X-Amz-Log-Type': 'Tail', 'Content-Type': 'application/json'});
      const payload = await res.text();
      const error = res.headers.get('X-Amz-Function-Error');
      const log = decode(res.headers.get('X-Amz-Log-Result') || '');
      notice(status, '');
      showResult(result, {payload, error, log, requestId: res.headers.get('X-Amzn-RequestId'),
        version: res.headers.get('X-Amz-Executed-Version')});
    } catch (e) { notice(status, 'The invocation was refused: ' + e.message, 'error'); }
  };

  fill(body,
    h('h2', {}, 'Test event'),
    h('div', {class: 'row'},
      h('div', {class: 'field grow'}, h('label', {for: 'saved-events'}, 'Saved events'), select),
      h('div', {class: 'field grow'}, h('label', {for: 'event-name'}, 'Event name'), eventName),
      h('div', {class: 'field'}, h('label', {for: 'qualifier'}, 'Version or alias'), qualifier)),
    h('p', {id: 'event-name-hint', class: 'hint'}, 'Up to 10 saved events per function, kept on this device; names '
      + 'of up to 25 letters, digits, ".", "-" or "_".'),
    editor,
    h('div', {class: 'row'},
      h('button', {type: 'button', id: 'run-test', onclick: run}, 'Test'),
      h('button', {type: 'button', id: 'save-event', class: 'secondary', onclick: save}, 'Save'),
      h('button', {type: 'button', id: 'delete-event', class: 'danger', onclick: remove}, 'Delete')),
    status, result);
  editor.value = '{}';
  try { await load(); } catch (e) { notice(status, e.message, 'error'); }
}

function decode(base64) {
  try {
    return new TextDecoder().decode(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
  } catch (e) { return ''; }
}

function report(log) {
  const line = log.split('\n').find((l) => l.startsWith('REPORT ')) || '';
  const out = {};
  for (const part of line.split('\t')) {
    const m = part.match(/^(?:REPORT )?([A-Za-z ]+): (.*)$/);
    if (m) out[m[1].trim()] = m[2];
  }
  return out;
}

function showResult(el, {payload, error, log, requestId, version}) {
  const r = report(log);
  let shown = payload;
  try { shown = JSON.stringify(JSON.parse(payload), null, 2); } catch (e) { /* as sent */ }
  fill(el, h('div', {class: 'result' + (error ? ' failed' : '')},
    h('h3', {id: 'execution-result'}, error ? 'Execution result: failed' : 'Execution result: succeeded'),
    h('dl', {class: 'props', id: 'summary'},
      h('dt', {}, 'Request ID'), h('dd', {}, requestId || r.RequestId || '–'),
      h('dt', {}, 'Version'), h('dd', {}, version || '–'),
      h('dt', {}, 'Duration'), h('dd', {}, r.Duration || '–'),
      h('dt', {}, 'Billed duration'), h('dd', {}, r['Billed Duration'] || '–'),
      h('dt', {}, 'Memory'), h('dd', {}, (r['Max Memory Used'] || '–') + ' used of ' + (r['Memory Size'] || '–')),
      r['Init Duration'] ? [h('dt', {}, 'Init duration'), h('dd', {}, r['Init Duration'], ' ',
        h('span', {class: 'badge cold'}, 'cold start'))] : null),
    h('h4', {}, error ? 'Error' : 'Response'),
    h('pre', {class: 'code', id: 'response', tabindex: '0'}, shown),
    h('h4', {}, 'Log output'),
    h('p', {class: 'hint'}, 'The last 4 KB of the log, as Lambda returns it with LogType Tail.'),
    h('pre', {class: 'log', id: 'log-tail', tabindex: '0'}, log)));
}

/** Lambda's Monitor tab: the hour's charts, recent invocations with cold starts marked, logs that follow. */
async function monitorTab(body, f, live) {
  const name = f.name;
  const charts = h('div', {});
  const invocations = h('div', {});
  const follow = h('input', {type: 'checkbox', id: 'follow', checked: true});
  const log = h('pre', {class: 'log', id: 'logs', tabindex: '0', 'aria-label': 'Log lines', 'aria-live': 'off'});
  fill(body, charts, h('h2', {}, 'Recent invocations'), invocations,
    h('h2', {}, 'Logs'),
    h('div', {class: 'row'}, h('label', {for: 'follow'}, follow, ' Follow new lines')),
    log);
  live.every(10_000, async () => {
    const history = await api.get('/v1/metrics/history?function=' + enc(name));
    const mine = history.functions[name];
    fill(charts, mine ? [hourTiles(mine.hour), hourCharts(history, mine)]
      : h('p', {class: 'empty'}, 'No invocations since the daemon started.'));
  });
  let next = null;
  const lines = [];
  live.every(2_000, async () => {
    if (next !== null && !follow.checked) return;
    const page = await api.get('/v1/functions/' + enc(name) + '/logs?' + (next === null ? 'tail=300'
      : 'after=' + next + '&limit=1000'));
    next = page.next;
    if (!page.events.length && lines.length) return;
    lines.push(...page.events);
    lines.splice(0, Math.max(0, lines.length - 2000));
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
    fill(log, lines.map((e) => h('span', {class: /^(START|END|REPORT) RequestId/.test(e.message) ? 'marker' : null},
      e.time.slice(11, 23), ' ', e.message, '\n')));
    if (atBottom) log.scrollTop = log.scrollHeight;
    fill(invocations, recent(lines));
  });
}

function recent(lines) {
  const byId = new Map();
  for (const e of lines) {
    if (!e.requestId) continue;
    const inv = byId.get(e.requestId) || {id: e.requestId, time: e.time};
    if (e.message.startsWith('START ')) inv.version = (e.message.match(/Version: (\S+)/) || [])[1];
    if (e.message.startsWith('INIT_ERROR')) inv.error = true;
    if (e.message.startsWith('REPORT ')) inv.report = report(e.message);
    byId.set(e.requestId, inv);
  }
  const rows = [...byId.values()].filter((i) => i.report).reverse().slice(0, 25);
  return table('Recent invocations, newest first', [
    ['Time', (i) => new Date(i.time).toLocaleTimeString()],
    ['Request ID', (i) => i.id],
    ['Version', (i) => i.version || '–'],
    ['Duration', (i) => i.report.Duration],
    ['Memory used', (i) => i.report['Max Memory Used']],
    ['Start', (i) => i.report['Init Duration']
      ? h('span', {class: 'badge cold', title: 'Init Duration ' + i.report['Init Duration']},
        'cold · init ' + i.report['Init Duration']) : 'warm'],
  ], rows, 'No invocations in the log lines loaded.');
}

function configTab(body, f) {
  const live = f.aliases.live;
  const v = f.versions.find((x) => x.version === live) || f.versions[f.versions.length - 1];
  const c = v.config;
  fill(body, h('h2', {}, 'Configuration of version ', v.version, live === v.version ? ' (live)' : ''),
    h('dl', {class: 'props'},
      ...[['Runtime', c.runtime], ['Handler', c.handler], ['Memory', c.memoryMb + ' MB'],
        ['Timeout', c.timeoutSeconds + ' s'], ['/tmp', c.tmpMb + ' MB'], ['Description', c.description || '–'],
        ['Reserved concurrency', c.reservedConcurrency ?? 'none'],
        ['Environment variables', c.environment.length ? c.environment.join(', ') + ' (values are not shown)' : 'none'],
      ].flatMap(([k, val]) => [h('dt', {}, k), h('dd', {}, String(val))])),
    h('p', {class: 'hint'}, 'Configuration comes with each version\'s bundle (function.json); deploy a new version '
      + 'to change it.'));
}

function versionsTab(body, f) {
  const routing = f.routing || {};
  fill(body,
    table('Aliases', [['Alias', (a) => a[0]], ['Version', (a) => a[1]],
      ['Routing', (a) => routing[a[0]] ? JSON.stringify(routing[a[0]]) : '–']],
    Object.entries(f.aliases), 'No aliases.'),
    h('h2', {}, 'Versions'),
    table('Versions', [['Version', (v) => v.version], ['Created', (v) => new Date(v.createdAt).toLocaleString()],
      ['Size', (v) => mb(v.size)], ['SHA-256', (v) => h('code', {}, v.sha256.slice(0, 16) + '…')],
      ['Runtime', (v) => v.config.runtime], ['Memory', (v) => v.config.memoryMb + ' MB']],
    [...f.versions].reverse(), 'No versions.'));
}

function environmentsTab(body, f, live) {
  const status = h('div', {'aria-live': 'polite'});
  const list = h('div', {});
  const recycle = async () => {
    try {
      const r = await api.call('DELETE', '/v1/functions/' + enc(f.name) + '/environments');
      notice(status, 'Stopped ' + r.stopped + ' environment(s); the next invocation starts a new one.', 'ok');
    } catch (e) { notice(status, e.message, 'error'); }
  };
  fill(body, h('div', {class: 'row'}, h('button', {type: 'button', class: 'secondary', id: 'recycle',
    onclick: recycle}, 'Stop idle and new environments')), status, list);
  live.every(5_000, async () => {
    const fresh = await api.get('/v1/functions/' + enc(f.name));
    fill(list, table('Live environments', [
      ['Version', (e) => e.version], ['State', (e) => e.state + (e.frozen ? ' (frozen)' : '')],
      ['PID', (e) => e.pid], ['Memory', (e) => mb(e.memory.currentBytes) + ' (peak ' + mb(e.memory.peakBytes)
        + ') of ' + e.memory.limitMb + ' MB'],
      ['Invocations', (e) => e.invocations], ['Init', (e) => e.initMs + ' ms'],
      ['Provisioned', (e) => e.provisioned ? 'yes' : 'no'], ['Started', (e) => ago(e.startedAt)],
      ['Last used', (e) => ago(e.lastUsedAt)],
    ], fresh.environments, 'No environment is running: the next invocation starts one (a cold start).'));
  });
}

// --- dead letters ----------------------------------------------------------------------------------------------

async function deadLetters() {
  const main = page('#/dead-letters');
  try {
    const d = await api.get('/v1/dead-letters?limit=100');
    fill(main, heading(main, 'Dead letters', h('span', {class: 'hint'}, 'asynchronous invocations that failed every '
      + 'attempt, newest first')),
    table('Dead letters', [
      ['Failed', (x) => new Date(x.failedAt).toLocaleString()],
      ['Function', (x) => h('a', {href: '#/functions/' + enc(x.function)}, x.function + (x.qualifier
        ? ':' + x.qualifier : ''))],
      ['Reason', (x) => x.reason], ['Attempts', (x) => x.attempts], ['Source', (x) => x.source],
      ['Event and error', (x) => h('details', {}, h('summary', {}, 'Show'), h('h4', {}, 'Event'), code(x.event),
        h('h4', {}, 'Error'), code(x.error ?? 'none'))],
    ], d.deadLetters, 'No dead letters.'));
  } catch (e) { failed(main, e); }
}

const route = router([
  ['/', dashboard],
  ['/functions', functionList],
  ['/functions/:name', functionPage],
  ['/functions/:name/:tab', functionPage],
  ['/dead-letters', deadLetters],
], (path) => fill(page(''), h('p', {}, 'No page ', path, '. ', h('a', {href: '#/'}, 'Back to the dashboard'))),
() => Boolean(api.token));

if (api.token) route(); else login('');
