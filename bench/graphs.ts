// Per-graph CPU latency of a model set, on the inputs of its parity fixtures.
//   node bench/graphs.ts [--runs 20] [--threads 2]      (ACESTEP_MODEL_DIR, default models/tiny)
// Prints a table; no assertions. Numbers from a shared 2-core VM are noisy (±30 %).
import { parseArgs } from 'node:util';
import { defaultModelDir, GRAPH_NAMES, openModelSet } from '@acestep/models';
import { loadFixtureIndex, readFixtureInputs } from '@acestep/testkit/parity';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '20' }, threads: { type: 'string', default: '2' } },
});
const runs = Number(values.runs);
const dir = defaultModelDir();
const index = await loadFixtureIndex(dir);
const set = await openModelSet(dir, { intraOpThreads: Number(values.threads) });

const rows: string[][] = [['graph', 'case', 'inputs', 'median ms', 'min ms']];
for (const name of GRAPH_NAMES) {
  for (const c of index.graphs[name]?.cases ?? []) {
    const feeds = await readFixtureInputs(dir, c);
    const session = set.session(name);
    for (let i = 0; i < 3; i++) await session.run(feeds);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await session.run(feeds);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const shapes = c.inputs
      .filter((t) => t.shape.length > 1)
      .slice(0, 3)
      .map((t) => `${t.name}[${t.shape.join('x')}]`)
      .join(' ');
    rows.push([name, c.name, shapes, times[times.length >> 1]!.toFixed(2), times[0]!.toFixed(2)]);
  }
}
await set.close();

const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows) console.log(r.map((cell, i) => cell.padEnd(widths[i]!)).join('  '));
console.log(`\n${dir}, ${runs} runs after 3 warm-ups, intraOpThreads ${values.threads}, CPU EP`);
