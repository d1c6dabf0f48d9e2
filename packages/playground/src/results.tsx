// One player per generated file with its seed and metadata, a download
// button, and "use as source" to chain a repaint or cover on it.
import type { GenerationResult } from '@acestep/proto/gateway';
import { useEffect, useState } from 'preact/hooks';
import { downloadBlob, errorText } from './api.ts';
import type { SourceRef } from './config.ts';
import { MetadataTable } from './progress.tsx';

interface Props {
  result: GenerationResult;
  /** Shown above the players ("job ...", "generation"). */
  title: string;
  onUseAsSource: (ref: SourceRef, task: 'repaint' | 'cover') => void;
}

function Item({
  result,
  index,
  onUseAsSource,
}: { result: GenerationResult; index: number } & Pick<Props, 'onUseAsSource'>) {
  const audio = result.audio[index]!;
  const [url, setUrl] = useState<string | undefined>(undefined);
  const [problem, setProblem] = useState('');
  const fileName = `${index + 1}-${audio.seed}.${audio.format}`;
  useEffect(() => {
    let objectUrl: string | undefined;
    downloadBlob(audio.objectId, audio.format)
      .then((blob) => {
        objectUrl = URL.createObjectURL(blob);
        setUrl(objectUrl);
      })
      .catch((e) => setProblem(errorText(e)));
    return () => {
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [audio.objectId]);
  const source: SourceRef = { origin: 'result', objectId: audio.objectId, name: fileName };
  return (
    <div
      class="item"
      data-object-id={audio.objectId}
      data-seed={String(audio.seed)}
      data-sha256={audio.sha256}
    >
      <div class="item-head">
        <strong>#{index + 1}</strong>
        <span>seed {String(audio.seed)}</span>
        <span>
          {audio.durationSeconds.toFixed(1)} s {audio.format}
        </span>
        <span>{(Number(audio.sizeBytes) / 1024).toFixed(0)} KiB</span>
      </div>
      {url ? (
        // biome-ignore lint/a11y/useMediaCaption: generated music has no captions to offer
        <audio controls preload="metadata" src={url} data-expected-duration={audio.durationSeconds} />
      ) : (
        <p>loading…</p>
      )}
      <div class="item-actions">
        {url && (
          <a class="button" href={url} download={fileName}>
            Download {fileName}
          </a>
        )}
        <button type="button" onClick={() => onUseAsSource(source, 'repaint')}>
          Repaint this
        </button>
        <button type="button" onClick={() => onUseAsSource(source, 'cover')}>
          Cover this
        </button>
      </div>
      {problem && <p class="problem">{problem}</p>}
    </div>
  );
}

export function ResultView({ result, title, onUseAsSource }: Props) {
  const timings = Object.entries(result.timingsMs)
    .filter(([, ms]) => ms > 0)
    .map(([stage, ms]) => `${stage} ${(ms / 1000).toFixed(2)} s`)
    .join(' · ');
  return (
    <section class="result" data-success={String(result.success)}>
      <h3>{title}</h3>
      <p class="status">
        {result.success ? result.statusMessage : `failed: ${result.error ?? result.statusMessage}`}
      </p>
      {result.lmMetadata && <MetadataTable metadata={result.lmMetadata} />}
      {result.audio.map((_, i) => (
        <Item result={result} index={i} onUseAsSource={onUseAsSource} />
      ))}
      {timings && <p class="timings">{timings}</p>}
      {result.generationInfo && (
        <details>
          <summary>generation info</summary>
          <pre>{result.generationInfo}</pre>
        </details>
      )}
    </section>
  );
}
