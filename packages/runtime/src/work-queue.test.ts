import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code, type ConnectError } from '@connectrpc/connect';
import { WorkQueue } from './work-queue.ts';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('WorkQueue', () => {
  it('runs up to concurrency jobs, queues up to maxQueue, rejects the rest with RESOURCE_EXHAUSTED', async () => {
    const queue = new WorkQueue({ name: 'decode', concurrency: 1, maxQueue: 1 });
    const gate = deferred();
    const order: string[] = [];
    const first = queue.run(async () => {
      order.push('first');
      await gate.promise;
    });
    const second = queue.run(async () => {
      order.push('second');
    });
    assert.equal(queue.running, 1);
    assert.equal(queue.depth, 1);
    await assert.rejects(
      queue.run(async () => {}),
      (e: ConnectError) =>
        e.code === Code.ResourceExhausted && /decode queue is full \(1 waiting\)/.test(e.rawMessage),
    );
    gate.resolve();
    await Promise.all([first, second]);
    assert.deepEqual(order, ['first', 'second']);
    assert.equal(queue.depth, 0);
    assert.equal(queue.running, 0);
  });

  it('drops a waiting job whose caller cancels, without running it', async () => {
    const queue = new WorkQueue({ name: 'dit', concurrency: 1, maxQueue: 4 });
    const gate = deferred();
    const first = queue.run(() => gate.promise);
    const controller = new AbortController();
    let ran = false;
    const waiting = queue.run(async () => {
      ran = true;
    }, controller.signal);
    controller.abort();
    await assert.rejects(waiting, (e: ConnectError) => e.code === Code.Canceled);
    assert.equal(queue.depth, 0);
    gate.resolve();
    await first;
    assert.equal(ran, false);
  });

  it('frees the slot when a job fails', async () => {
    const queue = new WorkQueue({ name: 'vae', concurrency: 1, maxQueue: 0 });
    await assert.rejects(
      queue.run(async () => Promise.reject(new Error('boom'))),
      /boom/,
    );
    assert.equal(await queue.run(async () => 7), 7);
  });
});
