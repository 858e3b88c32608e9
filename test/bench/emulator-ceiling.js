#!/usr/bin/env node
'use strict';
// The emulator's own ceiling for `make bench`: the Converse request rate it
// sustains with the lightest client we can write, a raw node:http loop over
// keep-alive connections that replays one request signed once with the
// official signer (the emulator still verifies the signature, parses the
// body and builds the answer on every request).  With C loops in flight,
// each on its own connection.
//
//   node emulator-ceiling.js --port-file F [--concurrency 1] [--seconds 5]
//
// Prints one JSON line: {"client":"raw","concurrency","calls","errors","seconds","rate"}.
const fs = require('fs');
const http = require('http');
const { signRequest, modelPath } = require('../emulator/lib/testkit');

function args(argv) {
  const o = { concurrency: 1, seconds: 5, warmupSeconds: 0.5, model: 'openai.gpt-oss-20b-1:0', portFile: null };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === '--port-file') o.portFile = v;
    else if (k === '--concurrency') o.concurrency = Number(v);
    else if (k === '--seconds') o.seconds = Number(v);
    else if (k === '--model') o.model = v;
    else throw new Error(`unknown argument ${k}`);
  }
  if (!o.portFile) throw new Error('--port-file is required');
  return o;
}

function once(port, agent, req) {
  return new Promise((resolve) => {
    const r = http.request(
      { host: '127.0.0.1', port, method: 'POST', path: req.path, headers: req.headers, agent },
      (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve(res.statusCode === 200));
        res.on('error', () => resolve(false));
      },
    );
    r.on('error', () => resolve(false));
    r.end(req.body);
  });
}

async function main() {
  const o = args(process.argv.slice(2));
  const port = Number(fs.readFileSync(o.portFile, 'utf8').trim());
  const body = JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'ping 1' }] }] });
  const signed = await signRequest({ port, path: modelPath(o.model, 'converse'), body });
  const req = { path: signed.path, headers: { ...signed.headers, 'content-length': String(signed.body.length) }, body: signed.body };
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency });

  let phase = 'warmup';
  let calls = 0;
  let errors = 0;
  async function loop() {
    while (phase !== 'done') {
      const ok = await once(port, agent, req);
      if (phase === 'measure') {
        calls++;
        if (!ok) errors++;
      }
    }
  }
  const loops = Array.from({ length: o.concurrency }, loop);
  await new Promise((r) => setTimeout(r, o.warmupSeconds * 1000));
  phase = 'measure';
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, o.seconds * 1000));
  phase = 'done';
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await Promise.all(loops);
  agent.destroy();
  console.log(JSON.stringify({ client: 'raw', concurrency: o.concurrency, calls, errors, seconds, rate: calls / seconds }));
}

main().catch((e) => {
  console.error(`emulator-ceiling: ${e.stack || e}`);
  process.exit(1);
});
