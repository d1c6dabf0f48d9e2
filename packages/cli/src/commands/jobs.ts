// The job commands over a running gateway's job API: status, watch, cancel,
// list and download (submit lives with generate: it shares the config flags).
import { type Job, JobState } from '@acestep/proto/gateway';
import { type CommandSpec, intValue, oneOf, type ParsedCommand, stringValue } from '../args.ts';
import {
  checkNameTemplate,
  JOB_STATE_NAMES,
  jobJson,
  jobLine,
  PROGRESS_MODES,
  ProgressReporter,
  progressLine,
  saveResult,
} from '../output.ts';
import { API_KEY_OPTION, gatewayClient, JSON_OPTION, URL_OPTION } from './common.ts';

const ENDED: readonly JobState[] = [JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED];
const COMMON = { url: URL_OPTION, 'api-key': API_KEY_OPTION };

export const STATUS: CommandSpec = {
  name: 'status',
  summary: 'Print a job: state, progress, result.',
  positionals: ['<job-id>'],
  options: { ...COMMON, json: { ...JSON_OPTION, describe: 'print the job as JSON' } },
};

export const WATCH: CommandSpec = {
  name: 'watch',
  summary: 'Follow a job until it ends; exits 0 when it succeeded, 1 when it failed or was cancelled.',
  positionals: ['<job-id>'],
  options: {
    ...COMMON,
    progress: {
      type: 'string',
      value: 'MODE',
      describe: 'auto (bar on a terminal, else a line per state), bar, json (one JSON line per update), none',
      default: 'auto',
    },
  },
};

export const CANCEL: CommandSpec = {
  name: 'cancel',
  summary: 'Cancel a queued or running job (an ended job is left as it is).',
  positionals: ['<job-id>'],
  options: { ...COMMON, json: { ...JSON_OPTION, describe: 'print the job as JSON' } },
};

const STATES = ['all', 'queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;

export const LIST: CommandSpec = {
  name: 'list',
  summary: 'List jobs, newest first, one page at a time.',
  options: {
    ...COMMON,
    state: { type: 'string', value: 'STATE', describe: STATES.join(', '), default: 'all' },
    'page-size': { type: 'string', value: 'N', describe: 'jobs per page, 1..100', default: '20' },
    'page-token': {
      type: 'string',
      value: 'TOKEN',
      describe: 'the next page token of a previous list',
      default: '',
    },
    json: { ...JSON_OPTION, describe: 'print the page as JSON' },
  },
};

export const DOWNLOAD: CommandSpec = {
  name: 'download',
  summary: "Write a finished job's files, with a <name>.json sidecar each, like generate.",
  positionals: ['<job-id>'],
  options: {
    ...COMMON,
    out: {
      type: 'string',
      value: 'DIR',
      describe: 'directory the files are written to',
      default: 'acestep-output',
    },
    name: {
      type: 'string',
      value: 'TEMPLATE',
      describe: 'file name template: {index} (1-based), {seed}, {id}, {format}',
      default: '{index}-{seed}',
    },
  },
};

function client(spec: CommandSpec, parsed: ParsedCommand) {
  return gatewayClient(stringValue(spec, parsed, 'url'), stringValue(spec, parsed, 'api-key'));
}

function printJob(job: Job | undefined, json: boolean): void {
  if (!job) throw new Error('the gateway answered without a job');
  console.log(json ? JSON.stringify(jobJson(job), null, 2) : jobLine(job));
}

export async function statusCommand(parsed: ParsedCommand): Promise<void> {
  const { job } = await client(STATUS, parsed).getJob({ id: parsed.positionals[0]! });
  printJob(job, parsed.values.json === true);
}

export async function cancelCommand(parsed: ParsedCommand): Promise<void> {
  const { job } = await client(CANCEL, parsed).cancelJob({ id: parsed.positionals[0]! });
  printJob(job, parsed.values.json === true);
}

export async function watchCommand(parsed: ParsedCommand): Promise<void> {
  const mode = oneOf('progress', stringValue(WATCH, parsed, 'progress'), PROGRESS_MODES);
  const reporter = new ProgressReporter(mode);
  const lines = mode === 'auto' && !process.stderr.isTTY;
  let last: Job | undefined;
  let lastLine = '';
  for await (const { job } of client(WATCH, parsed).watchJob({ id: parsed.positionals[0]! })) {
    if (!job) continue;
    last = job;
    const state = JOB_STATE_NAMES[job.state] ?? String(job.state);
    if (job.progress) reporter.progress(job.progress, { job_id: job.id, state });
    if (lines) {
      const line = `${state}${job.progress ? `  ${progressLine(job.progress).trim()}` : ''}`;
      if (line !== lastLine) console.log(line);
      lastLine = line;
    }
  }
  reporter.end();
  if (!last) throw new Error('the gateway ended the watch without a job');
  reporter.event({ event: 'job', job: jobJson(last) });
  if (mode !== 'json') console.log(jobLine(last));
  if (!ENDED.includes(last.state))
    throw new Error(`the watch ended while the job was ${JOB_STATE_NAMES[last.state]}`);
  if (last.state !== JobState.SUCCEEDED) process.exitCode = 1;
}

export async function listCommand(parsed: ParsedCommand): Promise<void> {
  const state = oneOf('state', stringValue(LIST, parsed, 'state'), STATES);
  const pageSize = intValue('page-size', stringValue(LIST, parsed, 'page-size'), 1, 100);
  const res = await client(LIST, parsed).listJobs({
    pageSize,
    pageToken: stringValue(LIST, parsed, 'page-token'),
    state: state === 'all' ? JobState.UNSPECIFIED : STATES.indexOf(state),
  });
  if (parsed.values.json) {
    console.log(JSON.stringify({ jobs: res.jobs.map(jobJson), next_page_token: res.nextPageToken }, null, 2));
    return;
  }
  for (const job of res.jobs) console.log(jobLine(job));
  if (res.nextPageToken) console.log(`more: acestep list --page-token ${res.nextPageToken}`);
}

export async function downloadCommand(parsed: ParsedCommand): Promise<void> {
  const nameTemplate = stringValue(DOWNLOAD, parsed, 'name');
  checkNameTemplate(nameTemplate);
  const gateway = client(DOWNLOAD, parsed);
  const { job } = await gateway.getJob({ id: parsed.positionals[0]! });
  if (!job) throw new Error('the gateway answered without a job');
  if (job.state !== JobState.SUCCEEDED || !job.result) {
    throw new Error(
      `job ${job.id} is ${JOB_STATE_NAMES[job.state]}: only a succeeded job has files to download`,
    );
  }
  const saved = await saveResult(gateway, job.result, job.config, {
    outDir: stringValue(DOWNLOAD, parsed, 'out'),
    nameTemplate,
    jobId: job.id,
  });
  for (const file of saved) console.log(`wrote ${file.path} (+ ${file.sidecar})`);
}
