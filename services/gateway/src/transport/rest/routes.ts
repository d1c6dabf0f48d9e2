// The official ACE-Step REST API on the gateway's port, so existing clients
// (the official docs' examples, community UIs, scripts) work unchanged:
//   POST /release_task, POST /query_result, GET /v1/audio?path=, GET /v1/models,
//   GET /v1/stats, GET /health, POST /format_input, POST /create_random_sample.
// Responses use the official wrapper {data, code, error, timestamp, extra};
// HTTP errors answer {detail} with their status (FastAPI's shape). Jobs are
// the gateway's own (SubmitJob); task ids are job ids. docs/rest-compat.md
// states every deviation.
import { GenerationConfigSchema, JobState } from '@acestep/proto/gateway';
import { decodeJson, toConnectError } from '@acestep/runtime';
import type { JsonObject, JsonValue } from '@bufbuild/protobuf';
import { timestampMs } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError } from '@connectrpc/connect';
import type { JobService } from '../../jobs/index.ts';
import type { Stages } from '../../orchestrator/stages.ts';
import { jobOwner, jobScope, type Tenant } from '../../tenants.ts';
import { keyFromHeaders } from '../auth.ts';
import { httpHeadersOf, httpStatusOf } from '../errors.ts';
import type { HttpRoute } from '../http.ts';
import { type HttpRequest, type HttpResponse, header, pathOf, queryOf, sendJson } from '../node-http.ts';
import { sendObject } from '../objects.ts';
import type { UploadOptions } from '../uploads.ts';
import { readRestBody } from './body.ts';
import { configFromOfficial, OFFICIAL_DEFAULTS } from './params.ts';
import { officialResult, officialStatus, progressText, type ResultContext } from './results.ts';

export interface RestOptions {
  jobs: JobService;
  stages: Stages;
  /**
   * The caller's tenant for a key (tenants.ts): throws UNAUTHENTICATED for a
   * missing or wrong key; undefined when keys are off (every job visible).
   */
  authenticate: (given: string | undefined) => Tenant | undefined;
  /** Counts one call against the tenant's rate (RESOURCE_EXHAUSTED → 429 with Retry-After when over). */
  takeRequest: (tenant: Tenant) => Promise<void>;
  maxJobs: number;
  upload: Omit<UploadOptions, 'filename'>;
  /** Names reported in results and /v1/models. */
  models: () => Promise<{ dit: string; lm: string }>;
}

const FILE_FIELDS = {
  src_audio: 'src_audio',
  ctx_audio: 'src_audio',
  reference_audio: 'reference_audio',
  ref_audio: 'reference_audio',
} as const;
const AUDIO_MIME: Record<string, string> = {
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  flac: 'audio/flac',
  ogg: 'audio/ogg',
};
const LM_TIMEOUT_MS = 120_000;

function wrap(res: HttpResponse, data: unknown): void {
  sendJson(res, 200, { data, code: 200, error: null, timestamp: Date.now(), extra: null });
}

function sendDetail(req: HttpRequest, res: HttpResponse, error: unknown): void {
  const e = toConnectError(error);
  req.resume();
  let status = httpStatusOf(e);
  let detail = e.rawMessage;
  if (e.cause === 'unsupported-media-type') status = 415;
  const headers = httpHeadersOf(e);
  // The official server's 429 is its full queue; a key over its own limit (retry hint) says so itself.
  if (e.code === Code.ResourceExhausted && status === 429 && !headers['retry-after'])
    detail = `Server busy: queue is full (${detail})`;
  sendJson(res, status, { detail }, headers);
}

/**
 * Body routes take the key as ai_token too; GET routes only in headers (as the official server).
 * Each REST call counts once against the key's rate limit, as a gRPC/Connect call does.
 */
async function authorize(req: HttpRequest, o: RestOptions, aiToken?: JsonValue): Promise<Tenant | undefined> {
  const fromHeader = keyFromHeaders((n) => header(req, n), { bare: true });
  const tenant = o.authenticate(fromHeader ?? (typeof aiToken === 'string' ? aiToken : undefined));
  if (tenant) await o.takeRequest(tenant);
  return tenant;
}

async function releaseTask(req: HttpRequest, res: HttpResponse, o: RestOptions): Promise<void> {
  // A key in the headers is checked before any file is stored; ai_token once the form is read.
  const headerKey = keyFromHeaders((n) => header(req, n), { bare: true });
  if (headerKey !== undefined) o.authenticate(headerKey);
  const body = await readRestBody(req, {
    store: o.jobs.store,
    options: o.upload,
    fileFields: Object.keys(FILE_FIELDS),
  });
  let tenant: Tenant | undefined;
  try {
    tenant = await authorize(req, o, body.fields.ai_token);
  } catch (error) {
    for (const stored of Object.values(body.files)) await o.jobs.store.deleteObject(stored.objectId);
    throw error;
  }
  const json: JsonObject = { ...OFFICIAL_DEFAULTS, ...configFromOfficial(body.fields) };
  for (const [field, stored] of Object.entries(body.files)) {
    json[FILE_FIELDS[field as keyof typeof FILE_FIELDS]] = { object_id: stored.objectId };
  }
  const config = decodeJson(GenerationConfigSchema, json);
  const job = await o.jobs.submit(config, undefined, { tenant: jobOwner(tenant) });
  const queued = await o.jobs.list({ state: JobState.QUEUED, pageSize: 100 });
  const position = Math.max(1, queued.jobs.findIndex((j) => j.id === job.id) + 1 || queued.jobs.length);
  wrap(res, { task_id: job.id, status: 'queued', queue_position: position });
}

function taskIds(value: JsonValue | undefined): string[] {
  let list = value;
  if (typeof list === 'string') {
    try {
      list = JSON.parse(list) as JsonValue;
    } catch {
      list = [list];
    }
  }
  if (!Array.isArray(list) || !list.every((id) => typeof id === 'string'))
    throw new ConnectError(
      'task_id_list: expected a JSON array of task ids (or its JSON string)',
      Code.InvalidArgument,
    );
  return list as string[];
}

async function queryResult(req: HttpRequest, res: HttpResponse, o: RestOptions): Promise<void> {
  const body = await readRestBody(req, { store: o.jobs.store, options: o.upload, fileFields: [] });
  const scope = jobScope(await authorize(req, o, body.fields.ai_token));
  const models = await o.models();
  const context: ResultContext = { env: 'production', ditModel: models.dit, lmModel: models.lm };
  const data = [];
  for (const id of taskIds(body.fields.task_id_list)) {
    const job = await o.jobs.get(id, scope).catch((error: unknown) => {
      if (toConnectError(error).code === Code.NotFound) return undefined;
      throw error;
    });
    if (!job) {
      data.push({ task_id: id, result: '[]', status: 0 });
      continue;
    }
    data.push({
      task_id: id,
      status: officialStatus(job),
      result: JSON.stringify(officialResult(job, context)),
      progress_text: progressText(job),
    });
  }
  wrap(res, data);
}

async function audio(req: HttpRequest, res: HttpResponse, o: RestOptions): Promise<void> {
  await authorize(req, o);
  const path = queryOf(req).get('path') ?? '';
  const match = /^([\w-]+)(?:\.(mp3|wav|flac|ogg))?$/.exec(path);
  if (!match) {
    sendJson(res, 403, { detail: 'Access denied: path outside allowed directory' });
    return;
  }
  try {
    await sendObject(req, res, o.jobs.store, match[1]!, match[2] ? AUDIO_MIME[match[2]] : undefined);
  } catch (error) {
    if (toConnectError(error).code !== Code.NotFound) throw error;
    sendJson(res, 404, { detail: 'Audio file not found' });
  }
}

async function stats(o: RestOptions, tenant: string | undefined) {
  const counts = { total: 0, queued: 0, running: 0, succeeded: 0, failed: 0 };
  const durations: number[] = [];
  let pageToken = '';
  do {
    const page = await o.jobs.list({ pageSize: 100, pageToken, ...(tenant === undefined ? {} : { tenant }) });
    for (const job of page.jobs) {
      counts.total++;
      if (job.state === JobState.QUEUED) counts.queued++;
      else if (job.state === JobState.RUNNING) counts.running++;
      else if (job.state === JobState.SUCCEEDED) counts.succeeded++;
      else counts.failed++;
      if (job.state === JobState.SUCCEEDED && job.createdAt && job.updatedAt)
        durations.push((timestampMs(job.updatedAt) - timestampMs(job.createdAt)) / 1000);
    }
    pageToken = page.nextPageToken;
  } while (pageToken);
  const recent = durations.slice(0, 50);
  const avg = recent.length ? recent.reduce((a, b) => a + b, 0) / recent.length : 5.0;
  return { jobs: counts, queue_size: counts.queued, queue_maxsize: o.maxJobs, avg_job_seconds: avg };
}

function numberOrUndefined(value: JsonValue | undefined): number | undefined {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && value !== ''
        ? Number(value)
        : Number.NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** format_input's param_obj: a JSON object, or its JSON text. */
function paramObject(value: JsonValue | undefined): JsonObject {
  let parsed: JsonValue = value ?? {};
  if (typeof parsed === 'string') {
    try {
      parsed = JSON.parse(parsed) as JsonValue;
    } catch (error) {
      throw new ConnectError(`param_obj: not valid JSON (${(error as Error).message})`, Code.InvalidArgument);
    }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new ConnectError('param_obj: expected a JSON object (or its JSON text)', Code.InvalidArgument);
  return parsed;
}

async function formatInput(req: HttpRequest, res: HttpResponse, o: RestOptions): Promise<void> {
  const { fields } = await readRestBody(req, { store: o.jobs.store, options: o.upload, fileFields: [] });
  await authorize(req, o, fields.ai_token);
  const params = paramObject(fields.param_obj);
  const bpm = numberOrUndefined(params.bpm);
  const duration = numberOrUndefined(params.duration);
  if (fields.temperature !== undefined && numberOrUndefined(fields.temperature) === undefined)
    throw new ConnectError(
      `temperature: ${JSON.stringify(fields.temperature)} is not a number`,
      Code.InvalidArgument,
    );
  const temperature = numberOrUndefined(fields.temperature) ?? 0.85;
  const answer = await o.stages.lm.call(
    (lm, call) =>
      lm.formatSample(
        {
          caption: String(fields.prompt ?? fields.caption ?? ''),
          lyrics: String(fields.lyrics ?? ''),
          userMetadata: {
            ...(bpm ? { bpm: Math.round(bpm) } : {}),
            ...(duration ? { duration } : {}),
            keyscale: String(params.key_scale ?? params.key ?? ''),
            timesignature: String(params.time_signature ?? ''),
            language: String(params.language ?? ''),
          },
          sampling: { temperature },
        },
        call,
      ),
    { timeoutMs: LM_TIMEOUT_MS },
  );
  const m = answer.metadata;
  wrap(res, {
    caption: m?.caption ?? '',
    lyrics: answer.lyrics,
    bpm: m?.bpm ?? null,
    key_scale: m?.keyscale ?? '',
    time_signature: m?.timesignature ?? '',
    duration: m?.duration ?? null,
    vocal_language: m?.language ?? '',
  });
}

async function randomSample(req: HttpRequest, res: HttpResponse, o: RestOptions): Promise<void> {
  const { fields } = await readRestBody(req, { store: o.jobs.store, options: o.upload, fileFields: [] });
  await authorize(req, o, fields.ai_token);
  const type = String(fields.sample_type ?? 'simple_mode');
  const answer = await o.stages.lm.call(
    (lm, call) => lm.createSample({ query: '', instrumental: false }, call),
    {
      timeoutMs: LM_TIMEOUT_MS,
    },
  );
  const m = answer.metadata;
  const instrumental = /^\s*\[instrumental\]\s*$/i.test(answer.lyrics) || answer.lyrics.trim() === '';
  if (type === 'simple_mode') {
    wrap(res, { description: m?.caption ?? '', instrumental, vocal_language: m?.language || 'unknown' });
    return;
  }
  wrap(res, {
    think: true,
    caption: m?.caption ?? '',
    lyrics: answer.lyrics,
    bpm: m?.bpm ?? null,
    duration: m?.duration ?? null,
    keyscale: m?.keyscale ?? '',
    language: m?.language ?? '',
    timesignature: m?.timesignature ?? '',
  });
}

type Handler = (req: HttpRequest, res: HttpResponse, o: RestOptions) => Promise<void>;

const ROUTES: Record<string, Handler> = {
  'POST /release_task': releaseTask,
  'POST /query_result': queryResult,
  'GET /v1/audio': audio,
  'HEAD /v1/audio': audio,
  'GET /v1/models': async (req, res, o) => {
    await authorize(req, o);
    const { dit } = await o.models();
    wrap(res, { models: [{ name: dit, is_default: true }], default_model: dit });
  },
  'GET /v1/stats': async (req, res, o) => {
    wrap(res, await stats(o, jobScope(await authorize(req, o))));
  },
  'GET /health': async (_req, res) => wrap(res, { status: 'ok', service: 'ACE-Step API', version: '1.0' }),
  'POST /format_input': formatInput,
  'POST /create_random_sample': randomSample,
};

export function restRoutes(options: RestOptions): HttpRoute {
  return async (req, res) => {
    const handler = ROUTES[`${req.method} ${pathOf(req)}`];
    if (!handler) return false;
    try {
      await handler(req, res, options);
    } catch (error) {
      if (res.headersSent) throw error;
      sendDetail(req, res, error);
    }
    return true;
  };
}
