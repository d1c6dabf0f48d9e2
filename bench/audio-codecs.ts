// Encode and decode speed of each output format, on 30 s of 48 kHz stereo (tones plus a little noise),
// plus the 44.1 kHz → 48 kHz upload path (decode + resample, both qualities).
//   node bench/audio-codecs.ts [--runs 3] [--seconds 30]
// Prints a table (× real time = audio seconds / wall seconds, median of the runs); no assertions.
// Numbers from a shared 2-core VM are noisy (±30 %).
import { parseArgs } from 'node:util';
import { decodeAudio, decodeAudioSource, encodeAudio, encodeWav, type OutputFormat } from '@acestep/audio';
import { tonesAndNoise } from '@acestep/testkit/audio-signals';
import { medianMs } from './median.ts';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '3' }, seconds: { type: 'string', default: '30' } },
});
const runs = Number(values.runs);
const seconds = Number(values.seconds);

const rt = (ms: number): string => (seconds / (ms / 1000)).toFixed(0);
const pcm = tonesAndNoise(48_000, seconds);
const rows: string[][] = [['format', 'size KiB', 'encode ms', 'encode ×RT', 'decode ms', 'decode ×RT']];
const formats: [string, OutputFormat, { flacBitDepth?: 16 | 24 }][] = [
  ['wav16', 'wav16', {}],
  ['wav24', 'wav24', {}],
  ['wav32f', 'wav32f', {}],
  ['flac16', 'flac', { flacBitDepth: 16 }],
  ['flac24', 'flac', { flacBitDepth: 24 }],
  ['mp3 192k', 'mp3', {}],
];
for (const [label, format, options] of formats) {
  const file = await encodeAudio(pcm, format, options);
  const enc = await medianMs(() => encodeAudio(pcm, format, options), runs);
  const dec = await medianMs(() => decodeAudioSource(file), runs);
  rows.push([label, (file.length / 1024).toFixed(0), enc.toFixed(0), rt(enc), dec.toFixed(0), rt(dec)]);
}

const at441 = encodeWav(tonesAndNoise(44_100, seconds), 's16');
for (const quality of ['medium', 'best'] as const) {
  const ms = await medianMs(() => decodeAudio(at441, {}, { quality }), runs);
  rows.push([
    `wav16 44.1k → 48k (${quality})`,
    (at441.length / 1024).toFixed(0),
    '',
    '',
    ms.toFixed(0),
    rt(ms),
  ]);
}

const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
console.log(`audio codecs: ${seconds} s stereo, median of ${runs} runs, node ${process.version}`);
for (const r of rows)
  console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
