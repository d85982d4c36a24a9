// What both Bramble consoles share: building the page from data without ever parsing it as markup, the API client
// with its bearer token, the login form, hash routes, tables and charts. No framework, no build step, no CDN.

/**
 * An element. Strings and numbers among the children become text nodes, never markup: a function's log line or
 * payload is shown as the characters it holds. Attributes starting with "on" take functions.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A failed API call: the HTTP status and the error body's type and message, as the API sends them. */
export class ApiError extends Error {
  constructor(status, type, message) {
    super(message || type || ('HTTP ' + status));
    this.status = status;
    this.type = type;
  }
}

/**
 * The program's JSON API with the bearer token the CLI uses. The token lives in this tab's session storage only:
 * it is sent as a header by this script, never as a cookie, so no other page can make the browser use it.
 */
export class Api {
  constructor(storageKey, onUnauthorised) {
    this.key = storageKey;
    this.onUnauthorised = onUnauthorised;
  }

  get token() { return sessionStorage.getItem(this.key); }
  set token(t) { if (t) sessionStorage.setItem(this.key, t); else sessionStorage.removeItem(this.key); }

  /** Sends a request; the parsed JSON body (or null), or throws ApiError. */
  async call(method, path, body, headers) {
    const res = await this.raw(method, path, body, headers);
    const text = await res.text();
    const json = text ? JSON.parse(text) : null;
    return json;
  }

  /** Sends a request; the Response when 2xx, else throws ApiError (and logs out on 401/403). */
  async raw(method, path, body, headers) {
    const h = Object.assign({Authorization: 'Bearer ' + (this.token || '')}, headers || {});
    if (body !== undefined && typeof body !== 'string') {
      body = JSON.stringify(body);
      h['Content-Type'] = 'application/json';
    }
    const res = await fetch(path, {method, headers: h, body, cache: 'no-store', credentials: 'omit'});
    if (res.ok) return res;
    let type = null, message = null;
    try {
      const e = await res.json();
      type = e.type || e.error || e.__type || null;
      message = e.message || e.Message || null;
    } catch (ignored) { /* not JSON */ }
    const err = new ApiError(res.status, type, message);
    if ((res.status === 401 || res.status === 403) && path.startsWith('/v1/') && this.onUnauthorised) {
      this.onUnauthorised(err);
    }
    throw err;
  }

  get(path) { return this.call('GET', path); }
}

/**
 * The login page: the token, checked by one call that needs it before anything else is shown. A wrong token
 * stays on this page with the API's own message.
 */
export function loginView(root, {title, hint, check, onLogin, error}) {
  const input = h('input', {id: 'token', type: 'password', autocomplete: 'current-password', required: true,
    'aria-describedby': 'token-hint', spellcheck: 'false'});
  const message = h('p', {id: 'login-error', class: 'error', role: 'alert'}, error || '');
  const form = h('form', {class: 'login', 'aria-labelledby': 'login-title', onsubmit: async (ev) => {
    ev.preventDefault();
    fill(message, '');
    try {
      await check(input.value.trim());
      onLogin(input.value.trim());
    } catch (e) {
      fill(message, e.status === 401 || e.status === 403 ? 'That token was refused: ' + e.message
        : 'Could not check the token: ' + e.message);
    }
  }},
  h('h1', {id: 'login-title'}, title),
  h('label', {for: 'token'}, 'Admin token'),
  input,
  h('p', {id: 'token-hint', class: 'hint'}, hint),
  h('button', {type: 'submit', id: 'login'}, 'Sign in'),
  message);
  fill(root, h('main', {class: 'center'}, form));
  input.focus();
}

/**
 * The page frame: a header with the product, the navigation and a sign-out button, and the main region.
 * Returns the main element.
 */
export function frame(root, {product, links, current, onLogout}) {
  const nav = h('nav', {'aria-label': 'Sections'}, h('ul', {},
    links.map(([href, label]) => h('li', {}, h('a', {href, 'aria-current': href === current ? 'page' : null},
      label)))));
  const main = h('main', {id: 'main', tabindex: '-1'});
  fill(root,
    h('a', {class: 'skip', href: '#main', onclick: (e) => { e.preventDefault(); main.focus(); }}, 'Skip to content'),
    h('header', {}, h('span', {class: 'product'}, product), nav,
      h('button', {type: 'button', class: 'link', id: 'logout', onclick: onLogout}, 'Sign out')),
    main);
  return main;
}

/**
 * Hash routes: [pattern, handler] with ':name' segments. A handler gets the parameters and a `live` object whose
 * `every(ms, fn)` timers are stopped when the route changes. `allowed()` false (no token yet) runs no route.
 */
export function router(routes, notFound, allowed) {
  let live = null;
  const run = () => {
    if (live) live.stop();
    live = new Live(allowed);
    if (!allowed()) return;
    const path = decodeURI(location.hash.replace(/^#/, '')) || '/';
    for (const [pattern, handler] of routes) {
      const names = [];
      const re = new RegExp('^' + pattern.replace(/:[a-z]+/g, (m) => { names.push(m.slice(1)); return '([^/]+)'; })
        + '$');
      const m = path.match(re);
      if (m) {
        const params = Object.fromEntries(names.map((n, i) => [n, m[i + 1]]));
        handler(params, live, path);
        return;
      }
    }
    notFound(path, live);
  };
  window.addEventListener('hashchange', run);
  return run;
}

class Live {
  constructor(allowed) { this.timers = []; this.stopped = false; this.allowed = allowed; }
  every(ms, fn) {
    const tick = async () => {
      if (this.stopped || !this.allowed()) return;
      try { await fn(); } catch (e) { console.warn(e); }
      if (!this.stopped) this.timers.push(setTimeout(tick, ms));
    };
    tick();
  }
  stop() { this.stopped = true; this.timers.forEach(clearTimeout); }
}

/** A table with a caption; `columns` are [header, row => cell]; cells may be nodes. */
export function table(caption, columns, rows, empty) {
  if (!rows.length) return h('p', {class: 'empty'}, empty || 'Nothing yet.');
  return h('div', {class: 'scroll', tabindex: '0', role: 'region', 'aria-label': caption},
    h('table', {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, columns.map(([head]) => h('th', {scope: 'col'}, head)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, columns.map(([, cell]) => h('td', {}, cell(r))))))));
}

/** Figures in a row of tiles: [label, value, note?]. */
export function tiles(items) {
  return h('dl', {class: 'tiles'}, items.map(([label, value, note]) => h('div', {class: 'tile'},
    h('dt', {}, label), h('dd', {}, value, note ? h('small', {}, ' ' + note) : null))));
}

const SVG = 'http://www.w3.org/2000/svg';

function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}

/**
 * A line chart of per-minute series over the last hour. `series` are {label, values, kind: 'bar'|'line'}; null
 * values are gaps. The figure carries a text summary for screen readers, and the numbers in a table behind a
 * disclosure.
 */
export function chart(title, start, stepSeconds, series, unit) {
  const w = 600, h0 = 180, left = 44, bottom = 22, top = 8, right = 8;
  const n = Math.max(...series.map((x) => x.values.length));
  const max = Math.max(1, ...series.flatMap((x) => x.values.filter((v) => v !== null)));
  const y = (v) => top + (h0 - top - bottom) * (1 - v / max);
  const x = (i) => left + (w - left - right) * (i / Math.max(1, n - 1));
  const svg = s('svg', {viewBox: `0 0 ${w} ${h0}`, role: 'img', 'aria-labelledby': ''});
  const ticks = [0, max / 2, max];
  for (const t of ticks) {
    svg.append(s('line', {x1: left, x2: w - right, y1: y(t), y2: y(t), class: 'grid'}),
      s('text', {x: left - 4, y: y(t) + 4, 'text-anchor': 'end', class: 'axis'}, short(t)));
  }
  for (const [i, label] of [[0, '-60 min'], [Math.floor((n - 1) / 2), '-30'], [n - 1, 'now']]) {
    svg.append(s('text', {x: x(i), y: h0 - 6, 'text-anchor': i === 0 ? 'start' : i === n - 1 ? 'end' : 'middle',
      class: 'axis'}, label));
  }
  series.forEach((ser, k) => {
    const cls = 'series s' + k;
    if (ser.kind === 'bar') {
      const bw = Math.max(1, (w - left - right) / n - 1);
      ser.values.forEach((v, i) => {
        if (v) svg.append(s('rect', {x: x(i) - bw / 2, y: y(v), width: bw, height: y(0) - y(v), class: cls}));
      });
    } else {
      const d = [];
      let pen = false;
      ser.values.forEach((v, i) => {
        if (v === null || v === undefined) { pen = false; return; }
        d.push((pen ? 'L' : 'M') + x(i).toFixed(1) + ',' + y(v).toFixed(1));
        pen = true;
      });
      svg.append(s('path', {d: d.join(' ') || 'M0,0', class: cls, fill: 'none'}));
      ser.values.forEach((v, i) => {
        if (v !== null && v !== undefined && (i === 0 || ser.values[i - 1] === null)
            && (i === n - 1 || ser.values[i + 1] === null)) {
          svg.append(s('circle', {cx: x(i), cy: y(v), r: 2.5, class: cls}));
        }
      });
    }
  });
  const id = 'c' + Math.random().toString(36).slice(2);
  const summary = series.map((ser) => {
    const vals = ser.values.filter((v) => v !== null);
    const total = vals.reduce((a, b) => a + b, 0);
    return ser.label + ': ' + (vals.length ? (ser.kind === 'bar' ? total + ' in the hour'
      : 'peak ' + short(Math.max(...vals)) + (unit || '')) : 'none');
  }).join('; ');
  svg.setAttribute('aria-labelledby', id + '-t');
  svg.setAttribute('aria-describedby', id + '-d');
  const times = [...Array(n).keys()].map((i) => new Date(start + i * stepSeconds * 1000));
  const rows = times.map((t, i) => ({t, i})).filter(({i}) => series.some((ser) => ser.values[i]));
  return h('figure', {class: 'chart'},
    h('figcaption', {id: id + '-t'}, title, unit ? ' (' + unit.trim() + ')' : ''),
    h('div', {class: 'legend', 'aria-hidden': 'true'},
      series.map((ser, k) => h('span', {class: 'key s' + k}, ser.label))),
    svg,
    h('p', {id: id + '-d', class: 'sr-only'}, summary),
    h('details', {}, h('summary', {}, 'Numbers'),
      table(title + ' by minute', [['Minute', (r) => hhmm(r.t)],
        ...series.map((ser) => [ser.label, (r) => ser.values[r.i] ?? '–'])], rows, 'No data in the last hour.')));
}

function short(v) {
  if (v >= 1e6) return (v / 1e6).toFixed(1) + 'M';
  if (v >= 1e4) return (v / 1e3).toFixed(0) + 'k';
  if (v >= 100 || Number.isInteger(v)) return Math.round(v).toString();
  return v.toFixed(1);
}

export function hhmm(d) {
  return d.toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'});
}

/** "3 s ago", "5 min ago", or a date. */
export function ago(iso) {
  if (!iso) return 'never';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return Math.max(0, s) + ' s ago';
  if (s < 3600) return Math.round(s / 60) + ' min ago';
  if (s < 86400) return Math.round(s / 3600) + ' h ago';
  return new Date(iso).toLocaleString();
}

export function mb(bytes) {
  return bytes === null || bytes === undefined || bytes < 0 ? '–' : (bytes / 1048576).toFixed(1) + ' MB';
}

export function ms(v) {
  return v === null || v === undefined ? '–' : v.toFixed(v < 10 ? 2 : 0) + ' ms';
}

export function pct(part, whole) {
  return whole ? (100 * part / whole).toFixed(part === whole || part === 0 ? 0 : 1) + ' %' : '–';
}

/** JSON, indented, in a pre block. */
export function code(value, label) {
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  return h('pre', {class: 'code', tabindex: '0', 'aria-label': label || null}, text);
}

/** A message in the page's live region. */
export function notice(el, text, kind) {
  fill(el, text ? h('p', {class: kind || 'info', role: kind === 'error' ? 'alert' : 'status'}, text) : '');
}

/** Sets the document title and the page heading. */
export function heading(main, text, ...more) {
  document.title = text + ' · ' + document.body.dataset.product;
  return h('div', {class: 'heading'}, h('h1', {}, text), more);
}
