// The hostile-input corpus (test/system/hostile-corpus.test.ts): requests an
// attacker or a broken client sends to the gateway, each with the answer it
// must get. Numeric cases come from @acestep/acestep's parameter table, so a
// new field is attacked as soon as it is in the table. The cases are plain
// data; hostile-send.ts sends them.
import { PARAMETERS, type ParameterName } from '@acestep/acestep';
import { GenerationConfigSchema, SubmitJobRequestSchema } from '@acestep/proto/gateway';
import { create, toBinary } from '@bufbuild/protobuf';
import { concatBytes, flacBomb } from './audio-bombs.ts';
import { authCases, restCases, uploadCases } from './hostile-http.ts';

/** How a case travels: fetch over HTTP/1.1, binary gRPC over HTTP/2, or raw bytes on a TCP socket. */
export type Transport = 'http' | 'grpc' | 'raw';

export interface HostileCase {
  group: 'connect-json' | 'grpc-binary' | 'rest' | 'upload' | 'auth';
  name: string;
  transport: Transport;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Uint8Array;
  /** Allowed answers: HTTP statuses (http, raw) or gRPC status numbers (grpc). */
  expect: readonly number[];
  /** What the error message must say (the field, the limit, the allowed values). */
  message: RegExp;
  /** Whether the case is a decompression bomb (the test measures the gateway's RSS across them). */
  bomb?: boolean;
}

const GATEWAY = '/acestep.v1.GatewayService';
const JSON_HEADERS = { 'content-type': 'application/json' };
const enc = new TextEncoder();

/** HTTP statuses of the Connect codes a refusal may have. */
export const HTTP = {
  invalid: 400,
  unauthenticated: 401,
  notFound: 404,
  tooLarge: 413,
  unsupported: 415,
  busy: 429,
};
/** gRPC status numbers. */
export const GRPC = {
  invalid: 3,
  notFound: 5,
  exhausted: 8,
  outOfRange: 11,
  unimplemented: 12,
  unauthenticated: 16,
};

const BASE_CONFIG = { caption: 'hostile', audio_duration: 10, audio_format: 'wav' };

function connect(
  name: string,
  method: string,
  body: string | Uint8Array,
  expect: readonly number[],
  message: RegExp,
): HostileCase {
  return {
    group: 'connect-json',
    name,
    transport: 'http',
    method: 'POST',
    path: `${GATEWAY}/${method}`,
    headers: JSON_HEADERS,
    body: typeof body === 'string' ? enc.encode(body) : body,
    expect,
    message,
  };
}

const submit = (name: string, config: unknown, message: RegExp, expect = [HTTP.invalid]) =>
  connect(name, 'SubmitJob', JSON.stringify({ config }), expect, message);

/** Below, above and beside the range of every numeric field of the parameter table. */
function parameterCases(): HostileCase[] {
  const cases: HostileCase[] = [];
  for (const [field, rule] of Object.entries(PARAMETERS) as [
    ParameterName,
    (typeof PARAMETERS)[ParameterName],
  ][]) {
    const named = new RegExp(field);
    // The message names the field and its range ("from 30 to 300", "... up to 600").
    const ranged = new RegExp(`${field}.*(from ${rule.min} to|up to ${rule.max})`);
    const values: [string, unknown, RegExp][] = [
      ['below min', rule.min - 1, ranged],
      ['above max', rule.max + 1, ranged],
      ['far above max', rule.kind === 'integer' ? 2 ** 31 - 1 : 1e300, ranged],
      ['a word', 'abc', named],
      ['a boolean', true, named],
      ['an array', [1], named],
      ['an object', { value: 1 }, named],
    ];
    if (rule.kind === 'integer')
      values.push(['a fraction', rule.min + 0.5, named], ['beyond int32', 2 ** 31, named]);
    else
      values.push(['NaN', 'NaN', named], ['Infinity', 'Infinity', named], ['-Infinity', '-Infinity', named]);
    for (const [what, value, message] of values)
      cases.push(submit(`${field}: ${what}`, { ...BASE_CONFIG, [field]: value }, message));
  }
  return cases;
}

function jsonShapeCases(): HostileCase[] {
  const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
  const huge = 'x'.repeat(9 << 20);
  const badUtf8 = concatBytes([
    enc.encode('{"config":{"caption":"'),
    Uint8Array.from([0xc3, 0x28, 0xff]),
    enc.encode('"}}'),
  ]);
  const invalid = [HTTP.invalid];
  return [
    submit('unknown config field', { ...BASE_CONFIG, temprature: 1 }, /temprature/),
    submit(
      'unknown nested field',
      { ...BASE_CONFIG, src_audio: { object_id: 'x', path: '/etc/passwd' } },
      /path/,
    ),
    connect(
      'unknown top-level field',
      'SubmitJob',
      JSON.stringify({ config: BASE_CONFIG, extra: 1 }),
      invalid,
      /extra/,
    ),
    connect('unknown Generate field', 'Info', '{"verbose":true}', invalid, /verbose/),
    submit('task_type unknown word', { ...BASE_CONFIG, task_type: 'remix' }, /task_type/),
    submit('task_type number', { ...BASE_CONFIG, task_type: 99 }, /task_type/),
    submit('task_type proto name', { ...BASE_CONFIG, task_type: 'TASK_TYPE_BOGUS' }, /task_type/),
    submit('audio_format unknown', { ...BASE_CONFIG, audio_format: 'aiff' }, /audio_format/),
    submit('audio_format number', { ...BASE_CONFIG, audio_format: -1 }, /audio_format/),
    submit('key_scale unknown', { ...BASE_CONFIG, key_scale: 'H major' }, /key_scale/),
    submit('time_signature unknown', { ...BASE_CONFIG, time_signature: '13/7' }, /time_signature/),
    submit('vocal_language unknown', { ...BASE_CONFIG, vocal_language: 'klingon' }, /vocal_language/),
    submit('seed a word', { ...BASE_CONFIG, seed: 'lucky' }, /seed/),
    submit('seed beyond int64', { ...BASE_CONFIG, seed: '99999999999999999999' }, /seed/),
    submit('caption a number', { ...BASE_CONFIG, caption: 5 }, /caption/),
    submit('caption an object', { ...BASE_CONFIG, caption: { a: 1 } }, /caption/),
    submit('lyrics an array', { ...BASE_CONFIG, lyrics: ['a'] }, /lyrics/),
    submit('use_adg a word', { ...BASE_CONFIG, use_adg: 'yes' }, /use_adg/),
    submit('audio_code_string not a list', { ...BASE_CONFIG, audio_code_string: 5 }, /audio_code_string/),
    submit(
      'audio_code_string garbage',
      { ...BASE_CONFIG, audio_code_string: ['<|audio_code_x|>'] },
      /audio_code/,
    ),
    submit(
      'src_audio both sources',
      { ...BASE_CONFIG, src_audio: { data: 'AAAA', object_id: 'x' } },
      /src_audio|oneof|source/,
    ),
    submit(
      'src_audio bad base64',
      { ...BASE_CONFIG, src_audio: { data: '!!!not base64!!!' } },
      /src_audio|data|base64/,
    ),
    submit('config a string', 'text2music', /config/),
    submit('config an array', [BASE_CONFIG], /config/),
    connect('missing config (SubmitJob)', 'SubmitJob', '{}', invalid, /config/),
    connect('null config (SubmitJob)', 'SubmitJob', '{"config":null}', invalid, /config/),
    connect('empty body', 'SubmitJob', '', invalid, /JSON|body|config/i),
    connect('truncated JSON', 'SubmitJob', '{"config":{"caption":"a"', invalid, /JSON/i),
    connect('a JSON array', 'SubmitJob', '[1,2]', invalid, /object|array|JSON/i),
    connect('a JSON number', 'SubmitJob', '42', invalid, /object|JSON/i),
    connect('JSON null', 'SubmitJob', 'null', invalid, /object|null|JSON/i),
    connect(
      'deep nesting',
      'SubmitJob',
      `{"config":{"caption":${deep}}}`,
      [HTTP.invalid, HTTP.tooLarge],
      /caption|deep|nest|JSON|limit/i,
    ),
    connect(
      'huge caption',
      'SubmitJob',
      JSON.stringify({ config: { ...BASE_CONFIG, caption: huge } }),
      [HTTP.invalid, HTTP.tooLarge, HTTP.busy],
      /caption|limit|bytes|large/i,
    ),
    connect('invalid UTF-8', 'SubmitJob', badUtf8, invalid, /UTF-8|utf8|encod/i),
    connect('GetJob unknown id', 'GetJob', '{"id":"no-such-job"}', [HTTP.notFound], /no-such-job|not found/i),
    connect('GetJob empty id', 'GetJob', '{"id":""}', [HTTP.invalid, HTTP.notFound], /id/),
    connect('GetJob id a number', 'GetJob', '{"id":7}', invalid, /id/),
    connect('CancelJob unknown id', 'CancelJob', '{"id":"nope"}', [HTTP.notFound], /nope|not found/i),
    connect('ListJobs page_size negative', 'ListJobs', '{"page_size":-1}', invalid, /page_size/),
    connect('ListJobs page_token garbage', 'ListJobs', '{"page_token":"%%%garbage"}', invalid, /page_token/),
    connect(
      'DownloadAudio as unary JSON',
      'DownloadAudio',
      '{"object_id":"../../etc/passwd"}',
      [HTTP.unsupported],
      /streaming method/,
    ),
    connect('Generate as unary JSON', 'Generate', '{}', [HTTP.unsupported], /streaming method/),
    connect('unknown method', 'Explode', '{}', [HTTP.notFound], /no method .*Explode/),
  ];
}

/** A gRPC length-prefixed frame: flag byte, 4-byte big-endian length, the message. */
export function grpcFrame(message: Uint8Array, opts: { flag?: number; declared?: number } = {}): Uint8Array {
  const head = new Uint8Array(5);
  head[0] = opts.flag ?? 0;
  new DataView(head.buffer).setUint32(1, opts.declared ?? message.length, false);
  return concatBytes([head, message]);
}

function grpc(
  name: string,
  method: string,
  body: Uint8Array,
  expect: readonly number[],
  message: RegExp,
  headers = {},
): HostileCase {
  return {
    group: 'grpc-binary',
    name,
    transport: 'grpc',
    method: 'POST',
    path: `${GATEWAY}/${method}`,
    headers: { 'content-type': 'application/grpc', te: 'trailers', ...headers },
    body,
    expect,
    message,
  };
}

function grpcCases(): HostileCase[] {
  const config = (fields: Record<string, unknown>) =>
    toBinary(
      SubmitJobRequestSchema,
      create(SubmitJobRequestSchema, { config: create(GenerationConfigSchema, fields) }),
    );
  const good = config({ caption: 'hostile', audioDuration: 10 });
  const invalid = [GRPC.invalid];
  const cases = [
    grpc('missing config', 'SubmitJob', grpcFrame(new Uint8Array(0)), invalid, /config/),
    grpc(
      'batch_size above max',
      'SubmitJob',
      grpcFrame(config({ batchSize: 99 })),
      [GRPC.invalid, GRPC.outOfRange],
      /batch_size/,
    ),
    grpc(
      'lm_top_k above max',
      'SubmitJob',
      grpcFrame(config({ lmTopK: 2 ** 31 - 1 })),
      [GRPC.invalid, GRPC.outOfRange],
      /lm_top_k/,
    ),
    grpc(
      'audio_duration NaN',
      'SubmitJob',
      grpcFrame(config({ audioDuration: Number.NaN })),
      [GRPC.invalid, GRPC.outOfRange],
      /audio_duration/,
    ),
    grpc('unknown task_type number', 'SubmitJob', grpcFrame(config({ taskType: 42 })), invalid, /task_type/),
    grpc(
      'unknown audio_format number',
      'SubmitJob',
      grpcFrame(config({ audioFormat: 9 })),
      invalid,
      /audio_format/,
    ),
    grpc(
      'truncated message',
      'SubmitJob',
      grpcFrame(good.subarray(0, good.length - 3)),
      invalid,
      /not a valid acestep\.v1\.SubmitJobRequest/,
    ),
    grpc(
      'frame longer than the body',
      'SubmitJob',
      grpcFrame(good, { declared: good.length + 100 }),
      invalid,
      /frame|truncat|premature|length|incomplete|envelope/i,
    ),
    grpc(
      'frame header cut',
      'SubmitJob',
      Uint8Array.from([0, 0, 0]),
      invalid,
      /frame|truncat|premature|length|incomplete|envelope/i,
    ),
    grpc(
      'garbage protobuf',
      'SubmitJob',
      grpcFrame(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f])),
      invalid,
      /protobuf|wire|invalid|decode|varint/i,
    ),
    grpc(
      'wire type 7',
      'SubmitJob',
      grpcFrame(Uint8Array.from([0x0f, 0x01])),
      invalid,
      /protobuf|wire|invalid|decode/i,
    ),
    grpc(
      'oversize declared message',
      'SubmitJob',
      grpcFrame(new Uint8Array(16), { declared: 0x7fffffff }),
      [GRPC.exhausted],
      /limit|large|size|bytes/i,
    ),
    grpc(
      'oversize sent message',
      'SubmitJob',
      grpcFrame(new Uint8Array(9 << 20)),
      [GRPC.exhausted],
      /limit|large|size|bytes/i,
    ),
    grpc(
      'compressed flag without encoding',
      'SubmitJob',
      grpcFrame(good, { flag: 1 }),
      [GRPC.invalid, GRPC.unimplemented],
      /compress|encoding/i,
    ),
    grpc(
      'unknown grpc-encoding',
      'SubmitJob',
      grpcFrame(good, { flag: 1 }),
      [GRPC.unimplemented, GRPC.invalid],
      /compress|encoding|zstd-x/i,
      { 'grpc-encoding': 'zstd-x' },
    ),
    grpc(
      'two messages to a unary method',
      'SubmitJob',
      concatBytes([grpcFrame(good), grpcFrame(good)]),
      [GRPC.invalid, GRPC.unimplemented],
      /message|unary|more than one/i,
    ),
    grpc(
      'no message to a unary method',
      'GetJob',
      new Uint8Array(0),
      [GRPC.invalid, GRPC.unimplemented],
      /message|missing|empty/i,
    ),
    grpc(
      'GetJob unknown id',
      'GetJob',
      grpcFrame(Uint8Array.from([0x0a, 3, 0x61, 0x62, 0x63])),
      [GRPC.notFound],
      /abc|not found/i,
    ),
    grpc(
      'GetJob invalid UTF-8 id',
      'GetJob',
      grpcFrame(Uint8Array.from([0x0a, 3, 0xc3, 0x28, 0xff])),
      invalid,
      /UTF-8|utf8|string|invalid/i,
    ),
    grpc('unknown method', 'Explode', grpcFrame(good), [GRPC.unimplemented], /no method .*Explode/),
  ];
  const bomb = flacBomb(6_300);
  cases.push({
    ...grpc(
      'UploadAudio FLAC bomb',
      'UploadAudio',
      grpcFrame(concatBytes([Uint8Array.from([0x0a, ...varint(bomb.length)]), bomb])),
      invalid,
      /600 s|limit|too long/i,
    ),
    bomb: true,
  });
  for (const ct of [
    'application/grpc+xml',
    'text/plain',
    'application/x-www-form-urlencoded',
    'application/octet-stream',
  ]) {
    // A content type no protocol claims is HTTP 415 (no gRPC status), naming the supported ones.
    cases.push(
      grpc(`content-type ${ct}`, 'SubmitJob', grpcFrame(good), [HTTP.unsupported], /is not supported; send/, {
        'content-type': ct,
      }),
    );
  }
  return cases;
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** Server-streaming calls (Generate, WatchJob) over Connect's enveloped JSON and gRPC with a deadline. */
function streamCases(): HostileCase[] {
  const envelope = (json: unknown) => {
    const message = enc.encode(JSON.stringify(json));
    return grpcFrame(message);
  };
  const stream = (name: string, method: string, json: unknown, message: RegExp): HostileCase => ({
    group: 'connect-json',
    name,
    transport: 'http',
    method: 'POST',
    path: `${GATEWAY}/${method}`,
    headers: { 'content-type': 'application/connect+json' },
    body: envelope(json),
    // A Connect stream answers 200; the error is in its end-stream message.
    expect: [200],
    message,
  });
  const good = toBinary(
    SubmitJobRequestSchema,
    create(SubmitJobRequestSchema, {
      config: create(GenerationConfigSchema, { caption: 'hostile', audioDuration: 10 }),
    }),
  );
  return [
    stream(
      'Generate stream: batch_size 99',
      'Generate',
      { config: { ...BASE_CONFIG, batch_size: 99 } },
      /invalid_argument.*batch_size/,
    ),
    stream(
      'Generate stream: unknown field',
      'Generate',
      { config: { ...BASE_CONFIG, sped: 1 } },
      /invalid_argument.*sped/,
    ),
    stream('Generate stream: missing config', 'Generate', {}, /invalid_argument.*config/),
    stream(
      'Generate stream: unknown task_type',
      'Generate',
      { config: { ...BASE_CONFIG, task_type: 'x' } },
      /invalid_argument.*task_type/,
    ),
    stream('WatchJob stream: unknown id', 'WatchJob', { id: 'no-such-job' }, /not_found.*no-such-job/),
    {
      ...stream(
        'Generate stream: body ends inside an envelope',
        'Generate',
        {},
        /invalid_argument.*envelope/,
      ),
      body: envelope({ config: BASE_CONFIG }).subarray(0, 20),
    },
    grpc('Generate with a 1 ms deadline', 'Generate', grpcFrame(good), [4], /deadline|timed out/i, {
      'grpc-timeout': '1m',
    }),
  ];
}

/** Every case of the corpus, for a gateway started with `--max-upload-bytes uploadLimit --api-key apiKey`. */
export function hostileCorpus(opts: { uploadLimit: number; apiKey: string }): HostileCase[] {
  return [
    ...parameterCases(),
    ...jsonShapeCases(),
    ...grpcCases(),
    ...streamCases(),
    ...restCases(),
    ...uploadCases(opts.uploadLimit, opts.apiKey),
    ...authCases(opts.apiKey),
  ];
}
