// Runs every graph of the model set in onnxruntime-node and compares with the torch outputs
// the exporter saved (tools/export/export.py --parity-fixtures).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  loadFixtureIndex,
  maxAbsTensorDiff,
  readFixtureInputs,
  readFixtureTensor,
} from '@acestep/testkit/parity';
import { GRAPH_NAMES } from './manifest.ts';
import { type ModelSet, openModelSet } from './modelSet.ts';
import { requireModelDir } from './paths.ts';

const dir = requireModelDir();
const index = await loadFixtureIndex(dir);

describe(`parity of ${dir}`, () => {
  let set: ModelSet;
  before(async () => {
    set = await openModelSet(dir, { intraOpThreads: 1 });
  });
  after(async () => {
    await set.close();
  });

  it('has fixtures for every graph, with batch 1 and batch 2 cases', () => {
    for (const name of GRAPH_NAMES) {
      const g = index.graphs[name];
      assert.ok(g, `no fixtures for ${name}`);
      assert.ok(g.cases.length >= 2, `${name}: fewer than two cases`);
    }
  });

  for (const name of GRAPH_NAMES) {
    const fixtures = index.graphs[name];
    if (!fixtures) continue;
    for (const c of fixtures.cases) {
      it(`${name} ${c.name} matches torch`, async () => {
        const outputs = await set.session(name).run(await readFixtureInputs(dir, c));
        for (const want of c.outputs) {
          const got = outputs[want.name];
          assert.ok(got, `${name}: no output ${want.name}`);
          assert.deepEqual(got.dims, want.shape, `${name}.${want.name} shape`);
          const expected = await readFixtureTensor(dir, want);
          const diff = maxAbsTensorDiff(got, expected);
          const limit = fixtures.exactOutputs.includes(want.name) ? 0 : fixtures.tolerance;
          assert.ok(diff <= limit, `${name} ${c.name} ${want.name}: max |diff| ${diff} > ${limit}`);
        }
      });
    }
  }
});
