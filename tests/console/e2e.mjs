// End-to-end test of the gate console in Debian's headless Chromium,
// driven by playwright-core. Run by tests/integration/console.sh, which
// starts gatewayd and gateconsole and passes where they are in the
// environment. Every step asserts; any failure exits non-zero.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import tls from 'node:tls';
import fs from 'node:fs';

const env = (k) => { const v = process.env[k]; if (!v) throw new Error('missing ' + k); return v; };
const URL0 = env('CONSOLE_URL');           // https://localhost:PORT
const PORT = Number(new URL(URL0).port);
const GCTL = env('GCTL'), SOCK = env('GW_SOCK'), OUT = env('ARTIFACTS');
const RESTART = env('GW_RESTART'), SPKI = env('SPKI'), CA = env('CA_FILE');
const t0 = Date.now();
const step = (s) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${s}`);
const ctl = (...a) => execFileSync(GCTL, ['--socket', SOCK, ...a], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
function assert(c, what) { if (!c) throw new Error('assertion failed: ' + what); }
const pct = (v, p) => { const s = [...v].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };

// Raw bytes over TLS: what a hostile client can send that a browser won't.
function raw(bytes) {
  return new Promise((resolve) => {
    // written, not ended: a browser never half-closes, and the answer
    // (its status line and headers) is all we wait for
    const s = tls.connect({ host: '127.0.0.1', port: PORT, servername: 'localhost', ca: fs.readFileSync(CA) }, () => s.write(bytes));
    let got = '';
    s.on('data', (d) => { got += d; if (got.includes('\r\n\r\n')) s.destroy(); });
    s.on('error', () => resolve(got));
    s.on('close', () => resolve(got));
    s.setTimeout(5000, () => s.destroy());
  });
}
const statusOf = (resp) => Number((/^HTTP\/1\.1 (\d{3})/.exec(resp) || [])[1] || 0);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    // trust exactly this test server's key, nothing else
    '--ignore-certificate-errors-spki-list=' + SPKI],
});
let failed = false;
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  const consoleErrors = [];
  // refusals (401/403) are expected answers here, shown by the page; any
  // other error in its console is a bug
  page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 40[13]/.test(m.text())) consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));

  async function signIn(user, pass) {
    await page.goto(URL0 + '/');
    await page.getByLabel('Name').fill(user);
    await page.getByLabel('Password').fill(pass);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#who-name', { hasText: user }).waitFor({ timeout: 5000 });
    await page.locator('body[data-live="yes"]').waitFor({ timeout: 5000 });
    await page.locator('.gate[data-gate="front"] .gate-state').waitFor({ timeout: 5000 });
  }
  const actionMsg = () => page.locator('#action-msg');

  // --- headers a browser relies on ---
  const resp = await page.goto(URL0 + '/');
  const h = resp.headers();
  assert(/default-src 'none'/.test(h['content-security-policy'] || ''), 'CSP header');
  assert(h['x-frame-options'] === 'DENY' && h['x-content-type-options'] === 'nosniff', 'frame/sniff headers');

  // --- wrong password is refused ---
  step('sign in with a wrong password');
  await page.getByLabel('Name').fill('alice');
  await page.getByLabel('Password').fill('not-her-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#login-msg', { hasText: 'wrong name or password' }).waitFor({ timeout: 5000 });

  step('sign in as staff (alice)');
  await signIn('alice', env('STAFF_PASS'));
  const cookies = await ctx.cookies();
  const sc = cookies.find((c) => c.name === '__Host-gcsession');
  assert(sc && sc.secure && sc.httpOnly && sc.sameSite === 'Strict', 'session cookie is Secure, HttpOnly, SameSite=Strict');

  // --- a simulated tap appears within a second, with its reason ---
  step('simulated taps appear live');
  const lags = [];
  for (let i = 0; i < 10; i++) {
    const before = await page.locator('#feed li[data-type="decision"]').count();
    const t = Date.now();
    ctl('sim', 'tap', 'front', 'A-1');
    await page.locator('#feed li[data-type="decision"]').nth(before).waitFor({ timeout: 1000 });
    const seenBy = Date.now() - t;   // includes gatectl's own start-up
    const lag = Number(await page.locator('#feed li').first().getAttribute('data-lag-ms'));
    lags.push(lag);
    assert(seenBy < 1000, `tap ${i} on screen within 1 s (took ${seenBy} ms)`);
  }
  const first = page.locator('#feed li').first();
  assert(/GRANTED/.test(await first.innerText()) && /permit into site/.test(await first.innerText()), 'grant shown with its reason');
  console.log(`tap-to-screen (journal record time to page render) over ${lags.length} taps: p50 ${pct(lags, 0.5).toFixed(1)} ms, max ${Math.max(...lags).toFixed(1)} ms`);
  ctl('sim', 'sensor', 'front', 'passage');   // Ada is now inside: muster and occupancy
  await page.locator('#zones li[data-zone="site"] .zone-count', { hasText: '1' }).waitFor({ timeout: 2000 });
  ctl('sim', 'tap', 'lab-door', 'V-1');
  const deny = page.locator('#feed li.deny', { hasText: 'V-1' }).first();
  await deny.waitFor({ timeout: 1000 });
  assert(/DENIED/.test(await deny.innerText()), 'deny shown');
  const gateFeed = page.locator('.gate[data-gate="lab-door"] .gate-feed li').first();
  await gateFeed.waitFor({ timeout: 1000 });
  step('deny reason on screen: ' + (await deny.locator('.reason').innerText()));

  // --- open once with a reason; it is in the audit export with who and why ---
  step('open front once with a reason');
  await page.getByLabel('Reason to open front once').fill('porter with trolley (console e2e)');
  await page.getByRole('button', { name: 'Open front once' }).click();
  await actionMsg().filter({ hasText: 'front unlocked once' }).waitFor({ timeout: 3000 });
  const exp = ctl('audit', 'export', '--format', 'jsonl').split('\n').filter((l) => l.includes('"type":"open"'));
  assert(exp.some((l) => l.includes('"actor":"alice via console uid') && l.includes('porter with trolley (console e2e)')), 'open journaled with who and why: ' + exp.join('\n'));

  // --- staff is refused lockdown by the daemon ---
  step('staff asks for lockdown and is refused');
  await page.getByRole('button', { name: 'Lockdown' }).click();
  await actionMsg().filter({ hasText: /Refused: .*needs the admin role/ }).waitFor({ timeout: 3000 });
  assert(await page.locator('#mode-banner').isHidden(), 'no banner after a refused lockdown');
  assert(ctl('status').includes('mode normal'), 'still normal');

  // --- a forced door raises an alarm; staff acknowledges it ---
  step('forced door: alarm shown, acknowledged');
  ctl('sim', 'sensor', 'vault-door', 'door-open');
  const alarm = page.locator('#alarms li', { hasText: 'vault-door/door-forced' });
  await alarm.waitFor({ timeout: 2000 });
  await page.locator('.gate[data-gate="vault-door"].has-alarm').waitFor({ timeout: 2000 });
  ctl('sim', 'sensor', 'vault-door', 'door-closed');
  await page.screenshot({ path: OUT + '/1-staff-alarm.png', fullPage: false });
  await alarm.getByRole('button', { name: /Acknowledge/ }).click();
  await actionMsg().filter({ hasText: 'acknowledged' }).waitFor({ timeout: 3000 });
  await alarm.waitFor({ state: 'detached', timeout: 3000 });
  assert(ctl('audit', 'export', '--format', 'jsonl').split('\n').some((l) => l.includes('"type":"ack"') && l.includes('alice via console')), 'ack journaled as alice');

  // --- the page's own requests cannot be replayed without the CSRF token ---
  step('a POST without the CSRF token is refused even with the cookie');
  const noCsrf = await page.evaluate(async () => {
    const r = await fetch('/api/open', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ gate: 'front', reason: 'x' }) });
    return r.status;
  });
  assert(noCsrf === 403, 'no CSRF token: 403, got ' + noCsrf);

  step('sign out; sign in as supervisor (sam)');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.locator('#login:not([hidden])').waitFor({ timeout: 3000 });
  await signIn('sam', env('SUPER_PASS'));

  step('supervisor: one-touch lockdown, banner');
  await page.getByLabel('Reason (journaled)').fill('intruder reported (console e2e)');
  await page.getByRole('button', { name: 'Lockdown' }).click();
  await page.locator('#mode-banner:not([hidden])', { hasText: 'LOCKDOWN' }).waitFor({ timeout: 3000 });
  assert(ctl('status').includes('mode lockdown'), 'daemon in lockdown');
  const bannerBox = await page.locator('#mode-banner').boundingBox();
  assert(bannerBox && bannerBox.y < 5 && bannerBox.height > 60, 'banner at the top and large');
  ctl('sim', 'tap', 'front', 'A-2');
  await page.locator('#feed li.deny', { hasText: 'A-2' }).first().waitFor({ timeout: 1000 });
  await page.screenshot({ path: OUT + '/2-supervisor-lockdown.png', fullPage: false });

  step('muster list (printable)');
  await page.getByRole('button', { name: 'Show who is inside' }).click();
  await page.locator('#muster:not([hidden])').waitFor({ timeout: 3000 });
  assert(/Ada Lovelace/.test(await page.locator('#muster tbody').innerText()), 'Ada on the muster list');
  await page.emulateMedia({ media: 'print' });
  await page.screenshot({ path: OUT + '/3-muster-print.png', fullPage: true });
  await page.emulateMedia({ media: 'screen' });

  step('daemon restart: the page says "not live", then comes back by itself');
  const r0 = Date.now();
  execFileSync('sh', [RESTART, 'stop']);
  await page.locator('#notlive:not([hidden])').waitFor({ timeout: 3000 });
  const notLiveAfter = Date.now() - r0;
  await page.screenshot({ path: OUT + '/4-not-live.png', fullPage: false });
  execFileSync('sh', [RESTART, 'start']);
  const r1 = Date.now();
  await page.locator('#notlive[hidden]').waitFor({ state: 'attached', timeout: 5000 });
  await page.locator('body[data-live="yes"]').waitFor({ timeout: 5000 });
  console.log(`not-live banner ${notLiveAfter} ms after the daemon stopped; live again ${Date.now() - r1} ms after it answered`);
  ctl('sim', 'tap', 'front', 'S-1');
  await page.locator('#feed li', { hasText: 'S-1' }).first().waitFor({ timeout: 1000 });
  // modes survive the restart (journal replay)
  await page.locator('#mode-banner:not([hidden])', { hasText: 'LOCKDOWN' }).waitFor({ timeout: 3000 });

  step('back to normal');
  await page.getByRole('button', { name: 'Back to normal' }).click();
  await page.locator('#mode-banner').waitFor({ state: 'hidden', timeout: 3000 });

  // --- keyboard: the sign-out button is reachable by Tab ---
  step('keyboard reachability');
  await page.locator('body').press('Tab');
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.textContent);
  assert(focused && focused.length > 0, 'Tab moves focus to something labelled');
  assert(consoleErrors.length === 0, 'no errors in the page console: ' + consoleErrors.join(' | '));

  // --- hostile requests: each refused, nothing else disturbed ---
  step('hostile requests');
  const H = 'Host: localhost:' + PORT + '\r\n';
  let r = await raw('GET / HTTP/1.1\r\n' + H + 'X-Big: ' + 'a'.repeat(9000) + '\r\n\r\n');
  assert(statusOf(r) === 431, 'oversized header: 431, got ' + statusOf(r));
  r = await raw('POST /api/login HTTP/1.1\r\n' + H + 'Content-Length: 100000\r\nContent-Type: application/json\r\nOrigin: https://localhost:' + PORT + '\r\n\r\n');
  assert(statusOf(r) === 413, 'oversized body: 413, got ' + statusOf(r));
  const body = '{"user":"alice","password":';
  r = await raw('POST /api/login HTTP/1.1\r\n' + H + 'Content-Length: ' + body.length + '\r\nContent-Type: application/json\r\nOrigin: https://localhost:' + PORT + '\r\n\r\n' + body);
  assert(statusOf(r) === 400, 'malformed JSON: 400, got ' + statusOf(r));
  r = await raw('GET /api/events HTTP/1.1\r\n' + H + '\r\n');
  assert(statusOf(r) === 401, 'events without a session: 401, got ' + statusOf(r));
  const form = 'gate=front&reason=x';
  r = await raw('POST /api/open HTTP/1.1\r\n' + H + 'Origin: https://evil.example\r\nContent-Type: application/x-www-form-urlencoded\r\nCookie: __Host-gcsession=' + (await ctx.cookies()).find((c) => c.name === '__Host-gcsession').value + '\r\nContent-Length: ' + form.length + '\r\n\r\n' + form);
  assert(statusOf(r) === 403, 'cross-origin form post with a stolen cookie: 403, got ' + statusOf(r));
  r = await raw('GET / HTTP/1.1\r\n' + H + 'Transfer-Encoding: chunked\r\n\r\n');
  assert(statusOf(r) === 501, 'chunked: 501, got ' + statusOf(r));
  r = await raw('GET / HTTP/1.1\r\n' + H + 'Content-Length: 1\r\nContent-Length: 2\r\n\r\n');
  assert(statusOf(r) === 400, 'two Content-Lengths: 400, got ' + statusOf(r));
  r = await raw('\x00\x01\x02 garbage\r\n\r\n');
  assert(statusOf(r) === 400 || statusOf(r) === 501, 'garbage: refused, got ' + statusOf(r));
  // the live page noticed none of it
  ctl('sim', 'tap', 'front', 'A-3');
  await page.locator('#feed li', { hasText: 'A-3' }).first().waitFor({ timeout: 1000 });
  assert(ctl('ping').includes('pong'), 'daemon unaffected');
  await page.screenshot({ path: OUT + '/5-supervisor-normal.png', fullPage: true });
  step('all passed');
} catch (e) {
  failed = true;
  console.error('FAIL:', e.message);
  try { const p = browser.contexts()[0]?.pages()[0]; if (p) await p.screenshot({ path: OUT + '/failure.png' }); } catch (e2) { /* best effort */ }
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
