#!/usr/bin/env node
'use strict';
// Local AWS Bedrock Runtime emulator for bedrock_fdw tests.
// Usage: node server.js [--host 127.0.0.1] [--port 0] [--port-file PATH] [--region us-east-1]
//                       [--max-body-bytes N] [--quiet]
//                       [--tls-cert FILE --tls-key FILE [--tls-port 0] [--tls-port-file PATH]
//                        [--tls-http1-only]]
// With --tls-cert/--tls-key a second listener speaks HTTPS: HTTP/2 when the client offers h2
// (ALPN), HTTP/1.1 otherwise (always, with --tls-http1-only); same routes, signatures, faults and
// stats as the plain port, which keeps serving (the admin API and admin.js use it).

const fs = require('fs');
const path = require('path');
const { createEmulator, isLoopbackAddress } = require('./lib/emulator');

function usage(msg) {
  if (msg) process.stderr.write(`server.js: ${msg}\n`);
  process.stderr.write(
    'usage: node server.js [--host 127.0.0.1] [--port 0] [--port-file PATH] [--region us-east-1] [--max-body-bytes N] [--quiet]\n' +
      '                      [--tls-cert FILE --tls-key FILE [--tls-port 0] [--tls-port-file PATH] [--tls-http1-only]]\n',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const o = {
    host: '127.0.0.1',
    port: 0,
    portFile: null,
    region: 'us-east-1',
    quiet: false,
    maxBodyBytes: null,
    tlsCert: null,
    tlsKey: null,
    tlsPort: 0,
    tlsPortFile: null,
    tlsHttp1Only: false,
  };
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
      case '--tls-cert':
        o.tlsCert = next();
        break;
      case '--tls-key':
        o.tlsKey = next();
        break;
      case '--tls-port': {
        const p = Number(next());
        if (!Number.isInteger(p) || p < 0 || p > 65535) usage('--tls-port must be 0..65535');
        o.tlsPort = p;
        break;
      }
      case '--tls-port-file':
        o.tlsPortFile = next();
        break;
      case '--tls-http1-only':
        o.tlsHttp1Only = true;
        break;
      case '-h':
      case '--help':
        usage();
        break;
      default:
        usage(`unknown argument ${a}`);
    }
  }
  if ((o.tlsCert === null) !== (o.tlsKey === null)) usage('--tls-cert and --tls-key go together');
  if (o.tlsCert === null && (o.tlsPortFile !== null || o.tlsPort !== 0 || o.tlsHttp1Only)) {
    usage('--tls-port, --tls-port-file and --tls-http1-only need --tls-cert and --tls-key');
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
  let tls;
  if (o.tlsCert !== null) {
    try {
      tls = { cert: fs.readFileSync(o.tlsCert), key: fs.readFileSync(o.tlsKey), http1Only: o.tlsHttp1Only };
    } catch (e) {
      process.stderr.write(`server.js: cannot read the TLS certificate or key: ${e.message}\n`);
      process.exit(1);
    }
  }
  let emu;
  try {
    emu = createEmulator({ region: o.region, quiet: o.quiet, maxBodyBytes: o.maxBodyBytes || undefined, tls });
  } catch (e) {
    process.stderr.write(`server.js: ${e.message}\n`);
    process.exit(1);
  }
  let port;
  let tlsPort = null;
  try {
    port = await emu.listen({ host: o.host, port: o.port });
  } catch (e) {
    process.stderr.write(`server.js: cannot listen on ${o.host}:${o.port}: ${e.message}\n`);
    process.exit(1);
  }
  if (tls) {
    try {
      tlsPort = await emu.listenTls({ host: o.host, port: o.tlsPort });
    } catch (e) {
      process.stderr.write(`server.js: cannot listen (TLS) on ${o.host}:${o.tlsPort}: ${e.message}\n`);
      process.exit(1);
    }
    // before the plain port file: whoever waits for that one finds both
    if (o.tlsPortFile) writePortFile(o.tlsPortFile, tlsPort);
  }
  if (o.portFile) writePortFile(o.portFile, port);
  const tlsNote = tls ? ` (https, ${o.tlsHttp1Only ? 'http/1.1 only' : 'h2 and http/1.1'}: ${o.host}:${tlsPort})` : '';
  process.stdout.write(`emulator listening on ${o.host}:${port}${tlsNote}\n`);

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    const timer = setTimeout(() => process.exit(0), 2000);
    timer.unref();
    for (const [file, p] of [[o.portFile, port], [o.tlsPortFile, tlsPort]]) {
      if (!file) continue;
      try {
        if (fs.readFileSync(file, 'utf8').trim() === String(p)) fs.unlinkSync(file);
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
