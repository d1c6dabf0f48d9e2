import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TINY_BUILD_COMMAND =
  '/usr/bin/python3 tools/export/export.py --random --preset tiny --parity-fixtures --out models/tiny';

/** `ACESTEP_MODEL_DIR`, else `<repo>/models/tiny` (built by tools/export/export.py). */
export function defaultModelDir(): string {
  return process.env.ACESTEP_MODEL_DIR ?? fileURLToPath(new URL('../../../models/tiny', import.meta.url));
}

/** defaultModelDir(), failing with the build command when no model set is there. */
export function requireModelDir(): string {
  const dir = defaultModelDir();
  if (!existsSync(join(dir, 'manifest.json'))) {
    throw new Error(`no model set at ${dir}; build it with: ${TINY_BUILD_COMMAND}`);
  }
  return dir;
}
