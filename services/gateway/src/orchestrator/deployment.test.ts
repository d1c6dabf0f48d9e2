import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServiceInfoSchema } from '@acestep/proto/common';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { deploymentFromInfo } from './deployment.ts';

const info = (init: MessageInitShape<typeof ServiceInfoSchema>) => create(ServiceInfoSchema, init);
const TEXT = { maxCaptionChars: 512, maxLyricsChars: 4096 };

describe('deploymentFromInfo', () => {
  it("reads the DiT's family, batch limit and default steps, and the LM's batch limit", () => {
    const dit = info({
      model: { variant: 'xl-base', constants: { family: 'base', default_steps: '50' } },
      limits: { maxBatchSize: 4 },
    });
    const lm = info({ limits: { maxBatchSize: 2 } });
    assert.deepEqual(deploymentFromInfo(dit, lm, TEXT), {
      ditVariant: 'base',
      maxBatch: 4,
      limits: { ...TEXT, maxDurationSeconds: 600 },
      defaultInferenceSteps: 50,
      lmMaxBatch: 2,
    });
  });

  it('falls back to turbo and the table when a stage says nothing', () => {
    assert.deepEqual(deploymentFromInfo(info({}), undefined, TEXT), {
      ditVariant: 'turbo',
      maxBatch: 8,
      limits: { ...TEXT, maxDurationSeconds: 600 },
    });
    const big = info({ limits: { maxBatchSize: 64 }, model: { variant: 'sft' } });
    const deployment = deploymentFromInfo(big, undefined, TEXT);
    assert.equal(deployment.maxBatch, 8, 'never above the model limit of 8 items');
    assert.equal(deployment.ditVariant, 'sft');
  });
});
