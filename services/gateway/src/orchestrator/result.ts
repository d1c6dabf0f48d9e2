// The last step of a generation: the stages' hand-offs → the public GenerationResult (files,
// the official texts, timings). No I/O.

import { formatSeedValue, SAMPLE_RATE } from '@acestep/acestep';
import {
  AudioFileSchema,
  type GenerationResult,
  GenerationResultSchema,
  LmMetadataSchema,
} from '@acestep/proto/gateway';
import type { LmMetadata as StageLmMetadata } from '@acestep/proto/lm';
import { create } from '@bufbuild/protobuf';
import { objectUrl } from '../object-url.ts';
import type { DitOutcome, LmOutcome, Planned, SourceLatents, StoredOutcome } from './generate.ts';
import { buildGenerationInfo, buildStatusMessage, type LmMetadataView, type StageTimesMs } from './index.ts';

export interface ResultInput extends Planned {
  sources: SourceLatents;
  lm: LmOutcome;
  dit: DitOutcome;
  stored: StoredOutcome;
  firstMetadata: ReturnType<typeof publicMetadata>;
  /** Date.now() at the start of the generation. */
  started: number;
}

export function buildResult(input: ResultInput): GenerationResult {
  const { config, lm, dit, stored, firstMetadata } = input;
  // The seeds the DiT reports are the ones its noise came from: those are reported back.
  const { seeds } = dit;
  const timings = stageTimes(input);
  const silentItems = stored.items.flatMap((item, index) => (item.silent ? [{ index, rms: item.rms }] : []));
  const files = stored.items.map((item, i) =>
    create(AudioFileSchema, {
      objectId: item.info.objectId,
      format: config.audioFormat,
      sizeBytes: BigInt(item.info.sizeBytes),
      durationSeconds: item.samples / SAMPLE_RATE,
      seed: seeds[i]!,
      sha256: item.info.sha256,
    }),
  );
  const seedValue = formatSeedValue(seeds);
  const lmMetadata = firstMetadata ? (firstMetadata as LmMetadataView) : null;
  const audioPaths = files.map((f) => objectUrl(f.objectId));
  return create(GenerationResultSchema, {
    audioPaths,
    ...(audioPaths[0] ? { firstAudio: audioPaths[0] } : {}),
    ...(audioPaths[1] ? { secondAudio: audioPaths[1] } : {}),
    generationInfo: buildGenerationInfo({
      lmMetadata,
      timings,
      seedValue,
      inferenceSteps: config.inferenceSteps,
      audioCount: files.length,
    }),
    statusMessage: buildStatusMessage({
      lmChunks: lm.chunks.map((r) => ({ phase1: r.phase1Ms, phase2: r.phase2Ms, total: r.totalMs })),
      silentItems,
      notes: config.notes,
    }),
    seedValue,
    ...(firstMetadata ? { lmMetadata: firstMetadata } : {}),
    success: true,
    audio: files,
    timingsMs: {
      inputs: input.sources.ms,
      lm: timings.lmTotal ?? 0,
      dit: dit.ms,
      vae: timings.vaeDecode,
      encoding: timings.audioConversion,
      total: Date.now() - input.started,
    },
  });
}

/** The official generation_info's times; only the encoding that did not overlap the decode counts. */
function stageTimes(input: ResultInput): StageTimesMs & { vaeDecode: number; audioConversion: number } {
  const { lm, dit, stored } = input;
  const vaeDecode = Math.round(stored.lastTileAt - stored.startedAt);
  return {
    ...(lm.totalMs !== undefined ? { lmTotal: lm.totalMs } : {}),
    ditModel: dit.ms,
    vaeDecode,
    ditTotal: dit.ms + vaeDecode,
    audioConversion: Math.round(stored.doneAt - stored.lastTileAt),
  };
}

/** The LM stage's metadata as the public API's message. */
export function publicMetadata(m: StageLmMetadata | undefined) {
  if (!m) return undefined;
  return create(LmMetadataSchema, {
    ...(m.bpm !== undefined ? { bpm: m.bpm } : {}),
    ...(m.duration !== undefined ? { duration: m.duration } : {}),
    caption: m.caption,
    keyscale: m.keyscale,
    language: m.language,
    timesignature: m.timesignature,
  });
}
