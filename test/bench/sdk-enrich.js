#!/usr/bin/env node
'use strict';
// The AWS SDK side of B1 (`make bench`): the enrichment job a Node.js
// developer would write with the official SDK.  It reads the rows still
// without a summary from PostgreSQL (the `pg` client over the bench
// cluster's unix socket), calls Converse through BedrockRuntimeClient +
// ConverseCommand (NodeHttpHandler with a keep-alive http.Agent, maxSockets =
// the concurrency) with N calls in flight over one client, and writes every
// answer back with an UPDATE while the calls go on: the answers that arrived
// while the previous UPDATE ran go out together in the next one
// (UPDATE … FROM unnest($1::int[], $2::text[])), autocommit, on one
// connection.  Same model, credentials, prompts ('Summarize: ' || body) and
// default retry settings as the SQL side.
//
//   node sdk-enrich.js --port-file F --pg-host SOCKETDIR --pg-port P
//                      [--table b1_rows] [--concurrency 32] [--warmup 1]
//                      [--model openai.gpt-oss-20b-1:0]
//
// The time covers reading the rows, every call and every write (the
// connection to PostgreSQL is made and one warm-up call is sent before, as
// the SQL side's session exists before its timed statement).  Prints one
// JSON line: {"client":"sdk","rows","errors","written","updates","seconds",
// "rate","cpu_seconds","concurrency"} (cpu_seconds: user + system CPU time
// of this process during the timed part).
const { converser, emuRequire } = require('./sdk-client');
const { Client } = emuRequire('pg');

function args(argv) {
  const o = { table: 'b1_rows', concurrency: 32, warmup: 1, model: 'openai.gpt-oss-20b-1:0', portFile: null, pgHost: null, pgPort: 5432 };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === '--port-file') o.portFile = v;
    else if (k === '--pg-host') o.pgHost = v;
    else if (k === '--pg-port') o.pgPort = Number(v);
    else if (k === '--table') o.table = v;
    else if (k === '--concurrency') o.concurrency = Number(v);
    else if (k === '--warmup') o.warmup = Number(v);
    else if (k === '--model') o.model = v;
    else throw new Error(`unknown argument ${k}`);
  }
  if (!o.portFile || !o.pgHost) throw new Error('--port-file and --pg-host are required');
  if (!/^[a-z_][a-z0-9_]*$/.test(o.table)) throw new Error('--table must be a plain lower-case name');
  return o;
}

async function main() {
  const o = args(process.argv.slice(2));
  const sdk = converser(o.portFile, o.concurrency, o.model);
  const summarize = async (prompt) => {
    const out = await sdk.converse(prompt);
    const text = (out.output?.message?.content || []).filter((b) => typeof b.text === 'string').map((b) => b.text).join('');
    if (!text) throw new Error('no text in the answer');
    return text;
  };

  const db = new Client({ host: o.pgHost, port: o.pgPort, user: 'postgres', database: 'postgres' });
  await db.connect();
  for (let i = 0; i < o.warmup; i++) await summarize('Summarize: warm-up');

  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();

  const { rows } = await db.query(`SELECT id, 'Summarize: ' || body AS prompt FROM ${o.table} WHERE summary IS NULL ORDER BY id`);

  // write-back: one UPDATE at a time on the connection; whatever arrived
  // meanwhile goes out in the next one
  let pending = [];
  let writing = null;
  let written = 0;
  let updates = 0;
  const flush = async () => {
    while (pending.length) {
      const batch = pending;
      pending = [];
      const r = await db.query(
        `UPDATE ${o.table} t SET summary = u.summary FROM unnest($1::int[], $2::text[]) AS u(id, summary) WHERE t.id = u.id`,
        [batch.map((b) => b.id), batch.map((b) => b.summary)],
      );
      written += r.rowCount;
      updates++;
    }
    writing = null;
  };
  const store = (id, summary) => {
    pending.push({ id, summary });
    if (!writing) writing = flush();
  };

  let next = 0;
  let errors = 0;
  async function loop() {
    while (next < rows.length) {
      const row = rows[next++];
      try {
        store(row.id, await summarize(row.prompt));
      } catch {
        errors++;
      }
    }
  }
  await Promise.all(Array.from({ length: o.concurrency }, loop));
  while (writing) await writing;

  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  await db.end();
  sdk.destroy();
  console.log(JSON.stringify({
    client: 'sdk', rows: rows.length, errors, written, updates, seconds, rate: rows.length / seconds,
    cpu_seconds: (cpu.user + cpu.system) / 1e6, concurrency: o.concurrency,
  }));
}

main().catch((e) => {
  console.error(`sdk-enrich: ${e.stack || e}`);
  process.exit(1);
});
