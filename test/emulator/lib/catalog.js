'use strict';
// The control plane's list operations that bedrock_fdw's catalog foreign tables read
// (ListGuardrails, ListModelInvocationJobs) and the pagination they share with
// ListInferenceProfiles: maxResults and an opaque nextToken, as the service model says
// (aws-protocol.md section 5, aws-batch-inference.md section 1.4).
//
// Test knobs (POST /_emulator/catalog): pageSize caps every page below what maxResults asks
// (so that a test sees many pages without many rows), guardrails replaces the guardrail
// list with that many generated ones. Jobs come from emulator.batchJobs (a Map that the
// batch-job API fills) when there is one; the list is read-only here.

const { ACCOUNT, inferenceProfiles, profileSummary } = require('./models');

const one = (v) => (Array.isArray(v) ? v[0] : v);

const JOB_STATUSES = ['Submitted', 'InProgress', 'Completed', 'Failed', 'Stopping', 'Stopped', 'PartiallyCompleted', 'Expired', 'Validating', 'Scheduled'];

function validationMessage(value, member, constraint) {
  return `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: ${constraint}`;
}

const DEFAULT_GUARDRAILS = [
  { id: 'gr1abc2def3g', name: 'pii-filter', description: 'Masks personal data in prompts and responses.', status: 'READY', version: 'DRAFT', createdAt: '2025-03-01T10:00:00.123456789Z', updatedAt: '2025-03-02T08:30:00Z' },
  { id: 'gr4hij5klm6n', name: 'no-medical-advice', description: 'Denies medical advice topics.', status: 'READY', version: '2', createdAt: '2025-04-10T09:15:00Z', updatedAt: '2025-05-01T12:00:00Z' },
  { id: 'gr7opq8rst9u', name: 'profanity', status: 'FAILED', version: 'DRAFT', createdAt: '2025-06-20T16:45:30.5Z', updatedAt: '2025-06-20T16:46:00Z' },
];

function generatedGuardrails(n) {
  const list = [];
  for (let i = 1; i <= n; i++) {
    const id = `g${String(i).padStart(11, '0')}`;
    list.push({
      id,
      name: `guardrail-${String(i).padStart(4, '0')}`,
      description: `Generated guardrail number ${i}.`,
      status: 'READY',
      version: String(1 + (i % 3)),
      createdAt: new Date(Date.UTC(2025, 0, 1) + i * 60000).toISOString(),
      updatedAt: new Date(Date.UTC(2025, 0, 2) + i * 60000).toISOString(),
    });
  }
  return list;
}

const SUMMARY_FIELDS = ['jobArn', 'jobName', 'modelId', 'clientRequestToken', 'roleArn', 'status', 'message', 'submitTime', 'lastModifiedTime', 'endTime', 'inputDataConfig', 'outputDataConfig', 'vpcConfig', 'timeoutDurationInHours', 'jobExpirationTime', 'modelInvocationType', 'totalRecordCount', 'processedRecordCount', 'successRecordCount', 'errorRecordCount'];
const TIME_FIELDS = new Set(['submitTime', 'lastModifiedTime', 'endTime', 'jobExpirationTime']);

/** A ModelInvocationJobSummary from a job record: its summary members only, times as ISO-8601. */
function jobSummary(job) {
  const s = {};
  for (const k of SUMMARY_FIELDS) {
    let v = job[k];
    if (v === undefined || v === null) continue;
    if (TIME_FIELDS.has(k) && (typeof v === 'number' || v instanceof Date)) v = new Date(v).toISOString();
    s[k] = v;
  }
  return s;
}

/**
 * Put jobs into jobs (a Map, id -> record) for tests that list them without running them:
 * each spec {jobName, modelId?, status?, submitTime?, message?, ...} is completed with an id,
 * an ARN, a role and S3 locations. Returns the ids.
 */
function seedJobs(jobs, specs, region, now) {
  if (!Array.isArray(specs)) throw new Error('jobs must be an array of job objects');
  const ids = [];
  for (const spec of specs) {
    if (spec === null || typeof spec !== 'object' || typeof spec.jobName !== 'string') throw new Error('every job needs a jobName');
    if (spec.status != null && !JOB_STATUSES.includes(spec.status)) throw new Error(`unknown job status ${spec.status}`);
    let id;
    do id = Array.from({ length: 12 }, () => 'abcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(Math.random() * 36)]).join('');
    while (jobs.has(id));
    const submitTime = spec.submitTime || new Date(now).toISOString();
    jobs.set(id, {
      jobArn: `arn:aws:bedrock:${region}:${ACCOUNT}:model-invocation-job/${id}`,
      modelId: 'anthropic.claude-3-haiku-20240307-v1:0',
      roleArn: `arn:aws:iam::${ACCOUNT}:role/BedrockBatchRole`,
      status: 'Submitted',
      inputDataConfig: { s3InputDataConfig: { s3Uri: `s3://bedrock-fdw-test/in/${spec.jobName}/`, s3InputFormat: 'JSONL' } },
      outputDataConfig: { s3OutputDataConfig: { s3Uri: `s3://bedrock-fdw-test/out/${spec.jobName}/` } },
      timeoutDurationInHours: 24,
      lastModifiedTime: submitTime,
      ...spec,
      submitTime,
    });
    ids.push(id);
  }
  return ids;
}

class Catalog {
  constructor() {
    this.reset();
  }

  reset() {
    this.pageSize = null; // no cap beyond maxResults
    this.guardrails = DEFAULT_GUARDRAILS;
  }

  publicConfig() {
    return { pageSize: this.pageSize, guardrails: this.guardrails.length };
  }

  /** cfg: {pageSize: 1..1000 or null, guardrails: number (generate that many) or null (defaults)} */
  configure(cfg) {
    if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) throw new Error('catalog configuration must be a JSON object');
    for (const k of Object.keys(cfg)) {
      if (k !== 'pageSize' && k !== 'guardrails') throw new Error(`unknown catalog setting ${k}`);
    }
    if (cfg.pageSize !== undefined) {
      if (cfg.pageSize !== null && (!Number.isInteger(cfg.pageSize) || cfg.pageSize < 1 || cfg.pageSize > 1000)) throw new Error('pageSize must be an integer from 1 to 1000, or null');
      this.pageSize = cfg.pageSize;
    }
    if (cfg.guardrails !== undefined) {
      if (cfg.guardrails === null) this.guardrails = DEFAULT_GUARDRAILS;
      else if (!Number.isInteger(cfg.guardrails) || cfg.guardrails < 0 || cfg.guardrails > 100000) throw new Error('guardrails must be an integer from 0 to 100000, or null');
      else this.guardrails = generatedGuardrails(cfg.guardrails);
    }
  }

  /**
   * One page of list, following maxResults (1..max) and nextToken (base64 of the next
   * index, bound to the operation). Returns {items, nextToken?} or {error}.
   */
  page(list, query, op, max = 1000) {
    let size = max;
    if (query.maxResults != null) {
      size = Number(one(query.maxResults));
      if (!Number.isInteger(size) || size < 1 || size > max) {
        return { error: validationMessage(one(query.maxResults), 'maxResults', `Member must have value between 1 and ${max}`) };
      }
    }
    if (this.pageSize != null) size = Math.min(size, this.pageSize);
    let start = 0;
    if (query.nextToken != null) {
      const m = /^([a-z-]+):(\d+)$/.exec(Buffer.from(String(one(query.nextToken)), 'base64').toString('utf8'));
      if (!m || m[1] !== op) return { error: 'The pagination token is invalid.' };
      start = Number(m[2]);
    }
    const items = list.slice(start, start + size);
    const out = { items };
    if (start + size < list.length) out.nextToken = Buffer.from(`${op}:${start + size}`).toString('base64');
    return out;
  }

  /** ListInferenceProfiles: GET /inference-profiles?type&maxResults&nextToken */
  listInferenceProfiles(query, region) {
    const r = inferenceProfiles(query);
    if (r.error) return r;
    const p = this.page(r.list, query, 'inference-profiles');
    if (p.error) return p;
    const body = { inferenceProfileSummaries: p.items.map((x) => profileSummary(x, region)) };
    if (p.nextToken) body.nextToken = p.nextToken;
    return { body };
  }

  /** ListGuardrails: GET /guardrails?guardrailIdentifier&maxResults&nextToken */
  listGuardrails(query, region) {
    let list = this.guardrails;
    const ident = one(query.guardrailIdentifier);
    if (ident != null) {
      const arn = /^arn:aws:bedrock:[a-z0-9-]+:\d{12}:guardrail\/([a-z0-9]+)$/.exec(ident);
      const id = arn ? arn[1] : ident;
      list = list.filter((g) => g.id === id);
    }
    const p = this.page(list, query, 'guardrails');
    if (p.error) return p;
    const body = {
      guardrails: p.items.map((g) => {
        const s = { id: g.id, arn: `arn:aws:bedrock:${region}:${ACCOUNT}:guardrail/${g.id}`, status: g.status, name: g.name };
        if (g.description !== undefined) s.description = g.description;
        return Object.assign(s, { version: g.version, createdAt: g.createdAt, updatedAt: g.updatedAt });
      }),
    };
    if (p.nextToken) body.nextToken = p.nextToken;
    return { body };
  }

  /**
   * ListModelInvocationJobs: GET /model-invocation-jobs with statusEquals, nameContains,
   * submitTimeAfter/Before, sortBy, sortOrder, maxResults, nextToken. jobs: an iterable of
   * job records in the GetModelInvocationJob shape (batch_jobs.js), or nothing.
   */
  listModelInvocationJobs(query, jobs) {
    const status = one(query.statusEquals);
    if (status != null && !JOB_STATUSES.includes(status)) {
      return { error: validationMessage(status, 'statusEquals', `Member must satisfy enum value set: [${JOB_STATUSES.join(', ')}]`) };
    }
    const name = one(query.nameContains);
    if (name != null && !/^[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9+\-.]){0,63}$/.test(name)) {
      return { error: validationMessage(name, 'nameContains', 'Member must satisfy regular expression pattern: [a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9\\+\\-\\.]){0,63}') };
    }
    const sortOrder = one(query.sortOrder);
    if (sortOrder != null && sortOrder !== 'Ascending' && sortOrder !== 'Descending') {
      return { error: validationMessage(sortOrder, 'sortOrder', 'Member must satisfy enum value set: [Ascending, Descending]') };
    }
    const after = one(query.submitTimeAfter);
    const before = one(query.submitTimeBefore);
    for (const [v, member] of [[after, 'submitTimeAfter'], [before, 'submitTimeBefore']]) {
      if (v != null && Number.isNaN(Date.parse(v))) return { error: validationMessage(v, member, 'Member must be a timestamp') };
    }
    let list = jobs ? Array.from(jobs, jobSummary) : [];
    list = list.filter((j) => {
      if (status != null && j.status !== status) return false;
      if (name != null && !(j.jobName || '').includes(name)) return false;
      if (after != null && Date.parse(j.submitTime) <= Date.parse(after)) return false;
      if (before != null && Date.parse(j.submitTime) >= Date.parse(before)) return false;
      return true;
    });
    list.sort((a, b) => Date.parse(a.submitTime) - Date.parse(b.submitTime));
    if (sortOrder !== 'Ascending') list.reverse(); // newest first unless asked otherwise
    const p = this.page(list, query, 'model-invocation-jobs');
    if (p.error) return p;
    const body = { invocationJobSummaries: p.items };
    if (p.nextToken) body.nextToken = p.nextToken;
    return { body };
  }
}

module.exports = { Catalog, DEFAULT_GUARDRAILS, JOB_STATUSES, jobSummary, seedJobs };
