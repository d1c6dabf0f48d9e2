// Phase 1 (metadata) and the single-turn flows as one running batch across requests: host sampling
// + the core FSM per token through `lm_decode`. Each sequence holds its own rows (cond, and uncond
// with CFG), FSM, RNG and sampling parameters; newcomers are prefilled in their own call and join
// at a step boundary, finished and cancelled sequences leave at the next one. A sequence's tokens
// are those it would write alone: its rows' keys, positions and draws do not depend on the others.
import {
  advance,
  type DecodeParams,
  type FsmState,
  forcedToken,
  isFinished,
  type Rng,
  selectToken,
} from '../core/index.ts';
import { i64, KvCache, leftPad } from './graphs.ts';
import {
  type BatchContext,
  checkLength,
  Group,
  type JobHandle,
  type Member,
  type PromptRows,
  sharedRun,
} from './members.ts';

/** Forced tokens fed in one lm_decode call at most (user values and field names are short). */
export const MAX_FORCED_RUN = 32;

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

interface FsmMember extends Member {
  readonly group: Group;
  readonly index: number;
  readonly prompt: PromptRows;
  readonly cfg: boolean;
  readonly fsm: FsmState;
  readonly rng: Rng;
  readonly options: FsmDecodeOptions;
  readonly maxTokens: number;
  readonly ids: number[];
  /** Rows in the batch cache: [cond] or [cond, uncond]. */
  rows: number[];
  /** The last logits of its rows (views into the call's output). */
  logits: Float32Array[];
  /** The tokens to feed at the next call (sampled + forced). */
  segment: number[];
}

export class FsmBatch {
  readonly #ctx: BatchContext;
  #cache: KvCache | undefined;
  #members: FsmMember[] = [];
  readonly waiting: FsmMember[] = [];
  /** Step counter per group (progress events). */
  readonly #steps = new Map<Group, number>();

  constructor(ctx: BatchContext) {
    this.#ctx = ctx;
  }

  get members(): readonly Member[] {
    return this.#members;
  }

  get rows(): number {
    return this.#cache?.batch ?? 0;
  }

  get kvBytes(): number {
    return this.#cache?.bytes ?? 0;
  }

  get hasWork(): boolean {
    return this.#members.length > 0 || this.waiting.length > 0;
  }

  /** Builds the members of one call; throws RequestError for a prompt beyond the context. */
  submit(
    job: JobHandle,
    prompts: readonly PromptRows[],
    fsms: readonly FsmState[],
    rngs: readonly Rng[],
    options: FsmDecodeOptions,
  ): { group: Group; members: FsmMember[] } {
    const { lm } = this.#ctx;
    const group = new Group(job, prompts.length);
    const members = prompts.map((prompt, index): FsmMember => {
      const cfg = options.params.cfgScale > 1 && prompt.uncond !== undefined;
      const longest = Math.max(prompt.cond.length, cfg ? prompt.uncond!.length : 0);
      checkLength(lm, longest + 1, 'prompt');
      const maxTokens = Math.min(options.maxTokens, lm.maxModelLen - longest);
      return {
        group,
        index,
        prompt,
        cfg,
        fsm: fsms[index]!,
        rng: rngs[index]!,
        options,
        maxTokens,
        ids: [],
        rows: [],
        logits: [],
        segment: [],
        reserve: longest + maxTokens + MAX_FORCED_RUN,
        rowCount: cfg ? 2 : 1,
        left: false,
      };
    });
    this.#steps.set(group, 0);
    return { group, members };
  }

  /** Prefills `newcomers` in one call and merges them into the running batch. */
  async join(newcomers: FsmMember[]): Promise<void> {
    if (newcomers.length === 0) return;
    const { lm } = this.#ctx;
    const rows = newcomers.flatMap((m) => (m.cfg ? [m.prompt.cond, m.prompt.uncond!] : [m.prompt.cond]));
    const pre = new KvCache(lm, rows.length, 1);
    const { ids, mask, width } = leftPad(rows, lm.padTokenId);
    this.#ctx.runner.mark();
    const out = await sharedRun(
      this.#ctx,
      this.#ctx.decode,
      'prefill',
      {
        input_ids: i64(ids, [rows.length, width]),
        attention_mask: i64(mask, [rows.length, width]),
        past_kv: pre.past(),
      },
      newcomers,
    );
    pre.append(out.new_kv!, (p, r) => Number(mask[r * width + p]));
    const logits = out.logits!.data as Float32Array;
    let r = 0;
    const fresh = newcomers.map((m) => {
      const own = Array.from({ length: m.rowCount }, () => r++);
      m.logits = own.map((row) => logits.subarray(row * lm.vocabSize, (row + 1) * lm.vocabSize));
      return own.map((row) => ({ cache: pre, row }));
    });
    this.#regroup([...this.#members, ...newcomers], fresh);
  }

  /** Rebuilds the cache for `members` (old members by their rows, then `fresh` rows in order). */
  #regroup(members: FsmMember[], fresh: { cache: KvCache; row: number }[][] = []): void {
    const old = this.#cache;
    const refs: { cache: KvCache; row: number }[] = [];
    let k = 0;
    const kept = members.filter((m) => !m.left);
    for (const m of kept) {
      const own = m.rows.length > 0 ? m.rows.map((row) => ({ cache: old!, row })) : fresh[k++]!;
      m.rows = own.map((_, j) => refs.length + j);
      refs.push(...own);
    }
    const capacity = Math.max(0, ...kept.map((m) => m.reserve));
    this.#members = kept;
    this.#cache = kept.length > 0 ? KvCache.regroup(this.#ctx.lm, refs, capacity) : undefined;
  }

  /** Removes cancelled members (their group fails) and the members of failed groups. */
  dropCancelled(onCancelled: (group: Group) => void): void {
    let changed = false;
    for (const m of this.#members) {
      if (m.group.cancelled || m.group.settled) {
        m.left = true;
        changed = true;
        if (!m.group.settled) onCancelled(m.group);
      }
    }
    if (changed) this.#regroup(this.#members);
  }

  /** One step: every member samples (plus forced tokens), then one lm_decode call for all. */
  async step(): Promise<void> {
    const { lm } = this.#ctx;
    this.#ctx.runner.mark();
    for (const group of new Set(this.#members.map((m) => m.group))) {
      const steps = (this.#steps.get(group) ?? 0) + 1;
      this.#steps.set(group, steps);
      if (steps % 16 === 0) this.#members.find((m) => m.group === group)?.options.onProgress?.(steps);
    }
    for (const m of this.#members) this.#sample(m);
    const live = this.#members.filter((m) => !m.left);
    if (live.length < this.#members.length) this.#regroup(this.#members);
    if (live.length === 0) return;
    const width = Math.max(1, ...live.map((m) => m.segment.length));
    if (this.#cache!.positions + width > this.#cache!.capacity) this.#regroup(this.#members);
    const cache = this.#cache!;
    const batch = cache.batch;
    const segmentOf: number[][] = new Array(batch);
    for (const m of live) for (const row of m.rows) segmentOf[row] = m.segment;
    const liveAt = (row: number, column: number) => (column >= width - segmentOf[row]!.length ? 1 : 0);
    const input = new BigInt64Array(batch * width).fill(BigInt(lm.padTokenId));
    for (let r = 0; r < batch; r++) {
      const seg = segmentOf[r]!;
      for (let j = 0; j < seg.length; j++) input[r * width + width - seg.length + j] = BigInt(seg[j]!);
    }
    const out = await sharedRun(
      this.#ctx,
      this.#ctx.decode,
      'metadata',
      {
        input_ids: i64(input, [batch, width]),
        attention_mask: cache.attentionMask(width, liveAt),
        past_kv: cache.past(),
      },
      live,
    );
    cache.append(out.new_kv!, (p, r) => liveAt(r, p));
    const logits = out.logits!.data as Float32Array;
    for (const m of live) {
      m.logits = m.rows.map((row) => logits.subarray(row * lm.vocabSize, (row + 1) * lm.vocabSize));
    }
  }

  /** Samples one token for `m`, then takes every token its FSM forces next (same call). */
  #sample(m: FsmMember): void {
    const { lm } = this.#ctx;
    m.segment = [];
    let token = selectToken({
      cond: m.logits[0]!,
      uncond: m.cfg ? m.logits[1] : undefined,
      fsm: m.fsm,
      sampler: this.#ctx.sampler,
      rng: m.rng,
      params: m.options.params,
    });
    const traffic = m.group.job.traffic.metadata;
    const total = this.#ctx.runner.traffic.metadata;
    for (;;) {
      traffic.tokens++;
      total.tokens++;
      const eos = token === lm.eosTokenId;
      if (!eos) {
        m.ids.push(token);
        m.segment.push(token);
      }
      if (
        eos ||
        isFinished(m.fsm) ||
        m.ids.length >= m.maxTokens ||
        m.options.stopWhen?.(m.index, m.fsm, m.ids)
      ) {
        this.#finish(m);
        return;
      }
      const forced = m.segment.length < MAX_FORCED_RUN ? forcedToken(m.fsm) : undefined;
      if (forced === undefined) return;
      advance(m.fsm, forced);
      token = forced;
    }
  }

  #finish(m: FsmMember): void {
    m.left = true;
    m.options.onFinished(m.index, m.ids);
    const last = !this.#members.some((o) => o !== m && o.group === m.group && !o.left);
    if (last) {
      m.options.onProgress?.(this.#steps.get(m.group) ?? 0);
      this.#steps.delete(m.group);
    }
    m.group.done(m.index, m.ids);
  }
}
