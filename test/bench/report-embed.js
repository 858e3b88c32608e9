'use strict';
// The embedding benchmarks of `make bench` (B5, B6, B7) as Markdown, from the
// JSON lines run-bench writes (kinds embed_setup, b5, b6, b7).
//
//   node report-embed.js results.jsonl
const fs = require('fs');

const rows = fs
  .readFileSync(process.argv[2], 'utf8')
  .split('\n')
  .filter((l) => l.startsWith('{'))
  .map((l) => JSON.parse(l));
const setup = rows.find((r) => r.kind === 'embed_setup');
if (!setup) process.exit(0);

const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

function leg(kind, title, texts, perRequest) {
  const runs = rows.filter((r) => r.kind === kind);
  if (!runs.length) return;
  const requestsLimit = Math.ceil(texts / perRequest);
  const limit = (Math.ceil(requestsLimit / setup.concurrency) * setup.latency_ms) / 1000;
  console.log(`\n### ${title}\n`);
  console.log(`${texts} texts, ${setup.latency_ms} ms a request, ${setup.concurrency} in flight: ` +
    `${requestsLimit} requests at least, ${f(limit)} s at best (ceil(${requestsLimit} / ${setup.concurrency}) x ${setup.latency_ms} ms).\n`);
  console.log('| client | runs | requests | embedded | seconds, each run | best x limit | best texts/s |');
  console.log('|---|---|---|---|---|---|---|');
  for (const client of ['bedrock_fdw', 'sdk']) {
    const mine = runs.filter((r) => r.client === client);
    if (!mine.length) continue;
    const secs = Math.min(...mine.map((r) => r.seconds));
    const reqs = [...new Set(mine.map((r) => r.requests ?? r.emulator_requests))].join(', ');
    const embedded = [...new Set(mine.map((r) => r.embedded))].join(', ');
    console.log(`| ${client === 'sdk' ? 'AWS SDK for JavaScript' : 'bedrock_embed_batch'} | ${mine.length} | ${reqs} | ${embedded} | ` +
      `${mine.map((r) => f(r.seconds)).join(', ')} | ${f(secs / limit)} | ${f(Math.max(...mine.map((r) => r.rate)), 0)} |`);
  }
}

leg('b5', 'B5: Cohere Embed v3, 96 texts a request', setup.b5_texts, 96);
leg('b6', 'B6: Titan Text Embeddings v2, one text a request', setup.b6_texts, 1);

const b7 = rows.filter((r) => r.kind === 'b7');
if (b7.length) {
  const before = b7.find((r) => r.label === 'before');
  const last = b7[b7.length - 1];
  console.log('\n### B7: backend memory over embeddings\n');
  console.log('| after embeddings | embedded | VmRSS kB | RssAnon kB | VmHWM kB | memory contexts kB |');
  console.log('|---|---|---|---|---|---|');
  for (const r of b7) {
    console.log(`| ${r.embeddings} | ${r.embedded} | ${r.vmrss_kb} | ${r.rssanon_kb} | ${r.vmhwm_kb} | ${Math.round(r.ctx_bytes / 1024)} |`);
  }
  console.log(`\nGrowth from ${before.embeddings} to ${last.embeddings} embeddings: VmRSS ${last.vmrss_kb - before.vmrss_kb} kB, ` +
    `RssAnon ${last.rssanon_kb - before.rssanon_kb} kB, memory contexts ${Math.round((last.ctx_bytes - before.ctx_bytes) / 1024)} kB.`);
}
