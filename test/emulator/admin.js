#!/usr/bin/env node
'use strict';
// Admin CLI for the emulator, for shell scripts and psql "\!" lines.
// Prints NOTHING on success (exit 0), except the commands that exist to print
// (stats, stat, faults, services without an argument). On failure: a message on stderr, exit 1.
//
// Usage: node admin.js --help (the USAGE text below).

const fs = require('fs');
const http = require('http');

const USAGE = [
  "usage: node admin.js [--host H] [--port N | --port-file F] <command> [args]",
  "  fault '<json>'          add a fault (object or array)            POST   /_emulator/faults",
  "  clear                   drop pending faults                      DELETE /_emulator/faults",
  "  faults                  print pending faults (JSON)              GET    /_emulator/faults",
  "  reset                   zero counters, clear faults and clock    POST   /_emulator/reset",
  "  stats                   print the stats JSON                     GET    /_emulator/stats",
  "  stat <dotted.path>      print one stats value (e.g. requests.converse, last.-1.status)",
  "  credentials '<json>'    add/replace a key or a bearer API key    POST   /_emulator/credentials",
  "  credentials-reset       restore the default credentials          DELETE /_emulator/credentials",
  "  clock <seconds>         shift the emulator's clock               POST   /_emulator/clock",
  "  services '<json>'       configure IMDS / container / STS         POST   /_emulator/credential-services",
  "                          (partial: '{\"imds\":{\"lifetimeSeconds\":60}}'); without an argument: print the config",
  "  role '<json>'           add an assumable role {\"arn\",\"externalId\"?,\"account\"?}   POST /_emulator/roles",
  "  sts-log                 print the AssumeRole requests STS saw    GET    /_emulator/sts-log",
  "  web-identity-token T    register a web identity token (T, or '{\"token\":…,\"subject\":…}')",
  "                                                                   POST   /_emulator/web-identity-tokens",
  "  catalog '<json>'        catalog lists: {\"pageSize\":N|null, \"guardrails\":N|null, \"jobs\":[{\"jobName\",…}]}",
  "                          (pageSize caps every list page; without an argument: print it)",
  "                                                                   POST   /_emulator/catalog",
  "  batch '<json>'          batch job knobs (quotas, failures, hold) POST   /_emulator/batch",
  "  batch-reset             forget batch jobs, default knobs         DELETE /_emulator/batch",
  "  wait-ready [seconds]    wait (default 10 s) for the port file and a successful GET",
  "Port: --port, else --port-file, else $BEDROCK_EMULATOR_PORT, else $BEDROCK_EMULATOR_PORT_FILE.",
].join('\n');

function fail(msg) {
  process.stderr.write(`admin.js: ${msg}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const o = { host: process.env.BEDROCK_EMULATOR_HOST || '127.0.0.1', port: null, portFile: null, rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--port' || a === '--port-file' || a === '--host') {
      if (i + 1 >= argv.length) fail(`${a} needs a value`);
      const v = argv[++i];
      if (a === '--port') o.port = v;
      else if (a === '--port-file') o.portFile = v;
      else o.host = v;
    } else if (/^--(port|port-file|host)=/.test(a)) {
      const [k, v] = [a.slice(2, a.indexOf('=')), a.slice(a.indexOf('=') + 1)];
      if (k === 'port') o.port = v;
      else if (k === 'port-file') o.portFile = v;
      else o.host = v;
    } else {
      o.rest.push(a);
    }
  }
  if (o.port == null && o.portFile == null) {
    if (process.env.BEDROCK_EMULATOR_PORT) o.port = process.env.BEDROCK_EMULATOR_PORT;
    else if (process.env.BEDROCK_EMULATOR_PORT_FILE) o.portFile = process.env.BEDROCK_EMULATOR_PORT_FILE;
  }
  return o;
}

function resolvePort(o) {
  let p = o.port;
  if (p == null && o.portFile != null) {
    try {
      p = fs.readFileSync(o.portFile, 'utf8').trim();
    } catch (e) {
      throw new Error(`cannot read port file ${o.portFile}: ${e.code || e.message}`);
    }
  }
  if (p == null) throw new Error('no port: use --port N, --port-file F or set BEDROCK_EMULATOR_PORT');
  const n = Number(p);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`invalid port ${JSON.stringify(p)}`);
  return n;
}

function request(host, port, method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const req = http.request(
      {
        host,
        port,
        method,
        path,
        agent: false,
        headers: data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {},
        timeout: 5000,
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed = null;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = null;
          }
          resolve({ status: res.statusCode, text, json: parsed });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

function lookup(obj, dotted) {
  let cur = obj;
  for (const part of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    if (Array.isArray(cur) && /^-?\d+$/.test(part)) {
      const i = Number(part);
      cur = cur[i < 0 ? cur.length + i : i];
    } else if (Object.prototype.hasOwnProperty.call(cur, part)) {
      cur = cur[part];
    } else {
      return undefined;
    }
  }
  return cur;
}

function printValue(v) {
  if (typeof v === 'string') process.stdout.write(`${v}\n`);
  else if (v === null || typeof v !== 'object') process.stdout.write(`${String(v)}\n`);
  else process.stdout.write(`${JSON.stringify(v)}\n`);
}

function parseJsonArg(s, what) {
  if (s === undefined) fail(`${what} needs a JSON argument`);
  try {
    return JSON.parse(s);
  } catch (e) {
    return fail(`${what}: invalid JSON: ${e.message}`);
  }
}

async function call(o, method, path, body) {
  const port = resolvePort(o);
  let r;
  try {
    r = await request(o.host, port, method, path, body);
  } catch (e) {
    throw new Error(`cannot reach emulator at ${o.host}:${port}: ${e.code || e.message}`);
  }
  if (r.status !== 200) throw new Error(`${method} ${path} -> ${r.status}: ${(r.json && r.json.error) || r.text}`);
  return r.json;
}

async function waitReady(o, seconds) {
  const deadline = Date.now() + seconds * 1000;
  let lastErr = 'not started';
  while (Date.now() < deadline) {
    try {
      const port = resolvePort(o);
      const r = await request(o.host, port, 'GET', '/_emulator/health');
      if (r.status === 200 && r.json && r.json.ok) return;
      lastErr = `health returned ${r.status}`;
    } catch (e) {
      lastErr = e.code || e.message;
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`emulator not ready after ${seconds} s (${lastErr})`);
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const [cmd, ...args] = o.rest;
  if (cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (cmd === undefined) fail(`no command\n${USAGE}`);
  switch (cmd) {
    case 'fault':
      await call(o, 'POST', '/_emulator/faults', parseJsonArg(args[0], 'fault'));
      return;
    case 'clear':
      await call(o, 'DELETE', '/_emulator/faults');
      return;
    case 'faults':
      printValue((await call(o, 'GET', '/_emulator/faults')).faults);
      return;
    case 'reset':
      await call(o, 'POST', '/_emulator/reset');
      return;
    case 'stats':
      process.stdout.write(`${JSON.stringify(await call(o, 'GET', '/_emulator/stats'), null, 2)}\n`);
      return;
    case 'stat': {
      if (!args[0]) fail('stat needs a dotted path, e.g. requests.converse');
      const v = lookup(await call(o, 'GET', '/_emulator/stats'), args[0]);
      if (v === undefined) fail(`no such stat: ${args[0]}`);
      printValue(v);
      return;
    }
    case 'credentials':
      await call(o, 'POST', '/_emulator/credentials', parseJsonArg(args[0], 'credentials'));
      return;
    case 'credentials-reset':
      await call(o, 'DELETE', '/_emulator/credentials');
      return;
    case 'clock': {
      const s = Number(args[0]);
      if (args[0] === undefined || !Number.isFinite(s)) fail('clock needs a number of seconds');
      await call(o, 'POST', '/_emulator/clock', { offsetSeconds: s });
      return;
    }
    case 'services':
      if (args[0] === undefined) process.stdout.write(`${JSON.stringify(await call(o, 'GET', '/_emulator/credential-services'), null, 2)}\n`);
      else await call(o, 'POST', '/_emulator/credential-services', parseJsonArg(args[0], 'services'));
      return;
    case 'role':
      await call(o, 'POST', '/_emulator/roles', parseJsonArg(args[0], 'role'));
      return;
    case 'batch':
      await call(o, 'POST', '/_emulator/batch', parseJsonArg(args[0], 'batch'));
      return;
    case 'batch-reset':
      await call(o, 'DELETE', '/_emulator/batch');
      return;
    case 'sts-log':
      process.stdout.write(`${JSON.stringify(await call(o, 'GET', '/_emulator/sts-log'), null, 2)}\n`);
      return;
    case 'web-identity-token': {
      if (args[0] === undefined || args[0] === '') fail('web-identity-token needs a token or a JSON object');
      const spec = args[0].trim().startsWith('{') ? parseJsonArg(args[0], 'web-identity-token') : { token: args[0] };
      await call(o, 'POST', '/_emulator/web-identity-tokens', spec);
      return;
    }
    case 'catalog':
      if (args[0] === undefined) printValue(await call(o, 'GET', '/_emulator/catalog'));
      else await call(o, 'POST', '/_emulator/catalog', parseJsonArg(args[0], 'catalog'));
      return;
    case 'wait-ready': {
      const s = args[0] === undefined ? 10 : Number(args[0]);
      if (!Number.isFinite(s) || s <= 0) fail('wait-ready takes a positive number of seconds');
      await waitReady(o, s);
      return;
    }
    case undefined:
      fail('missing command (fault, clear, faults, reset, stats, stat, credentials, credentials-reset, clock, services, role, sts-log, web-identity-token, catalog, batch, batch-reset, wait-ready)');
      return;
    default:
      fail(`unknown command ${cmd}`);
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (e) => fail(e.message),
  );
}

module.exports = { lookup, parseArgs };
