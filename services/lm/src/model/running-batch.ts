// What the two running batches (FsmBatch for phase 1 and the single-turn flows, CodeBatch for
// phase 2) share: the batch context, the KV cache of the members in the batch, the queue of those
// waiting for budget, a progress count per group, the batcher's view (members, rows, KV bytes,
// work left) and the removal of cancelled members at a step boundary. Each batch lays out its own
// cache rows, so `regroup` is its own.
import type { KvCache } from './graphs.ts';
import type { BatchContext, Group, Member } from './members.ts';

export abstract class RunningBatch<M extends Member> {
  protected readonly ctx: BatchContext;
  /** The KV cache of `running`, in the batch's row layout; undefined when nobody runs. */
  protected cache: KvCache | undefined;
  protected running: M[] = [];
  /** Members admitted to this batch but not yet in it (waiting for KV budget). */
  readonly waiting: M[] = [];
  /** Per group: tokens (FsmBatch: steps) so far, for its progress events. */
  protected readonly progress = new Map<Group, number>();

  constructor(ctx: BatchContext) {
    this.ctx = ctx;
  }

  get members(): readonly Member[] {
    return this.running;
  }

  get rows(): number {
    return this.cache?.batch ?? 0;
  }

  get kvBytes(): number {
    return this.cache?.bytes ?? 0;
  }

  get hasWork(): boolean {
    return this.running.length > 0 || this.waiting.length > 0;
  }

  /** Removes cancelled members (their group fails) and the members of failed groups. */
  dropCancelled(onCancelled: (group: Group) => void): void {
    let changed = false;
    for (const m of this.running) {
      if (m.group.cancelled || m.group.settled) {
        m.left = true;
        changed = true;
        if (!m.group.settled) onCancelled(m.group);
        this.progress.delete(m.group);
      }
    }
    if (changed) this.regroup(this.running);
  }

  /** Rebuilds the cache with the members that have not left. */
  protected abstract regroup(members: M[]): void;
}
