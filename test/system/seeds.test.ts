// One seed rule at every stage (docs/model-rules.md, "Seeds"): the gateway, the
// LM and the DiT accept the same domain (-1 or 0 .. 2^63 - 1), refuse the same
// values naming the field, and report the seeds they used.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SEED_MAX } from '@acestep/acestep';
import { connectClient } from '@acestep/cli/client';
import { launchStack, type Stack } from '@acestep/cli/launcher';
import { DitService } from '@acestep/proto/dit';
import { AudioFormat, GatewayService, type GenerationResult } from '@acestep/proto/gateway';
import { LmService } from '@acestep/proto/lm';
import { createStageClient } from '@acestep/runtime';
import { generate as ditGenerate, textSpec } from '@acestep/testkit/dit-client';
import { generate as lmGenerate } from '@acestep/testkit/lm-client';
import { Code, ConnectError } from '@connectrpc/connect';

const BIG = 2n ** 60n;

async function rejection(call: () => Promise<unknown>): Promise<ConnectError> {
  try {
    await call();
  } catch (error) {
    return ConnectError.from(error);
  }
  assert.fail('the call was accepted');
}

describe('seeds: one domain at the gateway, the LM and the DiT', { timeout: 600_000 }, () => {
  let stack: Stack;
  before(async () => {
    stack = await launchStack({ startTimeoutMs: 120_000 });
  });
  after(() => stack?.stop());

  const gatewayGenerate = async (seed: bigint, batchSize: number, useLlmThinking: boolean) => {
    const client = connectClient(GatewayService, stack.gateway.address);
    let result: GenerationResult | undefined;
    const config = {
      caption: 'calm piano',
      audioDuration: 10,
      audioFormat: AudioFormat.WAV,
      useRandomSeed: false,
      seed,
      batchSize,
      useLlmThinking,
    };
    for await (const res of client.generate({ config }))
      if (res.event.case === 'result') result = res.event.value;
    assert.ok(result?.success, 'the generation succeeds');
    return result;
  };

  it('the gateway runs seed 2^60 end to end (LM and DiT) and reports the seeds used', async () => {
    const result = await gatewayGenerate(BIG, 2, true);
    assert.deepEqual(
      result.audio.map((a) => a.seed),
      [BIG, BIG + 1n],
    );
    assert.equal(result.seedValue, `${BIG}, ${BIG + 1n}`);
    assert.match(result.generationInfo, new RegExp(`${BIG}, ${BIG + 1n}`));
  });

  it('the largest seed is accepted and the next item wraps to 0', async () => {
    const result = await gatewayGenerate(SEED_MAX, 2, false);
    assert.deepEqual(
      result.audio.map((a) => a.seed),
      [SEED_MAX, 0n],
    );
  });

  it('the gateway refuses a seed below -1 naming `seed`', async () => {
    const client = connectClient(GatewayService, stack.gateway.address);
    const error = await rejection(async () => {
      for await (const _ of client.generate({ config: { caption: 'x', useRandomSeed: false, seed: -2n } })) {
        // drain
      }
    });
    assert.equal(error.code, Code.InvalidArgument);
    assert.match(
      error.rawMessage,
      /^seed: -2 is not allowed; allowed: -1 \(random\) or an integer from 0 to/,
    );
  });

  it('past the domain on the JSON face: 2^63 and -2 are refused at the gateway naming seed, nothing queued', async () => {
    for (const [seed, message] of [
      [String(SEED_MAX + 1n), /GenerationConfig\.seed .*out of range/],
      ['-2', /^seed: -2 is not allowed; allowed: -1 \(random\) or an integer from 0 to 9223372036854775807$/],
    ] as const) {
      const res = await fetch(`http://${stack.gateway.address}/acestep.v1.GatewayService/SubmitJob`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ config: { caption: 'x', use_random_seed: false, seed } }),
      });
      assert.equal(res.status, 400, seed);
      const body = (await res.json()) as { code: string; message: string };
      assert.equal(body.code, 'invalid_argument');
      assert.match(body.message, message);
    }
  });

  it('the LM uses and reports 2^60 and 2^63 - 1, and refuses -2 naming the sequence seed', async () => {
    const lm = createStageClient(LmService, { target: stack.lm.address });
    const request = (seed: bigint) => ({
      sequences: [{ caption: 'calm piano', lyrics: '', seed, userMetadata: { duration: 10 } }],
      generateAudioCodes: false,
    });
    for (const seed of [BIG, SEED_MAX]) {
      const result = await lmGenerate(lm, request(seed));
      assert.deepEqual(result.done?.seeds, [seed]);
    }
    const drawn = await lmGenerate(lm, request(-1n));
    assert.ok(drawn.done!.seeds[0]! >= 0n && drawn.done!.seeds[0]! < 2n ** 32n, 'a drawn seed is reported');
    const error = await rejection(() => lmGenerate(lm, request(-2n)));
    assert.equal(error.code, Code.InvalidArgument);
    assert.match(error.rawMessage, /sequences\[0\]\.seed must be -1 \(random\) or an integer from 0 to/);
  });

  it('the DiT uses and reports 2^60 and 2^63 - 1, and refuses -2 naming the item seed', async () => {
    const dit = createStageClient(DitService, { target: stack.dit.address });
    for (const seed of [BIG, SEED_MAX]) {
      const result = await ditGenerate(dit, textSpec({ inferenceSteps: 2 }, [seed]));
      assert.deepEqual(result.done?.seeds, [seed]);
    }
    const [a, b] = await Promise.all(
      [BIG, BIG + 2n ** 32n].map((seed) => ditGenerate(dit, textSpec({ inferenceSteps: 2 }, [seed]))),
    );
    assert.notDeepEqual(a!.latents[0], b!.latents[0], 'the high word of the seed changes the noise');
    const error = await rejection(() => ditGenerate(dit, textSpec({}, [-2n])));
    assert.equal(error.code, Code.InvalidArgument);
    assert.match(error.rawMessage, /items\[0\]\.seed/);
  });
});
