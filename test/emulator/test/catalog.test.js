'use strict';
// The control plane's list operations behind bedrock_fdw's catalog foreign tables: filters,
// pagination, the catalog admin knobs and stats, and the official SDK (@aws-sdk/client-bedrock)
// as the conformance client.
const test = require('node:test');
const assert = require('node:assert/strict');
const {
  BedrockClient,
  ListFoundationModelsCommand,
  ListInferenceProfilesCommand,
  ListGuardrailsCommand,
  ListModelInvocationJobsCommand,
  paginateListGuardrails,
  paginateListInferenceProfiles,
  paginateListModelInvocationJobs,
} = require('@aws-sdk/client-bedrock');
const { NodeHttpHandler } = require('@smithy/node-http-handler');
const t = require('../lib/testkit');

let port;
let emu;
let stop;
let client;

test.before(async () => {
  ({ port, emu, stop } = await t.startEmulator());
  client = new BedrockClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { ...t.LONG_TERM },
    requestHandler: new NodeHttpHandler({ connectionTimeout: 2000, requestTimeout: 10000 }),
  });
});
test.after(async () => {
  client.destroy();
  await stop();
});
test.beforeEach(() => {
  emu.resetStats();
  emu.catalog.reset();
  emu.batchJobs = undefined;
});

const get = (path, query) => t.signedCall({ port, method: 'GET', path, query });
const admin = (payload) => t.send({ port, method: 'POST', path: '/_emulator/catalog', headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(payload)) });

test('ListFoundationModels: a LEGACY model, customization and inference-type filters, no pagination', async () => {
  let r = await get('/foundation-models');
  assert.equal(r.status, 200);
  assert.equal(r.json.nextToken, undefined);
  const legacy = r.json.modelSummaries.filter((m) => m.modelLifecycle.status === 'LEGACY');
  assert.deepEqual(legacy.map((m) => m.modelId), ['amazon.titan-text-express-v1']);
  assert.equal(legacy[0].modelLifecycle.endOfLifeTime, '2026-12-31T00:00:00Z');
  r = await get('/foundation-models', { byCustomizationType: 'FINE_TUNING' });
  assert.deepEqual(r.json.modelSummaries.map((m) => m.modelId), ['amazon.titan-text-express-v1']);
  assert.deepEqual(r.json.modelSummaries[0].customizationsSupported, ['FINE_TUNING', 'CONTINUED_PRE_TRAINING']);
  r = await get('/foundation-models', { byCustomizationType: 'DISTILLATION' });
  assert.deepEqual(r.json.modelSummaries, []);
  r = await get('/foundation-models', { byInferenceType: 'PROVISIONED' });
  assert.deepEqual(r.json.modelSummaries.map((m) => m.modelId), ['amazon.titan-text-express-v1']);
  r = await get('/foundation-models', { byCustomizationType: 'LORA' });
  assert.equal(r.status, 400);
  assert.match(r.json.message, /byCustomizationType/);
  assert.equal(emu.stats.controlOps['list-foundation-models'], 5);
  assert.equal(emu.stats.controlParams.byCustomizationType, 3);
  assert.equal(emu.stats.controlParams.byInferenceType, 1);
});

test('ListGuardrails: default list, page cap, tokens bound to the operation, identifier filter', async () => {
  let r = await get('/guardrails');
  assert.equal(r.status, 200);
  assert.equal(r.json.guardrails.length, 3);
  const g = r.json.guardrails[0];
  assert.deepEqual(Object.keys(g), ['id', 'arn', 'status', 'name', 'description', 'version', 'createdAt', 'updatedAt']);
  assert.equal(g.arn, `arn:aws:bedrock:us-east-1:123456789012:guardrail/${g.id}`);
  assert.equal(r.json.guardrails[2].description, undefined);

  assert.equal((await admin({ pageSize: 4, guardrails: 10 })).status, 200);
  const seen = [];
  let token;
  let pages = 0;
  do {
    r = await get('/guardrails', token ? { maxResults: '100', nextToken: token } : { maxResults: '100' });
    assert.equal(r.status, 200);
    assert.ok(r.json.guardrails.length <= 4);
    seen.push(...r.json.guardrails.map((x) => x.name));
    token = r.json.nextToken;
    pages += 1;
  } while (token);
  assert.equal(pages, 3);
  assert.equal(new Set(seen).size, 10);
  assert.equal(emu.stats.controlParams.nextToken, 2);

  // a token of another operation, or garbage, is refused
  const first = await get('/inference-profiles', { maxResults: '1' });
  r = await get('/guardrails', { nextToken: first.json.nextToken });
  assert.equal(r.status, 400);
  r = await get('/guardrails', { maxResults: '0' });
  assert.equal(r.status, 400);
  r = await get('/guardrails', { guardrailIdentifier: 'g00000000007' });
  assert.deepEqual(r.json.guardrails.map((x) => x.name), ['guardrail-0007']);
});

test('ListModelInvocationJobs: empty without a jobs store; seeded jobs filtered, sorted and paged', async () => {
  let r = await get('/model-invocation-jobs');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.invocationJobSummaries, []);
  r = await admin({
    pageSize: 2,
    jobs: [
      { jobName: 'nightly-1', status: 'Completed', submitTime: '2026-01-01T00:00:00Z', endTime: '2026-01-01T02:00:00Z' },
      { jobName: 'nightly-2', status: 'InProgress', submitTime: '2026-01-02T00:00:00Z' },
      { jobName: 'adhoc', status: 'Failed', message: 'could not validate GetObject permissions', submitTime: '2026-01-03T00:00:00Z' },
    ],
  });
  assert.equal(r.status, 200);
  assert.equal(r.json.jobIds.length, 3);
  r = await get('/model-invocation-jobs');
  assert.deepEqual(r.json.invocationJobSummaries.map((j) => j.jobName), ['adhoc', 'nightly-2']);
  const next = await get('/model-invocation-jobs', { nextToken: r.json.nextToken });
  assert.deepEqual(next.json.invocationJobSummaries.map((j) => j.jobName), ['nightly-1']);
  assert.equal(next.json.nextToken, undefined);
  r = await get('/model-invocation-jobs', { statusEquals: 'Completed' });
  assert.deepEqual(r.json.invocationJobSummaries.map((j) => [j.jobName, j.endTime]), [['nightly-1', '2026-01-01T02:00:00Z']]);
  r = await get('/model-invocation-jobs', { nameContains: 'nightly', sortOrder: 'Ascending' });
  assert.deepEqual(r.json.invocationJobSummaries.map((j) => j.jobName), ['nightly-1', 'nightly-2']);
  r = await get('/model-invocation-jobs', { statusEquals: 'Done' });
  assert.equal(r.status, 400);
  assert.match(r.json.message, /statusEquals/);
  assert.match(r.headers['x-amzn-errortype'], /^ValidationException:/);
});

test('admin: bad catalog settings are refused; reset restores the defaults', async () => {
  assert.equal((await admin({ pageSize: 0 })).status, 400);
  assert.equal((await admin({ page: 3 })).status, 400);
  assert.equal((await admin({ jobs: [{ status: 'Completed' }] })).status, 400);
  assert.equal((await admin({ guardrails: 7 })).status, 200);
  await t.send({ port, method: 'POST', path: '/_emulator/reset' });
  assert.equal((await get('/guardrails')).json.guardrails.length, 3);
});

test('SDK: ListFoundationModelsCommand with filters', async () => {
  let out = await client.send(new ListFoundationModelsCommand({ byProvider: 'anthropic', byOutputModality: 'TEXT' }));
  assert.deepEqual(
    out.modelSummaries.map((m) => m.modelId).sort(),
    ['anthropic.claude-3-5-haiku-20241022-v1:0', 'anthropic.claude-3-haiku-20240307-v1:0', 'anthropic.claude-3-opus-20240229-v1:0'],
  );
  out = await client.send(new ListFoundationModelsCommand({ byCustomizationType: 'CONTINUED_PRE_TRAINING' }));
  assert.equal(out.modelSummaries[0].modelLifecycle.status, 'LEGACY');
  assert.equal(emu.stats.controlParams.byProvider, 1);
  assert.equal(emu.stats.rejected.mismatch, 0);
});

test('SDK: ListInferenceProfilesCommand with typeEquals, and the paginators', async () => {
  let out = await client.send(new ListInferenceProfilesCommand({ typeEquals: 'APPLICATION' }));
  assert.deepEqual(out.inferenceProfileSummaries.map((p) => p.inferenceProfileId), ['a1b2c3d4e5f6']);
  assert.ok(out.inferenceProfileSummaries[0].createdAt instanceof Date);

  await admin({ pageSize: 1, guardrails: 5, jobs: [{ jobName: 'a1' }, { jobName: 'a2' }, { jobName: 'a3' }] });
  const ids = [];
  for await (const page of paginateListInferenceProfiles({ client }, {})) ids.push(...page.inferenceProfileSummaries.map((p) => p.inferenceProfileId));
  assert.equal(ids.length, 3);
  const names = [];
  for await (const page of paginateListGuardrails({ client }, { maxResults: 10 })) names.push(...page.guardrails.map((g) => g.name));
  assert.deepEqual(names, ['guardrail-0001', 'guardrail-0002', 'guardrail-0003', 'guardrail-0004', 'guardrail-0005']);
  const jobs = [];
  for await (const page of paginateListModelInvocationJobs({ client }, { nameContains: 'a' })) jobs.push(...page.invocationJobSummaries);
  assert.equal(jobs.length, 3);
  assert.ok(jobs[0].submitTime instanceof Date);
  assert.match(jobs[0].jobArn, /^arn:aws:bedrock:us-east-1:123456789012:model-invocation-job\/[a-z0-9]{12}$/);

  out = await client.send(new ListGuardrailsCommand({}));
  assert.equal(out.guardrails.length, 1);
  assert.ok(out.nextToken);
  out = await client.send(new ListModelInvocationJobsCommand({ statusEquals: 'Submitted', maxResults: 5 }));
  assert.equal(out.invocationJobSummaries.length, 1);
  assert.equal(emu.stats.rejected.mismatch, 0);
  assert.equal(emu.stats.controlOps['list-guardrails'], 6);
});
