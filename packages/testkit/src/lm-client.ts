// Test-side helpers for the LM service: run Generate and gather its stream per sequence, keeping
// the order in which events arrived.
import type {
  GenerateDone,
  GenerateRequest,
  GenerateRequestSchema,
  LmMetadata,
  LmService,
} from '@acestep/proto/lm';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { Client } from '@connectrpc/connect';

export interface GeneratedSequence {
  metadata: LmMetadata | undefined;
  cotText: string;
  codes: number[];
  /** Offsets of the code chunks, in arrival order. */
  offsets: number[];
  chunkSizes: number[];
}

export interface GenerateResult {
  sequences: GeneratedSequence[];
  /** Event kinds in arrival order: "metadata:0", "codes:0", "progress", "done". */
  order: string[];
  progress: { phase: string; tokens: number; totalTokens: number }[];
  done: GenerateDone | undefined;
}

export type GenerateInit = MessageInitShape<typeof GenerateRequestSchema>;

export async function generate(
  client: Client<typeof LmService>,
  request: GenerateInit,
  options: { signal?: AbortSignal; onEvent?: (kind: string) => void } = {},
): Promise<GenerateResult> {
  const n = request.sequences?.length ?? 0;
  const result: GenerateResult = {
    sequences: Array.from({ length: n }, () => ({
      metadata: undefined,
      cotText: '',
      codes: [],
      offsets: [],
      chunkSizes: [],
    })),
    order: [],
    progress: [],
    done: undefined,
  };
  const call = options.signal
    ? client.generate(request, { signal: options.signal })
    : client.generate(request);
  for await (const res of call) {
    const e = res.event;
    let kind = '';
    if (e.case === 'metadata') {
      const s = result.sequences[e.value.sequenceIndex]!;
      s.metadata = e.value.metadata;
      s.cotText = e.value.cotText;
      kind = `metadata:${e.value.sequenceIndex}`;
    } else if (e.case === 'audioCodes') {
      const s = result.sequences[e.value.sequenceIndex]!;
      s.offsets.push(e.value.offset);
      s.chunkSizes.push(e.value.codes.length);
      s.codes.push(...e.value.codes);
      kind = `codes:${e.value.sequenceIndex}`;
    } else if (e.case === 'progress') {
      result.progress.push({ ...e.value });
      kind = 'progress';
    } else if (e.case === 'done') {
      result.done = e.value;
      kind = 'done';
    }
    result.order.push(kind);
    options.onEvent?.(kind);
  }
  return result;
}

export type { GenerateRequest };
