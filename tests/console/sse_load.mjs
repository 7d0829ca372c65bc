// Bench helper (run by tests/bench/console.sh): many signed-in console
// sessions, each with its own live Server-Sent Events stream, held by one
// lightweight process instead of a browser each. Commands on stdin, one
// per line, each answered with one line on stdout:
//   add N     N more streams: for sessions whose stream was dropped, a new
//             stream; for the rest, a new session signed in (one after
//             another, as the console hashes one password at a time);
//             answers "ready TOTAL SIGNIN_MS_AVG" (0 if none signed in)
//             once every new stream has its hello
//   drop N    close the N newest streams, keeping their sessions signed
//             in; answers "dropped STREAMS"
//   mark      start counting afresh; answers "marked STREAMS"
//   counts    "counts STREAMS MIN MAX CLOSED KB": the fewest and most
//             "record" events a stream received since the mark (or since
//             it opened), how many streams have ended, and the mean KiB a
//             stream received in that time
//   quit
// A stream only counts "event: record" lines: the bytes are scanned, not
// parsed, to keep this process's CPU (which shares the machine with the
// gateway here, unlike real tablets) small.
import https from 'node:https';
import fs from 'node:fs';
import readline from 'node:readline';

const env = (k) => { const v = process.env[k]; if (!v) throw new Error('missing ' + k); return v; };
const url = new URL(env('CONSOLE_URL'));
const ca = fs.readFileSync(env('CA_FILE'));
const USER = env('BENCH_USER'), PASS = env('BENCH_PASS');
const agent = new https.Agent({ keepAlive: false, maxSockets: Infinity, ca });
const base = { host: '127.0.0.1', servername: url.hostname, port: url.port, agent,
  headers: { Host: url.host } };
const streams = [];
const spare = [];	// cookies of signed-in sessions without a stream
const NEEDLE = Buffer.from('event: record\n');

function signIn() {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ user: USER, password: PASS });
    const req = https.request({ ...base, method: 'POST', path: '/api/login',
      headers: { ...base.headers, Origin: url.origin, 'Content-Type': 'application/json',
        'Sec-Fetch-Site': 'same-origin', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      const c = (res.headers['set-cookie'] || []).map((s) => s.split(';')[0]).find((s) => s.startsWith('__Host-gcsession='));
      res.on('end', () => (res.statusCode === 200 && c ? resolve(c) : reject(new Error('sign-in: HTTP ' + res.statusCode))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function openStream(cookie) {
  return new Promise((resolve, reject) => {
    const s = { records: 0, mark: 0, bytes: 0, bmark: 0, closed: false, carry: Buffer.alloc(0) };
    const req = https.request({ ...base, method: 'GET', path: '/api/events',
      headers: { ...base.headers, Cookie: cookie, Accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) { reject(new Error('events: HTTP ' + res.statusCode)); return; }
      let hello = false;
      res.on('data', (d) => {
        s.bytes += d.length;
        const b = s.carry.length ? Buffer.concat([s.carry, d]) : d;
        for (let i = b.indexOf(NEEDLE); i >= 0; i = b.indexOf(NEEDLE, i + NEEDLE.length)) s.records++;
        s.carry = b.subarray(Math.max(0, b.length - NEEDLE.length + 1));
        if (!hello && b.includes('event: hello')) { hello = true; s.req = req; s.cookie = cookie; streams.push(s); resolve(); }
      });
      res.on('end', () => { s.closed = true; });
      res.on('error', () => { s.closed = true; });
    });
    req.on('error', (e) => { s.closed = true; reject(e); });
    req.end();
  });
}

const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
  const [cmd, arg] = line.trim().split(/\s+/);
  try {
    if (cmd === 'add') {
      const opened = [];
      let ms = 0, signed = 0;
      for (let i = 0; i < Number(arg); i++) {
        let cookie = spare.pop();
        if (!cookie) {
          const t = performance.now();
          cookie = await signIn();
          ms += performance.now() - t;
          signed++;
        }
        opened.push(openStream(cookie));
      }
      await Promise.all(opened);
      console.log(`ready ${streams.length} ${(signed ? ms / signed : 0).toFixed(1)}`);
    } else if (cmd === 'counts') {
      const r = streams.map((s) => s.records - s.mark);
      const kb = streams.reduce((a, s) => a + s.bytes - s.bmark, 0) / 1024 / Math.max(1, streams.length);
      console.log(`counts ${streams.length} ${r.length ? Math.min(...r) : 0} ${r.length ? Math.max(...r) : 0} ${streams.filter((s) => s.closed).length} ${kb.toFixed(0)}`);
    } else if (cmd === 'drop') {
      for (const s of streams.splice(streams.length - Math.min(streams.length, Number(arg)))) {
        s.req.destroy();
        spare.push(s.cookie);
      }
      console.log(`dropped ${streams.length}`);
    } else if (cmd === 'mark') {
      for (const s of streams) { s.mark = s.records; s.bmark = s.bytes; }
      console.log(`marked ${streams.length}`);
    } else if (cmd === 'quit') {
      break;
    }
  } catch (e) {
    console.log('error ' + String(e && e.message || e).replace(/\n/g, ' '));
  }
}
process.exit(0);
