// Builds the playground into dist/: one bundled, minified app.js (esbuild),
// index.html and style.css. Run by scripts/setup.sh (`pnpm build:playground`)
// and by the browser test before it starts, so the page tested is the source's.
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { build } from 'esbuild';
import { PLAYGROUND_DIR } from './src/dist-dir.ts';

const SRC = new URL('./src/', import.meta.url).pathname;

export async function buildPlayground(outDir: string = PLAYGROUND_DIR): Promise<void> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [`${SRC}main.tsx`],
    outfile: `${outDir}/app.js`,
    bundle: true,
    minify: true,
    sourcemap: true,
    format: 'esm',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    logLevel: 'warning',
    legalComments: 'linked',
  });
  await copyFile(`${SRC}index.html`, `${outDir}/index.html`);
  await copyFile(`${SRC}style.css`, `${outDir}/style.css`);
}

if (import.meta.main) {
  await buildPlayground();
  console.log(`playground built into ${PLAYGROUND_DIR}`);
}
