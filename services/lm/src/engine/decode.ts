// The two decode loops of the engine over one batch of CFG pairs (rows [cond_1..cond_N,
// uncond_1..uncond_N]; each sampled token is appended to both rows of its pair):
//   decodeWithFsm — host sampling + the core FSM per token through `lm_decode` (metadata, lyrics);
//   decodeCodes   — K steps per `lm_decode_loop` call, sampling in the graph from host uniforms.
import type { GraphSession, LmConstants } from '@acestep/models';
import {
  advance,
  type DecodeParams,
  type FsmState,
  forcedToken,
  isFinished,
  type Rng,
  selectToken,
  type TokenSampler,
} from '../core/index.ts';
import { f32, i64, KvCache, leftPad, type MeteredRunner, RequestError } from './graphs.ts';

export interface DecodeContext {
  lm: LmConstants;
  decode: GraphSession;
  loop: GraphSession;
  runner: MeteredRunner;
  sampler: TokenSampler;
}

/** One pair of prompt rows (token ids); `uncond` is undefined when CFG is off. */
export interface PromptRows {
  cond: readonly number[];
  uncond?: readonly number[] | undefined;
}

function checkLength(lm: LmConstants, tokens: number, what: string): void {
  if (tokens > lm.maxModelLen) {
    throw new RequestError(`${what}: ${tokens} tokens exceed the LM's context of ${lm.maxModelLen}`);
  }
}

/** Runs the prompt through `lm_decode` with an empty past; returns the cache and the last logits. */
async function prefill(ctx: DecodeContext, rows: readonly (readonly number[])[]) {
  const { lm } = ctx;
  const cache = new KvCache(lm, rows.length, 512);
  const { ids, mask, width } = leftPad(rows, lm.padTokenId);
  ctx.runner.mark();
  const out = await ctx.runner.run(ctx.decode, 'prefill', {
    input_ids: i64(ids, [rows.length, width]),
    attention_mask: i64(mask, [rows.length, width]),
    past_kv: cache.past(),
  });
  cache.append(out.new_kv!, (p, r) => Number(mask[r * width + p]));
  return { cache, logits: out.logits!.data as Float32Array };
}

/** Forced tokens fed in one lm_decode call at most (user values and field names are short). */
const MAX_FORCED_RUN = 32;

export interface FsmDecodeOptions {
  params: DecodeParams;
  /** The most tokens any sequence may write (the FSM normally ends sooner). */
  maxTokens: number;
  /** Called once per sequence, right after its last token (EOS excluded from `ids`). */
  onFinished: (index: number, ids: number[]) => void;
  onProgress?: (tokens: number) => void;
  /** Ends a sequence early (e.g. a cap on free-text lyrics). */
  stopWhen?: (index: number, fsm: FsmState, ids: number[]) => boolean;
}

/**
 * Host-sampled decoding of N sequences in one batch, each constrained by its own FSM and drawn
 * from its own RNG. Finished sequences keep a padded (masked) slot until every sequence ends.
 */
export async function decodeWithFsm(
  ctx: DecodeContext,
  prompts: readonly PromptRows[],
  fsms: readonly FsmState[],
  rngs: readonly Rng[],
  options: FsmDecodeOptions,
): Promise<number[][]> {
  const { lm } = ctx;
  const cfg = options.params.cfgScale > 1 && prompts.every((p) => p.uncond !== undefined);
  const n = prompts.length;
  const rows = cfg
    ? [...prompts.map((p) => p.cond), ...prompts.map((p) => p.uncond!)]
    : prompts.map((p) => p.cond);
  // The context bounds what a sequence may write after its prompt.
  const longest = Math.max(...rows.map((r) => r.length));
  checkLength(lm, longest + 1, 'prompt');
  const maxTokens = Math.min(options.maxTokens, lm.maxModelLen - longest);
  const vocab = lm.vocabSize;
  const outputs: number[][] = prompts.map(() => []);
  const done = prompts.map(() => false);
  const { cache, logits: first } = await prefill(ctx, rows);
  let logits = first;
  const batch = rows.length;
  let step = 0;
  ctx.runner.mark();
  for (;;) {
    // Each live sequence samples one token, then takes every token its FSM forces next (field
    // names, user values, tags): they need no logits, so they go into the cache in the same call.
    const segments: number[][] = prompts.map(() => []);
    for (let i = 0; i < n; i++) {
      if (done[i]) continue;
      const fsm = fsms[i]!;
      const cond = logits.subarray(i * vocab, (i + 1) * vocab);
      const uncond = cfg ? logits.subarray((n + i) * vocab, (n + i + 1) * vocab) : undefined;
      let token = selectToken({
        cond,
        uncond,
        fsm,
        sampler: ctx.sampler,
        rng: rngs[i]!,
        params: options.params,
      });
      const ids = outputs[i]!;
      for (;;) {
        ctx.runner.traffic.metadata.tokens++;
        const eos = token === lm.eosTokenId;
        if (!eos) {
          ids.push(token);
          segments[i]!.push(token);
        }
        if (eos || isFinished(fsm) || ids.length >= maxTokens || options.stopWhen?.(i, fsm, ids)) {
          done[i] = true;
          options.onFinished(i, ids);
          break;
        }
        const forced = segments[i]!.length < MAX_FORCED_RUN ? forcedToken(fsm) : undefined;
        if (forced === undefined) break;
        advance(fsm, forced);
        token = forced;
      }
    }
    step++;
    if (step % 16 === 0) options.onProgress?.(step);
    if (done.every(Boolean)) break;
    // Rows are left-padded inside the segment; padding and finished sequences are masked out
    // (positions come from the mask's cumulative sum, so a masked column moves nothing).
    const width = Math.max(...segments.map((seg, i) => (done[i] ? 0 : seg.length)), 1);
    const live = (row: number, column: number) => {
      const seg = segments[row % n]!;
      return !done[row % n] && column >= width - seg.length ? 1 : 0;
    };
    const input = new BigInt64Array(batch * width).fill(BigInt(lm.padTokenId));
    for (let r = 0; r < batch; r++) {
      const seg = segments[r % n]!;
      if (done[r % n]) continue;
      for (let j = 0; j < seg.length; j++) input[r * width + width - seg.length + j] = BigInt(seg[j]!);
    }
    const out = await ctx.runner.run(ctx.decode, 'metadata', {
      input_ids: i64(input, [batch, width]),
      attention_mask: cache.attentionMask(width, live),
      past_kv: cache.past(),
    });
    cache.append(out.new_kv!, (p, r) => live(r, p));
    logits = out.logits!.data as Float32Array;
  }
  options.onProgress?.(step);
  return outputs;
}

export interface CodesOptions {
  params: DecodeParams;
  /** Exact codes per sequence; undefined lets the model stop with EOS (bounded by the context). */
  targets: readonly (number | undefined)[];
  /** Steps per lm_decode_loop call. */
  stepsPerCall: number;
  onCodes: (index: number, codes: number[], offset: number) => void;
  onProgress?: (tokens: number) => void;
}

/**
 * Phase 2: prefill every prompt but its last token, then `lm_decode_loop` calls of K steps. The
 * prompt's last token (`\n` after `<|im_end|>`, the same in both rows of a pair) is the first
 * `input_ids`, so the first code is sampled in the graph as well. Uniforms come from each
 * sequence's RNG, one per step, so a seed gives the same codes whatever K or the batch is.
 */
export async function decodeCodes(
  ctx: DecodeContext,
  prompts: readonly PromptRows[],
  rngs: readonly Rng[],
  options: CodesOptions,
): Promise<number[][]> {
  const { lm } = ctx;
  const n = prompts.length;
  // The loop graph always takes pairs; without CFG the uncond row repeats the cond row (s = 1).
  const conds = prompts.map((p) => p.cond);
  const unconds = prompts.map((p) => (options.params.cfgScale > 1 && p.uncond ? p.uncond : p.cond));
  const last = conds.map((c, i) => {
    const a = c.at(-1);
    if (a === undefined || a !== unconds[i]!.at(-1))
      throw new Error(`phase-2 prompt ${i}: rows end differently`);
    return a;
  });
  const limit = (i: number) => options.targets[i] ?? lm.maxModelLen - conds[i]!.length;
  for (let i = 0; i < n; i++) {
    checkLength(lm, Math.max(conds[i]!.length, unconds[i]!.length) + limit(i), `sequence ${i}`);
  }
  const rows = [...conds, ...unconds].map((r) => r.slice(0, -1));
  const { cache } = await prefill(ctx, rows);
  const codes: number[][] = prompts.map(() => []);
  const ended = prompts.map(() => false);
  const input = BigInt64Array.from(last, BigInt);
  const { codeLo, codeHi } = { codeLo: lm.audioCodeOffset, codeHi: lm.audioCodeOffset + lm.audioCodeValid };
  const { temperature, topK, topP } = options.params;
  const greedy = !(temperature > 0);
  // Sampling parameters are per pair in the graph (pairs of different requests may share a call).
  const perPair = {
    cfg_scale: f32(new Float32Array(n).fill(Math.max(1, options.params.cfgScale)), [n]),
    temperature: f32(new Float32Array(n).fill(greedy ? 1 : temperature), [n]),
    top_k: i64(new BigInt64Array(n).fill(BigInt(greedy ? 1 : topK)), [n]),
    top_p: f32(new Float32Array(n).fill(topP !== undefined && topP > 0 && topP < 1 ? topP : 1), [n]),
  };
  let generated = 0;
  while (!ended.every(Boolean)) {
    const remaining = codes.map((c, i) => (ended[i] ? 0 : limit(i) - c.length));
    const steps = Math.max(1, Math.min(options.stepsPerCall, Math.max(...remaining)));
    const rand = new Float32Array(steps * n);
    for (let i = 0; i < n; i++) {
      if (ended[i]) continue;
      for (let t = 0; t < steps; t++) rand[t * n + i] = Math.min(rngs[i]!.nextUniform(), 0.99999994);
    }
    const codesLeft = BigInt64Array.from(codes, (c, i) =>
      options.targets[i] === undefined ? -1n : BigInt(Math.max(0, options.targets[i]! - c.length)),
    );
    const out = await ctx.runner.run(ctx.loop, 'audio_codes', {
      input_ids: i64(input, [n]),
      attention_mask: cache.attentionMask(),
      past_kv: cache.past(),
      rand: f32(rand, [steps, n]),
      ...perPair,
      codes_left: i64(codesLeft, [n]),
    });
    cache.append(out.new_kv!, () => 1);
    const tokens = out.tokens!.data as BigInt64Array;
    for (let i = 0; i < n; i++) {
      input[i] = tokens[(steps - 1) * n + i]!;
      if (ended[i]) continue;
      const fresh: number[] = [];
      for (let t = 0; t < steps && codes[i]!.length + fresh.length < limit(i); t++) {
        const id = Number(tokens[t * n + i]);
        if (id < codeLo || id >= codeHi) {
          ended[i] = true;
          break;
        }
        fresh.push(id - codeLo);
      }
      if (fresh.length > 0) {
        options.onCodes(i, fresh, codes[i]!.length);
        codes[i]!.push(...fresh);
        generated += fresh.length;
        ctx.runner.traffic.audio_codes.tokens += fresh.length;
      }
      if (codes[i]!.length >= limit(i)) ended[i] = true;
    }
    options.onProgress?.(generated);
  }
  return codes;
}
