// Model sets the system tests run on, made from the tiny set built by scripts/setup.sh.
import { mkdir, mkdtemp, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MODEL_DIR } from '@acestep/runtime';

/**
 * `export.py --random --preset tiny --variant base` writes the same graphs, weights and constants
 * as the turbo tiny set: only manifest.variant differs (random weights do not depend on the
 * variant; checked with a diff of both manifests). So the base set is the tiny set's files with
 * the variant replaced by base's (tools/export/acestep_export/variants.py), which takes
 * milliseconds instead of an 8–25 s export.
 */
export async function baseVariantSet(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dit-base-tiny-'));
  for (const name of await readdir(DEFAULT_MODEL_DIR)) {
    if (name === 'manifest.json' || name === 'parity') continue;
    await symlink(join(DEFAULT_MODEL_DIR, name), join(dir, name));
  }
  const manifest = JSON.parse(await readFile(join(DEFAULT_MODEL_DIR, 'manifest.json'), 'utf8'));
  manifest.variant = {
    ...manifest.variant,
    dit: 'base',
    ditFamily: 'base',
    ditDefaults: {
      name: 'base',
      family: 'base',
      size: '2B',
      defaultSteps: 32,
      defaultShift: 3,
      shifts: null,
      shiftRange: [1, 5],
      guidance: true,
      defaultGuidanceScale: 7,
      doc: 'base model: all six tasks, CFG (APG)',
    },
  };
  manifest.parity = null;
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  await mkdir(join(dir, 'parity'), { recursive: true });
  return dir;
}
