'use strict';
// Conformance: the official AWS SDK for JavaScript v3 talks to the emulator.
const test = require('node:test');
const assert = require('node:assert/strict');
const { BedrockRuntimeClient, ConverseCommand, InvokeModelCommand } = require('@aws-sdk/client-bedrock-runtime');
const { NodeHttpHandler } = require('@smithy/node-http-handler');
const t = require('../lib/testkit');

let port;
let emu;
let stop;
const clients = [];

test.before(async () => {
  ({ port, emu, stop } = await t.startEmulator());
});
test.after(async () => {
  for (const c of clients) c.destroy();
  await stop();
});
test.beforeEach(() => emu.resetStats());

function client(credentials, extra = {}) {
  const c = new BedrockRuntimeClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { ...credentials }, // the SDK annotates the object: pass a mutable copy
    requestHandler: new NodeHttpHandler({ connectionTimeout: 2000, requestTimeout: 10000 }),
    ...extra,
  });
  // capture raw response headers (InvokeModel's token-count headers are not modeled)
  c.lastHeaders = null;
  c.middlewareStack.add(
    (next) => async (args) => {
      const out = await next(args);
      c.lastHeaders = out.response && out.response.headers;
      return out;
    },
    { step: 'deserialize', name: 'captureHeaders' },
  );
  clients.push(c);
  return c;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const msg = (text) => [{ role: 'user', content: [{ text }] }];

test('ConverseCommand round-trips with long-term and temporary credentials', async () => {
  for (const creds of [t.LONG_TERM, t.TEMPORARY]) {
    const c = client(creds);
    const out = await c.send(
      new ConverseCommand({
        modelId: 'anthropic.claude-3-haiku-20240307-v1:0',
        system: [{ text: 'Be brief.' }],
        messages: msg('Tell me about foreign data wrappers'),
        inferenceConfig: { maxTokens: 100, temperature: 0.2 },
      }),
    );
    assert.equal(out.output.message.role, 'assistant');
    assert.equal(out.output.message.content[0].text, 'Summary (6 words): Tell me about foreign data wrappers');
    assert.equal(out.stopReason, 'end_turn');
    assert.equal(out.usage.totalTokens, out.usage.inputTokens + out.usage.outputTokens);
    assert.ok(out.metrics.latencyMs >= 1);
    assert.equal(out.$metadata.httpStatusCode, 200);
    assert.match(out.$metadata.requestId, UUID);
  }
  const last = emu.stats.last;
  assert.deepEqual(last.map((x) => [x.accessKeyId, x.sessionToken]), [
    ['AKIDEMULATOR00000001', false],
    ['ASIAEMULATOR00000002', true],
  ]);
});

test('ConverseCommand on gpt-oss returns reasoningContent then text', async () => {
  const out = await client(t.LONG_TERM).send(new ConverseCommand({ modelId: 'openai.gpt-oss-20b-1:0', messages: msg('hello') }));
  assert.ok(out.output.message.content[0].reasoningContent.reasoningText.text);
  assert.equal(out.output.message.content[1].text, 'Summary (1 word): hello');
});

test('InvokeModelCommand: Titan embeddings v2 and gpt-oss (body decodes, token headers present)', async () => {
  const c = client(t.TEMPORARY);
  const emb = await c.send(
    new InvokeModelCommand({
      modelId: 'amazon.titan-embed-text-v2:0',
      contentType: 'application/json',
      accept: 'application/json',
      body: JSON.stringify({ inputText: 'hello world', dimensions: 256 }),
    }),
  );
  const ej = JSON.parse(Buffer.from(emb.body).toString('utf8'));
  assert.equal(ej.embedding.length, 256);
  assert.equal(ej.inputTextTokenCount, 3);
  assert.equal(emb.contentType, 'application/json');
  assert.equal(c.lastHeaders['x-amzn-bedrock-input-token-count'], '3');
  assert.ok(c.lastHeaders['x-amzn-bedrock-invocation-latency']);
  assert.equal(c.lastHeaders['x-amzn-bedrock-output-token-count'], undefined);

  const gpt = await c.send(
    new InvokeModelCommand({
      modelId: 'openai.gpt-oss-120b-1:0',
      contentType: 'application/json',
      body: JSON.stringify({ messages: [{ role: 'user', content: 'What is 2+2?' }], max_completion_tokens: 64 }),
    }),
  );
  const gj = JSON.parse(Buffer.from(gpt.body).toString('utf8'));
  assert.match(gj.choices[0].message.content, /^<reasoning>.*<\/reasoning>Summary/);
  assert.equal(c.lastHeaders['x-amzn-bedrock-input-token-count'], String(gj.usage.prompt_tokens));
  assert.equal(c.lastHeaders['x-amzn-bedrock-output-token-count'], String(gj.usage.completion_tokens));
});

test('an inference-profile ARN (with "/") and an application profile ARN round-trip', async () => {
  const c = client(t.LONG_TERM);
  for (const modelId of [
    'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0',
    'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6',
    'arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1',
  ]) {
    const out = await c.send(new ConverseCommand({ modelId, messages: msg('profile test') }));
    assert.equal(out.output.message.content[0].text, 'Summary (2 words): profile test');
  }
  assert.equal(emu.stats.last[0].path, '/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse');
});

test('errors surface as the SDK exception types', async () => {
  const c = client(t.LONG_TERM);
  await assert.rejects(c.send(new ConverseCommand({ modelId: 'no.such-model-v9:0', messages: msg('x') })), (e) => {
    assert.equal(e.name, 'ValidationException');
    assert.equal(e.message, 'The provided model identifier is invalid.');
    assert.equal(e.$metadata.httpStatusCode, 400);
    assert.match(e.$metadata.requestId, UUID);
    assert.equal(e.$fault, 'client');
    return true;
  });
  await assert.rejects(c.send(new ConverseCommand({ modelId: 'anthropic.claude-3-opus-20240229-v1:0', messages: msg('x') })), (e) => {
    assert.equal(e.name, 'AccessDeniedException');
    assert.equal(e.message, "You don't have access to the model with the specified model ID.");
    assert.equal(e.$metadata.httpStatusCode, 403);
    return true;
  });
  await assert.rejects(c.send(new ConverseCommand({ modelId: 'anthropic.claude-3-haiku-20240307-v1:0', messages: msg('x'), inferenceConfig: { temperature: 1.5 } })), (e) => {
    assert.equal(e.name, 'ValidationException');
    assert.match(e.message, /^1 validation error detected: Value '1\.5' at 'inferenceConfig\.temperature'/);
    return true;
  });
  const wrong = client({ accessKeyId: t.LONG_TERM.accessKeyId, secretAccessKey: 'wrong-secret' });
  await assert.rejects(wrong.send(new ConverseCommand({ modelId: 'anthropic.claude-3-haiku-20240307-v1:0', messages: msg('x') })), (e) => {
    assert.equal(e.name, 'InvalidSignatureException');
    assert.equal(e.$metadata.httpStatusCode, 403);
    assert.match(e.message, /signature we calculated does not match/);
    return true;
  });
  const unknown = client({ accessKeyId: 'AKIDNOBODY0000000000', secretAccessKey: 'x' });
  await assert.rejects(unknown.send(new ConverseCommand({ modelId: 'anthropic.claude-3-haiku-20240307-v1:0', messages: msg('x') })), (e) => {
    assert.equal(e.name, 'UnrecognizedClientException');
    return true;
  });
  assert.equal(emu.stats.rejected.mismatch, 1);
  assert.equal(emu.stats.rejected.unknown_key, 1);
});

test('a throttle fault for 2 requests is retried by the SDK to success', async () => {
  emu.faults.add({ type: 'throttle', count: 2, route: 'converse' });
  const c = client(t.LONG_TERM);
  const out = await c.send(new ConverseCommand({ modelId: 'anthropic.claude-3-haiku-20240307-v1:0', messages: msg('retry me') }));
  assert.equal(out.$metadata.attempts, 3);
  assert.equal(out.output.message.content[0].text, 'Summary (2 words): retry me');
  assert.equal(emu.stats.requests.converse, 3);
  assert.equal(emu.stats.faults.throttle, 2);
  assert.deepEqual(
    emu.stats.last.map((x) => [x.status, (x.amzSdkRequest || '').replace(/; ttl=\S+/, '')]),
    [
      [429, 'attempt=1; max=3'],
      [429, 'attempt=2; max=3'],
      [200, 'attempt=3; max=3'],
    ],
  );
});

test('the SDK reuses its keep-alive connection', async () => {
  const c = client(t.LONG_TERM);
  for (let i = 0; i < 3; i++) await c.send(new ConverseCommand({ modelId: 'anthropic.claude-3-haiku-20240307-v1:0', messages: msg(`n${i}`) }));
  assert.equal(emu.stats.connections, 1);
});

test('Bedrock API key (bearer) auth through the SDK', async () => {
  emu.store.putBearer({ bearer: 'ABSKZW11bGF0b3I=' });
  const c = new BedrockRuntimeClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    token: { token: 'ABSKZW11bGF0b3I=' },
    authSchemePreference: ['httpBearerAuth'],
    requestHandler: new NodeHttpHandler(),
  });
  clients.push(c);
  const out = await c.send(new ConverseCommand({ modelId: 'openai.gpt-oss-20b-1:0', messages: msg('bearer') }));
  assert.equal(out.output.message.content[1].text, 'Summary (1 word): bearer');
  assert.equal(emu.stats.last.at(-1).auth, 'bearer');
});

test('InvokeModelCommand: Cohere Embed v3/v4 and Titan v1 (96 texts a request, 97 refused)', async () => {
  const c = client(t.TEMPORARY);
  const texts = Array.from({ length: 96 }, (_, i) => `text number ${i}`);
  const send = (modelId, body) =>
    c.send(new InvokeModelCommand({ modelId, contentType: 'application/json', accept: 'application/json', body: JSON.stringify(body) }));
  const v3 = JSON.parse(Buffer.from((await send('cohere.embed-english-v3', { texts, input_type: 'search_document' })).body).toString('utf8'));
  assert.equal(v3.embeddings.length, 96);
  assert.ok(Number(c.lastHeaders['x-amzn-bedrock-input-token-count']) > 0);
  const v4 = JSON.parse(
    Buffer.from((await send('cohere.embed-v4:0', { texts: ['a'], input_type: 'search_query', output_dimension: 512, embedding_types: ['float'] })).body).toString('utf8'),
  );
  assert.equal(v4.embeddings.float[0].length, 512);
  const v1 = JSON.parse(Buffer.from((await send('amazon.titan-embed-text-v1', { inputText: 'hello' })).body).toString('utf8'));
  assert.equal(v1.embedding.length, 1536);
  await assert.rejects(send('cohere.embed-english-v3', { texts: [...texts, 'x'], input_type: 'search_document' }), (e) => {
    assert.equal(e.name, 'ValidationException');
    assert.match(e.message, /expected maximum item count: 96, found: 97/);
    return true;
  });
});

test('CountTokensCommand: a Converse-shaped input counts as Converse bills it; other providers and profiles are refused', async () => {
  // required here, so that each lane's commands stay in their own block
  const { CountTokensCommand, ValidationException } = require('@aws-sdk/client-bedrock-runtime');
  const c = client(t.LONG_TERM);
  const converse = { system: [{ text: 'Be brief.' }], messages: msg('Count the tokens of this contract clause') };
  const counted = await c.send(new CountTokensCommand({ modelId: 'anthropic.claude-3-haiku-20240307-v1:0', input: { converse } }));
  const answered = await c.send(new ConverseCommand({ modelId: 'anthropic.claude-3-haiku-20240307-v1:0', ...converse }));
  assert.equal(counted.inputTokens, answered.usage.inputTokens);
  assert.equal(counted.$metadata.httpStatusCode, 200);
  assert.match(counted.$metadata.requestId, UUID);
  assert.equal(emu.stats.requests.count_tokens, 1);
  for (const modelId of ['openai.gpt-oss-20b-1:0', 'us.anthropic.claude-3-5-haiku-20241022-v1:0']) {
    await assert.rejects(c.send(new CountTokensCommand({ modelId, input: { converse } })), (e) => {
      assert.ok(e instanceof ValidationException, e.name);
      assert.equal(e.$metadata.httpStatusCode, 400);
      return true;
    });
  }
});

test('ConverseCommand with toolConfig (forced tool) and with outputConfig (structured output)', async () => {
  const c = client(t.TEMPORARY);
  const schema = { type: 'object', properties: { law: { type: 'string' }, amount: { type: 'number' } }, required: ['law', 'amount'], additionalProperties: false };
  const text = 'law: Delaware; amount: 12.5';
  const tool = await c.send(
    new ConverseCommand({
      modelId: 'anthropic.claude-3-haiku-20240307-v1:0',
      messages: msg(text),
      toolConfig: { tools: [{ toolSpec: { name: 'extract', inputSchema: { json: schema } } }], toolChoice: { tool: { name: 'extract' } } },
    }),
  );
  assert.equal(tool.stopReason, 'tool_use');
  assert.deepEqual(tool.output.message.content[0].toolUse.input, { law: 'Delaware', amount: 12.5 });

  // This SDK version (3.967) does not model outputConfig yet and would drop it: a build-step
  // middleware adds it to the serialized body, which the SDK then signs as usual.
  const outputConfig = { textFormat: { type: 'json_schema', structure: { jsonSchema: { schema: JSON.stringify(schema), name: 'contract' } } } };
  c.middlewareStack.add(
    (next) => async (args) => {
      const body = JSON.parse(args.request.body);
      args.request.body = JSON.stringify({ ...body, outputConfig });
      args.request.headers['content-length'] = String(Buffer.byteLength(args.request.body));
      return next(args);
    },
    { step: 'build', name: 'addOutputConfig' },
  );
  const native = await c.send(new ConverseCommand({ modelId: 'openai.gpt-oss-20b-1:0', messages: msg(text) }));
  assert.equal(native.stopReason, 'end_turn');
  assert.deepEqual(JSON.parse(native.output.message.content[0].text), { law: 'Delaware', amount: 12.5 });
  assert.equal(emu.stats.structured.output_format, 1);
  assert.equal(emu.stats.structured.tool, 1);
  await assert.rejects(c.send(new ConverseCommand({ modelId: 'anthropic.claude-3-haiku-20240307-v1:0', messages: msg(text) })), (e) => {
    assert.equal(e.name, 'ValidationException');
    assert.match(e.message, /doesn't support structured output/);
    return true;
  });
  c.middlewareStack.remove('addOutputConfig');
});
