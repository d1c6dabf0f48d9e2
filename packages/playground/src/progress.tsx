// Live progress of one generation: a row per stage with its step k/n as it
// streams in, and the LM's metadata as soon as it is known.
import { type LmMetadata, type Progress, Stage } from '@acestep/proto/gateway';

export const STAGES = [
  [Stage.QUEUED, 'Queued'],
  [Stage.LM_METADATA, 'LM metadata'],
  [Stage.LM_AUDIO_CODES, 'LM audio codes'],
  [Stage.DIT, 'DiT'],
  [Stage.VAE, 'VAE decode'],
  [Stage.ENCODING, 'Encoding'],
  [Stage.DONE, 'Done'],
] as const;

export function stageName(stage: Stage): string {
  return STAGES.find(([s]) => s === stage)?.[1] ?? 'working';
}

export function MetadataTable({ metadata }: { metadata: LmMetadata }) {
  const rows: [string, string | number | undefined][] = [
    ['bpm', metadata.bpm],
    ['key', metadata.keyscale],
    ['time signature', metadata.timesignature],
    ['language', metadata.language],
    ['duration', metadata.duration === undefined ? undefined : `${metadata.duration.toFixed(1)} s`],
    ['caption', metadata.caption],
  ];
  return (
    <dl class="metadata">
      {rows
        .filter(([, v]) => v !== undefined && v !== '')
        .map(([k, v]) => (
          <>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </>
        ))}
    </dl>
  );
}

/** The latest event of each stage seen so far, in stage order. */
export function ProgressView({ events, status }: { events: Progress[]; status: string }) {
  const latest = new Map<Stage, Progress>();
  let metadata: LmMetadata | undefined;
  for (const e of events) {
    latest.set(e.stage, e);
    if (e.lmMetadata) metadata = e.lmMetadata;
  }
  return (
    <section class="progress" data-status={status}>
      {STAGES.filter(([s]) => latest.has(s)).map(([stage, name]) => {
        const p = latest.get(stage)!;
        // A stage is over once a later one reported (the VAE, for one, reports only its start).
        const over = stage === Stage.DONE || [...latest.keys()].some((s) => s > stage);
        const fraction = over ? 1 : p.total > 0 ? p.step / p.total : 0;
        const steps = p.total > 0 ? `${p.step}/${p.total}` : '';
        const finished = p.total > 0 && p.step === p.total ? steps : 'done';
        const count = over ? finished : steps || (p.queuePosition ? `#${p.queuePosition}` : '');
        return (
          <div class="stage" data-stage={Stage[stage]} data-step={p.step} data-total={p.total}>
            <span class="stage-name">{name}</span>
            <progress max={1} value={fraction} />
            <span class="stage-count">{count}</span>
            <span class="stage-message">{p.message}</span>
          </div>
        );
      })}
      {metadata && <MetadataTable metadata={metadata} />}
    </section>
  );
}
