import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type BatchControl, Batcher } from './batcher.ts';

/** A run function that records its batches and answers each job with job × 10. */
function recorder(hold?: Promise<void>) {
  const batches: number[][] = [];
  const signals: AbortSignal[] = [];
  const run = async (jobs: number[], control: BatchControl) => {
    batches.push(jobs);
    signals.push(control.signal);
    control.onStep({ step: 1, steps: 1, t: 1 });
    await hold;
    return jobs.map((j) => j * 10);
  };
  return { run, batches, signals };
}

describe('Batcher', () => {
  it('runs jobs with the same key that arrive within the window as one batch, others apart', async () => {
    const { run, batches } = recorder();
    const batcher = new Batcher(run, { maxBatch: 8, windowMs: 20 });
    const results = await Promise.all([
      batcher.submit(1, { key: 'a', size: 1 }),
      batcher.submit(2, { key: 'b', size: 1 }),
      batcher.submit(3, { key: 'a', size: 2 }),
    ]);
    assert.deepEqual(results, [10, 20, 30]);
    assert.deepEqual(batches, [[1, 3], [2]]);
  });

  it('never exceeds maxBatch items and starts at once when the waiting items fill a batch', async () => {
    const { run, batches } = recorder();
    const batcher = new Batcher(run, { maxBatch: 3, windowMs: 10_000, maxWaitMs: 200 });
    // 2 + 1 items fill a batch: it starts without waiting for the 10 s window.
    assert.deepEqual(
      await Promise.all([batcher.submit(1, { key: 'a', size: 2 }), batcher.submit(2, { key: 'a', size: 1 })]),
      [10, 20],
    );
    assert.deepEqual(batches, [[1, 2]]);
    // 2 + 2 items cannot share a batch of 3: the first runs at once, the second after maxWaitMs.
    const results = await Promise.all([
      batcher.submit(3, { key: 'a', size: 2 }),
      batcher.submit(4, { key: 'a', size: 2 }),
    ]);
    assert.deepEqual(results, [30, 40]);
    assert.deepEqual(batches, [[1, 2], [3], [4]]);
  });

  it('waits for requests still preparing before starting a batch', async () => {
    const { run, batches } = recorder();
    const batcher = new Batcher(run, { maxBatch: 8, windowMs: 1, maxWaitMs: 5_000 });
    const done = batcher.expect();
    const first = batcher.submit(1, { key: 'a', size: 1 });
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(batches, []);
    const second = batcher.submit(2, { key: 'a', size: 1 });
    done();
    assert.deepEqual(await Promise.all([first, second]), [10, 20]);
    assert.deepEqual(batches, [[1, 2]]);
  });

  it('lets a cancelled member leave while the others finish; aborts when all have left', async () => {
    let release!: () => void;
    const hold = new Promise<void>((r) => {
      release = r;
    });
    const { run, signals } = recorder(hold);
    const batcher = new Batcher(run, { maxBatch: 8, windowMs: 5 });
    const a = new AbortController();
    const b = new AbortController();
    const steps: string[] = [];
    const pa = batcher.submit(1, { key: 'k', size: 1, signal: a.signal, onStep: () => steps.push('a') });
    const pb = batcher.submit(2, { key: 'k', size: 1, signal: b.signal, onStep: () => steps.push('b') });
    while (signals.length === 0) await new Promise((r) => setTimeout(r, 2));
    a.abort(new Error('client went away'));
    await assert.rejects(pa, /client went away/);
    assert.equal(signals[0]!.aborted, false);
    release();
    assert.equal(await pb, 20);
    assert.deepEqual(steps, ['a', 'b']);

    let release2!: () => void;
    const hold2 = new Promise<void>((r) => {
      release2 = r;
    });
    const second = recorder(hold2);
    const batcher2 = new Batcher(second.run, { maxBatch: 8, windowMs: 0 });
    const c = new AbortController();
    const pc = batcher2.submit(3, { key: 'k', size: 1, signal: c.signal });
    while (second.signals.length === 0) await new Promise((r) => setTimeout(r, 2));
    c.abort();
    await assert.rejects(pc);
    assert.equal(second.signals[0]!.aborted, true);
    release2();
  });
});
