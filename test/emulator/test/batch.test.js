'use strict';
// Batch inference in the emulator: S3 (PutObject, GetObject, ListObjectsV2 with S3's SigV4 rules)
// and the model invocation job API, driven by the official SDK (@aws-sdk/client-s3,
// @aws-sdk/client-bedrock) and by hand-signed requests for what the SDK never sends.
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('crypto');
const { S3Client, PutObjectCommand, GetObjectCommand, ListObjectsV2Command, HeadObjectCommand } = require('@aws-sdk/client-s3');
const {
  BedrockClient,
  CreateModelInvocationJobCommand,
  GetModelInvocationJobCommand,
  StopModelInvocationJobCommand,
  ListModelInvocationJobsCommand,
} = require('@aws-sdk/client-bedrock');
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
test.beforeEach(() => {
  emu.batch.reset();
  emu.s3.reset();
  emu.batch.configure({ stepMs: 5 });
});

const common = () => ({
  endpoint: `http://127.0.0.1:${port}`,
  region: 'us-east-1',
  credentials: { ...t.LONG_TERM },
  requestHandler: new NodeHttpHandler({ connectionTimeout: 2000, requestTimeout: 10000 }),
});
function s3client(extra = {}) {
  const c = new S3Client({ ...common(), forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED', ...extra });
  clients.push(c);
  return c;
}
function bedrock() {
  const c = new BedrockClient(common());
  clients.push(c);
  return c;
}

const MODEL = 'anthropic.claude-3-haiku-20240307-v1:0';
const ROLE = 'arn:aws:iam::123456789012:role/BedrockBatchRole';

function jsonl(n, { prefix = 'R', text = (i) => `Summarize record number ${i}` } = {}) {
  const lines = [];
  for (let i = 0; i < n; i++) {
    lines.push(JSON.stringify({ recordId: `${prefix}${String(i).padStart(10, '0')}`, modelInput: { messages: [{ role: 'user', content: [{ text: text(i) }] }], inferenceConfig: { maxTokens: 50 } } }));
  }
  return `${lines.join('\n')}\n`;
}

async function waitFor(c, jobArn, done = (s) => ['Completed', 'PartiallyCompleted', 'Failed', 'Stopped', 'Expired'].includes(s)) {
  for (let i = 0; i < 2000; i++) {
    const j = await c.send(new GetModelInvocationJobCommand({ jobIdentifier: jobArn }));
    if (done(j.status)) return j;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('job did not finish');
}

async function getText(s3, Bucket, Key) {
  const o = await s3.send(new GetObjectCommand({ Bucket, Key }));
  return o.Body.transformToString();
}

test('S3 PutObject, GetObject, HeadObject and ListObjectsV2 through the SDK (path-style)', async () => {
  const s3 = s3client();
  const put = await s3.send(new PutObjectCommand({ Bucket: 'my-bucket', Key: 'batch/in put/file+1=a.jsonl', Body: 'hello\n', ContentType: 'application/jsonl' }));
  assert.equal(put.ETag, `"${crypto.createHash('md5').update('hello\n').digest('hex')}"`);
  assert.equal(await getText(s3, 'my-bucket', 'batch/in put/file+1=a.jsonl'), 'hello\n');
  const head = await s3.send(new HeadObjectCommand({ Bucket: 'my-bucket', Key: 'batch/in put/file+1=a.jsonl' }));
  assert.equal(head.ContentLength, 6);
  for (let i = 0; i < 5; i++) await s3.send(new PutObjectCommand({ Bucket: 'my-bucket', Key: `batch/out/k${i}`, Body: `${i}` }));
  const page1 = await s3.send(new ListObjectsV2Command({ Bucket: 'my-bucket', Prefix: 'batch/out/', MaxKeys: 3 }));
  assert.deepEqual(page1.Contents.map((o) => o.Key), ['batch/out/k0', 'batch/out/k1', 'batch/out/k2']);
  assert.equal(page1.IsTruncated, true);
  const page2 = await s3.send(new ListObjectsV2Command({ Bucket: 'my-bucket', Prefix: 'batch/out/', ContinuationToken: page1.NextContinuationToken }));
  assert.deepEqual(page2.Contents.map((o) => o.Key), ['batch/out/k3', 'batch/out/k4']);
  assert.equal(page2.IsTruncated, false);
  const all = await s3.send(new ListObjectsV2Command({ Bucket: 'my-bucket', Prefix: 'batch/' }));
  assert.ok(all.Contents.some((o) => o.Key === 'batch/in put/file+1=a.jsonl'), 'keys come back decoded');
  await assert.rejects(s3.send(new GetObjectCommand({ Bucket: 'my-bucket', Key: 'nope' })), (e) => e.name === 'NoSuchKey' && e.$metadata.httpStatusCode === 404);
  await assert.rejects(s3.send(new ListObjectsV2Command({ Bucket: 'other-bucket' })), (e) => e.name === 'NoSuchBucket');
  assert.ok(emu.stats.requests.s3 >= 10);
});

test('S3 signing rules: no second encoding, x-amz-content-sha256 required, checked and signed', async () => {
  const body = Buffer.from('{"recordId":"r1","modelInput":{"x":1}}\n');
  const sha = crypto.createHash('sha256').update(body).digest('hex');
  const put = (opts) => t.signedCall({ port, method: 'PUT', service: 's3', uriEscapePath: false, path: '/my-bucket/a%2Bb/x%20y.jsonl', body, ...opts });
  let r = await put({ headers: { 'x-amz-content-sha256': sha } });
  assert.equal(r.status, 200);
  assert.equal(emu.s3.get('my-bucket', 'a+b/x y.jsonl').body.toString(), body.toString());
  r = await put({ headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
  assert.equal(r.status, 200);
  // signed as Bedrock signs (path encoded twice): S3 refuses
  r = await put({ uriEscapePath: true, headers: { 'x-amz-content-sha256': sha } });
  assert.equal(r.status, 403);
  assert.match(r.text, /<Code>SignatureDoesNotMatch<\/Code>/);
  r = await put({});
  assert.equal(r.status, 400);
  assert.match(r.text, /<Code>InvalidRequest<\/Code>.*x-amz-content-sha256/s);
  r = await put({ headers: { 'x-amz-content-sha256': 'a'.repeat(64) } });
  assert.equal(r.status, 400);
  assert.match(r.text, /<Code>XAmzContentSHA256Mismatch<\/Code>/);
  assert.match(r.headers['content-type'], /application\/xml/);
});

test('a Converse job runs end to end: statuses, shuffled .out lines joined by recordId, manifest', async () => {
  const s3 = s3client();
  const br = bedrock();
  await s3.send(new PutObjectCommand({ Bucket: 'my-bucket', Key: 'batch/in/job1/part-0.jsonl', Body: jsonl(150) }));
  await s3.send(new PutObjectCommand({ Bucket: 'my-bucket', Key: 'batch/in/job1/part-1.jsonl', Body: jsonl(50, { prefix: 'S' }) }));
  emu.batch.configure({ failEvery: 25 });
  // this SDK predates modelInvocationType (it drops the member): create the job by hand
  const created = await t.signedCall({ port, path: '/model-invocation-job', body: {
    jobName: 'pgbatch-1', roleArn: ROLE, modelId: MODEL, modelInvocationType: 'Converse', clientRequestToken: 'c1',
    inputDataConfig: { s3InputDataConfig: { s3Uri: 's3://my-bucket/batch/in/job1/' } },
    outputDataConfig: { s3OutputDataConfig: { s3Uri: 's3://my-bucket/batch/out/job1/' } },
  } });
  assert.equal(created.status, 200);
  const { jobArn } = created.json;
  assert.match(jobArn, /^arn:aws:bedrock:us-east-1:123456789012:model-invocation-job\/[a-z0-9]{12}$/);
  const seen = new Set();
  const j = await waitFor(br, jobArn, (s) => {
    seen.add(s);
    return s === 'Completed';
  });
  assert.ok(seen.has('Completed'));
  assert.ok(j.endTime instanceof Date);
  const id = jobArn.slice(-12);
  // this SDK predates the record counts of GetModelInvocationJob: read them from the wire
  const raw = JSON.parse((await t.signedCall({ port, method: 'GET', path: `/model-invocation-job/${id}` })).text);
  assert.equal(raw.totalRecordCount, 200);
  assert.equal(raw.errorRecordCount, 8);
  assert.match(raw.submitTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/);
  assert.equal(emu.batchJobs.get(id).status, 'Completed');
  const list = await s3.send(new ListObjectsV2Command({ Bucket: 'my-bucket', Prefix: `batch/out/job1/${id}/` }));
  assert.deepEqual(list.Contents.map((o) => o.Key).sort(), [`batch/out/job1/${id}/manifest.json.out`, `batch/out/job1/${id}/part-0.jsonl.out`, `batch/out/job1/${id}/part-1.jsonl.out`]);
  const lines = (await getText(s3, 'my-bucket', `batch/out/job1/${id}/part-0.jsonl.out`)).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 150);
  assert.notEqual(lines[0].recordId, 'R0000000000', 'lines are shuffled');
  const r7 = lines.find((l) => l.recordId === 'R0000000007');
  assert.equal(r7.modelOutput.output.message.content[0].text.length > 0, true);
  assert.ok(r7.modelInput.messages, 'the input is echoed');
  const failed = lines.filter((l) => l.error);
  assert.equal(failed.length, 6);
  assert.equal(failed[0].error.errorCode, 400);
  const manifest = JSON.parse(await getText(s3, 'my-bucket', `batch/out/job1/${id}/manifest.json.out`));
  assert.equal(manifest.totalRecordCount, 200);
  assert.equal(manifest.successRecordCount, 192);
  assert.equal(manifest.errorRecordCount, 8);
  assert.ok(manifest.inputTokenCount > 0 && manifest.outputTokenCount > 0);
  const listed = await br.send(new ListModelInvocationJobsCommand({ statusEquals: 'Completed' }));
  assert.equal(listed.invocationJobSummaries.length, 1);
  // the default invocation type is InvokeModel: a Converse body is then a per-record error
  const native = await br.send(new CreateModelInvocationJobCommand({
    jobName: 'pgbatch-2', roleArn: ROLE, modelId: MODEL,
    inputDataConfig: { s3InputDataConfig: { s3Uri: 's3://my-bucket/batch/in/job1/part-0.jsonl' } },
    outputDataConfig: { s3OutputDataConfig: { s3Uri: 's3://my-bucket/batch/out/job2' } },
  }));
  const j2 = await waitFor(br, native.jobArn);
  assert.equal(j2.status, 'Completed');
  const bad = JSON.parse((await getText(s3, 'my-bucket', `batch/out/job2/${native.jobArn.slice(-12)}/part-0.jsonl.out`)).split('\n')[0]);
  assert.match(bad.error.errorMessage, /Malformed input request/);
});

test('an InvokeModel job with embedding bodies', async () => {
  const s3 = s3client();
  const br = bedrock();
  const lines = [];
  for (let i = 0; i < 100; i++) lines.push(JSON.stringify({ recordId: `E${String(i).padStart(10, '0')}`, modelInput: { inputText: `text ${i}`, dimensions: 256 } }));
  await s3.send(new PutObjectCommand({ Bucket: 'emb', Key: 'in/all.jsonl', Body: lines.join('\n') }));
  const { jobArn } = await br.send(new CreateModelInvocationJobCommand({
    jobName: 'emb', roleArn: ROLE, modelId: 'amazon.titan-embed-text-v2:0',
    inputDataConfig: { s3InputDataConfig: { s3Uri: 's3://emb/in/all.jsonl' } },
    outputDataConfig: { s3OutputDataConfig: { s3Uri: 's3://emb/out/' } },
  }));
  const j = await waitFor(br, jobArn);
  assert.equal(j.status, 'Completed');
  const out = (await getText(s3, 'emb', `out/${jobArn.slice(-12)}/all.jsonl.out`)).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(out.length, 100);
  assert.equal(out[0].modelOutput.embedding.length, 256);
});

test('validation: minimum records, per-file and per-job quotas, bad lines; request validation', async () => {
  const s3 = s3client();
  const br = bedrock();
  const create = (name, uri, extra = {}) => br.send(new CreateModelInvocationJobCommand({
    jobName: name, roleArn: ROLE, modelId: MODEL, modelInvocationType: 'Converse',
    inputDataConfig: { s3InputDataConfig: { s3Uri: uri } }, outputDataConfig: { s3OutputDataConfig: { s3Uri: 's3://bk1/out/' } }, ...extra,
  }));
  await s3.send(new PutObjectCommand({ Bucket: 'bk1', Key: 'small/a.jsonl', Body: jsonl(99) }));
  let j = await waitFor(br, (await create('small', 's3://bk1/small/')).jobArn);
  assert.equal(j.status, 'Failed');
  assert.match(j.message, /fewer than the minimum of 100/);
  emu.batch.configure({ maxRecordsPerFile: 120, maxRecordsPerJob: 200 });
  await s3.send(new PutObjectCommand({ Bucket: 'bk1', Key: 'big/a.jsonl', Body: jsonl(121) }));
  j = await waitFor(br, (await create('big', 's3://bk1/big/')).jobArn);
  assert.match(j.message, /more than the quota of 120 records per file/);
  await s3.send(new PutObjectCommand({ Bucket: 'bk1', Key: 'many/a.jsonl', Body: jsonl(110) }));
  await s3.send(new PutObjectCommand({ Bucket: 'bk1', Key: 'many/b.jsonl', Body: jsonl(110) }));
  j = await waitFor(br, (await create('many', 's3://bk1/many/')).jobArn);
  assert.match(j.message, /more than the quota of 200 records per job/);
  await s3.send(new PutObjectCommand({ Bucket: 'bk1', Key: 'bad/a.jsonl', Body: `${jsonl(100)}not json\n` }));
  j = await waitFor(br, (await create('bad', 's3://bk1/bad/')).jobArn);
  assert.match(j.message, /Line 101 .* not valid JSON/);
  await assert.rejects(create('bad_name', 's3://bk1/x/'), (e) => e.name === 'ValidationException' && /jobName/.test(e.message));
  await assert.rejects(create('ok', 's3://BK1/x/'), (e) => e.name === 'ValidationException' && /s3Uri/.test(e.message));
  await assert.rejects(create('ok', 's3://bk1/x/', { timeoutDurationInHours: 12 }), (e) => e.name === 'ValidationException');
  await assert.rejects(br.send(new GetModelInvocationJobCommand({ jobIdentifier: 'abcdefabcdef' })), (e) => e.name === 'ResourceNotFoundException');
});

test('idempotency token, concurrency quota, stop, and injected outcomes', async () => {
  const s3 = s3client();
  const br = bedrock();
  await s3.send(new PutObjectCommand({ Bucket: 'bk2', Key: 'in/a.jsonl', Body: jsonl(400) }));
  const req = (name, token) => new CreateModelInvocationJobCommand({
    jobName: name, roleArn: ROLE, modelId: MODEL, modelInvocationType: 'Converse', clientRequestToken: token,
    inputDataConfig: { s3InputDataConfig: { s3Uri: 's3://bk2/in/' } }, outputDataConfig: { s3OutputDataConfig: { s3Uri: 's3://bk2/out/' } },
  });
  emu.batch.configure({ hold: true, maxActiveJobsPerModel: 2 });
  const a = await br.send(req('a', 'tok-1'));
  const again = await br.send(req('a', 'tok-1'));
  assert.equal(again.jobArn, a.jobArn);
  await assert.rejects(br.send(req('b', 'tok-1')), (e) => e.name === 'ConflictException');
  const b = await br.send(req('b', 'tok-2'));
  await assert.rejects(br.send(req('c', 'tok-3')), (e) => e.name === 'ServiceQuotaExceededException');
  await waitFor(br, a.jobArn, (s) => s === 'Scheduled');
  await br.send(new StopModelInvocationJobCommand({ jobIdentifier: a.jobArn }));
  let j = await waitFor(br, a.jobArn);
  assert.equal(j.status, 'Stopped');
  await assert.rejects(br.send(new StopModelInvocationJobCommand({ jobIdentifier: a.jobArn })), (e) => e.name === 'ConflictException');
  emu.batch.configure({ hold: false, nextOutcomes: [{ status: 'PartiallyCompleted' }, { status: 'Expired' }] });
  j = await waitFor(br, b.jobArn);
  assert.equal(j.status, 'Completed');
  const p = await br.send(req('p', 'tok-4'));
  j = await waitFor(br, p.jobArn);
  assert.equal(j.status, 'PartiallyCompleted');
  const out = await getText(s3, 'bk2', `out/${p.jobArn.slice(-12)}/a.jsonl.out`);
  assert.equal(out.trim().split('\n').length, 200);
  const e = await br.send(req('e', 'tok-5'));
  j = await waitFor(br, e.jobArn);
  assert.equal(j.status, 'Expired');
});

test('admin API: batch knobs and the S3 summary', async () => {
  let r = await t.admin(port, 'POST', 'batch', { minRecords: 10, failMarker: 'BOOM' });
  assert.equal(r.status, 200);
  assert.equal(r.json.config.minRecords, 10);
  r = await t.admin(port, 'POST', 'batch', { nope: 1 });
  assert.equal(r.status, 400);
  r = await t.admin(port, 'POST', 's3', { bucket: 'made' });
  assert.deepEqual(r.json.buckets.made, { objects: 0, bytes: 0 });
  r = await t.admin(port, 'GET', 'batch');
  assert.equal(r.json.jobs, 0);
});
