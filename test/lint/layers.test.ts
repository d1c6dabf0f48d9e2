// The layer rule of biome.json, run on fixture files: core/ may not import
// proto, Connect, grpc-js, onnxruntime or its own model/transport layers;
// transport/ may not import onnxruntime. The fixtures are written into a
// temporary copy of the layout with the repository's real biome.json, so the
// test checks the rule the repository is linted with.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIOME = join(ROOT, 'node_modules/.bin/biome');

/** Fixture path → the import it holds → whether the layer rule must reject it. */
const FIXTURES: { path: string; source: string; rejected: boolean }[] = [
  { path: 'services/dit/src/core/ort.ts', source: "import mod from 'onnxruntime-node';", rejected: true },
  { path: 'services/lm/src/core/fsm/ort.ts', source: "import mod from 'onnxruntime-node';", rejected: true },
  {
    path: 'services/vae/src/core/proto.ts',
    source: "import * as mod from '@acestep/proto/vae';",
    rejected: true,
  },
  {
    path: 'services/dit/src/core/connect.ts',
    source: "import * as mod from '@connectrpc/connect';",
    rejected: true,
  },
  { path: 'services/dit/src/core/grpc.ts', source: "import * as mod from '@grpc/grpc-js';", rejected: true },
  {
    path: 'services/dit/src/core/model.ts',
    source: "import * as mod from '../model/engine.ts';",
    rejected: true,
  },
  { path: 'services/dit/src/core/plain.ts', source: "import * as mod from './sampler.ts';", rejected: false },
  { path: 'services/dit/src/core/rng.ts', source: "import * as mod from '@acestep/rng';", rejected: false },
  { path: 'services/dit/src/model/ort.ts', source: "import mod from 'onnxruntime-node';", rejected: false },
  { path: 'services/lm/src/transport/ort.ts', source: "import mod from 'onnxruntime-node';", rejected: true },
  {
    path: 'services/lm/src/transport/proto.ts',
    source: "import * as mod from '@acestep/proto/lm';",
    rejected: false,
  },
];

interface Diagnostic {
  category: string;
  location: { path: string };
}

describe('layer rule (biome noRestrictedImports)', () => {
  let dir: string;
  let diagnostics: Diagnostic[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'acestep-lint-'));
    await copyFile(join(ROOT, 'biome.json'), join(dir, 'biome.json'));
    for (const f of FIXTURES) {
      await mkdir(dirname(join(dir, f.path)), { recursive: true });
      await writeFile(join(dir, f.path), `${f.source}\n\nexport const used = mod;\n`);
    }
    // biome exits 1 when it reports errors; the JSON report is what the test reads.
    const out = await promisify(execFile)(BIOME, ['lint', '--reporter=json', '.'], { cwd: dir }).catch(
      (error: { stdout: string }) => error,
    );
    diagnostics = (JSON.parse(out.stdout) as { diagnostics: Diagnostic[] }).diagnostics;
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const f of FIXTURES) {
    it(`${f.rejected ? 'rejects' : 'allows'} ${f.source} in ${f.path}`, () => {
      const hits = diagnostics.filter(
        (d) => d.location.path === f.path && d.category === 'lint/style/noRestrictedImports',
      );
      assert.equal(
        hits.length,
        f.rejected ? 1 : 0,
        JSON.stringify(diagnostics.filter((d) => d.location.path === f.path)),
      );
    });
  }

  it('reports nothing but the layer rule on the fixtures', () => {
    assert.deepEqual(
      diagnostics.filter((d) => d.category !== 'lint/style/noRestrictedImports'),
      [],
    );
  });
});
