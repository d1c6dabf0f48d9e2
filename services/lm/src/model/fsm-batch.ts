// Phase 1 (metadata) and the single-turn flows as one running batch across requests: host sampling
// + the core FSM per token through `lm_decode`. Each sequence holds its own rows (cond, and uncond
// with CFG), FSM, RNG and sampling parameters; newcomers are prefilled in their own call and join
// at a step boundary, finished and cancelled sequences leave at the next one. A sequence's tokens
// are those it would write alone: its rows' keys, positions and draws do not depend on the others.

import type ort from 'onnxruntime-node';
import {
  advance,
  type DecodeParams,
  type FsmState,
  forcedToken,
  isFinished,
  type LogitNeeds,
  logitNeeds,
  type Rng,
  selectToken,
} from '../core/index.ts';
import { i64, KvCache, leftPad } from './graphs.ts';
import { type HeadResult, HeadSampler, headFeeds, NeedFullRow, readHeads } from './heads.ts';
import {
  type BatchContext,
  checkLength,
  Group,
  type JobHandle,
  type Member,
  type PromptRows,
  sharedRun,
} from './members.ts';
import { RunningBatch } from './running-batch.ts';

/** Forced tokens fed in one lm_decode call at most (user values and field names are short). */
export const MAX_FORCED_RUN = 32;
/** First and largest sorted-head size a sequence asks lm_decode_top for. */
const INITIAL_TOP_N = 1024;
const MAX_TOP_N = 16_384;

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
  /** The last logits of its rows (views into the call's output), when the call returned rows. */
  logits: Float32Array[];
  /** What the FSM reads next (decided before the call) and, from lm_decode_top, what came back. */
  needs: LogitNeeds;
  head: HeadResult | undefined;
  /** Rows of this sequence in the last call's batch (for a full-row re-run). */
  lastRows: number[];
  /** Size of the sorted head it asks for; grows when a top-p nucleus did not fit. */
  topN: number;
  /** The tokens to feed at the next call (sampled + forced). */
  segment: number[];
}

export class FsmBatch extends RunningBatch<FsmMember> {
  readonly #sampler: HeadSampler;
  /** The last call's row-graph feeds and, once a sequence needed them, its full logits. */
  #lastFeeds: Record<string, ort.Tensor> | undefined;
  #fullRows: Float32Array | undefined;

  constructor(ctx: BatchContext) {
    super(ctx);
    this.#sampler = new HeadSampler(ctx.lm.vocabSize);
  }

  /** Builds the members of one call; throws RequestError for a prompt beyond the context. */
  submit(
    job: JobHandle,
    prompts: readonly PromptRows[],
    fsms: readonly FsmState[],
    rngs: readonly Rng[],
    options: FsmDecodeOptions,
  ): { group: Group; members: FsmMember[] } {
    const { lm } = this.ctx;
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
        needs: logitNeeds(fsms[index]!),
        head: undefined,
        lastRows: [],
        topN: INITIAL_TOP_N,
        segment: [],
        reserve: longest + maxTokens + MAX_FORCED_RUN,
        rowCount: cfg ? 2 : 1,
        left: false,
      };
    });
    this.progress.set(group, 0);
    return { group, members };
  }

  /** Prefills `newcomers` in one call and merges them into the running batch. */
  async join(newcomers: FsmMember[]): Promise<void> {
    if (newcomers.length === 0) return;
    const { lm } = this.ctx;
    const rows = newcomers.flatMap((m) => (m.cfg ? [m.prompt.cond, m.prompt.uncond!] : [m.prompt.cond]));
    const pre = new KvCache(lm, rows.length, 1);
    const { ids, mask, width } = leftPad(rows, lm.padTokenId);
    this.ctx.runner.mark();
    let r = 0;
    for (const m of newcomers) m.rows = Array.from({ length: m.rowCount }, () => r++);
    const out = await this.#call(newcomers, 'prefill', {
      input_ids: i64(ids, [rows.length, width]),
      attention_mask: i64(mask, [rows.length, width]),
      past_kv: pre.past(),
    });
    pre.append(out.new_kv!, (p, row) => Number(mask[row * width + p]));
    const fresh = newcomers.map((m) => {
      const own = m.rows.map((row) => ({ cache: pre, row }));
      m.rows = [];
      return own;
    });
    this.regroup([...this.running, ...newcomers], fresh);
  }

  /** Rebuilds the cache for `members` (old members by their rows, then `fresh` rows in order). */
  protected override regroup(members: FsmMember[], fresh: { cache: KvCache; row: number }[][] = []): void {
    const old = this.cache;
    const refs: { cache: KvCache; row: number }[] = [];
    let k = 0;
    const kept = members.filter((m) => !m.left);
    for (const m of kept) {
      const own = m.rows.length > 0 ? m.rows.map((row) => ({ cache: old!, row })) : fresh[k++]!;
      m.rows = own.map((_, j) => refs.length + j);
      refs.push(...own);
    }
    const capacity = Math.max(0, ...kept.map((m) => m.reserve));
    this.running = kept;
    this.cache = kept.length > 0 ? KvCache.regroup(this.ctx.lm, refs, capacity) : undefined;
  }

  /** One step: every member samples (plus forced tokens), then one lm_decode call for all. */
  async step(): Promise<void> {
    const { lm } = this.ctx;
    this.ctx.runner.mark();
    for (const group of new Set(this.running.map((m) => m.group))) {
      const steps = (this.progress.get(group) ?? 0) + 1;
      this.progress.set(group, steps);
      if (steps % 16 === 0) this.running.find((m) => m.group === group)?.options.onProgress?.(steps);
    }
    for (const m of this.running) await this.#sample(m);
    const live = this.running.filter((m) => !m.left);
    if (live.length < this.running.length) this.regroup(this.running);
    if (live.length === 0) return;
    const width = Math.max(1, ...live.map((m) => m.segment.length));
    if (this.cache!.positions + width > this.cache!.capacity) this.regroup(this.running);
    const cache = this.cache!;
    const batch = cache.batch;
    const segmentOf: number[][] = new Array(batch);
    for (const m of live) for (const row of m.rows) segmentOf[row] = m.segment;
    const liveAt = (row: number, column: number) => (column >= width - segmentOf[row]!.length ? 1 : 0);
    const input = new BigInt64Array(batch * width).fill(BigInt(lm.padTokenId));
    for (let r = 0; r < batch; r++) {
      const seg = segmentOf[r]!;
      for (let j = 0; j < seg.length; j++) input[r * width + width - seg.length + j] = BigInt(seg[j]!);
    }
    const out = await this.#call(live, 'metadata', {
      input_ids: i64(input, [batch, width]),
      attention_mask: cache.attentionMask(width, liveAt),
      past_kv: cache.past(),
    });
    cache.append(out.new_kv!, (p, r) => liveAt(r, p));
  }

  /**
   * One decode call for `members` (their `rows` index the feeds' batch): lm_decode_top when every
   * member's next mask can be served from heads, ids and totals, else lm_decode (whole rows).
   */
  async #call(members: FsmMember[], phase: 'prefill' | 'metadata', feeds: Record<string, ort.Tensor>) {
    const { lm } = this.ctx;
    for (const m of members)
      if (m.needs.kind === 'range' && !headCanServe(m.options.params)) m.needs = { kind: 'full' };
    const rowsOnly = this.ctx.wholeRows === true || members.some((m) => m.needs.kind === 'full');
    this.#lastFeeds = feeds;
    this.#fullRows = undefined;
    if (rowsOnly) {
      const out = await sharedRun(this.ctx, this.ctx.decode, phase, feeds, members);
      const logits = out.logits!.data as Float32Array;
      this.#fullRows = logits;
      for (const m of members) {
        m.head = undefined;
        m.lastRows = m.rows;
        m.logits = m.rows.map((row) => logits.subarray(row * lm.vocabSize, (row + 1) * lm.vocabSize));
      }
      return out;
    }
    const extra = headFeeds(
      lm,
      members.map((m) => ({
        rows: m.rows,
        cfg: m.cfg,
        params: m.options.params,
        needs: m.needs,
        topN: m.topN,
      })),
    );
    const out = await sharedRun(this.ctx, this.ctx.top, phase, { ...feeds, ...extra }, members);
    const heads = readHeads(
      out,
      members.length,
      members.map((m) => m.needs),
    );
    members.forEach((m, j) => {
      m.head = heads[j];
      m.lastRows = m.rows;
      m.logits = [];
    });
    return out;
  }

  /** Whole rows for `m` from the last call's feeds through lm_decode (a nucleus beyond its head). */
  async #wholeRows(m: FsmMember): Promise<void> {
    const { lm } = this.ctx;
    if (!this.#fullRows) {
      const out = await sharedRun(this.ctx, this.ctx.decode, 'metadata', pickRowFeeds(this.#lastFeeds!), [m]);
      this.#fullRows = out.logits!.data as Float32Array;
    }
    const logits = this.#fullRows;
    m.logits = m.lastRows.map((row) => logits.subarray(row * lm.vocabSize, (row + 1) * lm.vocabSize));
    m.head = undefined;
    m.topN = Math.min(MAX_TOP_N, m.topN * 4);
  }

  /** Draws the next token of `m` from whole rows, or from its head (whole rows if that cannot decide). */
  async #draw(m: FsmMember): Promise<number> {
    if (m.head) {
      try {
        return this.#sampler.withHead(m.head, (row) =>
          selectToken({
            cond: row,
            fsm: m.fsm,
            sampler: this.#sampler,
            rng: m.rng,
            params: m.options.params,
          }),
        );
      } catch (error) {
        if (!(error instanceof NeedFullRow)) throw error;
        await this.#wholeRows(m);
      }
    }
    return selectToken({
      cond: m.logits[0]!,
      uncond: m.cfg ? m.logits[1] : undefined,
      fsm: m.fsm,
      sampler: this.ctx.sampler,
      rng: m.rng,
      params: m.options.params,
    });
  }

  /** Samples one token for `m`, then takes every token its FSM forces next (same call). */
  async #sample(m: FsmMember): Promise<void> {
    const { lm } = this.ctx;
    m.segment = [];
    let token = await this.#draw(m);
    const traffic = m.group.job.traffic.metadata;
    const total = this.ctx.runner.traffic.metadata;
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
      if (forced === undefined) {
        m.needs = logitNeeds(m.fsm);
        return;
      }
      advance(m.fsm, forced);
      token = forced;
    }
  }

  #finish(m: FsmMember): void {
    m.left = true;
    m.options.onFinished(m.index, m.ids);
    const last = !this.running.some((o) => o !== m && o.group === m.group && !o.left);
    if (last) {
      m.options.onProgress?.(this.progress.get(m.group) ?? 0);
      this.progress.delete(m.group);
    }
    m.group.done(m.index, m.ids);
  }
}

/** The head can decide a draw only with top-k (within the largest head) or top-p, or greedy. */
function headCanServe(p: DecodeParams): boolean {
  if (!(p.temperature > 0)) return true;
  if (p.topK > MAX_TOP_N) return false;
  return p.topK > 0 || (p.topP !== undefined && p.topP > 0 && p.topP < 1);
}

function pickRowFeeds(feeds: Record<string, ort.Tensor>): Record<string, ort.Tensor> {
  return { input_ids: feeds.input_ids!, attention_mask: feeds.attention_mask!, past_kv: feeds.past_kv! };
}
