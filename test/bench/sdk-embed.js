'use strict';
// The SDK side of the embedding benchmarks (B5, B6): embed n texts with the
// official AWS SDK's InvokeModelCommand, `concurrency` requests in flight,
// as a careful Node.js job would: Cohere Embed packs 96 texts a request,
// Titan sends one.  Prints one JSON line: requests, texts embedded, errors,
// seconds, texts/s.
//
//   node sdk-embed.js --port-file F --model M --n N --concurrency C
const http = require('http');
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

const emuRequire = createRequire(path.join(__dirname, '..', 'emulator', 'package.json'));
const { BedrockRuntimeClient, InvokeModelCommand } = emuRequire('@aws-sdk/client-bedrock-runtime');
const { NodeHttpHandler } = emuRequire('@smithy/node-http-handler');
const { LONG_TERM } = require('../emulator/lib/credentials');

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}

async function main() {
  const port = Number(fs.readFileSync(arg('port-file'), 'utf8').trim());
  const model = arg('model');
  const n = Number(arg('n', 1000));
  const concurrency = Number(arg('concurrency', 32));
  const cohere = model.startsWith('cohere.');
  const perRequest = cohere ? 96 : 1;
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const client = new BedrockRuntimeClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { ...LONG_TERM },
    requestHandler: new NodeHttpHandler({ httpAgent: agent, connectionTimeout: 2000, requestTimeout: 30000 }),
  });
  const texts = Array.from({ length: n }, (_, i) => `contract clause number ${i + 1} about rent and notice`);
  const batches = [];
  for (let i = 0; i < n; i += perRequest) batches.push(texts.slice(i, i + perRequest));

  let next = 0;
  let embedded = 0;
  let errors = 0;
  let dims = 0;
  const t0 = process.hrtime.bigint();
  async function worker() {
    while (next < batches.length) {
      const batch = batches[next++];
      const body = cohere ? { texts: batch, input_type: 'search_document' } : { inputText: batch[0] };
      try {
        const out = await client.send(
          new InvokeModelCommand({ modelId: model, contentType: 'application/json', accept: 'application/json', body: JSON.stringify(body) }),
        );
        const json = JSON.parse(Buffer.from(out.body).toString('utf8'));
        const vectors = cohere ? json.embeddings : [json.embedding];
        // what a job does with them: Float32Array per text
        for (const v of vectors) dims = Float32Array.from(v).length;
        embedded += vectors.length;
      } catch {
        errors += batch.length;
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  client.destroy();
  agent.destroy();
  console.log(JSON.stringify({ client: 'sdk', requests: batches.length, texts: n, embedded, errors, dims, seconds, rate: embedded / seconds }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
