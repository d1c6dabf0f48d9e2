// WorkerChannel against a real worker thread (@acestep/testkit/channel-test-worker).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TestProtocol } from '@acestep/testkit/channel-test-worker';
import { type ChannelOptions, WorkerChannel } from './worker-channel.ts';

const url = new URL(import.meta.resolve('@acestep/testkit/channel-test-worker'));

function open(options: Partial<ChannelOptions<TestProtocol>> = {}) {
  return WorkerChannel.start<TestProtocol>(url, { name: 'test worker', ...options });
}

describe('WorkerChannel', () => {
  test('ready value, results, notices', async () => {
    const notices: unknown[] = [];
    const { channel, ready } = await open({ onNotice: (n) => notices.push(n) });
    try {
      assert.deepEqual(ready, { greeting: 'hello' });
      assert.deepEqual(await Promise.all([channel.call('echo', 'a'), channel.call('echo', 'b')]), ['a', 'b']);
      assert.deepEqual(notices, [{ tick: 1 }]);
      assert.equal(channel.pending, 0);
    } finally {
      await channel.close();
    }
  });

  test('events reach their call, in order, before its result; stream() yields them', async () => {
    const { channel } = await open();
    try {
      const events: number[] = [];
      assert.equal(await channel.call('count', { to: 3 }, { onEvent: (e) => events.push(e) }), 3);
      assert.deepEqual(events, [1, 2, 3]);
      const streamed: number[] = [];
      const stream = channel.stream('count', { to: 4 });
      let next = await stream.next();
      while (!next.done) {
        streamed.push(next.value);
        next = await stream.next();
      }
      assert.deepEqual(streamed, [1, 2, 3, 4]);
      assert.equal(next.value, 4);
    } finally {
      await channel.close();
    }
  });

  test('transfer lists move buffers both ways', async () => {
    const { channel } = await open();
    try {
      const input = new Float32Array([1, 2, 3]);
      const out = await channel.call('double', input, { transfer: [input.buffer] });
      assert.equal(input.byteLength, 0, 'the input buffer moved to the worker');
      assert.deepEqual([...out], [2, 4, 6]);
    } finally {
      await channel.close();
    }
  });

  test('errors keep their name, message and fields; decodeError rebuilds them', async () => {
    const plain = await open();
    try {
      await assert.rejects(plain.channel.call('fail', 'seed'), {
        name: 'FieldError',
        message: 'seed: must be positive',
        field: 'seed',
      });
      await assert.rejects(plain.channel.call('nope' as 'echo', 'x'), /unknown method nope/);
    } finally {
      await plain.channel.close();
    }
    class Rebuilt extends Error {}
    const custom = await open({ decodeError: (wire) => new Rebuilt(`${wire.field}|${wire.message}`) });
    try {
      await assert.rejects(custom.channel.call('fail', 'steps'), (e) => {
        assert.ok(e instanceof Rebuilt);
        assert.equal(e.message, 'steps|steps: must be positive');
        return true;
      });
    } finally {
      await custom.channel.close();
    }
  });

  test('an AbortSignal sends a cancel message: the handler stops and the call ends with its reply', async () => {
    const { channel } = await open();
    try {
      const controller = new AbortController();
      const started = Promise.withResolvers<void>();
      const call = channel.call('waitForCancel', undefined, {
        signal: controller.signal,
        onEvent: () => started.resolve(),
      });
      await started.promise;
      controller.abort();
      await assert.rejects(call, /stopped by cancel message/);
      // An already aborted signal cancels at once.
      await assert.rejects(
        channel.call('waitForCancel', undefined, { signal: AbortSignal.abort() }),
        /stopped by cancel message/,
      );
      assert.equal(channel.pending, 0);
    } finally {
      await channel.close();
    }
  });

  test('the shared cancel flag reaches a worker that never yields to its event loop', async () => {
    const { channel } = await open();
    try {
      const controller = new AbortController();
      const call = channel.call('spinUntilFlag', undefined, { signal: controller.signal });
      setTimeout(() => controller.abort(), 50);
      assert.ok((await call) > 0);
      assert.equal(await channel.call('echo', 'still serving'), 'still serving');
    } finally {
      await channel.close();
    }
  });

  test('leaving a stream early cancels the call and waits for the worker to let go', async () => {
    const { channel } = await open();
    try {
      for await (const event of channel.stream('waitForCancel', undefined)) {
        assert.equal(event, 'started');
        break;
      }
      assert.equal(channel.pending, 0, 'the worker answered before the loop exited');
    } finally {
      await channel.close();
    }
  });

  test('a crash rejects every pending call and every later call, naming the thread; onFailure once', async () => {
    const { channel } = await open();
    const failures: Error[] = [];
    channel.onFailure = (error) => failures.push(error);
    const waiting = channel.call('waitForCancel', undefined);
    const streaming = (async () => {
      for await (const _ of channel.stream('waitForCancel', undefined));
    })();
    const crash = channel.call('crash', undefined);
    await Promise.all(
      [waiting, streaming, crash].map((call) => assert.rejects(call, /test worker thread failed: boom/)),
    );
    await assert.rejects(channel.call('echo', 'x'), /test worker thread failed: boom/);
    assert.equal(failures.length, 1);
    await channel.close();
    assert.equal(failures.length, 1, 'close after a crash is not a second failure');
  });

  test('an exit rejects pending calls with the exit code', async () => {
    const { channel } = await open();
    const waiting = channel.call('waitForCancel', undefined);
    await Promise.all(
      [waiting, channel.call('exit', 3)].map((call) =>
        assert.rejects(call, /test worker thread exited with code 3/),
      ),
    );
    await channel.close();
  });

  test('a failed setup rejects start() with the decoded error', async () => {
    await assert.rejects(open({ workerData: { failSetup: true } }), {
      name: 'FieldError',
      field: 'model_dir',
      message: 'no such model',
    });
  });

  test('close() runs the close hook, fails pending calls, and is not a failure', async () => {
    const closed = new SharedArrayBuffer(4);
    const { channel } = await open({ workerData: { closed } });
    let failed = false;
    channel.onFailure = () => {
      failed = true;
    };
    const waiting = assert.rejects(channel.call('waitForCancel', undefined), /test worker closed/);
    await channel.close();
    await waiting;
    await assert.rejects(channel.call('echo', 'x'), /test worker closed/);
    assert.equal(Atomics.load(new Int32Array(closed), 0), 1);
    assert.equal(failed, false);
  });
});
