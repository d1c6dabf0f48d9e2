// The parameter table and the stages' own limits, end to end (docs/model-rules.md,
// "Parameters"): a base DiT's default steps run when the request leaves them unset,
// an LM started with --max-batch 2 makes the gateway split its chunks, and an
// over-bound numeric field is refused naming the field and its range, at the
// gateway and at the LM alike.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectClient } from '@acestep/cli/client';
import { launchStack, type Stack } from '@acestep/cli/launcher';
import {
  AudioFormat,
  GatewayService,
  type GenerationConfigSchema,
  type GenerationResult,
  type Progress,
  Stage,
} from '@acestep/proto/gateway';
import { LmService } from '@acestep/proto/lm';
import { createStageClient } from '@acestep/runtime';
import { generate as lmGenerate } from '@acestep/testkit/lm-client';
import { baseVariantSet } from '@acestep/testkit/model-sets';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';

type ConfigInit = MessageInitShape<typeof GenerationConfigSchema>;

async function rejection(call: () => Promise<unknown>): Promise<ConnectError> {
  try {
    await call();
  } catch (error) {
    return ConnectError.from(error);
  }
  assert.fail('the call was accepted');
}

describe('model rules: per-variant defaults and stage limits', { timeout: 600_000 }, () => {
  let stack: Stack;
  before(async () => {
    stack = await launchStack({
      startTimeoutMs: 120_000,
      serviceArgs: { lm: ['--max-batch', '2'], dit: ['--model-dir', await baseVariantSet()] },
    });
  });
  after(() => stack?.stop());

  const generate = async (init: ConfigInit) => {
    const client = connectClient(GatewayService, stack.gateway.address);
    const config = { caption: 'calm piano', audioDuration: 10, audioFormat: AudioFormat.WAV, ...init };
    const progress: Progress[] = [];
    let result: GenerationResult | undefined;
    for await (const res of client.generate({ config })) {
      if (res.event.case === 'progress') progress.push(res.event.value);
      else if (res.event.case === 'result') result = res.event.value;
    }
    assert.ok(result?.success, 'the generation succeeds');
    return { result, progress };
  };

  it("runs the base DiT's 32 default steps when inference_steps is unset, and reports them", async () => {
    const { result, progress } = await generate({});
    const ditTotals = new Set(
      progress.filter((p) => p.stage === Stage.DIT && p.total > 0).map((p) => p.total),
    );
    assert.deepEqual([...ditTotals], [32], 'the DiT ran 32 steps');
    assert.match(result.generationInfo, /\*\*Steps:\*\* 32\b/);
  });

  it('an explicit inference_steps runs as given on base', async () => {
    const { result, progress } = await generate({ inferenceSteps: 3 });
    assert.ok(progress.some((p) => p.stage === Stage.DIT && p.total === 3));
    assert.match(result.generationInfo, /\*\*Steps:\*\* 3\b/);
  });

  it("splits lm_batch_chunk_size 4 into the LM's --max-batch 2 instead of failing", async () => {
    const { result } = await generate({
      batchSize: 4,
      useLlmThinking: true,
      allowLmBatch: true,
      lmBatchChunkSize: 4,
      inferenceSteps: 2,
      useRandomSeed: false,
      seed: 11n,
    });
    assert.equal(result.audio.length, 4);
    assert.deepEqual(
      result.audio.map((a) => a.seed),
      [11n, 12n, 13n, 14n],
    );
    assert.match(result.statusMessage, /lm_batch_chunk_size 4 runs as 2/);
  });

  it('the LM itself still refuses 3 sequences: the split happened in the gateway', async () => {
    const lm = createStageClient(LmService, { target: stack.lm.address });
    const sequences = [1n, 2n, 3n].map((seed) => ({ caption: 'x', lyrics: '', seed, userMetadata: {} }));
    const error = await rejection(() => lmGenerate(lm, { sequences, generateAudioCodes: false }));
    assert.equal(error.code, Code.InvalidArgument);
    assert.match(error.rawMessage, /sequences must hold 1\.\.2 sequences/);
  });

  it('lm_top_k above its bound is INVALID_ARGUMENT naming the field and range, at the gateway and the LM', async () => {
    const client = connectClient(GatewayService, stack.gateway.address);
    const error = await rejection(async () => {
      for await (const _ of client.generate({ config: { caption: 'x', lmTopK: 2 ** 31 - 1 } })) {
        // drain
      }
    });
    assert.equal(error.code, Code.InvalidArgument);
    assert.equal(
      error.rawMessage,
      'lm_top_k: 2147483647 is not allowed; allowed: an integer from 0 to 1000 (0 = off)',
    );
    const lm = createStageClient(LmService, { target: stack.lm.address });
    const stageError = await rejection(() =>
      lmGenerate(lm, {
        sequences: [{ caption: 'x', lyrics: '', seed: 1n, userMetadata: {} }],
        sampling: { topK: 1001 },
        generateAudioCodes: false,
      }),
    );
    assert.equal(stageError.code, Code.InvalidArgument);
    assert.match(stageError.rawMessage, /sampling\.top_k must be in 0\.\.1000/);
  });
});
