// Phase 2 (audio codes) as one running batch of CFG pairs across requests: `lm_decode_loop` calls
// of K steps with every sampling parameter per pair, uniforms from each sequence's own RNG (one
// per step), so a sequence writes the same codes alone, in any batch and at any K. Newcomers are
// prefilled (prompt minus its last token) in their own call and join between loop calls; pairs
// that end, or whose request is cancelled, leave before the next call.
import { codeLimit, type DecodeParams, type Rng } from '../core/index.ts';
import { f32, i64, KvCache, leftPad } from './graphs.ts';
import { checkLength, Group, type JobHandle, type Member, type PromptRows, sharedRun } from './members.ts';
import { RunningBatch } from './running-batch.ts';

/** Codes one loop call may write per pair at most (the `codes_chunk_size` bound). */
export const MAX_STEPS_PER_CALL = 256;

export interface CodesOptions {
  params: DecodeParams;
  /**
   * Exact codes per sequence (the user's duration); undefined lets the model stop with EOS, within
   * the official cap (core `codeLimit`).
   */
  targets: readonly (number | undefined)[];
  /** Steps per lm_decode_loop call (the streamed chunk). */
  stepsPerCall: number;
  onCodes: (index: number, codes: number[], offset: number) => void;
  onProgress?: (tokens: number) => void;
}

interface CodeMember extends Member {
  readonly group: Group;
  readonly index: number;
  readonly cond: readonly number[];
  readonly uncond: readonly number[];
  readonly rng: Rng;
  readonly options: CodesOptions;
  readonly target: number | undefined;
  readonly limit: number;
  readonly codes: number[];
  /** The last sampled token (the next call's input_ids). */
  input: number;
  /** Pair index in the batch (rows pair and pairs + pair). */
  pair: number;
}

export class CodeBatch extends RunningBatch<CodeMember> {
  submit(
    job: JobHandle,
    prompts: readonly PromptRows[],
    rngs: readonly Rng[],
    options: CodesOptions,
  ): { group: Group; members: CodeMember[] } {
    const { lm } = this.ctx;
    const group = new Group(job, prompts.length);
    const chunk = Math.max(1, Math.min(MAX_STEPS_PER_CALL, options.stepsPerCall));
    const members = prompts.map((p, index): CodeMember => {
      // The loop graph always takes pairs; without CFG the uncond row repeats the cond row (s = 1).
      const uncond = options.params.cfgScale > 1 && p.uncond ? p.uncond : p.cond;
      const last = p.cond.at(-1);
      if (last === undefined || last !== uncond.at(-1)) {
        throw new Error(`phase-2 prompt ${index}: rows end differently`);
      }
      const longest = Math.max(p.cond.length, uncond.length);
      const target = options.targets[index];
      const limit = codeLimit({ targetCodes: target, maxModelLen: lm.maxModelLen, promptTokens: longest });
      checkLength(lm, longest + limit, `sequence ${index}`);
      return {
        group,
        index,
        cond: p.cond,
        uncond,
        rng: rngs[index]!,
        options: { ...options, stepsPerCall: chunk },
        target,
        limit,
        codes: [],
        input: last,
        pair: -1,
        reserve: longest + limit + chunk,
        rowCount: 2,
        left: false,
      };
    });
    this.progress.set(group, 0);
    return { group, members };
  }

  /** Prefills every newcomer's prompt but its last token in one call and merges them in. */
  async join(newcomers: CodeMember[]): Promise<void> {
    if (newcomers.length === 0) return;
    const { lm } = this.ctx;
    const m = newcomers.length;
    const rows = [...newcomers.map((c) => c.cond), ...newcomers.map((c) => c.uncond)].map((r) =>
      r.slice(0, -1),
    );
    const pre = new KvCache(lm, rows.length, 1);
    const { ids, mask, width } = leftPad(rows, lm.padTokenId);
    this.ctx.runner.mark();
    const out = await sharedRun(
      this.ctx,
      this.ctx.decode,
      'prefill',
      {
        input_ids: i64(ids, [rows.length, width]),
        attention_mask: i64(mask, [rows.length, width]),
        past_kv: pre.past(),
      },
      newcomers,
    );
    pre.append(out.new_kv!, (p, r) => Number(mask[r * width + p]));
    newcomers.forEach((c, i) => {
      c.pair = -1 - i; // marks a fresh pair: its rows are i and m + i of `pre`
    });
    this.regroup([...this.running, ...newcomers], pre, m);
  }

  /** Rebuilds the cache with the members still in, conds first then unconds (the loop's layout). */
  protected override regroup(members: CodeMember[], fresh?: KvCache, freshPairs = 0): void {
    const old = this.cache;
    const kept = members.filter((c) => !c.left);
    const n = this.cache ? this.cache.batch / 2 : 0;
    const ref = (c: CodeMember, half: 0 | 1) =>
      c.pair >= 0
        ? { cache: old!, row: c.pair + half * n }
        : { cache: fresh!, row: -1 - c.pair + half * freshPairs };
    const refs = [...kept.map((c) => ref(c, 0)), ...kept.map((c) => ref(c, 1))];
    kept.forEach((c, i) => {
      c.pair = i;
    });
    this.running = kept;
    const capacity = Math.max(0, ...kept.map((c) => c.reserve));
    this.cache = kept.length > 0 ? KvCache.regroup(this.ctx.lm, refs, capacity) : undefined;
  }

  /** One lm_decode_loop call of K steps for every pair in the batch. */
  async step(): Promise<void> {
    const { lm } = this.ctx;
    this.ctx.runner.mark();
    const members = this.running;
    const n = members.length;
    const remaining = members.map((c) => c.limit - c.codes.length);
    const steps = Math.max(
      1,
      Math.min(...members.map((c) => c.options.stepsPerCall), Math.max(...remaining)),
    );
    if (this.cache!.positions + steps > this.cache!.capacity) this.regroup(members);
    const cache = this.cache!;
    const rand = new Float32Array(steps * n);
    const cfg = new Float32Array(n);
    const temperature = new Float32Array(n);
    const topK = new BigInt64Array(n);
    const topP = new Float32Array(n);
    const codesLeft = new BigInt64Array(n);
    const input = new BigInt64Array(n);
    for (const c of members) {
      const i = c.pair;
      for (let t = 0; t < steps; t++) rand[t * n + i] = Math.min(c.rng.nextUniform(), 0.99999994);
      const p = c.options.params;
      const greedy = !(p.temperature > 0);
      cfg[i] = Math.max(1, p.cfgScale);
      temperature[i] = greedy ? 1 : p.temperature;
      topK[i] = BigInt(greedy ? 1 : p.topK);
      topP[i] = p.topP !== undefined && p.topP > 0 && p.topP < 1 ? p.topP : 1;
      codesLeft[i] = c.target === undefined ? -1n : BigInt(Math.max(0, c.target - c.codes.length));
      input[i] = BigInt(c.input);
    }
    const out = await sharedRun(
      this.ctx,
      this.ctx.loop,
      'audio_codes',
      {
        input_ids: i64(input, [n]),
        attention_mask: cache.attentionMask(),
        past_kv: cache.past(),
        rand: f32(rand, [steps, n]),
        cfg_scale: f32(cfg, [n]),
        temperature: f32(temperature, [n]),
        top_k: i64(topK, [n]),
        top_p: f32(topP, [n]),
        codes_left: i64(codesLeft, [n]),
      },
      members,
    );
    cache.append(out.new_kv!, () => 1);
    const tokens = out.tokens!.data as BigInt64Array;
    const lo = lm.audioCodeOffset;
    const hi = lo + lm.audioCodeValid;
    for (const c of members) {
      const i = c.pair;
      c.input = Number(tokens[(steps - 1) * n + i]);
      const fresh: number[] = [];
      let ended = false;
      for (let t = 0; t < steps && c.codes.length + fresh.length < c.limit; t++) {
        const id = Number(tokens[t * n + i]);
        if (id < lo || id >= hi) {
          ended = true;
          break;
        }
        fresh.push(id - lo);
      }
      if (fresh.length > 0) {
        c.options.onCodes(c.index, fresh, c.codes.length);
        c.codes.push(...fresh);
        c.group.job.traffic.audio_codes.tokens += fresh.length;
        this.ctx.runner.traffic.audio_codes.tokens += fresh.length;
        this.progress.set(c.group, (this.progress.get(c.group) ?? 0) + fresh.length);
      }
      if (ended || c.codes.length >= c.limit) c.left = true;
    }
    for (const group of new Set(members.map((c) => c.group))) {
      members.find((c) => c.group === group)?.options.onProgress?.(this.progress.get(group) ?? 0);
    }
    for (const c of members) {
      if (c.left) c.group.done(c.index, c.codes);
      if (c.group.settled) this.progress.delete(c.group);
    }
    if (members.some((c) => c.left)) this.regroup(members);
  }
}
