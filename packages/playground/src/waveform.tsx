// A source audio's waveform (decoded by the browser's Web Audio) with the
// repaint range drawn over it; dragging across it selects the range.
import { useEffect, useRef, useState } from 'preact/hooks';

const COLUMNS = 600;

export interface Decoded {
  duration: number;
  /** Max |sample| per column, 0..1. */
  peaks: Float32Array;
}

export async function decodePeaks(bytes: ArrayBuffer): Promise<Decoded> {
  const context = new OfflineAudioContext(1, 1, 48_000);
  const buffer = await context.decodeAudioData(bytes.slice(0));
  const peaks = new Float32Array(COLUMNS);
  const per = Math.max(1, Math.floor(buffer.length / COLUMNS));
  for (let c = 0; c < buffer.numberOfChannels; c++) {
    const data = buffer.getChannelData(c);
    for (let i = 0; i < COLUMNS; i++) {
      let peak = 0;
      const end = Math.min(data.length, (i + 1) * per);
      for (let j = i * per; j < end; j++) peak = Math.max(peak, Math.abs(data[j]!));
      peaks[i] = Math.max(peaks[i]!, peak);
    }
  }
  return { duration: buffer.duration, peaks };
}

interface Props {
  decoded: Decoded;
  /** Seconds; end < 0 = the end of the audio. Absent: no range drawn. */
  range?: { start: number; end: number } | undefined;
  onRange?: ((start: number, end: number) => void) | undefined;
}

export function Waveform({ decoded, range, onRange }: Props) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [drag, setDrag] = useState<number | undefined>(undefined);

  useEffect(() => {
    const el = canvas.current;
    const g = el?.getContext('2d');
    if (!el || !g) return;
    const { width, height } = el;
    g.clearRect(0, 0, width, height);
    if (range) {
      const end = range.end < 0 ? decoded.duration : range.end;
      const x0 = (range.start / decoded.duration) * width;
      const x1 = (Math.min(end, decoded.duration) / decoded.duration) * width;
      g.fillStyle = 'rgba(255, 170, 60, 0.35)';
      g.fillRect(x0, 0, Math.max(1, x1 - x0), height);
    }
    g.fillStyle = '#5b8def';
    const column = width / decoded.peaks.length;
    decoded.peaks.forEach((peak, i) => {
      const h = Math.max(1, peak * height);
      g.fillRect(i * column, (height - h) / 2, Math.max(1, column - 0.5), h);
    });
  }, [decoded, range?.start, range?.end]);

  const seconds = (event: MouseEvent) => {
    const box = (event.currentTarget as HTMLCanvasElement).getBoundingClientRect();
    const x = Math.min(Math.max(0, event.clientX - box.left), box.width);
    return Math.round((x / box.width) * decoded.duration * 10) / 10;
  };

  return (
    <canvas
      ref={canvas}
      class="waveform"
      width={COLUMNS}
      height={80}
      title={onRange ? 'drag to select the range to repaint' : undefined}
      onMouseDown={(e) => onRange && setDrag(seconds(e))}
      onMouseMove={(e) => {
        if (drag === undefined || !onRange) return;
        const at = seconds(e);
        onRange(Math.min(drag, at), Math.max(drag, at));
      }}
      onMouseUp={() => setDrag(undefined)}
      onMouseLeave={() => setDrag(undefined)}
    />
  );
}
