// Bench (run by tests/bench/console.sh): time from a simulated tap to the
// event drawn in the console page in headless Chromium.
//
// This process holds one control-socket connection to gatewayd (as root:
// sim needs admin) and sends `sim tap GATE BADGE`, one tap at a time. For
// each tap it notes t0 just before the write and t1 when gatewayd answers
// "ok ... seq=N" (decided, journaled durably, lock commanded: the
// tap-to-unlock time). In the page, a MutationObserver on the feed notes
// when the row with data-seq=N is inserted (script done, before layout),
// and a requestAnimationFrame after it notes the start of the next frame
// (the one that paints it). The page's clock is mapped onto this
// process's clock by round trips through page.evaluate (the smallest
// round trip wins; its half is the error bound printed).
import { chromium } from 'playwright-core';
import net from 'node:net';

const env = (k) => { const v = process.env[k]; if (!v) throw new Error('missing ' + k); return v; };
const URL0 = env('CONSOLE_URL'), SOCK = env('GW_SOCK'), SPKI = env('SPKI');
const N = Number(process.env.N_TAPS || 300), WARM = 20;
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (v, p) => { const s = [...v].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p / 100 * (s.length - 1)))]; };
const row = (what, v) => console.log(`${what.padEnd(44)} ${[50, 90, 99].map((p) => pct(v, p).toFixed(2).padStart(8)).join('')}${Math.max(...v).toFixed(2).padStart(9)}`);

// the control socket: one request at a time, answers line by line
const sock = net.createConnection(SOCK);
let buf = '', waiter = null;
sock.setEncoding('utf8');
sock.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    const l = buf.slice(0, i); buf = buf.slice(i + 1);
    if (/^(ok|err)( |$)/.test(l) && waiter) { const w = waiter; waiter = null; w(l); }
  }
});
await new Promise((r, j) => { sock.once('connect', r); sock.once('error', j); });
const request = (line) => new Promise((r) => { waiter = r; sock.write(line + '\n'); });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--ignore-certificate-errors-spki-list=' + SPKI],
});
let rc = 0;
try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await page.goto(URL0 + '/');
  await page.getByLabel('Name').fill(env('BENCH_USER'));
  await page.getByLabel('Password').fill(env('BENCH_PASS'));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('body[data-live="yes"]').waitFor({ timeout: 10000 });
  await page.evaluate(() => {
    const drawn = new Map();
    window.__drawn = drawn;
    new MutationObserver((muts) => {
      const t = performance.timeOrigin + performance.now();
      for (const m of muts) for (const n of m.addedNodes) {
        const seq = n.dataset && n.dataset.seq;
        if (!seq || drawn.has(seq)) continue;
        const rec = { dom: t, frame: 0 };
        drawn.set(seq, rec);
        requestAnimationFrame(() => { rec.frame = performance.timeOrigin + performance.now(); });
      }
    }).observe(document.getElementById('feed'), { childList: true });
  });
  async function calibrate() {
    let best = null;
    for (let i = 0; i < 40; i++) {
      const a = now();
      const p = await page.evaluate(() => performance.timeOrigin + performance.now());
      const b = now();
      if (!best || b - a < best.rtt) best = { rtt: b - a, off: p - (a + b) / 2 };
    }
    return best;
  }
  const c0 = await calibrate();
  const taps = [];
  for (let i = 0; i < N + WARM; i++) {
    const t0 = now();
    const ans = await request(`sim tap front A-${1 + (i % 4)}`);
    const t1 = now();
    const m = / seq=(\d+)/.exec(ans);
    if (!m || !/unlocked/.test(ans)) throw new Error('unexpected answer: ' + ans);
    await page.waitForFunction((s) => window.__drawn.has(s) && window.__drawn.get(s).frame > 0, m[1], { timeout: 5000 });
    if (i >= WARM) taps.push({ seq: m[1], t0, t1 });
    await sleep(10 + Math.random() * 50);	// every phase of the console's 30 ms status fetch
  }
  const c1 = await calibrate();
  const drawn = new Map(await page.evaluate(() => [...window.__drawn]));
  const off = (c0.off + c1.off) / 2;
  const unlock = [], dom = [], frame = [], relay = [];
  for (const t of taps) {
    const d = drawn.get(t.seq);
    unlock.push(t.t1 - t.t0);
    dom.push(d.dom - off - t.t0);
    frame.push(d.frame - off - t.t0);
    relay.push(d.dom - off - t.t1);
  }
  console.log(`taps ${taps.length} (after ${WARM} warm-up), one at a time, 10-60 ms apart; every one drawn`);
  console.log(`page clock mapped to the tapper's: round trip ${Math.min(c0.rtt, c1.rtt).toFixed(2)} ms, so +/- ${(Math.max(c0.rtt, c1.rtt) / 2).toFixed(2)} ms; drift over the run ${(c1.off - c0.off).toFixed(2)} ms`);
  console.log(`${'ms from the sim tap request'.padEnd(44)}      p50     p90     p99      max`);
  row('gatewayd answers ok (durable, lock commanded)', unlock);
  row('row inserted in the page (MutationObserver)', dom);
  row('start of the frame that paints it (rAF)', frame);
  console.log('ms from gatewayd\'s ok (the record is durable and broadcast to watchers then)');
  row('row inserted: gateconsole, TLS, the browser', relay);
} catch (e) {
  console.error('bench_page: ' + (e && e.stack || e));
  rc = 1;
} finally {
  await browser.close();
  sock.end();
}
process.exit(rc);
