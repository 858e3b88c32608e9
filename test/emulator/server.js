#!/usr/bin/env node
'use strict';
// Local AWS Bedrock Runtime emulator for bedrock_fdw tests.
// Usage: node server.js [--host 127.0.0.1] [--port 0] [--port-file PATH] [--region us-east-1]
//                       [--max-body-bytes N] [--quiet]

const fs = require('fs');
const path = require('path');
const { createEmulator, isLoopbackAddress } = require('./lib/emulator');

function usage(msg) {
  if (msg) process.stderr.write(`server.js: ${msg}\n`);
  process.stderr.write(
    'usage: node server.js [--host 127.0.0.1] [--port 0] [--port-file PATH] [--region us-east-1] [--max-body-bytes N] [--quiet]\n',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const o = { host: '127.0.0.1', port: 0, portFile: null, region: 'us-east-1', quiet: false, maxBodyBytes: null };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let val = null;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) {
      val = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const next = () => {
      if (val !== null) return val;
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--host':
        o.host = next();
        break;
      case '--port': {
        const p = Number(next());
        if (!Number.isInteger(p) || p < 0 || p > 65535) usage('--port must be 0..65535');
        o.port = p;
        break;
      }
      case '--port-file':
        o.portFile = next();
        break;
      case '--region':
        o.region = next();
        if (!/^[a-z0-9-]+$/.test(o.region)) usage('--region must look like us-east-1');
        break;
      case '--max-body-bytes': {
        const n = Number(next());
        if (!Number.isInteger(n) || n < 1) usage('--max-body-bytes must be a positive integer');
        o.maxBodyBytes = n;
        break;
      }
      case '--quiet':
        o.quiet = true;
        break;
      case '-h':
      case '--help':
        usage();
        break;
      default:
        usage(`unknown argument ${a}`);
    }
  }
  return o;
}

function writePortFile(file, port) {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, `${port}\n`);
  fs.renameSync(tmp, file);
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!isLoopbackAddress(o.host)) usage(`refusing non-loopback host ${o.host} (use 127.0.0.1)`);
  const emu = createEmulator({ region: o.region, quiet: o.quiet, maxBodyBytes: o.maxBodyBytes || undefined });
  let port;
  try {
    port = await emu.listen({ host: o.host, port: o.port });
  } catch (e) {
    process.stderr.write(`server.js: cannot listen on ${o.host}:${o.port}: ${e.message}\n`);
    process.exit(1);
  }
  if (o.portFile) writePortFile(o.portFile, port);
  process.stdout.write(`emulator listening on ${o.host}:${port}\n`);

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    const timer = setTimeout(() => process.exit(0), 2000);
    timer.unref();
    if (o.portFile) {
      try {
        if (fs.readFileSync(o.portFile, 'utf8').trim() === String(port)) fs.unlinkSync(o.portFile);
      } catch {
        // already gone
      }
    }
    emu.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (require.main === module) {
  main();
}

module.exports = { parseArgs };
