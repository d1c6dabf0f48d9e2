// `acestep generate`: one generation through the gateway, with a progress
// line on stderr, the audio files written to --out, and the GenerationResult
// printed (as JSON with --json).
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  GatewayService,
  type GenerationResult,
  GenerationResultSchema,
  type Progress,
  Stage,
} from '@acestep/proto/gateway';
import { toJson } from '@bufbuild/protobuf';
import { connectClient } from './client.ts';
import { buildGenerationConfig } from './generation-config.ts';

const STAGE_NAMES: Record<number, string> = {
  [Stage.QUEUED]: 'queued',
  [Stage.LM_METADATA]: 'LM metadata',
  [Stage.LM_AUDIO_CODES]: 'LM audio codes',
  [Stage.DIT]: 'DiT',
  [Stage.VAE]: 'VAE decode',
  [Stage.ENCODING]: 'encoding',
  [Stage.DONE]: 'done',
};

function progressLine(p: Progress): string {
  const name = STAGE_NAMES[p.stage] ?? 'working';
  if (p.total > 0) {
    const width = 24;
    const filled = Math.round((p.step / p.total) * width);
    return `${name.padEnd(15)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.step}/${p.total}`;
  }
  return `${name.padEnd(15)} ${p.message}`;
}

export interface GenerateOutcome {
  result: GenerationResult;
  files: string[];
}

export async function generate(url: string, flags: Map<string, string>): Promise<GenerateOutcome> {
  const config = await buildGenerationConfig(flags);
  const headers = flags.get('api-key') ? { authorization: `Bearer ${flags.get('api-key')}` } : undefined;
  const client = connectClient(GatewayService, url);
  const quiet = flags.has('quiet') || !process.stderr.isTTY;
  let result: GenerationResult | undefined;
  for await (const res of client.generate({ config }, { headers })) {
    if (res.event.case === 'progress' && !quiet)
      process.stderr.write(`\r${progressLine(res.event.value).padEnd(60)}`);
    if (res.event.case === 'result') result = res.event.value;
  }
  if (!quiet) process.stderr.write('\n');
  if (!result) throw new Error('the gateway ended the stream without a result');
  const outDir = resolve(flags.get('out') ?? 'acestep-output');
  await mkdir(outDir, { recursive: true });
  const files: string[] = [];
  for (const [i, audio] of result.audio.entries()) {
    const chunks: Uint8Array[] = [];
    for await (const piece of client.downloadAudio({ objectId: audio.objectId }, { headers }))
      chunks.push(piece.data);
    const path = join(outDir, `${audio.objectId}.${audio.format}`);
    await writeFile(path, Buffer.concat(chunks));
    files.push(path);
    result.audioPaths[i] = path;
  }
  if (files[0]) result.firstAudio = files[0];
  if (files[1]) result.secondAudio = files[1];
  return { result, files };
}

export function printResult(outcome: GenerateOutcome, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(toJson(GenerationResultSchema, outcome.result), null, 2));
    return;
  }
  console.log(outcome.result.statusMessage);
  console.log(outcome.result.generationInfo);
  for (const file of outcome.files) console.log(`wrote ${file}`);
}
