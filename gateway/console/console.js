/* gate console — the page. Everything it shows comes from the console's
 * event stream (/api/events, Server-Sent Events); it never polls. All text
 * goes in with textContent: nothing from the network is ever parsed as
 * HTML. Actions are JSON POSTs carrying the session's CSRF token. */
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  let me = null;            // {user, roles, csrf}
  let es = null;            // EventSource
  let status = null;        // last status from the gateway
  let live = false;
  const recent = new Map(); // gate -> [records], newest first
  const FEED_MAX = 30, GATE_FEED_MAX = 4;

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function say(node, text, good) {
    node.textContent = text;
    node.className = node.className.replace(/ ?(good|bad)/g, '') + (good === undefined ? '' : good ? ' good' : ' bad');
  }
  function clock(rec) {
    const d = new Date(Math.floor(rec.time_us / 1000));
    return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  }
  function isSupervisor() { return me && me.roles.indexOf('supervisor') >= 0; }

  async function api(method, path, body) {
    const opt = { method, credentials: 'same-origin', headers: {} };
    if (body !== undefined) {
      opt.headers['Content-Type'] = 'application/json';
      opt.body = JSON.stringify(body);
    }
    if (method !== 'GET' && me) opt.headers['X-CSRF-Token'] = me.csrf;
    let r;
    try { r = await fetch(path, opt); } catch (e) { return { ok: false, status: 0, text: 'the console is not reachable' }; }
    let j = {};
    try { j = await r.json(); } catch (e) { j = { text: 'unreadable answer' }; }
    j.status = r.status;
    if (r.status === 401 && path !== '/api/login') signedOut('Your session ended; sign in again.');
    return j;
  }

  /* ---- sign in / out ---- */
  function signedOut(why) {
    me = null;
    if (es) { es.close(); es = null; }
    $('main').hidden = true; $('who').hidden = true; $('login').hidden = false;
    $('notlive').hidden = true; $('mode-banner').hidden = true;
    say($('login-msg'), why || '', why ? false : undefined);
    $('login-user').focus();
  }
  function signedIn(j) {
    me = { user: j.user, roles: j.roles, csrf: j.csrf };
    $('login').hidden = true; $('main').hidden = false; $('who').hidden = false;
    $('who-name').textContent = me.user;
    $('who-roles').textContent = me.roles.join(', ');
    $('modes-note').textContent = isSupervisor() ? 'Supervisor: you can change the site mode.'
      : 'Only a supervisor can change the site mode; the gateway will refuse it for your role.';
    connect();
    $('main').focus();
  }
  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const btn = ev.target.querySelector('button');
    btn.disabled = true;
    say($('login-msg'), 'Signing in…');
    const j = await api('POST', '/api/login', { user: $('login-user').value, password: $('login-pass').value });
    btn.disabled = false;
    $('login-pass').value = '';
    if (j.ok) { say($('login-msg'), ''); signedIn(j); }
    else say($('login-msg'), j.text || 'Sign-in failed', false);
  });
  $('logout').addEventListener('click', async () => {
    await api('POST', '/api/logout', {});
    signedOut('Signed out.');
  });

  /* ---- live stream ---- */
  function setLive(on, why) {
    live = on;
    $('notlive').hidden = on;
    if (!on) $('notlive-why').textContent = why || 'no connection to the gateway';
    document.body.dataset.live = on ? 'yes' : 'no';
  }
  function connect() {
    if (es) es.close();
    es = new EventSource('/api/events');
    es.addEventListener('hello', (e) => { const j = JSON.parse(e.data); me.csrf = j.csrf; });
    es.addEventListener('live', (e) => setLive(JSON.parse(e.data), 'the gateway is not answering (restarting?)'));
    es.addEventListener('status', (e) => { status = JSON.parse(e.data); render(); });
    es.addEventListener('record', (e) => record(JSON.parse(e.data)));
    es.addEventListener('expired', () => signedOut('Your session expired; sign in again.'));
    es.onerror = async () => {
      setLive(false, 'lost the connection to the console');
      if (es && es.readyState === EventSource.CLOSED) {
        // refused (not a network blip): find out why, then try again
        const j = await api('GET', '/api/session');
        if (j.ok && me) setTimeout(connect, 1000);
      }
    };
  }

  /* ---- records (decisions, alarms, manual actions) ---- */
  function recordItem(rec) {
    const li = el('li');
    let verdict = rec.type.toUpperCase(), cls = '';
    if (rec.type === 'decision') { verdict = rec.decision === 'grant' ? 'GRANTED' : 'DENIED'; cls = rec.decision === 'grant' ? 'grant' : 'deny'; }
    else if (rec.type === 'alarm') { verdict = 'ALARM'; cls = 'alarm'; }
    else if (rec.type === 'open') verdict = 'OPENED';
    li.className = cls;
    li.dataset.seq = rec.seq;
    li.dataset.type = rec.type;
    li.dataset.lagMs = String(Date.now() - rec.time_us / 1000);
    li.append(el('span', 'when', clock(rec)), el('span', 'verdict', verdict));
    const who = rec.holder ? rec.holder + (rec.cred ? ' (' + rec.cred + ')' : '') : rec.cred;
    if (who) li.append(el('span', 'person', who));
    if (rec.gate) li.append(el('span', 'at', ' at ' + rec.gate));
    let words = rec.text || '';
    if (rec.type === 'passage') words = 'passed ' + rec.zone_from + ' → ' + rec.zone_to;
    if (rec.actor) words += ' — by ' + rec.actor;
    li.append(el('span', 'reason', words));
    return li;
  }
  function record(rec) {
    const shown = ['decision', 'alarm', 'open', 'mode', 'ack', 'passage'];
    if (shown.indexOf(rec.type) < 0) return;
    const feed = $('feed');
    feed.prepend(recordItem(rec));
    while (feed.children.length > FEED_MAX) feed.lastChild.remove();
    if (rec.gate && rec.type !== 'passage') {
      const list = recent.get(rec.gate) || [];
      list.unshift(rec);
      list.length = Math.min(list.length, GATE_FEED_MAX);
      recent.set(rec.gate, list);
      renderGateFeed(rec.gate);
    }
  }

  /* ---- status: gates, zones, alarms, mode ---- */
  function gateCard(name) {
    let card = document.querySelector('.gate[data-gate="' + CSS.escape(name) + '"]');
    if (card) return card;
    card = $('gate-tpl').content.firstElementChild.cloneNode(true);
    card.dataset.gate = name;
    card.querySelector('.gate-name').textContent = name;
    const id = 'open-reason-' + name.replace(/[^A-Za-z0-9_-]/g, '_');
    card.querySelector('.open-label').htmlFor = id;
    card.querySelector('.open-label').textContent = 'Reason to open ' + name + ' once';
    card.querySelector('.open-reason').id = id;
    card.querySelector('.open-btn').setAttribute('aria-label', 'Open ' + name + ' once');
    card.querySelector('.open-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const reason = card.querySelector('.open-reason').value.trim();
      if (!reason) { say($('action-msg'), 'Say why you open ' + name + ': the reason is journaled.', false); card.querySelector('.open-reason').focus(); return; }
      const btn = card.querySelector('.open-btn');
      btn.disabled = true;
      const j = await api('POST', '/api/open', { gate: name, reason });
      btn.disabled = false;
      if (j.ok) card.querySelector('.open-reason').value = '';
      say($('action-msg'), j.ok ? j.text : 'Refused: ' + j.text, !!j.ok);
    });
    $('gates').append(card);
    return card;
  }
  function renderGateFeed(name) {
    const card = gateCard(name), ol = card.querySelector('.gate-feed');
    ol.replaceChildren(...(recent.get(name) || []).map(recordItem));
  }
  function alarmItem(a) {
    const li = el('li');
    li.dataset.alarm = a.id;
    const where = (a.gate || 'gateway') + '/' + a.name;
    li.append(el('span', 'alarm-text', '#' + a.id + ' ' + where + (a.active ? ' — ACTIVE' : ' — cleared, not acknowledged') +
      (a.count > 1 ? ' ×' + a.count : '') + (a.at ? ' at ' + a.at : '') + (a.detail ? ': ' + a.detail : '')));
    const b = el('button', 'ack', 'Acknowledge');
    b.type = 'button';
    b.setAttribute('aria-label', 'Acknowledge alarm ' + where);
    b.addEventListener('click', async () => {
      b.disabled = true;
      const j = await api('POST', '/api/ack', { alarm: String(a.id) });
      b.disabled = false;
      say($('action-msg'), j.ok ? j.text : 'Refused: ' + j.text, !!j.ok);
    });
    li.append(b);
    return li;
  }
  function modeButton(m) {
    const b = el('button', m === 'normal' ? 'calm' : 'danger', m === 'normal' ? 'Back to normal' : m.charAt(0).toUpperCase() + m.slice(1));
    b.type = 'button';
    b.dataset.mode = m;
    b.addEventListener('click', async () => {
      const reason = $('mode-reason').value.trim() || ('one-touch ' + m + ' from the console');
      b.disabled = true;
      const j = await api('POST', '/api/mode', { mode: m, reason });
      b.disabled = false;
      if (j.ok) $('mode-reason').value = '';
      say($('action-msg'), j.ok ? j.text : 'Refused: ' + j.text, !!j.ok);
    });
    return b;
  }
  function render() {
    if (!status) return;
    $('venue').textContent = status.venue ? '— ' + status.venue : '';
    $('mode-now').textContent = status.mode;
    document.body.dataset.mode = status.mode;
    const banner = $('mode-banner');
    const alarming = status.mode !== 'normal' || status.fire_alarm || status.journal_failed;
    banner.hidden = !alarming;
    if (alarming) {
      const what = status.fire_alarm ? 'FIRE ALARM' : status.journal_failed ? 'JOURNAL FAILED — gates in fail mode' : status.mode.toUpperCase();
      banner.className = 'mode-banner ' + (status.fire_alarm ? 'fire' : status.mode);
      banner.replaceChildren(document.createTextNode(what), el('small', '', status.fire_alarm ? 'Egress gates are held open.' : 'Site mode ' + status.mode + ' is in force at every gate.'));
    }
    const mb = $('mode-buttons');
    if (mb.dataset.modes !== (status.modes || []).join(',')) {
      mb.dataset.modes = (status.modes || []).join(',');
      mb.replaceChildren(...(status.modes || []).map(modeButton));
    }
    for (const b of mb.children) b.setAttribute('aria-pressed', String(b.dataset.mode === status.mode));
    // alarms
    const al = $('alarms');
    $('alarm-count').textContent = status.alarms.length ? '(' + status.alarms.length + ')' : '';
    al.replaceChildren(...(status.alarms.length ? status.alarms.map(alarmItem) : [el('li', 'none', 'No open alarms.')]));
    // gates
    for (const g of status.gates) {
      const card = gateCard(g.name);
      const st = card.querySelector('.gate-state');
      st.replaceChildren(el('span', 'state-word state-' + g.state, g.state.replace(/-/g, ' ')),
        document.createTextNode(' · door ' + g.door + ' · ' + g.from + ' → ' + g.to + ' · fail-' + g.fail));
      const mine = status.alarms.filter((a) => a.gate === g.name);
      card.classList.toggle('has-alarm', mine.length > 0);
      card.querySelector('.gate-alarms').replaceChildren(...mine.map((a) => el('li', '', 'ALARM ' + a.name + (a.active ? ' (active)' : ' (cleared)'))));
    }
    // zones: every zone with people or a capacity
    const zones = new Set([...Object.keys(status.occupancy || {}), ...Object.keys(status.capacity || {})]);
    const zl = $('zones');
    zl.replaceChildren(...[...zones].sort().map((z) => {
      const n = (status.occupancy || {})[z] || 0, cap = (status.capacity || {})[z];
      const li = el('li', cap && n >= cap ? 'full' : '');
      li.dataset.zone = z;
      li.append(el('div', 'zone-name', z), el('div', 'zone-count', cap ? n + ' / ' + cap : String(n)));
      if (cap) {
        const m = el('meter');
        m.min = 0; m.max = cap; m.value = n; m.high = cap * 0.9; m.optimum = 0;
        m.setAttribute('aria-label', z + ': ' + n + ' of ' + cap);
        li.append(m);
      }
      return li;
    }));
  }

  /* ---- muster ---- */
  $('muster-load').addEventListener('click', async () => {
    say($('muster-msg'), 'Asking the gateway…');
    const j = await api('GET', '/api/muster');
    if (!j.ok) { say($('muster-msg'), 'Refused: ' + j.text, false); return; }
    const t = $('muster'), tb = t.querySelector('tbody');
    tb.replaceChildren(...j.people.map((p) => {
      const tr = el('tr');
      tr.append(el('td', '', p.zone), el('td', '', p.holder), el('td', '', p.badge), el('td', '', p.since), el('td', 'tick', ''));
      return tr;
    }));
    $('muster-cap').textContent = 'Muster list, ' + new Date().toLocaleString() + ': ' + j.text;
    t.hidden = false;
    $('muster-print').hidden = false;
    say($('muster-msg'), j.people.length + ' people inside.', true);
  });
  $('muster-print').addEventListener('click', () => window.print());

  /* ---- start ---- */
  (async () => {
    const j = await api('GET', '/api/session');
    if (j.ok) signedIn(j); else signedOut();
  })();
})();
