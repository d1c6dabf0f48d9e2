// The LM service through its real process on the tiny (random-weight) model set: phase 1 with the
// constrained decoder, phase 2 with the K-step loop graph, streaming, seeds, batching, cancel, errors.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type LaunchedService, launchService } from '@acestep/cli/launcher';
import { VALID_KEYSCALES, VALID_LANGUAGES } from '@acestep/lm';
import { LmService } from '@acestep/proto/lm';
import { createStageClient } from '@acestep/runtime';
import { type GenerateInit, generate } from '@acestep/testkit/lm-client';
import { Code, type ConnectError } from '@connectrpc/connect';

const CODE_LIMIT = 64000;
const seq = (seed: number, meta: Record<string, unknown> = {}, caption = 'lofi hip hop, mellow piano') => ({
  caption,
  lyrics: '[Instrumental]',
  seed: BigInt(seed),
  userMetadata: { keyscale: '', language: '', timesignature: '', caption: '', ...meta },
});
const ALL_METAS = { bpm: 120, duration: 10, keyscale: 'F# minor', timesignature: '3' };

describe('lm service', () => {
  let lm: LaunchedService;
  let client: ReturnType<typeof createStageClient<typeof LmService>>;
  before(async () => {
    lm = await launchService('lm', {
      args: [
        '--max-batch',
        '8',
        '--max-queue',
        '2',
        '--max-running',
        '2',
        '--max-caption-tokens',
        '12',
        '--max-lyrics-tokens',
        '12',
      ],
    });
    client = createStageClient(LmService, { target: lm.address });
  });
  after(async () => {
    client?.close();
    await lm?.stop();
  });

  it('reports the LM constants and capabilities in Info and warms up', async () => {
    const { info } = await client.info({});
    assert.equal(info?.model?.loaded, true);
    assert.equal(info?.model?.constants.vocab_size, '217204');
    assert.deepEqual(info?.model?.graphs, ['lm_decode', 'lm_decode_loop', 'lm_decode_top']);
    assert.match(info?.capabilities['lm.top_p'] ?? '', /applied/);
    assert.match(info?.capabilities['lm.seeds'] ?? '', /reproducible/);
    const { report } = await client.warmup({});
    assert.ok((report?.totalNs ?? 0n) > 0n);
    assert.equal(report?.steps.length, 2);
  });

  it('phase 1 writes metadata that parses into valid values, the user duration verbatim', async () => {
    const out = await generate(client, {
      sequences: [seq(1, { duration: 30 }), seq(2, { duration: 30 })],
      useCotMetas: true,
      useCotCaption: true,
      useCotLanguage: true,
    });
    for (const s of out.sequences) {
      const m = s.metadata!;
      assert.ok(m.bpm! >= 30 && m.bpm! <= 300, `bpm ${m.bpm}`);
      assert.equal(m.duration, 30);
      assert.ok(VALID_KEYSCALES.includes(m.keyscale), `keyscale ${m.keyscale}`);
      assert.ok(['2', '3', '4', '6'].includes(m.timesignature), `timesignature ${m.timesignature}`);
      assert.ok((VALID_LANGUAGES as readonly string[]).includes(m.language), `language ${m.language}`);
      assert.ok(m.caption.length > 0);
      assert.match(s.cotText, /^<think>\nbpm: \d+\ncaption:/);
      assert.equal(s.codes.length, 0);
    }
    assert.equal(out.order.at(-1), 'done');
    assert.equal(out.done?.seeds.length, 2);
    assert.ok((out.done?.generatedTokens ?? 0n) > 0n);
  });

  it('streams exactly int(duration x 5) valid codes per sequence with CFG, metadata first, offsets contiguous', async () => {
    const out = await generate(client, {
      sequences: [seq(3, { duration: 10 }), seq(4, { duration: 10.5 })],
      sampling: { cfgScale: 2.5, temperature: 0.9, topP: 0.95, topK: 0 },
      useCotMetas: true,
      generateAudioCodes: true,
      codesChunkSize: 16,
    });
    const targets = [50, 52];
    for (const [i, s] of out.sequences.entries()) {
      assert.equal(s.codes.length, targets[i], `sequence ${i}`);
      assert.ok(s.codes.every((c) => Number.isInteger(c) && c >= 0 && c < CODE_LIMIT));
      assert.ok(new Set(s.codes).size > 1, 'codes vary');
      let next = 0;
      for (const [k, offset] of s.offsets.entries()) {
        assert.equal(offset, next, `sequence ${i} chunk ${k}`);
        next += s.chunkSizes[k]!;
      }
      assert.ok(s.chunkSizes.every((c) => c <= 16));
      const firstCodes = out.order.indexOf(`codes:${i}`);
      assert.ok(out.order.indexOf(`metadata:${i}`) >= 0 && out.order.indexOf(`metadata:${i}`) < firstCodes);
    }
    assert.deepEqual(
      out.order.filter((k) => k.startsWith('metadata')).length,
      2,
      'one metadata event per sequence',
    );
    assert.equal(out.order.at(-1), 'done');
    assert.ok(out.progress.some((p) => p.phase === 'audio_codes' && p.totalTokens === 102));
    assert.equal(out.progress.at(-1)?.tokens, 102);
  });

  it('same seed gives the same metadata and codes; a different seed differs', async () => {
    const request: GenerateInit = {
      sequences: [seq(11, { duration: 10 }), seq(11, { duration: 10 }), seq(12, { duration: 10 })],
      useCotMetas: true,
      useCotCaption: true,
      generateAudioCodes: true,
    };
    const a = await generate(client, request);
    const b = await generate(client, request);
    assert.deepEqual(a.sequences, b.sequences);
    assert.deepEqual(a.sequences[0]!.codes, a.sequences[1]!.codes);
    assert.deepEqual(a.sequences[0]!.metadata, a.sequences[1]!.metadata);
    assert.notDeepEqual(a.sequences[0]!.codes, a.sequences[2]!.codes);
    assert.notDeepEqual(a.sequences[0]!.cotText, a.sequences[2]!.cotText);
    assert.deepEqual(a.done?.seeds, [11n, 11n, 12n]);
    // A negative seed asks for a random one, reported in done.
    const r = await generate(client, { sequences: [seq(-1, ALL_METAS)], generateAudioCodes: false });
    assert.ok(r.done!.seeds[0]! >= 0n);
  });

  it('runs a batch of 4: given values appear verbatim, phase 1 is skipped when all four metas are given', async () => {
    const out = await generate(client, {
      sequences: [
        seq(21, ALL_METAS),
        seq(22, ALL_METAS),
        seq(23, { bpm: 97, duration: 10 }),
        seq(24, { keyscale: 'Bb major', duration: 10, language: 'ja' }),
      ],
      useCotMetas: true,
      useCotLanguage: true,
      generateAudioCodes: true,
      codesChunkSize: 25,
    });
    for (const i of [0, 1]) {
      const m = out.sequences[i]!.metadata!;
      assert.equal(out.sequences[i]!.cotText, '', 'no phase 1');
      assert.deepEqual(
        { bpm: m.bpm, duration: m.duration, keyscale: m.keyscale, timesignature: m.timesignature },
        ALL_METAS,
      );
    }
    assert.equal(out.sequences[2]!.metadata!.bpm, 97);
    assert.match(out.sequences[2]!.cotText, /^<think>\nbpm: 97\n/);
    assert.equal(out.sequences[3]!.metadata!.keyscale, 'Bb major');
    assert.equal(out.sequences[3]!.metadata!.language, 'ja');
    for (const s of out.sequences) {
      assert.equal(s.codes.length, 50);
      assert.deepEqual(s.chunkSizes, [25, 25]);
    }
    // Sequences without phase 1 stream their metadata before any phase-1 metadata.
    assert.deepEqual(out.order.slice(0, 2), ['metadata:0', 'metadata:1']);
  });

  it('answers Info during a generation; cancel mid-generation stops the worker; the next request runs at once', async () => {
    const controller = new AbortController();
    let chunks = 0;
    let infoWhileRunning: Promise<unknown> | undefined;
    await assert.rejects(
      generate(
        client,
        {
          sequences: [seq(31, { ...ALL_METAS, duration: 600 })],
          generateAudioCodes: true,
          codesChunkSize: 8,
        },
        {
          signal: controller.signal,
          onEvent: (kind) => {
            if (!kind.startsWith('codes') || ++chunks > 1) return;
            // The engine runs in its own thread: the service answers while codes are being made.
            infoWhileRunning = client.info({}).then((r) => {
              controller.abort();
              return r;
            });
          },
        },
      ),
      (e: ConnectError) => e.code === Code.Canceled,
    );
    assert.ok(((await infoWhileRunning) as { info?: unknown }).info);
    assert.ok(chunks >= 1 && chunks < 3000 / 8, `${chunks} chunks before the cancel`);
    // 3000 codes would take far longer than this if the worker went on decoding the cancelled job.
    const next = await generate(client, { sequences: [seq(32, ALL_METAS)], generateAudioCodes: true });
    assert.equal(next.sequences[0]!.codes.length, 50);
    const queuedMs = Number(next.done!.timings!.queueNs) / 1e6;
    assert.ok(queuedMs < 5000, `next request waited ${queuedMs} ms for the cancelled one`);
  });

  it('answers bad inputs with INVALID_ARGUMENT naming the field and the allowed range', async () => {
    const cases: [string, () => Promise<unknown>, RegExp][] = [
      [
        'no sequences',
        () => generate(client, { sequences: [] }),
        /sequences must hold 1\.\.8 sequences .*got 0/,
      ],
      [
        'too many',
        () => generate(client, { sequences: Array.from({ length: 9 }, (_, i) => seq(i)) }),
        /got 9/,
      ],
      [
        'bpm',
        () => generate(client, { sequences: [seq(1), seq(2), seq(3, { bpm: 999 })] }),
        /sequences\[2\]\.user_metadata\.bpm must be in 30\.\.300, got 999/,
      ],
      [
        'duration',
        () => generate(client, { sequences: [seq(1, { duration: 5 })] }),
        /sequences\[0\]\.user_metadata\.duration must be in 10\.\.600/,
      ],
      [
        'keyscale',
        () => generate(client, { sequences: [seq(1, { keyscale: 'H major' })] }),
        /user_metadata\.keyscale must be/,
      ],
      [
        'timesignature',
        () => generate(client, { sequences: [seq(1, { timesignature: '5' })] }),
        /user_metadata\.timesignature must be one of 2, 2\/4/,
      ],
      [
        'language',
        () => generate(client, { sequences: [seq(1, { language: 'xx' })] }),
        /user_metadata\.language must be a language code/,
      ],
      [
        'temperature',
        () => generate(client, { sequences: [seq(1)], sampling: { temperature: 3 } }),
        /sampling\.temperature must be in 0\.\.2/,
      ],
      [
        'cfg',
        () => generate(client, { sequences: [seq(1)], sampling: { cfgScale: 6 } }),
        /sampling\.cfg_scale must be in 1\.\.5/,
      ],
      [
        'top_p',
        () => generate(client, { sequences: [seq(1)], sampling: { topP: 1.5 } }),
        /sampling\.top_p must be in 0\.\.1/,
      ],
      [
        'penalty',
        () => generate(client, { sequences: [seq(1)], sampling: { repetitionPenalty: -1 } }),
        /sampling\.repetition_penalty must be > 0/,
      ],
      [
        'chunk',
        () => generate(client, { sequences: [seq(1)], codesChunkSize: 1000 }),
        /codes_chunk_size must be in 1\.\.256/,
      ],
      [
        'codes',
        () => client.understandAudio({ audioCodes: [1, 70000] }),
        /audio_codes\[1\] must be in 0\.\.63999, got 70000/,
      ],
      [
        'format bpm',
        () => client.formatSample({ userMetadata: { bpm: 10 } }),
        /user_metadata\.bpm must be in 30\.\.300/,
      ],
      [
        'vocal language',
        () => client.createSample({ query: 'x', vocalLanguage: 'klingon' }),
        /vocal_language must be a language code/,
      ],
    ];
    for (const [label, call, message] of cases) {
      await assert.rejects(call(), (e: ConnectError) => {
        assert.equal(e.code, Code.InvalidArgument, `${label}: ${e.message}`);
        assert.match(e.rawMessage, message, label);
        return true;
      });
    }
    const ok = await generate(client, { sequences: [seq(1, ALL_METAS)] });
    assert.equal(ok.order.at(-1), 'done');
  });

  it('understands codes, formats and creates samples with the CoT decoder; given values verbatim', async () => {
    const understood = await client.understandAudio({ audioCodes: [5, 17, 63999, 0], seed: 3n });
    assert.ok(understood.metadata!.bpm! >= 30 && understood.metadata!.bpm! <= 300);
    assert.ok(VALID_KEYSCALES.includes(understood.metadata!.keyscale));
    const again = await client.understandAudio({ audioCodes: [5, 17, 63999, 0], seed: 3n });
    assert.deepEqual(again, understood);
    const formatted = await client.formatSample({
      caption: 'rock',
      lyrics: '[Verse]\nhello',
      userMetadata: { bpm: 142, duration: 61, keyscale: '', language: 'en', timesignature: '' },
      seed: 4n,
    });
    assert.equal(formatted.metadata!.bpm, 142);
    assert.equal(formatted.metadata!.duration, 61);
    assert.equal(formatted.metadata!.language, '', 'a given language skips the field');
    const created = await client.createSample({
      query: 'a sad song',
      instrumental: true,
      vocalLanguage: 'de',
      seed: 5n,
    });
    assert.equal(created.metadata!.language, 'de');
    assert.ok(created.lyrics.length > 0);
  });

  it('refuses generations beyond the bounded queue with RESOURCE_EXHAUSTED', async () => {
    const calls = Array.from({ length: 5 }, (_, i) =>
      generate(client, { sequences: [seq(40 + i, ALL_METAS)], generateAudioCodes: true }),
    );
    const results = await Promise.allSettled(calls);
    const refused = results.filter(
      (r) => r.status === 'rejected' && (r.reason as ConnectError).code === Code.ResourceExhausted,
    );
    const done = results.filter((r) => r.status === 'fulfilled');
    assert.ok(refused.length >= 1, 'some calls refused');
    assert.ok(done.length >= 3, 'admitted calls finished');
    assert.equal(refused.length + done.length, 5);
  });
});
