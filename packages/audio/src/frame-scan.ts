/**
 * Reads every frame header of a compressed file before a single sample is decoded, so the decoded
 * length is known up front. A small file can expand enormously (FLAC constant subframes and silent
 * Vorbis packets reach > 10,000:1): without this, a 100 KB FLAC whose STREAMINFO leaves the length
 * unknown decoded to 5.5 GB before the duration check could see it. Header parsing is done by
 * codec-parser (by the author of the wasm decoders we decode with), which never touches sample data.
 */
import CodecParser from 'codec-parser';
import type { AudioContainer } from './sniff.ts';

export interface FrameScan {
  /** Samples per channel over all frames. */
  frames: number;
  sampleRate: number;
  channels: number;
}

const MIME: Record<Exclude<AudioContainer, 'wav'>, string> = {
  mp3: 'audio/mpeg',
  flac: 'audio/flac',
  'ogg-vorbis': 'application/ogg',
  'ogg-opus': 'application/ogg',
  'ogg-flac': 'application/ogg',
};

interface ScannedFrame {
  samples: number;
  header: { sampleRate: number; channels: number };
}

/**
 * Sums the samples of every frame (for Ogg: of every codec frame of every page). Returns undefined when
 * no frame parses; the decoder then reports what is wrong with the data. `onFrames` is called after
 * each frame with the running total so the caller can stop as soon as a limit is passed.
 */
export function scanFrames(
  container: Exclude<AudioContainer, 'wav'>,
  bytes: Uint8Array,
  onFrames: (scan: FrameScan) => void,
): FrameScan | undefined {
  const parser = new CodecParser(MIME[container] as 'audio/mpeg', { enableFrameCRC32: false });
  let scan: FrameScan | undefined;
  const take = (frame: ScannedFrame): void => {
    if (!(frame.samples > 0)) return;
    scan ??= { frames: 0, sampleRate: frame.header.sampleRate, channels: frame.header.channels };
    scan.frames += frame.samples;
    onFrames(scan);
  };
  const visit = (item: unknown): void => {
    const page = item as { codecFrames?: ScannedFrame[] };
    if (Array.isArray(page.codecFrames)) for (const f of page.codecFrames) take(f);
    else take(item as ScannedFrame);
  };
  drain(parser.parseChunk(bytes), visit);
  drain(parser.flush(), visit);
  return scan;
}

/** codec-parser types its generators as bare iterators. */
function drain<T>(it: Iterator<T>, visit: (item: T) => void): void {
  for (let r = it.next(); !r.done; r = it.next()) visit(r.value);
}
