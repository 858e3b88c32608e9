'use strict';
// Bedrock batch inference (model invocation jobs) on the control plane: CreateModelInvocationJob,
// GetModelInvocationJob, StopModelInvocationJob and ListModelInvocationJobs, with a scheduler
// that moves each job through Submitted -> Validating -> Scheduled -> InProgress -> Completed
// (or PartiallyCompleted, Failed, Stopping -> Stopped, Expired) on an accelerated clock, reads the
// JSONL input from the emulator's S3, runs every record through the same deterministic models as
// the runtime (Converse bodies, or model-native InvokeModel bodies such as embeddings), and writes
// {output}/{jobId}/{file}.jsonl.out and manifest.json.out in Bedrock's formats (reference
// aws-batch-inference.md sections 1 and 2). Quotas and failures are knobs of the admin API.

const crypto = require('crypto');
const { awsError } = require('./errors');
const models = require('./models');
const { handleConverse } = require('./converse');
const { handleInvoke } = require('./invoke');

const ACCOUNT = '123456789012';
const TERMINAL = new Set(['Completed', 'PartiallyCompleted', 'Failed', 'Stopped', 'Expired']);
const STATUSES = ['Submitted', 'InProgress', 'Completed', 'Failed', 'Stopping', 'Stopped', 'PartiallyCompleted', 'Expired', 'Validating', 'Scheduled'];
const JOB_NAME_RE = /^[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9+\-.]){0,63}$/;
const ROLE_ARN_RE = /^arn:aws(-[^:]+)?:iam::([0-9]{12})?:role\/.+$/;
const S3_URI_RE = /^s3:\/\/[a-z0-9][-.a-z0-9]{1,61}[a-z0-9](?:\/[-!_*'().a-z0-9A-Z]+(?:\/[-!_*'().a-z0-9A-Z]+)*)?\/?$/;
const TOKEN_RE = /^[a-zA-Z0-9]{1,256}(-*[a-zA-Z0-9]){0,256}$/;
const ID_RE = /^(?:arn:aws(?:-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:model-invocation-job\/)?([a-z0-9]{12})$/;

/** The knobs, with their defaults: quotas as commonly reported, a fast clock for tests. */
function defaultConfig() {
  return {
    stepMs: 50, // time between two status changes
    recordsPerTick: 2000, // records processed before yielding to the event loop
    minRecords: 100, // minimum records per job
    maxRecordsPerFile: 50000,
    maxRecordsPerJob: 50000,
    maxFileBytes: 1024 * 1024 * 1024,
    maxJobBytes: 5 * 1024 * 1024 * 1024,
    maxActiveJobsPerModel: 20, // Submitted..InProgress jobs per model, else ServiceQuotaExceeded
    failEvery: 0, // every Nth record of a job (in input order) fails with a 400 error line
    failRecordIds: [], // these recordIds fail
    failMarker: null, // records whose modelInput text contains this string fail
    hold: false, // jobs wait in Scheduled until hold is cleared
    echoInput: true, // echo modelInput in the .out lines, as Bedrock does
    shuffle: true, // shuffle each .out file's lines (clients must join on recordId)
    nextOutcomes: [], // queue of {status: Failed|Expired|PartiallyCompleted, message?} for the next jobs
  };
}

const CONFIG_TYPES = {
  stepMs: 'int',
  recordsPerTick: 'int',
  minRecords: 'int',
  maxRecordsPerFile: 'int',
  maxRecordsPerJob: 'int',
  maxFileBytes: 'int',
  maxJobBytes: 'int',
  maxActiveJobsPerModel: 'int',
  failEvery: 'int',
  failRecordIds: 'strings',
  failMarker: 'string?',
  hold: 'bool',
  echoInput: 'bool',
  shuffle: 'bool',
  nextOutcomes: 'outcomes',
};

function json(status, obj) {
  return { status, headers: { 'Content-Type': 'application/json' }, body: Buffer.from(JSON.stringify(obj)) };
}

function validation(message) {
  return awsError('ValidationException', { message });
}

function isObj(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** "s3://bucket/a/b" -> {bucket, prefix: "a/b"} */
function parseS3Uri(uri) {
  const rest = uri.slice(5);
  const i = rest.indexOf('/');
  return i < 0 ? { bucket: rest, prefix: '' } : { bucket: rest.slice(0, i), prefix: rest.slice(i + 1) };
}

function iso(ms) {
  return new Date(ms).toISOString();
}

/** Deterministic Fisher-Yates shuffle seeded by a string. */
function shuffled(arr, seed) {
  let h = crypto.createHash('sha256').update(seed).digest();
  let n = 0;
  const next = () => {
    if (n + 4 > h.length) {
      h = crypto.createHash('sha256').update(h).digest();
      n = 0;
    }
    const v = h.readUInt32LE(n);
    n += 4;
    return v;
  };
  for (let i = arr.length - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [arr[i], arr[j]] = [arr[j], arr[i]];
  }
  return arr;
}

class BatchJobService {
  /** opts: {s3 (S3Store), region, now() -> ms} */
  constructor({ s3, region, now }) {
    this.s3 = s3;
    this.region = region;
    this.now = now;
    this.jobs = new Map(); // jobId -> job (the emulator exposes it as emulator.batchJobs)
    this.tokens = new Map(); // clientRequestToken -> {jobId, fingerprint}
    this.config = defaultConfig();
    this.timers = new Set();
  }

  configure(payload) {
    if (!isObj(payload)) throw new Error('the batch configuration is a JSON object');
    for (const [k, v] of Object.entries(payload)) {
      const t = CONFIG_TYPES[k];
      if (!t) throw new Error(`unknown batch setting ${k}`);
      if (t === 'int' && !(Number.isInteger(v) && v >= 0)) throw new Error(`${k} must be a non-negative integer`);
      if (t === 'bool' && typeof v !== 'boolean') throw new Error(`${k} must be true or false`);
      if (t === 'strings' && !(Array.isArray(v) && v.every((s) => typeof s === 'string'))) throw new Error(`${k} must be an array of strings`);
      if (t === 'string?' && !(v === null || typeof v === 'string')) throw new Error(`${k} must be a string or null`);
      if (t === 'outcomes' && !(Array.isArray(v) && v.every((o) => isObj(o) && ['Failed', 'Expired', 'PartiallyCompleted'].includes(o.status)))) {
        throw new Error(`${k} must be an array of {"status": "Failed"|"Expired"|"PartiallyCompleted", "message"?}`);
      }
    }
    Object.assign(this.config, payload);
    const wasHeld = this.config.hold;
    return { wasHeld, config: this.publicConfig() };
  }

  publicConfig() {
    return { ...this.config };
  }

  /** Forget every job and restore the default knobs. */
  reset() {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.jobs.clear();
    this.tokens.clear();
    this.config = defaultConfig();
  }

  later(ms, fn) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  /** Route: {op: create|get|stop|list, id?}. Returns a response. */
  handle(route, body, query) {
    switch (route.op) {
      case 'create':
        return this.create(body);
      case 'get':
        return this.get(route.id);
      case 'stop':
        return this.stop(route.id);
      default:
        return this.list(query);
    }
  }

  create(body) {
    let req;
    try {
      req = JSON.parse(body.toString('utf8'));
    } catch {
      return awsError('SerializationException');
    }
    if (!isObj(req)) return awsError('SerializationException');
    const errs = [];
    if (typeof req.jobName !== 'string' || !JOB_NAME_RE.test(req.jobName) || req.jobName.length > 63) errs.push(`Value '${req.jobName}' at 'jobName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9\\+\\-\\.]){0,63}`);
    if (typeof req.roleArn !== 'string' || !ROLE_ARN_RE.test(req.roleArn) || req.roleArn.length > 2048) errs.push(`Value at 'roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+`);
    if (typeof req.modelId !== 'string' || req.modelId.length < 1 || req.modelId.length > 2048) errs.push("Value at 'modelId' failed to satisfy constraint: Member must have length between 1 and 2048");
    const inCfg = isObj(req.inputDataConfig) && isObj(req.inputDataConfig.s3InputDataConfig) ? req.inputDataConfig.s3InputDataConfig : null;
    const outCfg = isObj(req.outputDataConfig) && isObj(req.outputDataConfig.s3OutputDataConfig) ? req.outputDataConfig.s3OutputDataConfig : null;
    if (!inCfg || typeof inCfg.s3Uri !== 'string' || !S3_URI_RE.test(inCfg.s3Uri)) errs.push("Value at 'inputDataConfig.s3InputDataConfig.s3Uri' failed to satisfy constraint: Member must satisfy regular expression pattern: s3://[a-z0-9][-.a-z0-9]{1,61}[a-z0-9](?:/[-!_*'().a-z0-9A-Z]+(?:/[-!_*'().a-z0-9A-Z]+)*)?/?");
    if (inCfg && inCfg.s3InputFormat !== undefined && inCfg.s3InputFormat !== 'JSONL') errs.push("Value at 'inputDataConfig.s3InputDataConfig.s3InputFormat' failed to satisfy constraint: Member must satisfy enum value set: [JSONL]");
    if (!outCfg || typeof outCfg.s3Uri !== 'string' || !S3_URI_RE.test(outCfg.s3Uri)) errs.push("Value at 'outputDataConfig.s3OutputDataConfig.s3Uri' failed to satisfy constraint: Member must satisfy regular expression pattern: s3://[a-z0-9][-.a-z0-9]{1,61}[a-z0-9](?:/[-!_*'().a-z0-9A-Z]+(?:/[-!_*'().a-z0-9A-Z]+)*)?/?");
    if (req.clientRequestToken !== undefined && (typeof req.clientRequestToken !== 'string' || !TOKEN_RE.test(req.clientRequestToken))) errs.push("Value at 'clientRequestToken' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9]{1,256}(-*[a-zA-Z0-9]){0,256}");
    if (req.timeoutDurationInHours !== undefined && !(Number.isInteger(req.timeoutDurationInHours) && req.timeoutDurationInHours >= 24 && req.timeoutDurationInHours <= 168)) errs.push("Value at 'timeoutDurationInHours' failed to satisfy constraint: Member must have value between 24 and 168");
    if (req.modelInvocationType !== undefined && !['InvokeModel', 'Converse'].includes(req.modelInvocationType)) errs.push("Value at 'modelInvocationType' failed to satisfy constraint: Member must satisfy enum value set: [InvokeModel, Converse]");
    if (errs.length) return validation(`${errs.length} validation error${errs.length > 1 ? 's' : ''} detected: ${errs.join('; ')}`);

    const fingerprint = crypto.createHash('sha256').update(JSON.stringify({ ...req, clientRequestToken: undefined })).digest('hex');
    if (req.clientRequestToken !== undefined) {
      const seen = this.tokens.get(req.clientRequestToken);
      if (seen) {
        if (seen.fingerprint !== fingerprint) return awsError('ConflictException', { message: 'The clientRequestToken was already used with different parameters.' });
        return json(200, { jobArn: this.jobs.get(seen.jobId).jobArn });
      }
    }
    const resolved = models.resolveModel(req.modelId, this.region);
    if (!resolved.ok) return validation('The provided model identifier is invalid.');
    const modelKey = resolved.model.id;
    let active = 0;
    for (const j of this.jobs.values()) if (j._modelKey === modelKey && !TERMINAL.has(j.status)) active += 1;
    if (active >= this.config.maxActiveJobsPerModel) {
      return awsError('ServiceQuotaExceededException', {
        message: `The number of in-progress and submitted batch inference jobs for ${modelKey} has reached its quota of ${this.config.maxActiveJobsPerModel}. Try again when a job ends.`,
      });
    }

    let jobId;
    do jobId = crypto.randomBytes(9).toString('base64').toLowerCase().replace(/[^a-z0-9]/g, '').padEnd(12, '0').slice(0, 12);
    while (this.jobs.has(jobId));
    const now = this.now();
    const hours = req.timeoutDurationInHours ?? 24;
    const job = {
      jobArn: `arn:aws:bedrock:${this.region}:${ACCOUNT}:model-invocation-job/${jobId}`,
      jobName: req.jobName,
      modelId: req.modelId,
      clientRequestToken: req.clientRequestToken,
      roleArn: req.roleArn,
      status: 'Submitted',
      submitTime: now,
      lastModifiedTime: now,
      inputDataConfig: { s3InputDataConfig: { s3InputFormat: 'JSONL', ...inCfg } },
      outputDataConfig: { s3OutputDataConfig: { ...outCfg } },
      timeoutDurationInHours: hours,
      jobExpirationTime: now + hours * 3600 * 1000,
      modelInvocationType: req.modelInvocationType || 'InvokeModel',
      totalRecordCount: 0,
      processedRecordCount: 0,
      successRecordCount: 0,
      errorRecordCount: 0,
      _id: jobId,
      _model: resolved.model,
      _modelKey: modelKey,
      _outcome: this.config.nextOutcomes.length ? this.config.nextOutcomes.shift() : null,
      _stop: false,
    };
    if (req.vpcConfig !== undefined) job.vpcConfig = req.vpcConfig;
    this.jobs.set(jobId, job);
    if (req.clientRequestToken !== undefined) this.tokens.set(req.clientRequestToken, { jobId, fingerprint });
    this.later(this.config.stepMs, () => this.validate(job));
    return json(200, { jobArn: job.jobArn });
  }

  lookup(identifier) {
    const m = ID_RE.exec(identifier || '');
    if (!m) return { error: validation(`1 validation error detected: Value '${identifier}' at 'jobIdentifier' failed to satisfy constraint: Member must satisfy regular expression pattern: ((arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:model-invocation-job/)?[a-z0-9]{12})`) };
    const job = this.jobs.get(m[1]);
    if (!job) return { error: awsError('ResourceNotFoundException', { message: `The specified batch inference job ${m[1]} could not be found.` }) };
    return { job };
  }

  view(job) {
    const out = {};
    for (const [k, v] of Object.entries(job)) {
      if (k.startsWith('_') || v === undefined || v === null) continue;
      out[k] = ['submitTime', 'lastModifiedTime', 'endTime', 'jobExpirationTime'].includes(k) ? iso(v) : v;
    }
    return out;
  }

  get(identifier) {
    const r = this.lookup(identifier);
    return r.error || json(200, this.view(r.job));
  }

  list(query) {
    let jobs = [...this.jobs.values()];
    if (query.statusEquals !== undefined) {
      if (!STATUSES.includes(query.statusEquals)) return validation(`1 validation error detected: Value '${query.statusEquals}' at 'statusEquals' failed to satisfy constraint: Member must satisfy enum value set: [${STATUSES.join(', ')}]`);
      jobs = jobs.filter((j) => j.status === query.statusEquals);
    }
    if (typeof query.nameContains === 'string') jobs = jobs.filter((j) => j.jobName.includes(query.nameContains));
    if (query.submitTimeAfter !== undefined) jobs = jobs.filter((j) => j.submitTime > Date.parse(query.submitTimeAfter));
    if (query.submitTimeBefore !== undefined) jobs = jobs.filter((j) => j.submitTime < Date.parse(query.submitTimeBefore));
    jobs.sort((a, b) => a.submitTime - b.submitTime);
    if (query.sortOrder !== 'Ascending') jobs.reverse();
    const max = query.maxResults !== undefined ? Number(query.maxResults) : 1000;
    if (!Number.isInteger(max) || max < 1 || max > 1000) return validation("1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 1000");
    const start = query.nextToken !== undefined ? Number.parseInt(Buffer.from(String(query.nextToken), 'base64').toString('utf8'), 10) || 0 : 0;
    const page = jobs.slice(start, start + max);
    const out = { invocationJobSummaries: page.map((j) => this.view(j)) };
    if (start + max < jobs.length) out.nextToken = Buffer.from(String(start + max)).toString('base64');
    return json(200, out);
  }

  stop(identifier) {
    const r = this.lookup(identifier);
    if (r.error) return r.error;
    const job = r.job;
    if (TERMINAL.has(job.status) || job.status === 'Stopping') {
      return awsError('ConflictException', { message: `The batch inference job ${job._id} is ${job.status} and cannot be stopped.` });
    }
    const running = job.status === 'InProgress';
    this.setStatus(job, 'Stopping');
    job._stop = true;
    // a running job stops at its next yield and writes what it processed; another stops now
    if (!running) this.later(this.config.stepMs, () => this.finish(job, 'Stopped'));
    return json(200, {});
  }

  setStatus(job, status, message) {
    job.status = status;
    job.lastModifiedTime = this.now();
    if (message !== undefined) job.message = message;
    if (TERMINAL.has(status)) job.endTime = job.lastModifiedTime;
  }

  finish(job, status, message) {
    if (TERMINAL.has(job.status)) return;
    this.setStatus(job, status, message);
  }

  /** Validating: find and check the input; fail the job, or schedule it. */
  validate(job) {
    if (job._stop) return;
    this.setStatus(job, 'Validating');
    this.later(this.config.stepMs, () => {
      if (job._stop) return;
      if (job._outcome && job._outcome.status === 'Failed') {
        this.finish(job, 'Failed', job._outcome.message || 'The batch inference job failed (injected by the emulator).');
        return;
      }
      const input = this.readInput(job);
      if (input.error) {
        this.finish(job, 'Failed', input.error);
        return;
      }
      job._files = input.files;
      job.totalRecordCount = input.total;
      this.setStatus(job, 'Scheduled');
      this.later(this.config.stepMs, () => this.start(job));
    });
  }

  /** The job's input files, parsed: {files: [{key, records}], total} or {error}. */
  readInput(job) {
    const cfg = this.config;
    const { bucket, prefix } = parseS3Uri(job.inputDataConfig.s3InputDataConfig.s3Uri);
    let keys;
    const single = this.s3.get(bucket, prefix);
    if (prefix.endsWith('.jsonl') && single) keys = [prefix];
    else {
      const p = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
      keys = this.s3.keys(bucket, p).filter((k) => k.endsWith('.jsonl'));
    }
    if (keys.length === 0) return { error: `Amazon Bedrock could not find any .jsonl input file at ${job.inputDataConfig.s3InputDataConfig.s3Uri}.` };
    const files = [];
    let total = 0;
    let bytes = 0;
    for (const key of keys) {
      const body = this.s3.get(bucket, key).body;
      if (body.length > cfg.maxFileBytes) return { error: `The input file ${key} is ${body.length} bytes, more than the quota of ${cfg.maxFileBytes} bytes per file.` };
      bytes += body.length;
      if (bytes > cfg.maxJobBytes) return { error: `The input files total more than the quota of ${cfg.maxJobBytes} bytes per job.` };
      const records = [];
      const lines = body.toString('utf8').split('\n');
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i].trim();
        if (line === '') continue;
        let rec;
        try {
          rec = JSON.parse(line);
        } catch {
          return { error: `Line ${i + 1} of ${key} is not valid JSON.` };
        }
        if (!isObj(rec) || !isObj(rec.modelInput)) return { error: `Line ${i + 1} of ${key} has no modelInput object.` };
        if (rec.recordId === undefined) rec.recordId = `${String(total + records.length).padStart(11, '0')}`;
        records.push(rec);
      }
      if (records.length > cfg.maxRecordsPerFile) return { error: `The input file ${key} has ${records.length} records, more than the quota of ${cfg.maxRecordsPerFile} records per file.` };
      total += records.length;
      files.push({ key, records });
    }
    if (total > cfg.maxRecordsPerJob) return { error: `The job has ${total} records, more than the quota of ${cfg.maxRecordsPerJob} records per job.` };
    if (total < cfg.minRecords) return { error: `The job has ${total} records, fewer than the minimum of ${cfg.minRecords} records per job.` };
    return { files, total };
  }

  /** Scheduled -> InProgress (or Expired when the injected outcome says so). */
  start(job) {
    if (job._stop) return;
    if (this.config.hold) {
      this.later(this.config.stepMs, () => this.start(job));
      return;
    }
    if (job._outcome && job._outcome.status === 'Expired') {
      this.finish(job, 'Expired', job._outcome.message);
      return;
    }
    this.setStatus(job, 'InProgress');
    const partial = Boolean(job._outcome && job._outcome.status === 'PartiallyCompleted');
    const state = { file: 0, rec: 0, seq: 0, lines: [], inTok: 0, outTok: 0 };
    const step = () => {
      if (TERMINAL.has(job.status)) return;
      let n = 0;
      while (state.file < job._files.length && n < this.config.recordsPerTick && !job._stop) {
        const f = job._files[state.file];
        const limit = partial ? Math.floor(f.records.length / 2) : f.records.length;
        if (state.rec < limit) {
          state.lines.push(this.runRecord(job, f.records[state.rec], state));
          state.rec += 1;
          n += 1;
        }
        if (state.rec >= limit) {
          this.writeOut(job, f.key, state.lines);
          state.file += 1;
          state.rec = 0;
          state.lines = [];
        }
      }
      if (job._stop) {
        if (state.lines.length) this.writeOut(job, job._files[state.file].key, state.lines);
        this.writeManifest(job, state);
        this.finish(job, 'Stopped');
        return;
      }
      if (state.file < job._files.length) {
        this.later(0, step);
        return;
      }
      this.writeManifest(job, state);
      this.finish(job, partial ? 'PartiallyCompleted' : 'Completed', partial ? job._outcome.message || 'Not all of your records could be processed in time.' : undefined);
    };
    this.later(this.config.stepMs, step);
  }

  /** One record through the model: the .out line (a JSON string). */
  runRecord(job, rec, state) {
    const cfg = this.config;
    const seq = state.seq;
    state.seq += 1;
    job.processedRecordCount += 1;
    const inputText = JSON.stringify(rec.modelInput);
    const injected = (cfg.failEvery > 0 && (seq + 1) % cfg.failEvery === 0) ||
      cfg.failRecordIds.includes(String(rec.recordId)) ||
      (cfg.failMarker && inputText.includes(cfg.failMarker));
    const line = { recordId: rec.recordId };
    if (cfg.echoInput) line.modelInput = rec.modelInput;
    if (injected) {
      line.error = { errorCode: 400, errorMessage: 'The record was rejected by the model (injected by the emulator).' };
      job.errorRecordCount += 1;
      return JSON.stringify(line);
    }
    const ctx = {
      model: job._model,
      modelIdentifier: job.modelId,
      body: Buffer.from(inputText),
      requestId: `${job._id}-${seq}`,
      now: this.now(),
      elapsed: () => 1,
    };
    const r = job.modelInvocationType === 'Converse' ? handleConverse(ctx) : handleInvoke(ctx);
    if (r.status === 200) {
      line.modelOutput = JSON.parse(r.body.toString('utf8'));
      job.successRecordCount += 1;
      if (r.meta) {
        state.inTok += r.meta.inputTokens || 0;
        state.outTok += r.meta.outputTokens || 0;
      }
    } else {
      let msg = '';
      try {
        const b = JSON.parse(r.body.toString('utf8'));
        msg = b.message || b.Message || '';
      } catch {
        msg = r.body.toString('utf8');
      }
      line.error = { errorCode: r.status, errorMessage: msg };
      job.errorRecordCount += 1;
    }
    return JSON.stringify(line);
  }

  outPrefix(job) {
    const { bucket, prefix } = parseS3Uri(job.outputDataConfig.s3OutputDataConfig.s3Uri);
    const p = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    return { bucket, prefix: `${p}${job._id}/` };
  }

  writeOut(job, inputKey, lines) {
    const { bucket, prefix } = this.outPrefix(job);
    const base = inputKey.slice(inputKey.lastIndexOf('/') + 1);
    const ordered = this.config.shuffle ? shuffled(lines, `${job._id}/${base}`) : lines;
    this.s3.put(bucket, `${prefix}${base}.out`, Buffer.from(ordered.length ? `${ordered.join('\n')}\n` : ''), 'application/octet-stream', this.now());
  }

  writeManifest(job, state) {
    const { bucket, prefix } = this.outPrefix(job);
    const manifest = {
      totalRecordCount: job.totalRecordCount,
      processedRecordCount: job.processedRecordCount,
      successRecordCount: job.successRecordCount,
      errorRecordCount: job.errorRecordCount,
      inputTokenCount: state.inTok,
      outputTokenCount: state.outTok,
    };
    this.s3.put(bucket, `${prefix}manifest.json.out`, Buffer.from(JSON.stringify(manifest)), 'application/octet-stream', this.now());
  }

  /** Admin summary: knobs and the jobs by status. */
  summary() {
    const byStatus = {};
    for (const j of this.jobs.values()) byStatus[j.status] = (byStatus[j.status] || 0) + 1;
    return { config: this.publicConfig(), jobs: this.jobs.size, byStatus, list: [...this.jobs.values()].map((j) => this.view(j)) };
  }
}

/** The batch job route of a request, or null: {name: 'batch', op, id?}. */
function classifyBatch(method, path) {
  const segs = path.split('/');
  if (segs[0] !== '') return null;
  if (segs[1] === 'model-invocation-jobs' && segs.length === 2 && method === 'GET') return { name: 'batch', op: 'list' };
  if (segs[1] !== 'model-invocation-job') return null;
  if (segs.length === 2 && method === 'POST') return { name: 'batch', op: 'create' };
  let id;
  try {
    id = segs.length >= 3 ? decodeURIComponent(segs[2]) : '';
  } catch {
    return null;
  }
  if (segs.length === 3 && id !== '' && method === 'GET') return { name: 'batch', op: 'get', id };
  if (segs.length === 4 && id !== '' && segs[3] === 'stop' && method === 'POST') return { name: 'batch', op: 'stop', id };
  return null;
}

module.exports = { BatchJobService, classifyBatch, defaultConfig, TERMINAL, STATUSES, parseS3Uri };
