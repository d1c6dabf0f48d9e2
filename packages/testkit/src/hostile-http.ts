// The corpus's plain-HTTP cases: the official REST routes, /v1/objects uploads
// (non-audio, truncated and lying files, decompression bombs, over-limit
// lengths, broken multipart) and the API key. hostile-corpus.ts has the rest.
import { concatBytes, flacBomb, mp3Bomb, smallWav, wavLiar, wavWithHeader } from './audio-bombs.ts';
import type { HostileCase } from './hostile-corpus.ts';

const enc = new TextEncoder();
const BAD = 400;

function http(
  group: HostileCase['group'],
  name: string,
  method: string,
  path: string,
  body: string | Uint8Array | undefined,
  headers: Record<string, string>,
  expect: readonly number[],
  message: RegExp,
): HostileCase {
  const bytes = typeof body === 'string' ? enc.encode(body) : body;
  return {
    group,
    name,
    transport: 'http',
    method,
    path,
    headers,
    ...(bytes ? { body: bytes } : {}),
    expect,
    message,
  };
}

const json = { 'content-type': 'application/json' };
const release = (name: string, params: Record<string, unknown>, message: RegExp, expect = [BAD]) =>
  http(
    'rest',
    name,
    'POST',
    '/release_task',
    JSON.stringify({ prompt: 'hostile', ...params }),
    json,
    expect,
    message,
  );

/** A multipart/form-data body with `boundary` from text fields and files. */
export function multipart(
  boundary: string,
  parts: { name: string; value: string | Uint8Array; filename?: string; type?: string }[],
): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ''}`;
    const type = p.type ? `\r\nContent-Type: ${p.type}` : '';
    chunks.push(enc.encode(`--${boundary}\r\nContent-Disposition: ${disposition}${type}\r\n\r\n`));
    chunks.push(typeof p.value === 'string' ? enc.encode(p.value) : p.value, enc.encode('\r\n'));
  }
  chunks.push(enc.encode(`--${boundary}--\r\n`));
  return concatBytes(chunks);
}

const form = (boundary = 'hostileboundary') => ({
  'content-type': `multipart/form-data; boundary=${boundary}`,
});

export function restCases(): HostileCase[] {
  const cases: HostileCase[] = [
    release('bpm a word', { bpm: 'fast' }, /bpm/),
    release('bpm above max', { bpm: 1000 }, /bpm/),
    release('audio_duration negative', { audio_duration: -5 }, /audio_duration/),
    release('duration alias above max', { duration: 100_000 }, /audio_duration|duration/),
    release('batch_size 99', { batch_size: 99 }, /batch_size/),
    release('batch_size a fraction', { batch_size: 1.5 }, /batch_size/),
    release('inference_steps 0', { inference_steps: 0 }, /inference_steps/),
    release('guidance_scale 1e9', { guidance_scale: 1e9 }, /guidance_scale/),
    release('thinking a word', { thinking: 'maybe' }, /thinking/),
    release('task_type unknown', { task_type: 'remix' }, /task_type/),
    release('audio_format unknown', { audio_format: 'aiff' }, /audio_format/),
    release('lm_top_k 2^31-1', { lm_top_k: 2 ** 31 - 1 }, /lm_top_k/),
    release('lm_top_p 2', { lm_top_p: 2 }, /lm_top_p/),
    release('seed a word', { seed: 'lucky' }, /seed/),
    release('key_scale unknown', { key_scale: 'H major' }, /key_scale/),
    release(
      'src_audio_path a server file',
      { src_audio_path: '/etc/passwd', task_type: 'cover' },
      /src_audio_path/,
    ),
    release(
      'reference_audio_path a server file',
      { reference_audio_path: '../../etc/shadow' },
      /reference_audio_path/,
    ),
    http('rest', 'release_task truncated JSON', 'POST', '/release_task', '{"prompt":', json, [BAD], /JSON/i),
    http('rest', 'release_task a JSON array', 'POST', '/release_task', '[1]', json, [BAD], /object|JSON/i),
    http(
      'rest',
      'release_task invalid UTF-8',
      'POST',
      '/release_task',
      Uint8Array.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d]),
      json,
      [BAD],
      /UTF-8|utf8|JSON|encod/i,
    ),
    http(
      'rest',
      'release_task unknown content-type',
      'POST',
      '/release_task',
      'prompt=x',
      { 'content-type': 'application/xml' },
      [415, BAD],
      /content-type|xml|unsupported/i,
    ),
    http(
      'rest',
      'release_task multipart without boundary',
      'POST',
      '/release_task',
      'x',
      { 'content-type': 'multipart/form-data' },
      [BAD],
      /boundary|multipart/i,
    ),
    http(
      'rest',
      'release_task multipart cut short',
      'POST',
      '/release_task',
      '--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nhel',
      form('b'),
      [BAD],
      /multipart|unexpected|end|truncat/i,
    ),
    http(
      'rest',
      'release_task multipart non-audio src_audio',
      'POST',
      '/release_task',
      multipart('b', [
        { name: 'prompt', value: 'x' },
        { name: 'task_type', value: 'cover' },
        { name: 'src_audio', value: 'not audio at all '.repeat(50), filename: 'a.wav', type: 'audio/wav' },
      ]),
      form('b'),
      [BAD],
      /audio/i,
    ),
    http(
      'rest',
      'release_task multipart bad number field',
      'POST',
      '/release_task',
      multipart('b', [
        { name: 'prompt', value: 'x' },
        { name: 'bpm', value: 'NaN' },
      ]),
      form('b'),
      [BAD],
      /bpm/,
    ),
    http(
      'rest',
      'release_task multipart FLAC bomb',
      'POST',
      '/release_task',
      multipart('b', [
        { name: 'prompt', value: 'x' },
        { name: 'task_type', value: 'cover' },
        { name: 'src_audio', value: flacBomb(6_300), filename: 'b.flac', type: 'audio/flac' },
      ]),
      form('b'),
      [BAD],
      /600 s|limit|too long/i,
    ),
    http(
      'rest',
      'query_result task_id_list a number',
      'POST',
      '/query_result',
      '{"task_id_list":5}',
      json,
      [BAD],
      /task_id_list/,
    ),
    http(
      'rest',
      'query_result task_id_list bad JSON string',
      'POST',
      '/query_result',
      '{"task_id_list":"[1,2"}',
      json,
      [BAD, 200],
      /task_id_list|data/,
    ),
    http(
      'rest',
      'query_result task_id_list of numbers',
      'POST',
      '/query_result',
      '{"task_id_list":[1,2]}',
      json,
      [BAD],
      /task_id_list/,
    ),
    http(
      'rest',
      'format_input param_obj broken JSON',
      'POST',
      '/format_input',
      '{"prompt":"x","param_obj":"{broken"}',
      json,
      [BAD],
      /param_obj/,
    ),
    http(
      'rest',
      'format_input param_obj an array',
      'POST',
      '/format_input',
      '{"prompt":"x","param_obj":"[1]"}',
      json,
      [BAD],
      /param_obj/,
    ),
    http(
      'rest',
      'format_input temperature a word',
      'POST',
      '/format_input',
      '{"prompt":"x","temperature":"hot"}',
      json,
      [BAD],
      /temperature/,
    ),
  ];
  for (const path of [
    '../../etc/passwd',
    '/etc/passwd',
    '..%2F..%2Fetc%2Fpasswd',
    'a/../../b.wav',
    '%00.wav',
    'C:\\Windows\\win.ini',
  ])
    cases.push(
      http(
        'rest',
        `v1/audio path ${path}`,
        'GET',
        `/v1/audio?path=${encodeURIComponent(path)}`,
        undefined,
        {},
        [403, 404],
        /Access denied|not found/i,
      ),
    );
  cases.push(
    http(
      'rest',
      'v1/audio unknown object',
      'GET',
      '/v1/audio?path=nosuchobject.wav',
      undefined,
      {},
      [404],
      /not found/i,
    ),
  );
  cases.push(
    http(
      'rest',
      'v1/audio without path',
      'GET',
      '/v1/audio',
      undefined,
      {},
      [403, BAD, 404],
      /path|Access denied/i,
    ),
  );
  for (const path of [
    '/v1/objects/..%2F..%2Fetc%2Fpasswd',
    '/v1/objects/nope',
    '/v1/objects/%00',
    `/v1/objects/${'a'.repeat(5000)}`,
  ])
    cases.push(
      http('rest', `GET ${path.slice(0, 40)}`, 'GET', path, undefined, {}, [404, BAD], /not found|object/i),
    );
  cases.push(
    http('rest', 'unknown route', 'GET', '/admin/../../etc/passwd', undefined, {}, [404], /no method/),
  );
  cases.push(
    http('rest', 'DELETE on objects', 'DELETE', '/v1/objects/x', undefined, {}, [404, 405], /use PUT\/POST/),
  );
  return cases;
}

const upload = (
  name: string,
  body: Uint8Array,
  expect: readonly number[],
  message: RegExp,
  headers: Record<string, string> = {},
  method = 'PUT',
) => http('upload', name, method, '/v1/objects', body, headers, expect, message);

export function uploadCases(limit: number, apiKey: string): HostileCase[] {
  const wav = smallWav(1);
  const flac = flacBomb(3);
  const mp3 = mp3Bomb(200);
  const notAudio = /audio/i;
  const cases: HostileCase[] = [
    upload('text bytes', enc.encode('hello, not audio '.repeat(100)), [BAD], notAudio),
    upload('empty body', new Uint8Array(0), [BAD], /empty|audio|no bytes/i),
    upload(
      'random bytes',
      Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919) & 0xff),
      [BAD],
      notAudio,
    ),
    upload(
      'a PNG header',
      Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...new Uint8Array(64)]),
      [BAD],
      notAudio,
    ),
    upload('a JSON document', enc.encode('{"caption":"x"}'), [BAD], notAudio),
    upload('WAV header only', wav.subarray(0, 44), [BAD], /audio|empty|truncat|no samples|short/i),
    upload('WAV cut inside the header', wav.subarray(0, 30), [BAD], /audio|truncat|header|corrupt/i),
    upload('WAV declaring 4 GB', wavLiar(), [BAD], /audio|truncat|long|limit/i),
    upload(
      'WAV declaring 1 h, carrying 1 s',
      wavWithHeader(3600 * 48_000 * 4, wav.subarray(44)),
      [BAD],
      /audio|truncat|long|limit/i,
    ),
    upload(
      'WAV in an unknown sample format',
      wavWithHeader(wav.length - 44, wav.subarray(44), 0x55),
      [BAD],
      /audio|format|unsupported|codec/i,
    ),
    upload('WAV body labelled as FLAC', wav, [201, BAD], /.*/, { 'content-type': 'audio/flac' }),
    upload('FLAC cut in STREAMINFO', flac.subarray(0, 20), [BAD], /audio|truncat|corrupt|STREAMINFO/i),
    upload(
      'FLAC frames corrupted',
      concatBytes([flac.subarray(0, 42), new Uint8Array(200).fill(0x55)]),
      [BAD],
      /audio|corrupt|frame|truncat|no samples/i,
    ),
    upload(
      'MP3 sync bytes only',
      Uint8Array.from([0xff, 0xfb, 0x90, 0x00]),
      [BAD],
      /audio|truncat|corrupt|short|no samples/i,
    ),
    upload('MP3 frames cut mid-frame', mp3.subarray(0, 72 * 3 + 10), [BAD, 201], /.*/),
    upload(
      'ID3 tag with nothing after it',
      Uint8Array.from([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0x10, 0, ...new Uint8Array(2048)]),
      [BAD],
      notAudio,
    ),
    upload('Ogg page header only', enc.encode('OggS\0\x02'), [BAD], /audio|truncat|ogg|corrupt/i),
    { ...upload('FLAC bomb, unknown length', flacBomb(6_300), [BAD], /600 s|too long|limit/i), bomb: true },
    { ...upload('FLAC bomb, lying length', flacBomb(600, 10), [BAD], /600 s|too long|limit/i), bomb: true },
    { ...upload('MP3 bomb', mp3Bomb(15_000), [BAD], /600 s|too long|limit/i), bomb: true },
    {
      ...upload('FLAC bomb as POST', flacBomb(6_300), [BAD], /600 s|too long|limit/i, {}, 'POST'),
      bomb: true,
    },
    {
      ...upload(
        'FLAC bomb in multipart',
        multipart('b', [{ name: 'file', value: flacBomb(6_300), filename: 'x.flac', type: 'audio/flac' }]),
        [BAD],
        /600 s|too long|limit/i,
        form('b'),
        'POST',
      ),
      bomb: true,
    },
    upload(
      'multipart without a file part',
      multipart('b', [{ name: 'caption', value: 'x' }]),
      [BAD],
      /file/i,
      form('b'),
      'POST',
    ),
    upload(
      'multipart with the wrong boundary',
      multipart('other', [{ name: 'file', value: wav, filename: 'a.wav' }]),
      [BAD],
      /multipart|boundary|file/i,
      form('b'),
      'POST',
    ),
    upload(
      'multipart cut short',
      multipart('b', [{ name: 'file', value: wav, filename: 'a.wav' }]).subarray(0, 500),
      [BAD],
      /multipart|unexpected|end|truncat|audio/i,
      form('b'),
      'POST',
    ),
    upload(
      'multipart without boundary',
      wav,
      [BAD],
      /boundary|multipart/i,
      { 'content-type': 'multipart/form-data' },
      'POST',
    ),
    upload(
      'multipart non-audio file',
      multipart('b', [{ name: 'file', value: enc.encode('text '.repeat(99)), filename: 'a.wav' }]),
      [BAD],
      notAudio,
      form('b'),
      'POST',
    ),
  ];
  // Over the limit by its declared length: the gateway must answer before (or without) reading the body.
  const raw = (name: string, head: string, body: Uint8Array = new Uint8Array(0)): HostileCase => ({
    group: 'upload',
    name,
    transport: 'raw',
    method: 'PUT',
    path: '/v1/objects',
    headers: {},
    body: concatBytes([
      enc.encode(`${head}Authorization: Bearer ${apiKey}\r\nHost: localhost\r\n\r\n`),
      body,
    ]),
    expect: [413],
    message: new RegExp(String(limit)),
  });
  cases.push(
    raw(
      'Content-Length one byte over the limit',
      `PUT /v1/objects HTTP/1.1\r\nContent-Length: ${limit + 1}\r\n`,
      wav,
    ),
    raw('Content-Length of 1 TB', 'PUT /v1/objects HTTP/1.1\r\nContent-Length: 1099511627776\r\n'),
    raw('Content-Length of 2^63', 'PUT /v1/objects HTTP/1.1\r\nContent-Length: 9223372036854775808\r\n'),
    raw(
      'POST multipart declaring over the limit',
      `POST /v1/objects HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: ${limit * 4}\r\n`,
    ),
  );
  cases.push({
    ...raw(
      'release_task declaring over the limit',
      `POST /release_task HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: ${limit * 4}\r\n`,
    ),
    group: 'rest',
  });
  return cases;
}

export function authCases(apiKey: string): HostileCase[] {
  const cases: HostileCase[] = [];
  const keys: [string, Record<string, string>][] = [
    ['no key', {}],
    ['wrong key', { authorization: 'Bearer wrong-key' }],
    ['key with one char changed', { authorization: `Bearer ${apiKey.slice(0, -1)}X` }],
    ['key prefix', { authorization: `Bearer ${apiKey.slice(0, 4)}` }],
    ['empty bearer', { authorization: 'Bearer ' }],
    ['wrong x-api-key', { 'x-api-key': 'nope' }],
    ['Basic credentials', { authorization: 'Basic dXNlcjpwYXNz' }],
  ];
  const calls: [string, string, string, string | undefined, Record<string, string>][] = [
    ['SubmitJob', 'POST', '/acestep.v1.GatewayService/SubmitJob', '{"config":{"caption":"x"}}', json],
    ['ListJobs', 'POST', '/acestep.v1.GatewayService/ListJobs', '{}', json],
    ['release_task', 'POST', '/release_task', '{"prompt":"x"}', json],
    ['query_result', 'POST', '/query_result', '{"task_id_list":[]}', json],
    ['PUT /v1/objects', 'PUT', '/v1/objects', undefined, {}],
    ['v1/audio', 'GET', '/v1/audio?path=x.wav', undefined, {}],
  ];
  for (const [key, keyHeaders] of keys)
    for (const [call, method, path, body, headers] of calls)
      cases.push(
        http(
          'auth',
          `${call}: ${key}`,
          method,
          path,
          call === 'PUT /v1/objects' ? smallWav(0.1) : body,
          { ...headers, ...keyHeaders },
          [401],
          /key|auth|unauthenticated/i,
        ),
      );
  // The right key without "Bearer": only the official REST routes take it so.
  for (const [call, method, path, body, headers] of calls.filter(([name]) => !REST_CALLS.has(name)))
    cases.push(
      http(
        'auth',
        `${call}: bare key`,
        method,
        path,
        call === 'PUT /v1/objects' ? smallWav(0.1) : body,
        { ...headers, authorization: apiKey },
        [401],
        /must be .{0,3}Bearer <key>/,
      ),
    );
  return cases;
}

const REST_CALLS = new Set(['release_task', 'query_result', 'v1/audio']);
