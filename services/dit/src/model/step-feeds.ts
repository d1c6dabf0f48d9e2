// The conditioning feeds of dit_step for one sampler run: built once (CFG rows included) and,
// on a device with device tensors (WebGPU), uploaded once and reused by every step.
import ort from 'onnxruntime-node';
import { LATENT_CHANNELS } from '../core/latents.ts';
import type { Conditioning } from './conditioning.ts';
import type { DitModel } from './model.ts';
import type { RunStats } from './pipeline.ts';

/**
 * Feeds of dit_step for a conditioning, CFG-doubled ones cached (built once per run, not per
 * step). With a device copier they are uploaded once and stay on the device for every step.
 */
export class StepFeeds {
  readonly #model: DitModel;
  readonly #cache = new WeakMap<Conditioning, { plain?: Promise<Feeds>; cfg?: Promise<Feeds> }>();
  readonly #onDevice: Promise<Feeds>[] = [];
  readonly #stats: RunStats;

  constructor(model: DitModel, stats: RunStats) {
    this.#model = model;
    this.#stats = stats;
  }

  get(conditioning: Conditioning, withNullCondition: boolean): Promise<Feeds> {
    const entry = this.#cache.get(conditioning) ?? {};
    this.#cache.set(conditioning, entry);
    const key = withNullCondition ? 'cfg' : 'plain';
    entry[key] ??= this.#place(this.#build(conditioning, withNullCondition));
    return entry[key];
  }

  async #place(feeds: Feeds): Promise<Feeds> {
    const { copier } = this.#model;
    if (!copier) return feeds;
    const placed = (async () => {
      const [states, context] = await Promise.all([
        copier.upload(feeds.encoder_hidden_states),
        copier.upload(feeds.context_latents),
      ]);
      this.#stats.hostToDeviceBytes +=
        tensorBytes(feeds.encoder_hidden_states) + tensorBytes(feeds.context_latents);
      return { encoder_hidden_states: states, context_latents: context };
    })();
    this.#onDevice.push(placed);
    return placed;
  }

  /** Frees the device copies (device memory is not reclaimed by the JS garbage collector in time). */
  async dispose(): Promise<void> {
    const placed = await Promise.allSettled(this.#onDevice);
    for (const p of placed) if (p.status === 'fulfilled') for (const t of Object.values(p.value)) t.dispose();
  }

  #build(c: Conditioning, cfg: boolean): Feeds {
    const { hidden, nullCondition } = this.#model;
    const rows = cfg ? 2 * c.batch : c.batch;
    let states = c.encoderHiddenStates;
    let context = c.contextLatents;
    if (cfg) {
      // Rows [B, 2B): null_condition_emb at every encoder position; context latents repeated.
      states = new Float32Array(2 * states.length);
      states.set(c.encoderHiddenStates);
      for (let at = c.encoderHiddenStates.length; at < states.length; at += hidden)
        states.set(nullCondition, at);
      context = new Float32Array(2 * context.length);
      context.set(c.contextLatents);
      context.set(c.contextLatents, c.contextLatents.length);
    }
    return {
      encoder_hidden_states: new ort.Tensor('float32', states, [rows, c.encLen, hidden]),
      context_latents: new ort.Tensor('float32', context, [rows, c.frames, 2 * LATENT_CHANNELS]),
    };
  }
}

export type Feeds = Record<'encoder_hidden_states' | 'context_latents', ort.Tensor>;

export const tensorBytes = (t: ort.Tensor): number => t.dims.reduce((a, b) => a * b, 1) * 4;

/** Bytes of the feeds that are host tensors (device-resident ones cross nothing). */
export const hostBytes = (feeds: Record<string, ort.Tensor>): number =>
  Object.values(feeds).reduce((n, t) => n + (t.location === 'cpu' ? tensorBytes(t) : 0), 0);
