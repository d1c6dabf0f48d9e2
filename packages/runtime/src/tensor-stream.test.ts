import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DataType, TensorChunkSchema, TensorHeaderSchema } from '@acestep/proto/common';
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { float32Tensor, float32View } from './tensor.ts';
import { chunksToTensors, MAX_CHUNK_BYTES, TensorAssembler, tensorToChunks } from './tensor-stream.ts';

const limits = { maxTensorBytes: 64 << 20 };

function header(name: string, dtype: DataType, shape: number[]) {
  return create(TensorHeaderSchema, { name, dtype, shape: shape.map(BigInt) });
}

function expectInvalid(fn: () => unknown, pattern: RegExp) {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ConnectError);
    assert.equal(error.code, Code.InvalidArgument);
    assert.match(error.rawMessage, pattern);
    return true;
  });
}

async function* fromArray<T>(items: T[]) {
  yield* items;
}

describe('tensorToChunks', () => {
  it('splits into 1 MiB pieces with the header on the first only', () => {
    const values = new Float32Array(600_000).map((_, i) => i * 0.5);
    const chunks = [...tensorToChunks(float32Tensor('latents', [1000, 600], values))];
    assert.equal(chunks.length, Math.ceil((600_000 * 4) / MAX_CHUNK_BYTES));
    assert.ok(chunks[0]!.header);
    assert.ok(chunks.slice(1).every((c) => c.header === undefined));
    assert.ok(chunks.every((c) => c.data.byteLength <= MAX_CHUNK_BYTES));
  });

  it('sends an empty tensor as one header-only chunk', () => {
    const chunks = [...tensorToChunks(float32Tensor('latents', [0, 64], new Float32Array(0)))];
    assert.equal(chunks.length, 1);
    assert.equal(chunks[0]!.data.byteLength, 0);
  });

  it('refuses chunk sizes over the wire limit', () => {
    const t = float32Tensor('x', [1], new Float32Array(1));
    assert.throws(() => [...tensorToChunks(t, MAX_CHUNK_BYTES + 1)], RangeError);
  });
});

describe('chunksToTensors', () => {
  it('round-trips several tensors bit-exact, keeping item index and offset', async () => {
    const a = float32Tensor(
      'latents',
      [3, 64],
      new Float32Array(192).map((_, i) => Math.sin(i)),
    );
    a.itemIndex = 2;
    a.offset = 512;
    const b = {
      name: 'codes',
      dtype: 'int64' as const,
      shape: [5],
      data: new Uint8Array(40).map((_, i) => i),
    };
    const chunks = [...tensorToChunks(a, 100), ...tensorToChunks(b, 7)];
    const out = [];
    for await (const t of chunksToTensors(fromArray(chunks), limits)) out.push(t);
    assert.equal(out.length, 2);
    assert.deepEqual(float32View(out[0]!), float32View(a));
    assert.deepEqual(out[0]!.shape, [3, 64]);
    assert.equal(out[0]!.itemIndex, 2);
    assert.equal(out[0]!.offset, 512);
    assert.deepEqual(out[1]!.data, b.data);
    assert.equal(out[1]!.dtype, 'int64');
  });

  it('rejects a stream that ends inside a tensor', async () => {
    const chunks = [...tensorToChunks(float32Tensor('x', [4], new Float32Array(4)), 8)].slice(0, 1);
    await assert.rejects(
      async () => {
        for await (const _ of chunksToTensors(fromArray(chunks), limits));
      },
      (e: ConnectError) =>
        e.code === Code.InvalidArgument && /stream ended inside tensor "x": 8 of 16/.test(e.rawMessage),
    );
  });
});

describe('TensorAssembler validation', () => {
  it('rejects more bytes than the shape holds', () => {
    const a = new TensorAssembler(limits);
    expectInvalid(
      () =>
        a.push(
          create(TensorChunkSchema, { header: header('x', DataType.FLOAT32, [2]), data: new Uint8Array(12) }),
        ),
      /received 12 bytes, shape \[2\] of float32 holds 8/,
    );
  });

  it('rejects an unknown dtype', () => {
    const a = new TensorAssembler(limits);
    expectInvalid(
      () =>
        a.push(
          create(TensorChunkSchema, { header: header('x', 42 as DataType, [2]), data: new Uint8Array(0) }),
        ),
      /unknown dtype 42/,
    );
    expectInvalid(
      () => a.push(create(TensorChunkSchema, { header: header('x', DataType.UNSPECIFIED, [2]) })),
      /unknown dtype 0/,
    );
  });

  it('rejects shapes whose size overflows or exceeds the limit before allocating', () => {
    const a = new TensorAssembler(limits);
    const huge = create(TensorChunkSchema, {
      header: create(TensorHeaderSchema, {
        name: 'x',
        dtype: DataType.FLOAT32,
        shape: [2n ** 40n, 2n ** 40n],
      }),
    });
    expectInvalid(() => a.push(huge), /exceeds the 67108864-byte tensor limit/);
    expectInvalid(
      () => a.push(create(TensorChunkSchema, { header: header('x', DataType.FLOAT32, [-1, 4]) })),
      /negative dimension/,
    );
    const deep = create(TensorChunkSchema, { header: header('x', DataType.UINT8, Array(9).fill(1)) });
    expectInvalid(() => a.push(deep), /rank 9 exceeds the limit of 8/);
  });

  it('rejects a chunk over 1 MiB, a headerless first chunk and an interleaved header', () => {
    const a = new TensorAssembler({ maxTensorBytes: 8 << 20 });
    expectInvalid(
      () =>
        a.push(
          create(TensorChunkSchema, {
            header: header('x', DataType.UINT8, [2 << 20]),
            data: new Uint8Array((1 << 20) + 1),
          }),
        ),
      /exceeds the 1048576-byte limit/,
    );
    expectInvalid(
      () => new TensorAssembler(limits).push(create(TensorChunkSchema, { data: new Uint8Array(4) })),
      /without a header/,
    );
    const b = new TensorAssembler(limits);
    b.push(
      create(TensorChunkSchema, { header: header('first', DataType.UINT8, [8]), data: new Uint8Array(4) }),
    );
    expectInvalid(
      () => b.push(create(TensorChunkSchema, { header: header('second', DataType.UINT8, [1]) })),
      /"second" started before "first" was complete \(4 of 8 bytes\)/,
    );
  });
});
