// Streamed audio out: Generate with stream_audio sends each item's file while the VAE still
// decodes. Four real processes; the files are decoded back and compared with the whole-song
// encoders on the same samples.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeAudioSource, encodeAudio, type PcmAudio } from '@acestep/audio';
import { connectClient } from '@acestep/cli/client';
import { launchStack, type Stack } from '@acestep/cli/launcher';
import {
  AudioFormat,
  GatewayService,
  type GenerationConfigSchema,
  type GenerationResult,
} from '@acestep/proto/gateway';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { type Client, Code, ConnectError } from '@connectrpc/connect';

type ConfigInit = MessageInitShape<typeof GenerationConfigSchema>;

const base: ConfigInit = {
  caption: 'streamed ambient',
  lyrics: '[Instrumental]',
  audioDuration: 20,
  bpm: 90,
  keyScale: 'D minor',
  timeSignature: '4/4',
  useRandomSeed: false,
  seed: 7n,
  batchSize: 2,
};

interface Streamed {
  result: GenerationResult;
  files: Map<number, Uint8Array[]>;
  /** Audio chunks that arrived before the VAE progress event ended (i.e. before the result). */
  chunks: number;
}

async function generateStreamed(
  client: Client<typeof GatewayService>,
  config: ConfigInit,
): Promise<Streamed> {
  const files = new Map<number, Uint8Array[]>();
  const offsets = new Map<number, number>();
  let result: GenerationResult | undefined;
  let chunks = 0;
  for await (const res of client.generate({ config, streamAudio: true })) {
    if (res.event.case === 'audio') {
      const { itemIndex, offset, data } = res.event.value;
      assert.equal(Number(offset), offsets.get(itemIndex) ?? 0, `item ${itemIndex}: contiguous offsets`);
      offsets.set(itemIndex, Number(offset) + data.byteLength);
      files.set(itemIndex, [...(files.get(itemIndex) ?? []), data]);
      chunks++;
    } else if (res.event.case === 'result') result = res.event.value;
  }
  assert.ok(result?.success, result?.error);
  return { result, files, chunks };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** SNR of `actual` against `reference`, both channels together, in dB. */
function snrDb(reference: PcmAudio, actual: PcmAudio): number {
  let signal = 0;
  let noise = 0;
  for (const [c, ref] of reference.channels.entries()) {
    const act = actual.channels[c]!;
    for (let i = 0; i < ref.length; i++) {
      signal += ref[i]! * ref[i]!;
      noise += (ref[i]! - act[i]!) ** 2;
    }
  }
  return 10 * Math.log10(signal / Math.max(noise, 1e-30));
}

describe('streamed audio out', () => {
  let stack: Stack;
  let client: Client<typeof GatewayService>;
  let dataDir: string;
  const vaeLogs: string[] = [];
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'acestep-stream-'));
    stack = await launchStack({
      gatewayArgs: ['--data-dir', dataDir],
      args: ['--log-level', 'debug'],
      startTimeoutMs: 90_000,
      onLog: (service, line) => {
        if (service === 'vae') vaeLogs.push(line);
      },
    });
    client = connectClient(GatewayService, stack.gateway.address);
  });
  after(async () => {
    await stack?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('WAV, FLAC and MP3 arrive in pieces, equal the stored files and decode to the whole-song samples', async () => {
    const wav = await generateStreamed(client, { ...base, audioFormat: AudioFormat.WAV });
    const flac = await generateStreamed(client, { ...base, audioFormat: AudioFormat.FLAC });
    const mp3 = await generateStreamed(client, { ...base, audioFormat: AudioFormat.MP3 });
    for (const [name, run] of Object.entries({ wav, flac, mp3 })) {
      assert.equal(run.files.size, 2, `${name}: both items streamed`);
      assert.ok(run.chunks > 2, `${name}: ${run.chunks} chunks, the file came in pieces`);
      for (const [i, file] of run.result.audio.entries()) {
        assert.equal(
          sha256(Buffer.concat(run.files.get(i)!)),
          file.sha256,
          `${name} item ${i}: stream = stored`,
        );
      }
    }
    for (let i = 0; i < 2; i++) {
      // The WAV's samples are the song as every integer format stores it (saturated at ±1).
      const samples = await decodeAudioSource(Buffer.concat(wav.files.get(i)!));
      assert.equal(samples.channels[0]!.length, 20 * 48_000);
      const fromFlac = await decodeAudioSource(Buffer.concat(flac.files.get(i)!));
      const wholeFlac = await decodeAudioSource(await encodeAudio(samples, 'flac'));
      assert.deepEqual(fromFlac.channels, wholeFlac.channels, `flac item ${i}: lossless, same samples`);
      const fromMp3 = await decodeAudioSource(Buffer.concat(mp3.files.get(i)!));
      const wholeMp3 = await decodeAudioSource(await encodeAudio(samples, 'mp3'));
      assert.equal(fromMp3.channels[0]!.length, samples.channels[0]!.length, `mp3 item ${i}: exact length`);
      // Codec tolerance: the streamed MP3 is as close to the samples as the whole-song MP3 is.
      const streamedSnr = snrDb(samples, fromMp3);
      const wholeSnr = snrDb(samples, wholeMp3);
      assert.ok(
        streamedSnr > wholeSnr - 1.5,
        `mp3 item ${i}: streamed ${streamedSnr} dB vs whole ${wholeSnr} dB`,
      );
    }
  });

  it('a client that disconnects mid-stream cancels the decode and leaves no object behind', async () => {
    const objectsBefore = await readdir(join(dataDir, 'objects'));
    const controller = new AbortController();
    let chunks = 0;
    const call = (async () => {
      for await (const res of client.generate(
        {
          config: { ...base, batchSize: 1, audioDuration: 240, audioFormat: AudioFormat.WAV },
          streamAudio: true,
        },
        { signal: controller.signal },
      )) {
        if (res.event.case === 'audio' && ++chunks === 2) controller.abort();
      }
    })();
    await assert.rejects(call, (e: unknown) => ConnectError.from(e).code === Code.Canceled);
    // The VAE's decode call ends cancelled (it logs the code), long before 240 s would decode.
    const cancelled = () =>
      vaeLogs.some((l) => l.includes('"rpc done"') && l.includes('Decode') && l.includes('"Canceled"'));
    for (let waited = 0; waited < 20_000 && !cancelled(); waited += 100)
      await new Promise((r) => setTimeout(r, 100));
    assert.ok(cancelled(), `the VAE saw the cancel:\n${vaeLogs.filter((l) => l.includes('rpc')).join('\n')}`);
    for (let waited = 0; waited < 10_000 && (await readdir(join(dataDir, 'tmp'))).length > 0; waited += 100)
      await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(await readdir(join(dataDir, 'tmp')), [], 'no partial write left');
    assert.deepEqual(await readdir(join(dataDir, 'objects')), objectsBefore, 'no new object');
  });
});
