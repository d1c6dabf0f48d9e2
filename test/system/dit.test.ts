// The DiT service through its real process: the tiny (turbo) model set, and a base-variant copy
// of it for the base-only tasks and classifier-free guidance.
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type LaunchedService, launchService } from '@acestep/cli/launcher';
import { DitService, TaskType } from '@acestep/proto/dit';
import { createStageClient, DEFAULT_MODEL_DIR } from '@acestep/runtime';
import { maxAbsDiff } from '@acestep/testkit/compare';
import {
  bytesEqual,
  type DitClient,
  generate,
  type SpecInit,
  sourceLatents,
  textSpec,
  tokenize,
} from '@acestep/testkit/dit-client';
import { baseVariantSet } from '@acestep/testkit/model-sets';
import { Code, ConnectError } from '@connectrpc/connect';

/**
 * Batched vs unbatched latents, max |difference| after 8 turbo steps. Measured 9.5e-7 on the
 * tiny set (onnxruntime's CPU matmul blocks rows differently per batch size); 10x margin.
 */
const BATCH_TOLERANCE = 1e-5;

async function silenceLatent(): Promise<Float32Array> {
  const bytes = await readFile(join(DEFAULT_MODEL_DIR, 'silence_latent.bin'));
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

async function rejectsWith(call: Promise<unknown>, code: Code, pattern: RegExp): Promise<void> {
  await assert.rejects(call, (e: unknown) => {
    assert.ok(e instanceof ConnectError, `not a ConnectError: ${e}`);
    assert.equal(Code[e.code], Code[code], e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

function logLines(logs: string[], msg: string): Record<string, unknown>[] {
  return logs
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return {};
      }
    })
    .filter((r) => r.msg === msg);
}

describe('dit service (turbo tiny set)', () => {
  let dit: LaunchedService;
  let client: DitClient;
  const logs: string[] = [];
  before(async () => {
    dit = await launchService('dit', {
      args: ['--max-batch', '4', '--batch-window-ms', '20'],
      onLog: (_n, line) => logs.push(line),
    });
    client = createStageClient(DitService, { target: dit.address });
  });
  after(async () => {
    client?.close();
    await dit?.stop();
  });

  it('reports the variant and that turbo ignores guidance; warms up', async () => {
    const { info } = await client.info({});
    assert.equal(info?.model?.variant, 'turbo');
    assert.equal(info?.model?.loaded, true);
    assert.equal(info?.capabilities.tasks, 'text2music,cover,repaint');
    assert.match(info?.capabilities.guidance ?? '', /ignore/);
    const { report } = await client.warmup({});
    assert.deepEqual(report?.steps, ['text2music 1x250 frames, 8 steps']);
  });

  it('text2music: one progress event per step, then [T, 64] latents per item and the seeds', async () => {
    const out = await generate(client, textSpec({}, [3n, 4n]));
    assert.deepEqual(out.shapes, [
      [250, 64],
      [250, 64],
    ]);
    assert.deepEqual(
      out.progress.map((p) => [p.step, p.totalSteps]),
      [1, 2, 3, 4, 5, 6, 7, 8].map((s) => [s, 8]),
    );
    assert.equal(out.progress[0]?.timestep, Math.fround(1)); // shift 3 table starts at t = 1
    assert.deepEqual(out.done?.seeds, [3n, 4n]);
    assert.equal(out.done?.frames, 250n);
    assert.ok(out.latents.every((l) => l.every(Number.isFinite)));
  });

  it('same seed gives identical bytes, a different seed or reference gives different latents', async () => {
    const a = await generate(client, textSpec({}, [11n]));
    const b = await generate(client, textSpec({}, [11n]));
    const c = await generate(client, textSpec({}, [12n]));
    const withReference = await generate(client, textSpec({}, [11n]), [
      { referenceLatents: sourceLatents(750, 5) },
    ]);
    assert.ok(bytesEqual(a.latents[0]!, b.latents[0]!));
    assert.ok(maxAbsDiff(a.latents[0]!, c.latents[0]!) > 0.1);
    assert.ok(maxAbsDiff(a.latents[0]!, withReference.latents[0]!) > 0);
    // SDE re-noising is seeded too (stream k + 1 of the item's seed).
    const sde = await generate(client, textSpec({ inferMethod: 'sde' }, [11n]));
    const sdeAgain = await generate(client, textSpec({ inferMethod: 'sde' }, [11n]));
    assert.ok(bytesEqual(sde.latents[0]!, sdeAgain.latents[0]!));
    assert.ok(maxAbsDiff(sde.latents[0]!, a.latents[0]!) > 0);
  });

  it('concurrent requests run as one batch and equal their unbatched results', async () => {
    const seeds = [21n, 22n, 23n];
    const alone = [];
    for (const seed of seeds) alone.push(await generate(client, textSpec({}, [seed])));
    const before = logLines(logs, 'batch start').length;
    const together = await Promise.all(seeds.map((seed) => generate(client, textSpec({}, [seed]))));
    const batches = logLines(logs, 'batch start').slice(before);
    assert.ok(
      batches.some((b) => Number(b.jobs) >= 2),
      `expected a multi-request batch, got ${JSON.stringify(batches)}`,
    );
    for (const [i, out] of together.entries()) {
      assert.equal(out.progress.length, 8);
      const diff = maxAbsDiff(out.latents[0]!, alone[i]!.latents[0]!);
      assert.ok(diff <= BATCH_TOLERANCE, `seed ${seeds[i]}: max diff ${diff}`);
    }
    // Two items in one request equal the same seeds as single-item requests.
    const pair = await generate(client, textSpec({}, [21n, 22n]));
    for (const i of [0, 1]) {
      const diff = maxAbsDiff(pair.latents[i]!, alone[i]!.latents[0]!);
      assert.ok(diff <= BATCH_TOLERANCE, `item ${i}: max diff ${diff}`);
    }
  });

  it('cover (from a source and from codes) and repaint produce latents of the source length', async () => {
    const src = sourceLatents(300);
    const cover = await generate(client, textSpec({ taskType: TaskType.COVER, durationSeconds: 0 }), [
      { srcLatents: src },
    ]);
    assert.deepEqual(cover.shapes, [[300, 64]]);
    // audio_cover_strength < 1 switches to the text2music conditioning for the last steps.
    const halfCover = await generate(
      client,
      textSpec({ taskType: TaskType.COVER, durationSeconds: 0, audioCoverStrength: 0.5 }),
      [{ srcLatents: src }],
    );
    assert.deepEqual(halfCover.shapes, [[300, 64]]);
    assert.ok(maxAbsDiff(halfCover.latents[0]!, cover.latents[0]!) > 0);
    const codes = Array.from({ length: 50 }, (_, i) => (i * 997) % 64000);
    const fromCodes = await generate(client, {
      ...textSpec({ durationSeconds: 0 }),
      items: [{ caption: 'x', audioCodes: codes, seed: 1n }],
    });
    assert.deepEqual(fromCodes.shapes, [[250, 64]]); // 5 frames per code
    const repaint = await generate(
      client,
      textSpec({ taskType: TaskType.REPAINT, durationSeconds: 0, repaintingStart: 2, repaintingEnd: 5 }),
      [{ srcLatents: src }],
    );
    assert.deepEqual(repaint.shapes, [[300, 64]]);
    assert.ok(maxAbsDiff(repaint.latents[0]!, cover.latents[0]!) > 0);
    // Re-injection on every step (ratio 1) ends at t = 0: outside [2, 5) s = frames [50, 125) the
    // result is the source bit for bit; no crossfade. The default (0.5, 10 frames) differs.
    const held = await generate(
      client,
      textSpec({
        taskType: TaskType.REPAINT,
        durationSeconds: 0,
        repaintingStart: 2,
        repaintingEnd: 5,
        repaintInjectionRatio: 1,
        repaintCrossfadeFrames: 0,
      }),
      [{ srcLatents: src }],
    );
    const out = held.latents[0]!;
    const width = 64;
    assert.deepEqual(out.subarray(0, 50 * width), src.subarray(0, 50 * width));
    assert.deepEqual(out.subarray(125 * width), src.subarray(125 * width));
    assert.ok(maxAbsDiff(out.subarray(50 * width, 125 * width), src.subarray(50 * width, 125 * width)) > 0);
    assert.ok(maxAbsDiff(out, repaint.latents[0]!) > 0);
  });

  it('TokenizeLatents: 5 Hz codes, T padded to a multiple of 5 with the first silence frames', async () => {
    const latents = sourceLatents(252, 2);
    const [codes] = await tokenize(client, [latents]);
    assert.equal(codes?.length, 51);
    assert.ok(codes!.every((c) => Number.isInteger(c) && c >= 0 && c <= 63999));
    const silence = await silenceLatent();
    const padded = new Float32Array(255 * 64);
    padded.set(latents);
    padded.set(silence.subarray(0, 3 * 64), 252 * 64);
    const [explicit, prefix] = await tokenize(client, [padded, latents.slice(0, 250 * 64)]);
    assert.deepEqual(explicit, codes);
    assert.deepEqual(prefix, codes!.slice(0, 50)); // pooling windows are independent
    // Round trip: the codes drive a cover; the detokenizer gives 5 frames per code.
    const cover = await generate(client, {
      ...textSpec({ taskType: TaskType.COVER, durationSeconds: 0 }),
      items: [{ caption: 'x', audioCodes: codes!, seed: 1n }],
    });
    assert.deepEqual(cover.shapes, [[255, 64]]);
  });

  it('answers bad requests with the right code naming the field, and stays healthy', async () => {
    const src = [{ srcLatents: sourceLatents(300) }];
    const cases: [string, SpecInit, Parameters<typeof generate>[2], Code, RegExp][] = [
      ['unknown task', textSpec({ taskType: 99 as TaskType }), [], Code.InvalidArgument, /task_type/],
      ['short duration', textSpec({ durationSeconds: 5 }), [], Code.InvalidArgument, /duration_seconds/],
      [
        'no duration',
        textSpec({ durationSeconds: 0 }),
        [],
        Code.InvalidArgument,
        /duration_seconds: required/,
      ],
      [
        'too many items',
        textSpec({}, [1n, 2n, 3n, 4n, 5n]),
        [],
        Code.InvalidArgument,
        /items: must hold 1\.\.4/,
      ],
      ['turbo steps', textSpec({ inferenceSteps: 9 }), [], Code.InvalidArgument, /inference_steps/],
      [
        'lego on turbo',
        textSpec({ taskType: TaskType.LEGO, durationSeconds: 0 }),
        src,
        Code.FailedPrecondition,
        /task_type: lego needs a base model; tiny \(acestep-v15-turbo\)/,
      ],
      [
        'repaint outside the audio',
        textSpec({ taskType: TaskType.REPAINT, durationSeconds: 0, repaintingStart: 2, repaintingEnd: 30 }),
        src,
        Code.InvalidArgument,
        /repainting_end/,
      ],
      [
        'repaint injection ratio above 1',
        textSpec({ taskType: TaskType.REPAINT, durationSeconds: 0, repaintInjectionRatio: 1.5 }),
        src,
        Code.InvalidArgument,
        /repaint_injection_ratio: must be a number in \[0, 1\], got 1.5/,
      ],
      [
        'cover without source',
        textSpec({ taskType: TaskType.COVER, durationSeconds: 0 }),
        [],
        Code.InvalidArgument,
        /src_audio: cover needs source audio/,
      ],
      [
        'codes of different counts',
        { ...textSpec(), items: [{ audioCodes: [1, 2, 3] }, { audioCodes: [1, 2] }] },
        [],
        Code.InvalidArgument,
        /items\[1\]\.audio_codes/,
      ],
      [
        'code out of range',
        { ...textSpec(), items: [{ audioCodes: [64000] }] },
        [],
        Code.InvalidArgument,
        /audio_codes/,
      ],
      [
        'src latents of the wrong width',
        textSpec({ taskType: TaskType.COVER, durationSeconds: 0 }),
        [{ srcLatents: new Float32Array(10 * 32), srcShape: [10, 32] }],
        Code.InvalidArgument,
        /src_latents" of item 0 must have shape \[frames, 64\]/,
      ],
      [
        'src latents for a missing item',
        textSpec({ taskType: TaskType.COVER, durationSeconds: 0 }),
        [{}, { srcLatents: sourceLatents(300) }],
        Code.InvalidArgument,
        /item_index 1; the spec has 1 items/,
      ],
    ];
    for (const [name, spec, tensors, code, pattern] of cases) {
      await rejectsWith(generate(client, spec, tensors), code, pattern).catch((e) => {
        throw new Error(`${name}: ${e.message}`);
      });
    }
    const ok = await generate(client, textSpec());
    assert.deepEqual(ok.shapes, [[250, 64]]);
  });
});

describe('dit service (base variant)', () => {
  let dir: string;
  let dit: LaunchedService;
  let client: DitClient;
  const logs: string[] = [];
  before(async () => {
    dir = await baseVariantSet();
    dit = await launchService('dit', {
      args: ['--model-dir', dir, '--max-batch', '1', '--max-queue', '1', '--batch-window-ms', '0'],
      onLog: (_n, line) => logs.push(line),
    });
    client = createStageClient(DitService, { target: dit.address });
  });
  after(async () => {
    client?.close();
    await dit?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs lego, extract and complete on source latents, and guided text2music', async () => {
    const { info } = await client.info({});
    assert.equal(info?.model?.variant, 'base');
    const src = [{ srcLatents: sourceLatents(260, 1) }];
    const base = { durationSeconds: 0, inferenceSteps: 3 };
    const lego = await generate(
      client,
      textSpec({
        ...base,
        taskType: TaskType.LEGO,
        trackNames: ['drums'],
        repaintingStart: 1,
        repaintingEnd: 4,
      }),
      src,
    );
    const extract = await generate(
      client,
      textSpec({ ...base, taskType: TaskType.EXTRACT, trackNames: ['vocals'] }),
      src,
    );
    const complete = await generate(
      client,
      textSpec({ ...base, taskType: TaskType.COMPLETE, trackNames: ['bass', 'guitar'] }),
      src,
    );
    for (const out of [lego, extract, complete]) {
      assert.deepEqual(out.shapes, [[260, 64]]);
      assert.equal(out.progress.length, 3);
    }
    assert.ok(maxAbsDiff(lego.latents[0]!, extract.latents[0]!) > 0);
    // Guidance on a base model: CFG rows with the null condition change the result.
    const guided = await generate(client, textSpec({ inferenceSteps: 3, guidanceScale: 7 }, [9n]));
    const unguided = await generate(client, textSpec({ inferenceSteps: 3, guidanceScale: 1 }, [9n]));
    assert.deepEqual(guided.shapes, [[250, 64]]);
    assert.ok(maxAbsDiff(guided.latents[0]!, unguided.latents[0]!) > 0);
    await rejectsWith(
      generate(
        client,
        textSpec({ taskType: TaskType.EXTRACT, trackNames: ['kazoo'], durationSeconds: 0 }),
        src,
      ),
      Code.InvalidArgument,
      /track_names\[0\]/,
    );
  });

  it('cancellation stops the sampler at the next step; the next request works', async () => {
    const controller = new AbortController();
    const call = generate(client, textSpec({ inferenceSteps: 200, durationSeconds: 120 }, [1n]), [], {
      signal: controller.signal,
      onProgress: (step) => {
        if (step === 2) controller.abort();
      },
    });
    await assert.rejects(call);
    // The service logs both lines when the worker has let go; on a loaded box that can take a while.
    for (let waited = 0; waited < 10_000 && logLines(logs, 'batch stopped').length === 0; waited += 50) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const cancelled = logLines(logs, 'generate cancelled');
    assert.equal(cancelled.length, 1);
    assert.ok(Number(cancelled[0]!.step) < 200, JSON.stringify(cancelled[0]));
    // The sampler itself stopped early (it did not finish the 200 steps in the background).
    const stopped = logLines(logs, 'batch stopped');
    assert.equal(stopped.length, 1);
    assert.ok(Number(stopped[0]!.step) < 200, JSON.stringify(stopped[0]));
    const next = await generate(client, textSpec({ inferenceSteps: 2 }));
    assert.equal(next.progress.length, 2);
  });

  it('a deadline stops the call with DEADLINE_EXCEEDED', async () => {
    await rejectsWith(
      generate(client, textSpec({ inferenceSteps: 200, durationSeconds: 120 }, [1n]), [], { timeoutMs: 300 }),
      Code.DeadlineExceeded,
      /./,
    );
    const next = await generate(client, textSpec({ inferenceSteps: 1 }));
    assert.equal(next.progress.length, 1);
  });

  it('refuses work beyond the queue with RESOURCE_EXHAUSTED', async () => {
    // --max-batch 1: two requests are admitted (one running, one preparing), one waits, the rest are refused.
    const controller = new AbortController();
    const calls = Array.from({ length: 5 }, (_, i) =>
      generate(client, textSpec({ inferenceSteps: 200, durationSeconds: 120 }, [BigInt(i)]), [], {
        signal: controller.signal,
      }).then(
        () => 'ok',
        (e: ConnectError) => Code[e.code],
      ),
    );
    const first = await Promise.race(calls);
    controller.abort();
    const codes = [first, ...(await Promise.all(calls))];
    assert.ok(codes.includes('ResourceExhausted'), codes.join(','));
  });
});
