// Builds the playground into dist/: one bundled, minified app.js (esbuild),
// index.html and style.css. Run by scripts/setup.sh (`pnpm build:playground`)
// and by the tests before they start, so the page tested is the source's.
// Files are replaced only when their content changed, each by an atomic
// rename, so a gateway serving dist/ never sees a half-written file even when
// a test rebuilds while another one runs.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { build } from 'esbuild';
import { PLAYGROUND_DIR } from './src/dist-dir.ts';

const SRC = new URL('./src/', import.meta.url).pathname;
const STATIC_FILES = ['index.html', 'style.css'];

async function replaceIfChanged(path: string, contents: Uint8Array): Promise<void> {
  const old = await readFile(path).catch(() => undefined);
  if (old && Buffer.compare(old, contents) === 0) return;
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, contents);
  await rename(tmp, path);
}

export async function buildPlayground(outDir: string = PLAYGROUND_DIR): Promise<void> {
  await mkdir(outDir, { recursive: true });
  const result = await build({
    entryPoints: [`${SRC}main.tsx`],
    outfile: join(outDir, 'app.js'),
    bundle: true,
    minify: true,
    sourcemap: true,
    format: 'esm',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    logLevel: 'warning',
    write: false,
  });
  for (const file of result.outputFiles)
    await replaceIfChanged(join(outDir, basename(file.path)), file.contents);
  for (const name of STATIC_FILES)
    await replaceIfChanged(join(outDir, name), await readFile(join(SRC, name)));
}

if (import.meta.main) {
  await buildPlayground();
  console.log(`playground built into ${PLAYGROUND_DIR}`);
}
