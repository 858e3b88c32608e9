#!/usr/bin/env node
'use strict';
// The catalog leg of `make bench`: a full scan of a paginated Bedrock catalog
// list through bedrock_fdw's foreign table against the same listing with the
// official SDK's paginator (@aws-sdk/client-bedrock, paginateListGuardrails,
// keep-alive NodeHttpHandler), side by side on one emulator, runs
// interleaved; then what a pushed filter saves (requests and rows over the
// network, read from the emulator's stats).
//
//   node catalog-scan.js --port-file F --pg-host SOCKETDIR --pg-port P
//                        [--guardrails 5000] [--page-size 100] [--runs 5]
//
// The emulator is told to hold that many guardrails and to cap pages at
// page-size entries (both sides ask for maxResults=1000). Prints one JSON
// line: {"kind":"catalog", "guardrails", "page_size", "pages", "runs",
// "sql_seconds": [...], "sdk_seconds": [...], "sql_rows", "sdk_rows",
// "filtered_requests", "unfiltered_requests"}.
const fs = require('fs');
const http = require('http');
const { emuRequire } = require('./sdk-client');
const { Client } = emuRequire('pg');
const { BedrockClient, paginateListGuardrails } = emuRequire('@aws-sdk/client-bedrock');
const { NodeHttpHandler } = emuRequire('@smithy/node-http-handler');
const { LONG_TERM } = require('../emulator/lib/credentials');

function args(argv) {
  const o = { portFile: null, pgHost: null, pgPort: 5432, guardrails: 5000, pageSize: 100, runs: 5 };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === '--port-file') o.portFile = v;
    else if (k === '--pg-host') o.pgHost = v;
    else if (k === '--pg-port') o.pgPort = Number(v);
    else if (k === '--guardrails') o.guardrails = Number(v);
    else if (k === '--page-size') o.pageSize = Number(v);
    else if (k === '--runs') o.runs = Number(v);
    else throw new Error(`unknown argument ${k}`);
  }
  if (!o.portFile || !o.pgHost) throw new Error('--port-file and --pg-host are required');
  return o;
}

function admin(port, method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const req = http.request(
      { host: '127.0.0.1', port, method, path, agent: false, headers: data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {} },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))) : reject(new Error(`${path}: ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

const seconds = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;

async function main() {
  const o = args(process.argv.slice(2));
  const port = Number(fs.readFileSync(o.portFile, 'utf8').trim());
  await admin(port, 'POST', '/_emulator/catalog', { pageSize: o.pageSize, guardrails: o.guardrails });

  const db = new Client({ host: o.pgHost, port: o.pgPort, user: 'postgres', database: 'postgres' });
  await db.connect();
  await db.query(`CREATE SERVER bench_catalog FOREIGN DATA WRAPPER bedrock_fdw OPTIONS (region 'us-east-1')`);
  await db.query('CREATE USER MAPPING FOR CURRENT_USER SERVER bench_catalog');
  await db.query('CREATE SCHEMA bench_catalog');
  await db.query('IMPORT FOREIGN SCHEMA bedrock LIMIT TO (guardrails) FROM SERVER bench_catalog INTO bench_catalog');

  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const client = new BedrockClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { ...LONG_TERM },
    requestHandler: new NodeHttpHandler({ httpAgent: agent, connectionTimeout: 2000, requestTimeout: 10000 }),
  });
  const sqlScan = async () => Number((await db.query('SELECT count(*) AS n FROM bench_catalog.guardrails')).rows[0].n);
  const sdkScan = async () => {
    let n = 0;
    for await (const page of paginateListGuardrails({ client }, { maxResults: 1000 })) n += page.guardrails.length;
    return n;
  };

  // warm-up: credentials, connections
  await sqlScan();
  await sdkScan();
  const out = { kind: 'catalog', guardrails: o.guardrails, page_size: o.pageSize, pages: Math.ceil(o.guardrails / o.pageSize), runs: o.runs, sql_seconds: [], sdk_seconds: [], sql_rows: 0, sdk_rows: 0 };
  for (let r = 0; r < o.runs; r++) {
    let t0 = process.hrtime.bigint();
    out.sql_rows = await sqlScan();
    out.sql_seconds.push(seconds(t0));
    t0 = process.hrtime.bigint();
    out.sdk_rows = await sdkScan();
    out.sdk_seconds.push(seconds(t0));
  }

  // a pushed filter: one request instead of every page
  await admin(port, 'POST', '/_emulator/reset');
  await admin(port, 'POST', '/_emulator/catalog', { pageSize: o.pageSize, guardrails: o.guardrails });
  await db.query(`SELECT name FROM bench_catalog.guardrails WHERE id = 'g00000000042'`);
  out.filtered_requests = (await admin(port, 'GET', '/_emulator/stats')).controlOps['list-guardrails'];
  await db.query(`SELECT name FROM bench_catalog.guardrails WHERE name = 'guardrail-0042'`);
  out.unfiltered_requests = (await admin(port, 'GET', '/_emulator/stats')).controlOps['list-guardrails'] - out.filtered_requests;

  await db.query('DROP SCHEMA bench_catalog CASCADE');
  await db.query('DROP SERVER bench_catalog');
  await admin(port, 'POST', '/_emulator/reset');
  await db.end();
  client.destroy();
  agent.destroy();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((e) => {
  process.stderr.write(`catalog-scan.js: ${e.stack || e.message}\n`);
  process.exit(1);
});
