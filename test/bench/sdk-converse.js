#!/usr/bin/env node
'use strict';
// The official AWS SDK for JavaScript v3 side of `make bench`: Converse calls
// through BedrockRuntimeClient + ConverseCommand over NodeHttpHandler with a
// keep-alive agent, against the local emulator, with the same model,
// credentials and prompts ('ping 1' … 'ping N') as the SQL side.
//
//   node sdk-converse.js --port-file F [--n 5000] [--warmup 50]
//                        [--concurrency 1] [--model openai.gpt-oss-20b-1:0]
//                        [--retry-mode standard|adaptive] [--max-attempts N]
//
// --concurrency 1 is a plain sequential loop of awaited calls (B2); with more,
// that many loops share the prompts and one client.  --retry-mode and
// --max-attempts set the client's retry strategy (the throttling storm runs
// the SDK's adaptive mode).  Prints one JSON line:
// {"client":"sdk","calls","errors","seconds","rate","cpu_seconds","concurrency"}
// (cpu_seconds: user + system CPU time of this process during the timed calls).
const { converser } = require('./sdk-client');

function args(argv) {
  const o = { n: 5000, warmup: 50, concurrency: 1, model: 'openai.gpt-oss-20b-1:0', portFile: null, retry: {} };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === '--port-file') o.portFile = v;
    else if (k === '--n') o.n = Number(v);
    else if (k === '--warmup') o.warmup = Number(v);
    else if (k === '--concurrency') o.concurrency = Number(v);
    else if (k === '--model') o.model = v;
    else if (k === '--retry-mode') o.retry.retryMode = v;
    else if (k === '--max-attempts') o.retry.maxAttempts = Number(v);
    else throw new Error(`unknown argument ${k}`);
  }
  if (!o.portFile) throw new Error('--port-file is required');
  return o;
}

async function main() {
  const o = args(process.argv.slice(2));
  const sdk = converser(o.portFile, o.concurrency, o.model, o.retry);
  const call = (g) => sdk.converse(`ping ${g}`);

  for (let g = 1; g <= o.warmup; g++) await call(g);

  let next = 1;
  let errors = 0;
  async function loop() {
    while (next <= o.n) {
      const g = next++;
      try {
        const out = await call(g);
        if (!out.output || !out.output.message) errors++;
      } catch {
        errors++;
      }
    }
  }
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: o.concurrency }, loop));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  sdk.destroy();
  console.log(JSON.stringify({ client: 'sdk', calls: o.n, errors, seconds, rate: o.n / seconds, cpu_seconds: (cpu.user + cpu.system) / 1e6, concurrency: o.concurrency, retry_mode: o.retry.retryMode || 'standard' }));
}

main().catch((e) => {
  console.error(`sdk-converse: ${e.stack || e}`);
  process.exit(1);
});
