import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DitInputError } from './errors.ts';
import {
  batchFrames,
  buildItemContext,
  contextLatents,
  durationToFrames,
  nonCoverItemContext,
  planTask,
  referenceLatents,
  roundToTenth,
  secondsToFrame,
  stackItems,
  type TaskRequest,
  taskInstruction,
  tokenizerInput,
} from './tasks.ts';

const C = 64;
const base = { family: 'base', name: 'acestep-v15-base' } as const;
const turbo = { family: 'turbo', name: 'acestep-v15-turbo' } as const;

/** Silence latent with 200 frames; value −(frame + channel/100) identifies the frame. */
const silence = Float32Array.from({ length: 200 * C }, (_, i) => -(Math.floor(i / C) + (i % C) / 100));
/** Source latents of `frames` frames; value frame + 1 + channel/1000. */
function source(frames: number): Float32Array {
  return Float32Array.from({ length: frames * C }, (_, i) => Math.floor(i / C) + 1 + (i % C) / 1000);
}
/** Frame t of a [T, 64] array, channel 0. */
const at = (a: Float32Array, t: number) => a[t * C]!;
const sil = (f: number) => -f;
const src = (f: number) => f + 1;

function inputError(field: string, code: 'INVALID_ARGUMENT' | 'FAILED_PRECONDITION' = 'INVALID_ARGUMENT') {
  return (e: unknown) => e instanceof DitInputError && e.field === field && e.code === code;
}

function build(req: TaskRequest) {
  const plan = planTask(req);
  const frames = batchFrames([plan]);
  return { plan, frames, ctx: buildItemContext(plan, req.sourceLatents, silence, frames) };
}

test('duration → frames and seconds → frame match Python', () => {
  // /usr/bin/python3: int(round(d, 1) * 48000) // 1920
  const durations: [number, number][] = [
    [10, 250],
    [10.25, 254],
    [10.75, 270],
    [10.05, 252],
    [12.35, 307],
    [29.99, 750],
    [47.3, 1182],
    [123.456, 3087],
    [599.96, 15000],
    [600, 15000],
  ];
  for (const [d, frames] of durations) assert.equal(durationToFrames(d), frames, `duration ${d}`);
  assert.equal(roundToTenth(0.15), 0.1);
  assert.equal(roundToTenth(10.25), 10.2);
  // int(s * 48000 // 1920)
  const starts: [number, number][] = [
    [0, 0],
    [0.04, 1],
    [0.039999, 0],
    [10.02, 250],
    [12.345, 308],
    [29.999, 749],
    [30.04, 751],
    [1.1, 27],
    [2.3, 57],
  ];
  for (const [s, f] of starts) assert.equal(secondsToFrame(s), f, `seconds ${s}`);
  assert.throws(() => durationToFrames(9.9), inputError('duration_seconds'));
  assert.throws(() => durationToFrames(600.1), /duration_seconds: must be a number in \[10, 600\]/);
});

test('instructions per task, with track names', () => {
  assert.equal(taskInstruction('text2music'), 'Fill the audio semantic mask based on the given conditions:');
  assert.equal(taskInstruction('repaint'), 'Repaint the mask area based on the given conditions:');
  assert.equal(taskInstruction('cover'), 'Generate audio semantic tokens based on the given conditions:');
  assert.equal(taskInstruction('extract', ['Vocals']), 'Extract the VOCALS track from the audio:');
  assert.equal(taskInstruction('extract'), 'Extract the track from the audio:');
  assert.equal(
    taskInstruction('lego', ['backing_vocals']),
    'Generate the BACKING_VOCALS track based on the audio context:',
  );
  assert.equal(taskInstruction('lego'), 'Generate the track based on the audio context:');
  assert.equal(taskInstruction('complete', ['drums', 'bass']), 'Complete the input track with DRUMS | BASS:');
  assert.equal(taskInstruction('complete'), 'Complete the input track:');
  assert.throws(() => taskInstruction('extract', ['drums', 'bass']), inputError('track_names'));
  assert.throws(() => taskInstruction('lego', ['kazoo']), inputError('track_names[0]'));
  assert.throws(() => taskInstruction('cover', ['drums']), inputError('track_names'));
});

test('text2music: silence context, all-ones mask, silence repeats past its end', () => {
  const { plan, frames, ctx } = build({ task: 'text2music', model: turbo, durationSeconds: 30 });
  assert.equal(plan.frames, 750);
  assert.equal(frames, 750);
  assert.equal(plan.isCover, false);
  assert.equal(plan.metasDurationSeconds, 30);
  assert.equal(at(ctx.srcLatents, 0), sil(0));
  assert.equal(at(ctx.srcLatents, 199), sil(199));
  assert.equal(at(ctx.srcLatents, 750 - 1), sil(749 % 200));
  assert.equal(ctx.srcLatents[5 * C + 3], Math.fround(-(5 + 0.03))); // channel order kept
  assert.ok(ctx.chunkMask.every((v) => v === 1));
  assert.throws(() => planTask({ task: 'text2music', model: turbo }), inputError('duration_seconds'));
  assert.throws(
    () => planTask({ task: 'text2music', model: turbo, durationSeconds: 30, sourceLatents: source(10) }),
    inputError('src_audio'),
  );
});

test('text2music with codes runs as cover; short items pad to 128 frames with the first silence frames', () => {
  const plan = planTask({ task: 'text2music', model: turbo, audioCodeCount: 20, instruction: 'ignored' });
  assert.equal(plan.task, 'cover');
  assert.equal(plan.instruction, 'Generate audio semantic tokens based on the given conditions:');
  assert.equal(plan.frames, 100);
  assert.equal(plan.hints, 'codes');
  assert.equal(plan.metasDurationSeconds, 4); // 20 codes = 100 frames = 4 s
  const frames = batchFrames([plan]);
  assert.equal(frames, 128);
  const ctx = buildItemContext(plan, undefined, silence, frames);
  const hints = Float32Array.from({ length: 100 * C }, (_, i) => 500 + Math.floor(i / C));
  const context = contextLatents([{ context: ctx, hints }], frames, silence);
  assert.equal(context.length, 128 * 128);
  assert.equal(context[0], 500);
  assert.equal(context[99 * 128], 599);
  assert.equal(context[100 * 128], sil(0)); // padding restarts at silence frame 0
  assert.equal(context[127 * 128], sil(27));
  assert.equal(context[64], 1); // chunk mask half
  assert.throws(() => contextLatents([{ context: ctx }], frames, silence), /needs hints/);
  assert.throws(
    () => planTask({ task: 'repaint', model: turbo, audioCodeCount: 20, sourceLatents: source(300) }),
    inputError('audio_codes'),
  );
  assert.throws(
    () => planTask({ task: 'cover', model: turbo, audioCodeCount: 0 }),
    inputError('audio_codes'),
  );
});

test('cover from source: source context, hints from the tokenizer, input padded to ×5', () => {
  const { plan, ctx } = build({ task: 'cover', model: turbo, sourceLatents: source(303) });
  assert.equal(plan.isCover, true);
  assert.equal(plan.hints, 'tokenized-source');
  assert.equal(plan.metasDurationSeconds, 12);
  assert.equal(at(ctx.srcLatents, 302), src(302));
  const tokIn = tokenizerInput(ctx.srcLatents, silence);
  assert.equal(tokIn.length / C, 305);
  assert.equal(at(tokIn, 303), sil(0));
  assert.equal(at(tokIn, 304), sil(1));
  const off = nonCoverItemContext(ctx, silence);
  assert.equal(off.isCover, false);
  assert.equal(at(off.srcLatents, 10), sil(10));
  assert.throws(() => planTask({ task: 'cover', model: turbo }), inputError('src_audio'));
});

test('repaint: hole filled with aligned silence, mask 1 only inside [start, end)', () => {
  const { plan, frames, ctx } = build({
    task: 'repaint',
    model: turbo,
    sourceLatents: source(300),
    repaintStartSeconds: 2,
    repaintEndSeconds: 4,
  });
  assert.deepEqual(plan.repaint, { startFrame: 50, endFrame: 100 });
  assert.equal(plan.isCover, false);
  assert.equal(frames, 300);
  assert.equal(at(ctx.srcLatents, 49), src(49));
  assert.equal(at(ctx.srcLatents, 50), sil(50));
  assert.equal(at(ctx.srcLatents, 99), sil(99));
  assert.equal(at(ctx.srcLatents, 100), src(100));
  assert.equal(at(ctx.chunkMask, 49), 0);
  assert.equal(at(ctx.chunkMask, 50), 1);
  assert.equal(ctx.chunkMask[99 * C + 63], 1);
  assert.equal(at(ctx.chunkMask, 100), 0);
  const whole = planTask({
    task: 'repaint',
    model: turbo,
    sourceLatents: source(300),
    repaintStartSeconds: 10,
  });
  assert.deepEqual(whole.repaint, { startFrame: 250, endFrame: 300 });
});

test('repaint range validation', () => {
  const req = { task: 'repaint', model: turbo, sourceLatents: source(300) } as const;
  assert.throws(() => planTask({ ...req, repaintStartSeconds: -1 }), inputError('repainting_start'));
  assert.throws(
    () => planTask({ ...req, repaintStartSeconds: 13 }),
    /repainting_start: must be a number in \[0, 12\]/,
  );
  assert.throws(
    () => planTask({ ...req, repaintStartSeconds: 2, repaintEndSeconds: 13 }),
    inputError('repainting_end'),
  );
  assert.throws(
    () => planTask({ ...req, repaintStartSeconds: 4, repaintEndSeconds: 2 }),
    inputError('repainting_end'),
  );
  assert.deepEqual(planTask({ ...req, repaintStartSeconds: 11, repaintEndSeconds: -2 }).repaint, {
    startFrame: 275,
    endFrame: 300,
  });
  assert.throws(() => planTask({ ...req, repaintEndSeconds: Number.NaN }), inputError('repainting_end'));
  assert.throws(() => planTask({ task: 'repaint', model: turbo }), inputError('src_audio'));
});

test('lego keeps the source under the mask; base-only tasks fail on turbo/SFT naming the model', () => {
  const { plan, ctx } = build({
    task: 'lego',
    model: base,
    sourceLatents: source(200),
    trackNames: ['guitar'],
    repaintStartSeconds: 1,
    repaintEndSeconds: 2,
  });
  assert.equal(plan.instruction, 'Generate the GUITAR track based on the audio context:');
  assert.deepEqual(plan.repaint, { startFrame: 25, endFrame: 50 });
  assert.equal(at(ctx.srcLatents, 30), src(30));
  assert.equal(at(ctx.chunkMask, 30), 1);
  assert.equal(at(ctx.chunkMask, 60), 0);
  for (const model of [turbo, { family: 'sft', name: 'acestep-v15-sft' } as const]) {
    assert.throws(
      () => planTask({ task: 'lego', model, sourceLatents: source(200) }),
      (e: unknown) =>
        inputError('task_type', 'FAILED_PRECONDITION')(e) && (e as Error).message.includes(model.name),
    );
  }
});

test('extract and complete: full mask, source context, not cover', () => {
  const ex = build({ task: 'extract', model: base, sourceLatents: source(140), trackNames: ['vocals'] });
  assert.equal(ex.plan.instruction, 'Extract the VOCALS track from the audio:');
  assert.equal(ex.plan.isCover, false);
  assert.equal(ex.plan.repaint, null);
  assert.ok(ex.ctx.chunkMask.every((v) => v === 1));
  assert.equal(at(ex.ctx.srcLatents, 139), src(139));
  const co = build({
    task: 'complete',
    model: base,
    sourceLatents: source(100),
    trackNames: ['drums', 'BASS'],
  });
  assert.equal(co.plan.instruction, 'Complete the input track with DRUMS | BASS:');
  assert.equal(co.frames, 128);
  assert.equal(at(co.ctx.srcLatents, 99), src(99));
  assert.equal(at(co.ctx.srcLatents, 100), sil(0));
  const custom = planTask({
    task: 'extract',
    model: base,
    sourceLatents: source(100),
    instruction: 'Pull out the bass',
  });
  assert.equal(custom.instruction, 'Pull out the bass:');
});

test('batch: shared length, [B, T, 64] stacking and [B, T, 128] context layout', () => {
  const a = planTask({ task: 'extract', model: base, sourceLatents: source(150) });
  const b = planTask({ task: 'extract', model: base, sourceLatents: source(130) });
  const frames = batchFrames([a, b]);
  assert.equal(frames, 150);
  const ca = buildItemContext(a, source(150), silence, frames);
  const cb = buildItemContext(b, source(130), silence, frames);
  const stacked = stackItems([ca.srcLatents, cb.srcLatents]);
  assert.equal(stacked.length, 2 * 150 * C);
  assert.equal(stacked[(150 + 131) * C], sil(1));
  const context = contextLatents([{ context: ca }, { context: cb }], frames, silence);
  assert.equal(context[(150 + 5) * 128 + 2], Math.fround(src(5) + 0.002));
  assert.equal(context[(150 + 5) * 128 + 64 + 2], 1);
});

test('timbre reference defaults to the first 750 silence frames', () => {
  const ref = referenceLatents(undefined, silence);
  assert.equal(ref.length, 750 * C);
  assert.equal(at(ref, 0), sil(0));
  assert.equal(at(ref, 749), sil(749 % 200));
  const given = source(10);
  assert.equal(referenceLatents(given, silence), given);
  assert.throws(() => referenceLatents(new Float32Array(3), silence), inputError('reference_latents'));
});
