'use strict';
// The extraction benchmark of `make bench` (B8) as Markdown, from the JSON
// lines run-bench writes (kinds b8_setup, b8).  Prints nothing when B8 did
// not run.
//
//   node report-extract.js results.jsonl
const fs = require('fs');

const rows = fs
  .readFileSync(process.argv[2], 'utf8')
  .split('\n')
  .filter((l) => l.startsWith('{'))
  .map((l) => JSON.parse(l));
const setup = rows.find((r) => r.kind === 'b8_setup');
if (!setup) process.exit(0);
const runs = rows.filter((r) => r.kind === 'b8');
const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

console.log(`\n### B8: extraction, ${setup.contracts} contracts at ${setup.latency_ms} ms, ${setup.concurrency} in flight\n`);
console.log(`${setup.contracts} contracts, ${setup.latency_ms} ms a call, ${setup.concurrency} in flight: ` +
  `the limit is ${setup.contracts} x ${setup.latency_ms} ms / ${setup.concurrency} = ${f(setup.limit_seconds)} s.\n`);
console.log('| client | runs | seconds, each run | median x limit | best x limit | objects | Converse calls | CPU s (median) |');
console.log('|---|---|---|---|---|---|---|---|');
const label = {
  tool: 'bedrock_extract_batch, forced tool call (Claude 3 Haiku)',
  output_format: 'bedrock_extract_batch, structured output (gpt-oss-20b)',
  sdk: 'AWS SDK for JavaScript, ConverseCommand + toolConfig (Claude 3 Haiku)',
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
for (const client of ['tool', 'output_format', 'sdk']) {
  const mine = runs.filter((r) => r.client === client);
  if (!mine.length) continue;
  const secs = mine.map((r) => r.seconds);
  const objects = [...new Set(mine.map((r) => r.extracted))].join(', ');
  const calls = [...new Set(mine.map((r) => r.emulator.converse - 1))].join(', '); // less the warm-up call
  console.log(`| ${label[client]} | ${mine.length} | ${secs.map((x) => f(x)).join(', ')} | ` +
    `${f(median(secs) / setup.limit_seconds)} | ${f(Math.min(...secs) / setup.limit_seconds)} | ${objects} | ${calls} | ` +
    `${f(median(mine.map((r) => r.cpu_seconds)))} |`);
}
