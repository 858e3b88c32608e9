#!/usr/bin/env node
'use strict';
// Print the results of test/bench/run-bench (JSON lines) as Markdown tables.
//   node report.js results.jsonl
const fs = require('fs');

const rows = fs
  .readFileSync(process.argv[2], 'utf8')
  .split('\n')
  .filter((l) => l.trim().startsWith('{'))
  .map((l) => JSON.parse(l));
const of = (kind) => rows.filter((r) => r.kind === kind);
const one = (kind) => of(kind)[0] || {};

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const int = (x) => Math.round(x).toLocaleString('en-US');
const fix = (x, d = 2) => x.toFixed(d);
const mib = (kb) => `${fix(kb / 1024, 1)} MiB`;
const signedMib = (kb) => `${kb >= 0 ? '+' : '−'}${fix(Math.abs(kb) / 1024, 2)} MiB`;
const signedKib = (bytes) => `${bytes >= 0 ? '+' : '−'}${int(Math.abs(bytes) / 1024)} KiB`;
const out = [];
const p = (s = '') => out.push(s);

// --- machine ---------------------------------------------------------------
const m = one('machine');
const srv = one('server');
p('### Machine');
p();
p('| | |');
p('|---|---|');
p(`| CPUs (nproc) | ${m.nproc} × ${m.cpu} |`);
p(`| memory | ${fix(m.mem_kb / 1024 / 1024, 1)} GiB |`);
p(`| system | ${m.os}, ${m.kernel} |`);
p(`| PostgreSQL | ${m.postgres}; shared_preload_libraries = '${srv.preload}' |`);
p(`| bedrock_fdw | ${srv.extversion}${m.revision ? ` (${m.revision})` : ''} |`);
p(`| libcurl | ${m.libcurl}${m.libcurl_package ? ` (package ${m.libcurl_package})` : ''} |`);
p(`| Node.js | ${m.node} |`);
p(`| AWS SDK | @aws-sdk/client-bedrock-runtime ${m.sdk}, @smithy/node-http-handler ${m.node_http_handler} |`);
p(`| run | ${m.date} |`);
const load = (at) => (of('load').find((l) => l.at === at) || {}).loadavg;
if (load('start')) p(`| load average (1, 5, 15 min) | ${load('start')} at the start, ${load('end')} at the end |`);
p();

// --- emulator ceiling ----------------------------------------------------------
const ceil = of('ceiling');
const seqCeiling = (ceil.find((c) => c.concurrency === 1) || {}).rate;
p('### The emulator\'s ceiling');
p();
p('Converse requests per second the emulator answers (raw keep-alive node:http loop, one request');
p('signed once and replayed; the emulator verifies the signature and builds the answer every time).');
p();
p('| in flight | requests/s | errors |');
p('|---:|---:|---:|');
for (const c of ceil) p(`| ${c.concurrency} | ${int(c.rate)} | ${c.errors} |`);
p();

// --- B1 ------------------------------------------------------------------------
const b1s = one('b1_setup');
const b1 = of('b1');
if (b1s.kind && b1.length) {
  const secs = (x) => `${fix(x, 2)} s`;
  const limit = b1s.limit_seconds;
  const label = {
    enrich: 'bedrock_enrich (CALL, chunks of ' + int(b1s.chunk_size) + ')',
    batch: 'bedrock_chat_batch (one UPDATE … FROM LATERAL)',
    sdk: '(b) Node.js job, AWS SDK + pg',
  };
  const by = (c) => b1.filter((r) => r.client === c).sort((a, b) => a.run - b.run);
  const med = (c) => median(by(c).map((r) => r.seconds));
  const perRow = by('per_row')[0];
  const perRowRate = perRow ? perRow.rows / perRow.seconds : null;
  const perRowExtrap = perRow ? b1s.rows / perRowRate : null;
  p(`### B1: batch enrichment, ${int(b1s.rows)} rows at ${b1s.latency_ms} ms latency, ${b1s.concurrency} in flight`);
  p();
  p(`Every Converse call waits ${b1s.latency_ms} ms in the emulator before it is answered; bedrock.max_concurrency = ${b1s.max_concurrency}, ` +
    `concurrency ${b1s.concurrency} on every side. Wall times of the timed statement (SQL) or of read + calls + writes (SDK job), ` +
    `after one warm-up call in the same session or process; median of ${b1s.runs} run${b1s.runs === 1 ? '' : 's'}, interleaved (enrich, batch, SDK, enrich, …), ` +
    'every run starting from all summaries NULL. "time / limit" is the wall time over the limit; "vs SDK" the SDK job\'s time over this one ' +
    '(> 1: faster than the SDK); "vs per-row" the per-row time extrapolated to all rows over this one.');
  p();
  p('| | wall time | rows/s | time / limit | vs SDK | vs per-row | client CPU | rows filled | failed calls | Converse calls (incl. warm-up) | connections |');
  p('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  p(`| (a) the limit, ${int(b1s.rows)} × ${fix(b1s.latency_ms / 1000, 1)} s / ${b1s.concurrency} | ${secs(limit)} | ${int(b1s.rows / limit)} | 1.00× | | | | | | | |`);
  const failed = (r) => r.emulator.not_ok + (r.errors || 0) + ((r.job && r.job.errors) || 0);
  for (const c of ['enrich', 'batch', 'sdk']) {
    const rs = by(c);
    if (!rs.length) continue;
    const m = med(c);
    const sdkVs = c === 'sdk' ? '1.000×' : by('sdk').length ? `${fix(med('sdk') / m, 3)}×` : '';
    const cpu = median(rs.map((r) => r.cpu_seconds));
    const filled = rs.map((r) => r.filled);
    p(`| ${label[c]} | ${secs(m)} | ${int(b1s.rows / m)} | ${fix(m / limit)}× | ${sdkVs} | ${perRowExtrap ? `${fix(perRowExtrap / m, 1)}×` : ''} | ` +
      `${fix(cpu, 2)} s | ${filled.every((f) => f === b1s.rows) ? `${int(b1s.rows)} every run` : filled.map(int).join(', ')} | ` +
      `${rs.map(failed).reduce((a, b) => a + b, 0)} | ${[...new Set(rs.map((r) => r.emulator.converse))].map(int).join(', ')} | ` +
      `${[...new Set(rs.map((r) => r.emulator.connections))].join(', ')} |`);
  }
  if (perRow)
    p(`| (c) per-row UPDATE … bedrock_chat, **${int(perRow.rows)} rows measured**, time extrapolated to ${int(b1s.rows)} | ` +
      `${secs(perRowExtrap)} (${secs(perRow.seconds)} for ${int(perRow.rows)}) | ${fix(perRowRate, 1)} | ${fix(perRowExtrap / limit, 1)}× | ` +
      ` | 1.00× | ${fix(perRow.cpu_seconds, 2)} s | ${int(perRow.filled)} of ${int(perRow.rows)} | ` +
      `${failed(perRow)} | ${int(perRow.emulator.converse)} | ${perRow.emulator.connections} |`);
  p();
  p('| run | bedrock_enrich | bedrock_chat_batch | SDK job |');
  p('|---:|---:|---:|---:|');
  for (let r = 1; r <= b1s.runs; r++) {
    const cell = (c) => {
      const x = by(c).find((y) => y.run === r);
      return x ? secs(x.seconds) : '';
    };
    p(`| ${r} | ${cell('enrich')} | ${cell('batch')} | ${cell('sdk')} |`);
  }
  p();
  const goal = 1.1;
  for (const c of ['enrich', 'batch']) {
    if (!by(c).length) continue;
    const m = med(c);
    const name = c === 'enrich' ? 'bedrock_enrich' : 'bedrock_chat_batch';
    const rng = by(c).map((r) => r.seconds / limit);
    p(`${name}: ${fix(m / limit)}× the limit (runs ${fix(Math.min(...rng))}× – ${fix(Math.max(...rng))}×), goal ≤ ${fix(goal)}×: ${m <= goal * limit ? 'met' : 'NOT met'}; ` +
      (by('sdk').length
        ? `${fix(med('sdk') / m, 3)}× the SDK job's speed, goal ≥ 1×: ${m <= med('sdk') ? 'met' : `NOT met (${fix((100 * (m - med('sdk'))) / med('sdk'), 1)}% slower)`}; `
        : '') +
      (perRowExtrap ? `${fix(perRowExtrap / m, 1)}× the per-row UPDATE's.` : ''));
  }
  // what each side cannot beat with whole waves of calls: a batch of n
  // prompts takes at least ceil(n / concurrency) latencies, and
  // bedrock_enrich sends its chunks one after another
  if (b1s.chunk_size) {
    const lat = b1s.latency_ms / 1000;
    const waves = (n) => Math.ceil(n / b1s.concurrency);
    const full = Math.floor(b1s.rows / b1s.chunk_size);
    const rest = b1s.rows % b1s.chunk_size;
    const enrichFloor = (full * waves(b1s.chunk_size) + (rest ? waves(rest) : 0)) * lat;
    const batchFloor = waves(b1s.rows) * lat;
    p(`Floors in whole waves of ${b1s.concurrency} calls: one batch of ${int(b1s.rows)} needs ${waves(b1s.rows)} latencies, ${secs(batchFloor)} ` +
      `(${fix(batchFloor / limit, 3)}× the limit; the SDK job's floor too); bedrock_enrich sends its chunks of ${int(b1s.chunk_size)} one after another ` +
      `and each ends with a partial wave (${int(b1s.chunk_size)} = ${Math.floor(b1s.chunk_size / b1s.concurrency)} × ${b1s.concurrency} + ${b1s.chunk_size % b1s.concurrency}), ` +
      `so its floor is ${secs(enrichFloor)} (${fix(enrichFloor / limit, 3)}× the limit). Above the floor: ` +
      ['enrich', 'batch', 'sdk'].filter((c) => by(c).length)
        .map((c) => `${c === 'enrich' ? 'bedrock_enrich' : c === 'batch' ? 'bedrock_chat_batch' : 'the SDK job'} ${int(1000 * (med(c) - (c === 'enrich' ? enrichFloor : batchFloor)))} ms`)
        .join(', ') + '.');
  }
  if (by('sdk').length)
    p(`The SDK job: ${fix(med('sdk') / limit)}× the limit (median ${int(median(by('sdk').map((r) => r.updates)))} UPDATE statements for the write-back).`);
  if (perRow)
    p(`(c) is measured on the first ${int(perRow.rows)} rows only (one call at a time: ${fix(perRowRate, 2)} rows/s, ` +
      `${fix((1000 * perRow.seconds) / perRow.rows, 1)} ms per row); ${secs(perRowExtrap)} for ${int(b1s.rows)} rows is that rate extrapolated, not measured.`);
  // checks: every row filled, no call failed, one Converse call per row (+ the warm-up), every call delayed
  const problems = [];
  for (const r of b1) {
    const want = r.rows + b1s.warmup;
    if (r.filled !== r.rows) problems.push(`${r.client} run ${r.run}: ${r.filled} of ${r.rows} rows filled`);
    if (failed(r)) problems.push(`${r.client} run ${r.run}: ${failed(r)} failed calls`);
    if (r.emulator.converse !== want) problems.push(`${r.client} run ${r.run}: ${r.emulator.converse} Converse calls, expected ${want}`);
    if (r.emulator.delayed !== r.emulator.converse) problems.push(`${r.client} run ${r.run}: ${r.emulator.delayed} of ${r.emulator.converse} calls delayed`);
  }
  p(problems.length
    ? `**CHECKS FAILED**: ${problems.join('; ')}.`
    : `Checks: in every run every row got a summary (counted in the table afterwards), no call failed (the emulator answered 200 to all), ` +
      `each side made one Converse call per row plus its warm-up (no retries), and the emulator delayed every one by ${b1s.latency_ms} ms.`);
  p();
}

// --- B2 ------------------------------------------------------------------------
const b2 = of('b2');
const runs = [...new Set(b2.map((r) => r.run))].sort((a, b) => a - b);
const fdw = (run) => b2.find((r) => r.run === run && r.client === 'bedrock_fdw');
const sdk = (run) => b2.find((r) => r.run === run && r.client === 'sdk');
const ratios = runs.filter((r) => fdw(r) && sdk(r)).map((r) => fdw(r).rate / sdk(r).rate);
const fdwRates = runs.map(fdw).filter(Boolean).map((r) => r.rate);
const sdkRates = runs.map(sdk).filter(Boolean).map((r) => r.rate);
if (b2.length) {
  const calls = b2[0].calls;
  p(`### B2: per-call overhead, ${int(calls)} sequential calls at 0 ms latency`);
  p();
  const cpuUs = (r) => (1e6 * r.cpu_seconds) / r.calls;
  p('| run | bedrock_fdw calls/s | SDK calls/s | ratio | client CPU µs/call (fdw / SDK) | connections (fdw / SDK) | errors (fdw / SDK) |');
  p('|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of runs) {
    const f = fdw(r);
    const s = sdk(r);
    if (!f || !s) continue;
    p(`| ${r} | ${int(f.rate)} | ${int(s.rate)} | ${fix(f.rate / s.rate)}× | ${int(cpuUs(f))} / ${int(cpuUs(s))} | ${f.connections} / ${s.connections} | ${f.errors} / ${s.errors} |`);
  }
  const rng = (xs, fmt) => `${fmt(Math.min(...xs))} – ${fmt(Math.max(...xs))}`;
  const fdwCpu = median(runs.map(fdw).filter(Boolean).map(cpuUs));
  const sdkCpu = median(runs.map(sdk).filter(Boolean).map(cpuUs));
  p(`| **median** | **${int(median(fdwRates))}** | **${int(median(sdkRates))}** | **${fix(median(ratios))}×** | ${int(fdwCpu)} / ${int(sdkCpu)} | | |`);
  p(`| range | ${rng(fdwRates, int)} | ${rng(sdkRates, int)} | ${rng(ratios, (x) => `${fix(x)}×`)} | | | |`);
  p();
  const med = median(ratios);
  p(`Goal: bedrock_fdw ≥ 2× the SDK's calls/s. Median ratio ${fix(med)}×: ${med >= 2 ? 'met' : 'NOT met'}.`);
  p(`Wall time per call (median): bedrock_fdw ${fix(1e6 / median(fdwRates), 0)} µs, SDK ${fix(1e6 / median(sdkRates), 0)} µs. ` +
    `Client CPU per call (median; the backend's utime+stime from /proc at ${'1/100'} s resolution, the SDK process's cpuUsage()): ` +
    `bedrock_fdw ${int(fdwCpu)} µs, SDK ${int(sdkCpu)} µs (${fix(sdkCpu / fdwCpu, 1)}× less CPU).`);
  if (seqCeiling)
    p(`bedrock_fdw's median is ${fix((100 * median(fdwRates)) / seqCeiling, 0)}% of the emulator's sequential ceiling (${int(seqCeiling)}/s).`);
  p();
}

// --- B3 ------------------------------------------------------------------------
const u = one('usage');
const b3 = of('b3');
if (b3.length) {
  const before = b3.find((r) => r.label === 'before');
  const cold = b3.find((r) => r.label === 'cold');
  const last = b3[b3.length - 1];
  p(`### B3: memory of one backend over ${int(last.calls)} calls`);
  p();
  p(`Backend pid ${before.pid}; /proc/<pid>/status and sum(total_bytes) of pg_backend_memory_contexts,`);
  p(`read by the backend itself between statements of ${int(b3[3] ? b3[3].calls - b3[2].calls : last.calls)} calls.`);
  p('"before" is after 1,000 warm-up calls (connection, TLS/curl and credential state set up).');
  p();
  p('| point | calls | VmRSS | RssAnon | RssShmem | VmHWM | memory contexts | errors | seconds | calls/s |');
  p('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  let prev = null;
  for (const r of b3) {
    const rate = r.label === 'chunk' && prev ? int((r.calls - prev.calls) / (r.seconds - prev.seconds)) : '';
    p(`| ${r.label === 'chunk' ? 'after' : r.label} | ${int(r.calls)} | ${mib(r.vmrss_kb)} | ${mib(r.rssanon_kb)} | ${mib(r.rssshmem_kb)} | ${mib(r.vmhwm_kb)} | ${int(r.ctx_bytes / 1024)} KiB | ${r.errors} | ${fix(r.seconds, 1)} | ${rate} |`);
    prev = r;
  }
  p();
  p(`Growth from "before" to the end: VmRSS ${signedMib(last.vmrss_kb - before.vmrss_kb)}, RssAnon ${signedMib(last.rssanon_kb - before.rssanon_kb)}, ` +
    `RssShmem ${signedMib(last.rssshmem_kb - before.rssshmem_kb)}, VmHWM ${signedMib(last.vmhwm_kb - before.vmhwm_kb)}, memory contexts ${signedKib(last.ctx_bytes - before.ctx_bytes)}.`);
  if (cold)
    p(`From the fresh backend (no call yet): VmRSS ${signedMib(last.vmrss_kb - cold.vmrss_kb)}, RssAnon ${signedMib(last.rssanon_kb - cold.rssanon_kb)}.`);
  const priv = (last.rssanon_kb - before.rssanon_kb) / 1024;
  const ctx = (last.ctx_bytes - before.ctx_bytes) / 1048576;
  const shm = (last.rssshmem_kb - before.rssshmem_kb) / 1024;
  p(`VmRSS and VmHWM count shared memory once the backend has touched it (RssShmem): here mostly the slots of the ` +
    `shared usage queue (${u.capacity ? int(u.capacity) : 'bedrock.usage_queue_size'} records, a ring${u.queue_bytes ? ` of ${fix(u.queue_bytes / 1048576, 1)} MiB` : ''}) that each call writes its record into, ` +
    'which stops growing once the ring has gone round; the backend\'s own memory is RssAnon (malloc, memory contexts).');
  // once the backend has made as many calls as the queue has slots, it has touched every slot
  const round = b3.find((r) => r.label === 'chunk' && u.capacity && r.calls >= u.capacity);
  if (round && round !== last)
    p(`After the ring has gone round (${int(round.calls)} calls) to the end (${int(last.calls - round.calls)} more calls): ` +
      `VmRSS ${signedMib(last.vmrss_kb - round.vmrss_kb)}, RssAnon ${signedMib(last.rssanon_kb - round.rssanon_kb)}, ` +
      `RssShmem ${signedMib(last.rssshmem_kb - round.rssshmem_kb)}, VmHWM ${signedMib(last.vmhwm_kb - round.vmhwm_kb)}, ` +
      `memory contexts ${signedKib(last.ctx_bytes - round.ctx_bytes)}.`);
  p(`Goal: growth of at most a few MB. Private memory (RssAnon) ${signedMib(priv * 1024)} and memory contexts ${signedMib(ctx * 1024)}: ` +
    `${Math.max(priv, ctx) <= 4 ? 'met' : 'NOT met'}. VmRSS ${signedMib(last.vmrss_kb - before.vmrss_kb)}, ` +
    `${signedMib(shm * 1024)} of it shared memory` +
    (round && round !== last ? `; after the ring had gone round: ${signedMib(last.vmrss_kb - round.vmrss_kb)}.` : '.'));
  p();
}

// --- throttling storm ------------------------------------------------------------
const ss = one('storm_setup');
const storm = of('storm');
if (storm.length) {
  p(`### Throttling storm: ${int(ss.prompts)} prompts, ${ss.concurrency} in flight, a quota of ${ss.rps} requests/s`);
  p();
  p(`The emulator throttles every Converse request beyond ${ss.rps} in the last second (429 ThrottlingException) and ` +
    `delays the others ${ss.latency_ms} ms; every side may make up to ${ss.max_attempts} attempts per prompt. ` +
    `At the quota, ${int(ss.prompts)} prompts need at least ${fix(ss.prompts / ss.rps, 1)} s.`);
  p();
  p('| side | answered | attempts | throttled | seconds | answered/s | limiter at the end |');
  p('|---|---:|---:|---:|---:|---:|---|');
  for (const r of storm) {
    const side = r.client === 'sdk' ? `AWS SDK, retryMode ${r.retry_mode}` : `bedrock_chat_batch, adaptive_rate_limiting ${r.adaptive}`;
    const answered = r.calls - r.errors;
    const lim = r.limiter ? `allowed ${r.limiter.allowed_rpm == null ? 'unlimited' : `${int(r.limiter.allowed_rpm)} rpm`}, ${int(r.limiter.delayed)} attempts held back` : '';
    p(`| ${side} | ${int(answered)} of ${int(r.calls)} | ${int(r.emulator.converse)} | ${int(r.emulator.throttled)} | ${fix(r.seconds, 1)} | ${fix(answered / r.seconds, 1)} | ${lim} |`);
  }
  p();
  const sdkRow = storm.find((r) => r.client === 'sdk');
  const onRow = storm.find((r) => r.client === 'bedrock_fdw' && r.adaptive === 'on');
  if (sdkRow && onRow)
    p(`bedrock_fdw with adaptive slowdown answered ${int(onRow.calls - onRow.errors)} prompts with ` +
      `${int(onRow.emulator.throttled)} throttled responses; the SDK's adaptive mode answered ${int(sdkRow.calls - sdkRow.errors)} with ` +
      `${int(sdkRow.emulator.throttled)}. Throttled responses per answered prompt: ` +
      `${fix(onRow.emulator.throttled / Math.max(1, onRow.calls - onRow.errors))} vs ${fix(sdkRow.emulator.throttled / Math.max(1, sdkRow.calls - sdkRow.errors))}.`);
  p();
}

// --- usage writer ----------------------------------------------------------------
if (u.kind) {
  p('### Usage accounting during the run');
  p();
  p(`Every call queued a usage record for the writer (queue capacity ${int(u.capacity)}): ` +
    `pushed ${int(u.pushed)}, stored ${int(u.stored)}, dropped ${int(u.dropped)}, still queued ${int(u.queued)}; ` +
    `rows in bedrock.usage_log: ${int(u.rows)}${u.last_error ? `; last error: ${u.last_error}` : ''}.`);
  p();
}

process.stdout.write(out.join('\n') + '\n');
