// Picks an input audio (a local file, or a result chained with "use as
// source") and shows its waveform; for repaint/lego the range is selected on it.
import { useEffect, useState } from 'preact/hooks';
import { downloadBlob, errorText, uploadFile } from './api.ts';
import type { SourceRef } from './config.ts';
import { type Decoded, decodePeaks, Waveform } from './waveform.tsx';

interface Props {
  label: string;
  name: string;
  value: SourceRef | undefined;
  onChange: (ref: SourceRef | undefined) => void;
  range?: { start: number; end: number } | undefined;
  onRange?: ((start: number, end: number) => void) | undefined;
}

async function bytesOf(ref: SourceRef): Promise<ArrayBuffer> {
  if (ref.bytes) return ref.bytes.slice().buffer;
  return (await downloadBlob(ref.objectId, '')).arrayBuffer();
}

export function SourcePicker({ label, name, value, onChange, range, onRange }: Props) {
  const [decoded, setDecoded] = useState<Decoded | undefined>(undefined);
  const [problem, setProblem] = useState('');

  useEffect(() => {
    setDecoded(undefined);
    setProblem('');
    if (!value) return;
    let live = true;
    bytesOf(value)
      .then(decodePeaks)
      .then((d) => live && setDecoded(d))
      .catch((e) => live && setProblem(`cannot show the waveform: ${errorText(e)}`));
    return () => {
      live = false;
    };
  }, [value]);

  const [uploading, setUploading] = useState('');
  const pick = async (event: Event) => {
    const file = (event.currentTarget as HTMLInputElement).files?.[0];
    if (!file) return;
    setProblem('');
    setUploading(file.name);
    try {
      const objectId = await uploadFile(file);
      onChange({
        origin: 'file',
        name: file.name,
        objectId,
        bytes: new Uint8Array(await file.arrayBuffer()),
      });
    } catch (error) {
      setProblem(`${file.name}: ${errorText(error)}`);
    } finally {
      setUploading('');
    }
  };

  return (
    <div class="source" data-source={name}>
      <label>
        {label}
        <input type="file" accept="audio/*,.wav,.flac,.mp3,.ogg" name={name} onChange={pick} />
      </label>
      {value && (
        <div class="source-current">
          <span class="source-name">
            {value.origin === 'result' ? 'result ' : 'file '}
            {value.name}
            {decoded ? ` · ${decoded.duration.toFixed(1)} s` : ''}
          </span>
          <button type="button" class="link" onClick={() => onChange(undefined)}>
            clear
          </button>
        </div>
      )}
      {uploading && <p class="hint">uploading {uploading}…</p>}
      {decoded && <Waveform decoded={decoded} range={range} onRange={onRange} />}
      {problem && <p class="problem">{problem}</p>}
    </div>
  );
}
