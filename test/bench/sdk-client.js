'use strict';
// The official AWS SDK client both SDK sides of `make bench` use:
// BedrockRuntimeClient over NodeHttpHandler with a keep-alive http.Agent
// (maxSockets = the concurrency), pointed at the emulator whose port is in
// portFile, with the emulator's long-term key.  The SDK (and pg) are
// devDependencies of the emulator, so they are resolved from there.
const fs = require('fs');
const http = require('http');
const path = require('path');
const { createRequire } = require('module');

const emuRequire = createRequire(path.join(__dirname, '..', 'emulator', 'package.json'));
const { BedrockRuntimeClient, ConverseCommand } = emuRequire('@aws-sdk/client-bedrock-runtime');
const { NodeHttpHandler } = emuRequire('@smithy/node-http-handler');
const { LONG_TERM } = require('../emulator/lib/credentials');

// runtimeClient(portFile, concurrency, retry) -> { client: the
// BedrockRuntimeClient, destroy(): close it and its connections }.  retry:
// the client's retryMode and maxAttempts, when not the SDK's defaults
// (standard, 3).
function runtimeClient(portFile, concurrency, retry = {}) {
  const port = Number(fs.readFileSync(portFile, 'utf8').trim());
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const client = new BedrockRuntimeClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { ...LONG_TERM },
    ...retry,
    requestHandler: new NodeHttpHandler({ httpAgent: agent, connectionTimeout: 2000, requestTimeout: 10000 }),
  });
  return {
    client,
    destroy: () => {
      client.destroy();
      agent.destroy();
    },
  };
}

// converser(portFile, concurrency, model, retry) -> { converse(text): Promise
// of the Converse response to one user message, destroy(): close the
// connections }.
function converser(portFile, concurrency, model, retry = {}) {
  const { client, destroy } = runtimeClient(portFile, concurrency, retry);
  return {
    converse: (text) =>
      client.send(new ConverseCommand({ modelId: model, messages: [{ role: 'user', content: [{ text }] }] })),
    destroy,
  };
}

module.exports = { converser, runtimeClient, emuRequire, ConverseCommand };
