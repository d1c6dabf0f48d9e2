#!/usr/bin/env node
// validate-k8s: renders every overlay of deploy/k8s offline and validates it.
//   node deploy/tools/src/main.ts                 every overlay
//   node deploy/tools/src/main.ts gpu             one overlay by name
//   kubectl kustomize DIR | node deploy/tools/src/main.ts --stdin [--gpu]
// Exits 1 when any finding is reported.
import { readFileSync } from 'node:fs';
import { OVERLAYS } from './overlays.ts';
import { formatFinding } from './types.ts';
import { type ValidationResult, validateOverlay, validateYaml } from './validate.ts';

function report(name: string, result: ValidationResult): boolean {
  for (const f of result.findings) console.error(`${name}: ${formatFinding(f)}`);
  const kinds = new Set(result.objects.map((o) => o.kind)).size;
  const verdict = result.findings.length === 0 ? 'ok' : `${result.findings.length} finding(s)`;
  console.log(`${name}: ${result.objects.length} objects of ${kinds} kinds, ${verdict}`);
  return result.findings.length === 0;
}

const args = process.argv.slice(2);
let ok = true;
if (args.includes('--stdin')) {
  ok = report('stdin', await validateYaml(readFileSync(0, 'utf8'), { gpu: args.includes('--gpu') }));
} else {
  const unknown = args.filter((a) => !OVERLAYS.some((o) => o.name === a));
  if (unknown.length > 0) {
    console.error(`unknown overlay ${unknown.join(', ')} (known: ${OVERLAYS.map((o) => o.name).join(', ')})`);
    process.exit(2);
  }
  for (const overlay of OVERLAYS.filter((o) => args.length === 0 || args.includes(o.name))) {
    try {
      ok = report(overlay.name, await validateOverlay(overlay.dir, overlay)) && ok;
    } catch (error) {
      console.error(`${overlay.name}: ${(error as Error).message}`);
      ok = false;
    }
  }
}
process.exitCode = ok ? 0 : 1;
