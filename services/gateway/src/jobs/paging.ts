// ListJobs paging: newest first; the page token is the base64url of the last
// job id returned, so a page is "ids below the token" whatever was added or
// expired meanwhile.
import { JobState } from '@acestep/proto/gateway';
import { JobError } from './errors.ts';
import { isJobId } from './ids.ts';
import type { ListJobsRequest } from './types.ts';
import { DEFAULTS } from './types.ts';

export interface PageQuery {
  pageSize: number;
  /** Only ids strictly below this one; undefined = from the newest. */
  before?: string;
  state?: JobState;
}

export function parseListRequest(request: ListJobsRequest = {}): PageQuery {
  const size = request.pageSize ?? 0;
  if (!Number.isInteger(size) || size < 0 || size > DEFAULTS.maxPageSize) {
    throw new JobError(
      'INVALID_ARGUMENT',
      `page_size must be an integer in 0..${DEFAULTS.maxPageSize} (0 = ${DEFAULTS.pageSize}); got ${size}`,
    );
  }
  const state = request.state ?? JobState.UNSPECIFIED;
  if (JobState[state] === undefined)
    throw new JobError('INVALID_ARGUMENT', `state ${state} is not a JobState`);
  const query: PageQuery = { pageSize: size === 0 ? DEFAULTS.pageSize : size };
  if (state !== JobState.UNSPECIFIED) query.state = state;
  if (request.pageToken) query.before = decodeToken(request.pageToken);
  return query;
}

export function encodeToken(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url');
}

function decodeToken(token: string): string {
  const id = /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, 'base64url').toString('utf8') : '';
  if (!isJobId(id)) {
    throw new JobError(
      'INVALID_ARGUMENT',
      'page_token is not one this server returned; pass "" for the first page',
    );
  }
  return id;
}

/**
 * Pages through ids (any order in, newest first out), loading each job with
 * load until pageSize jobs match. load may return undefined for a job that
 * vanished meanwhile.
 */
export async function pageOf<J extends { state: JobState }>(
  ids: Iterable<string>,
  query: PageQuery,
  load: (id: string) => Promise<J | undefined> | J | undefined,
): Promise<{ jobs: J[]; nextPageToken: string }> {
  const sorted = [...ids].filter((id) => query.before === undefined || id < query.before).sort();
  const jobs: J[] = [];
  for (let i = sorted.length - 1; i >= 0; i--) {
    const id = sorted[i] as string;
    const job = await load(id);
    if (!job || (query.state !== undefined && job.state !== query.state)) continue;
    jobs.push(job);
    if (jobs.length === query.pageSize) return { jobs, nextPageToken: i > 0 ? encodeToken(id) : '' };
  }
  return { jobs, nextPageToken: '' };
}
