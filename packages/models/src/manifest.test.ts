// Constants in the exported manifest against values written down by hand from the specs
// (docs/official-behaviour.md: "Durations and lengths", "Schedules", "LM vocabulary").
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ditVariant, GRAPH_NAMES, loadManifest, parseManifest } from './manifest.ts';
import { requireModelDir } from './paths.ts';

const m = await loadManifest(requireModelDir());

function close(actual: number[] | undefined, expected: number[]): void {
  assert.ok(actual, 'missing schedule');
  assert.equal(actual.length, expected.length);
  actual.forEach((v, i) => {
    assert.ok(Math.abs(v - expected[i]!) < 5e-7, `${v} vs ${expected[i]}`);
  });
}

describe('manifest constants', () => {
  it('audio geometry', () => {
    assert.equal(m.constants.sampleRate, 48000);
    assert.equal(m.constants.hop, 2 * 4 * 4 * 6 * 10);
    assert.equal(m.constants.latentRate, 25);
    assert.equal(m.constants.latentDim, 64);
    assert.equal(m.constants.contextDim, 128);
    assert.deepEqual(m.constants.fsqLevels, [8, 8, 8, 5, 5, 5]);
    assert.equal(m.constants.codebookSize, 64000);
  });

  it('turbo schedules equal the spec tables', () => {
    close(m.constants.turboSchedules['1'], [1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125]);
    close(
      m.constants.turboSchedules['2'],
      [1.0, 0.9333333, 0.8571429, 0.7692308, 0.6666667, 0.5454545, 0.4, 0.2222222],
    );
    close(m.constants.turboSchedules['3'], [1.0, 0.9545455, 0.9, 0.8333333, 0.75, 0.6428571, 0.5, 0.3]);
    assert.equal(m.constants.validTimesteps.length, 20);
  });

  it('LM vocabulary and special ids', () => {
    const lm = m.constants.lm;
    assert.equal(lm.vocabSize, 217204);
    assert.equal(lm.audioCodeOffset, 151669);
    assert.equal(lm.audioCodeOffset + lm.audioCodeCount, lm.vocabSize);
    assert.equal(lm.audioCodeValid, 64000);
    assert.equal(lm.eosTokenId, 151645);
    assert.equal(m.tokenizer.lm.specialTokens['</think>'], 151668);
  });

  it('lists every graph with a hash and a weights file', () => {
    for (const name of GRAPH_NAMES) {
      assert.match(m.graphs[name].sha256, /^[0-9a-f]{64}$/);
      assert.ok(m.graphs[name].weights?.file.endsWith('.weights'));
    }
  });

  it('the silence latent is time-major [1, frames, 64]', () => {
    const s = m.tensors.silenceLatent.shape;
    assert.equal(s.length, 3);
    assert.equal(s[0], 1);
    assert.equal(s[2], 64);
  });

  it("parseManifest refuses family constants that disagree with the stack's (@acestep/acestep)", () => {
    const other = structuredClone(m);
    other.constants.sampleRate = 44_100;
    assert.throws(() => parseManifest(other), /constants\.sampleRate is 44100; .*\(48000\)/);
    const codes = structuredClone(m);
    codes.constants.lm.codesPerSecond = 6;
    assert.throws(() => parseManifest(codes), /constants\.lm\.codesPerSecond is 6/);
  });

  it('parseManifest refuses a set without a graph', () => {
    const broken = structuredClone(m) as unknown as { graphs: Record<string, unknown> };
    delete broken.graphs.lm_decode_loop;
    assert.throws(() => parseManifest(broken), /graph lm_decode_loop is missing/);
  });
});

describe('DiT variant', () => {
  const base = { contractVersion: '1.1.0', graphs: m.graphs, constants: m.constants };
  it('a 1.1 set states its variant and defaults; a 1.0 set gets its family defaults', () => {
    assert.equal(ditVariant(m).name, m.variant.dit);
    assert.equal(ditVariant(m).family, m.variant.ditFamily);
    const legacy = parseManifest({ ...base, variant: { dit: 'base', lm: '1.7B', weights: 'random' } });
    assert.deepEqual(
      [ditVariant(legacy).family, ditVariant(legacy).defaultSteps, ditVariant(legacy).shifts],
      ['base', 32, null],
    );
  });
  it('refuses an unknown family or defaults that disagree with it', () => {
    assert.throws(
      () => parseManifest({ ...base, variant: { dit: 'turbo-shift9', lm: '1.7B', weights: 'random' } }),
      /DiT family "turbo-shift9" is not one of turbo, sft, base/,
    );
    const defaults = { ...ditVariant(m), family: 'base' };
    assert.throws(
      () =>
        parseManifest({
          ...base,
          variant: { dit: 'turbo', ditFamily: 'turbo', ditDefaults: defaults, lm: '1.7B', weights: 'random' },
        }),
      /ditDefaults disagrees/,
    );
  });
});
