#!/usr/bin/env node
'use strict';
// The AWS SDK side of B8 (`make bench`, extraction): what a Node.js developer
// would write to pull typed fields out of contracts with the official SDK.
// It reads the contracts from PostgreSQL (the `pg` client over the bench
// cluster's unix socket; before the clock starts, as the SQL side's array is
// built inside its timed statement but from the same table), then sends one
// ConverseCommand per contract with toolConfig (one tool whose input schema
// is the schema, toolChoice.tool: the forced tool call bedrock_extract's
// method "tool" sends), N in flight over one client (NodeHttpHandler with a
// keep-alive http.Agent, maxSockets = N), and checks every toolUse input
// against the schema's required members and their types, as bedrock_extract
// does; a non-conforming answer is asked for once more.  Same model,
// credentials, schema and default retry settings as the SQL side.
//
//   node sdk-extract.js --port-file F --pg-host SOCKETDIR --pg-port P
//                       --schema-file S [--table b8_contracts]
//                       [--concurrency 32] [--model anthropic.claude-3-haiku-20240307-v1:0]
//
// Prints one JSON line: {"client":"sdk","contracts","extracted","errors",
// "calls","seconds","rate","cpu_seconds","concurrency"}.
const fs = require('fs');
const { runtimeClient, emuRequire, ConverseCommand } = require('./sdk-client');
const { Client } = emuRequire('pg');

function args(argv) {
  const o = { table: 'b8_contracts', concurrency: 32, model: 'anthropic.claude-3-haiku-20240307-v1:0', portFile: null, pgHost: null, pgPort: 5432, schemaFile: null };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === '--port-file') o.portFile = v;
    else if (k === '--pg-host') o.pgHost = v;
    else if (k === '--pg-port') o.pgPort = Number(v);
    else if (k === '--schema-file') o.schemaFile = v;
    else if (k === '--table') o.table = v;
    else if (k === '--concurrency') o.concurrency = Number(v);
    else if (k === '--model') o.model = v;
    else throw new Error(`unknown argument ${k}`);
  }
  if (!o.portFile || !o.pgHost || !o.schemaFile) throw new Error('--port-file, --pg-host and --schema-file are required');
  if (!/^[a-z_][a-z0-9_]*$/.test(o.table)) throw new Error('--table must be a plain lower-case name');
  return o;
}

// the checks bedrock_extract makes, for the schema's shapes used here
function conforms(schema, v) {
  const t = Array.isArray(schema.type) ? schema.type : [schema.type];
  const kind = v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v;
  if (!(t.includes(kind) || (kind === 'integer' && t.includes('number')))) return false;
  if (schema.enum && v !== null && !schema.enum.includes(v)) return false;
  if (kind === 'object') {
    for (const r of schema.required || []) if (!(r in v)) return false;
    for (const [k, x] of Object.entries(v)) if (schema.properties?.[k] && !conforms(schema.properties[k], x)) return false;
  }
  if (kind === 'array' && schema.items) return v.every((x) => conforms(schema.items, x));
  return true;
}

async function main() {
  const o = args(process.argv.slice(2));
  const schema = JSON.parse(fs.readFileSync(o.schemaFile, 'utf8'));
  const { client, destroy } = runtimeClient(o.portFile, o.concurrency);
  const system = 'Extract from the user\'s message the information that the given JSON schema describes.';
  let calls = 0;
  const extract = async (text, feedback) => {
    calls++;
    const out = await client.send(
      new ConverseCommand({
        modelId: o.model,
        system: [{ text: feedback ? `${system}\n\nYour previous answer did not conform to the schema: ${feedback}.` : system }],
        messages: [{ role: 'user', content: [{ text }] }],
        toolConfig: { tools: [{ toolSpec: { name: 'extract', inputSchema: { json: schema } } }], toolChoice: { tool: { name: 'extract' } } },
      }),
    );
    const use = (out.output?.message?.content || []).find((b) => b.toolUse && b.toolUse.name === 'extract');
    return use ? use.toolUse.input : null;
  };

  const db = new Client({ host: o.pgHost, port: o.pgPort, user: 'postgres', database: 'postgres' });
  await db.connect();
  const { rows } = await db.query(`SELECT body FROM ${o.table} ORDER BY id`);
  await db.end();
  await extract('warm-up: parties: A', null);
  calls = 0;

  let next = 0;
  let extracted = 0;
  let errors = 0;
  async function loop() {
    while (next < rows.length) {
      const text = rows[next++].body;
      try {
        let v = await extract(text, null);
        if (!v || !conforms(schema, v)) v = await extract(text, 'it did not conform');
        if (v && conforms(schema, v)) extracted++;
        else errors++;
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
  destroy();
  console.log(JSON.stringify({ client: 'sdk', contracts: rows.length, extracted, errors, calls, seconds, rate: rows.length / seconds, cpu_seconds: (cpu.user + cpu.system) / 1e6, concurrency: o.concurrency }));
}

main().catch((e) => {
  console.error(`sdk-extract: ${e.stack || e}`);
  process.exit(1);
});
