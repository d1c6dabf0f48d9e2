// Cross-checks of the three LM graphs against each other (no torch involved): the K-step
// Loop graph must produce the same cache rows as lm_decode fed the same tokens, honour the
// EOS duration control, and with top_k = 1 pick the argmax of the CFG-mixed code logits that
// the host computes from lm_decode.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { maxAbsTensorDiff } from '@acestep/testkit/parity';
import ort from 'onnxruntime-node';
import { type ModelSet, openModelSet } from './modelSet.ts';
import { requireModelDir } from './paths.ts';

const i64 = (xs: number[], dims: number[]) =>
  new ort.Tensor('int64', BigInt64Array.from(xs.map(BigInt)), dims);
const f32 = (xs: number[], dims: number[]) => new ort.Tensor('float32', Float32Array.from(xs), dims);

describe('LM graphs agree with each other', () => {
  let set: ModelSet;
  before(async () => {
    set = await openModelSet(requireModelDir(), {
      graphs: ['lm_prefill', 'lm_decode', 'lm_decode_loop'],
      intraOpThreads: 1,
    });
  });
  after(async () => {
    await set.close();
  });

  // One CFG pair: a 7-token conditional prompt and a 4-token unconditional prompt, left-padded.
  const prompt = [151644, 8948, 198, 2, 3, 4, 198, 0, 0, 0, 151644, 872, 198, 5];
  const mask = [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1];

  async function prefill() {
    const out = await set
      .session('lm_prefill')
      .run({ input_ids: i64(prompt, [2, 7]), attention_mask: i64(mask, [2, 7]) });
    return out.new_kv!;
  }

  function loopFeeds(past: ort.Tensor, first: number, steps: number, codesLeft: number, topK: number) {
    return {
      input_ids: i64([first], [1]),
      attention_mask: i64(mask, [2, 7]),
      past_kv: past,
      rand: f32(
        Array.from({ length: steps }, (_, i) => (i * 0.37 + 0.11) % 1),
        [steps, 1],
      ),
      cfg_scale: f32([2.0], [1]),
      temperature: f32([0.85], [1]),
      top_k: i64([topK], [1]),
      top_p: f32([0.9], [1]),
      codes_left: i64([codesLeft], [1]),
    };
  }

  it('loop cache rows equal lm_decode rows for the same tokens; EOS after codes_left codes', async () => {
    const { audioCodeOffset: lo, audioCodeValid, eosTokenId: eos } = set.manifest.constants.lm;
    const past = await prefill();
    const first = lo + 17;
    const steps = 6;
    const out = await set.session('lm_decode_loop').run(loopFeeds(past, first, steps, 4, 0));
    const tokens = Array.from(out.tokens!.data as BigInt64Array, Number);
    assert.equal(tokens.length, steps);
    for (const t of tokens.slice(0, 4)) {
      assert.ok(t >= lo && t < lo + audioCodeValid, `token ${t} outside codes`);
    }
    assert.deepEqual(tokens.slice(4), [eos, eos]);

    const fed = [first, ...tokens.slice(0, steps - 1)];
    const dec = await set.session('lm_decode').run({
      input_ids: i64([...fed, ...fed], [2, steps]),
      attention_mask: i64(
        [...mask.slice(0, 7), ...Array(steps).fill(1), ...mask.slice(7), ...Array(steps).fill(1)],
        [2, 7 + steps],
      ),
      past_kv: past,
    });
    const diff = maxAbsTensorDiff(out.new_kv!, dec.new_kv!);
    assert.ok(diff <= 1e-4, `loop vs decode cache rows differ by ${diff}`);
  });

  it('top_k = 1 picks the argmax of the CFG-mixed code logits', async () => {
    const { audioCodeOffset: lo, audioCodeValid } = set.manifest.constants.lm;
    const past = await prefill();
    const first = lo + 3;
    const out = await set.session('lm_decode_loop').run(loopFeeds(past, first, 1, -1, 1));
    const dec = await set.session('lm_decode').run({
      input_ids: i64([first, first], [2, 1]),
      attention_mask: i64([...mask.slice(0, 7), 1, ...mask.slice(7), 1], [2, 8]),
      past_kv: past,
    });
    const logits = dec.logits!.data as Float32Array;
    const vocab = set.manifest.constants.lm.vocabSize;
    let best = -1;
    let bestValue = Number.NEGATIVE_INFINITY;
    for (let j = lo; j < lo + audioCodeValid; j++) {
      const c = logits[j]!;
      const u = logits[vocab + j]!;
      const mixed = u + 2.0 * (c - u);
      if (mixed > bestValue) {
        bestValue = mixed;
        best = j;
      }
    }
    assert.equal(Number((out.tokens!.data as BigInt64Array)[0]), best);
  });

  it('lm_decode with an empty past equals lm_prefill (one session can serve both)', async () => {
    const { layers, kvHeads, headDim } = set.manifest.constants.lm;
    const ids = i64(prompt, [2, 7]);
    const attention = i64(mask, [2, 7]);
    const a = await set.session('lm_prefill').run({ input_ids: ids, attention_mask: attention });
    const past = new ort.Tensor('float32', new Float32Array(0), [0, layers, 2, 2, kvHeads, headDim]);
    const b = await set
      .session('lm_decode')
      .run({ input_ids: ids, attention_mask: attention, past_kv: past });
    assert.equal(maxAbsTensorDiff(a.logits!, b.logits!), 0);
    assert.equal(maxAbsTensorDiff(a.new_kv!, b.new_kv!), 0);
  });

  it('prefill + decode gives the logits of a longer prefill (positions with left padding)', async () => {
    const past = await prefill();
    const next = [151669, 151670];
    const dec = await set.session('lm_decode').run({
      input_ids: i64(next, [2, 1]),
      attention_mask: i64([...mask.slice(0, 7), 1, ...mask.slice(7), 1], [2, 8]),
      past_kv: past,
    });
    const full = await set.session('lm_prefill').run({
      input_ids: i64([...prompt.slice(0, 7), next[0]!, ...prompt.slice(7), next[1]!], [2, 8]),
      attention_mask: i64([...mask.slice(0, 7), 1, ...mask.slice(7), 1], [2, 8]),
    });
    const diff = maxAbsTensorDiff(dec.logits!, full.logits!);
    assert.ok(diff <= 1e-4, `decode vs prefill logits differ by ${diff}`);
  });
});
