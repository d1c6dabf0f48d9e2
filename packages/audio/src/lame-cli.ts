// MP3 through the native `lame` command (Debian package `lame`), fed raw 16-bit PCM on stdin and
// read back frame by frame on stdout. Chosen over the wasm build of the same LAME 3.100 because it
// encodes about twice as fast at the same settings (docs/benchmarks.md, "Audio encoders"), and it
// runs in its own process, so it never competes with an event loop. Spawning costs a few ms once
// per item, nothing per tile.
import { type ChildProcessByStdio, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { DEFAULT_MP3_QUALITY, type Mp3Bitrate } from './mp3.ts';

export interface LameCliSpec {
  sampleRate: number;
  channels: 1 | 2;
  bitrate: Mp3Bitrate;
  /** LAME's algorithm quality 0..9 (default 3, the library default). */
  quality?: number;
  /** The executable (default `lame` on PATH). */
  command?: string;
}

let available: boolean | undefined;

/** Whether `lame` can be started here (checked once per process). */
export function lameCliAvailable(command = 'lame'): boolean {
  if (available === undefined)
    available = spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;
  return available;
}

/**
 * One `lame` process encoding one stream. write() takes interleaved little-endian s16 bytes and
 * resolves once the pipe accepted them (back-pressure); output arrives through onData as lame
 * writes it; end() resolves when lame has flushed its last frame and exited 0.
 */
export class LameProcess {
  readonly #child: ChildProcessByStdio<Writable, Readable, Readable>;
  readonly #exited: Promise<void>;
  #stderr = '';

  constructor(spec: LameCliSpec, onData: (bytes: Uint8Array) => void) {
    const kHz = String(spec.sampleRate / 1000);
    const args = [
      ...['-r', '-s', kHz, '--bitwidth', '16', '--signed', '--little-endian'],
      ...['-m', spec.channels === 1 ? 'm' : 'j', '--resample', kHz],
      ...['-b', String(spec.bitrate), '--cbr', '-q', String(spec.quality ?? DEFAULT_MP3_QUALITY)],
      // -t: no tag of lame's own (it could only be fixed up by seeking, impossible on a pipe: we
      // write the Info frame ourselves); ReplayGain analysis would only feed that tag.
      ...['-t', '--noreplaygain', '--quiet', '-', '-'],
    ];
    this.#child = spawn(spec.command ?? 'lame', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child.stdout.on('data', (chunk: Buffer) =>
      onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)),
    );
    this.#child.stderr.on('data', (chunk: Buffer) => {
      if (this.#stderr.length < 4096) this.#stderr += chunk.toString();
    });
    // A failed write surfaces as the exit status below; without a listener EPIPE would throw.
    this.#child.stdin.on('error', () => {});
    this.#exited = new Promise((resolve, reject) => {
      this.#child.once('error', reject);
      this.#child.once('close', (code, signal) => {
        if (code === 0) resolve();
        else reject(new Error(`lame exited with ${signal ?? code}: ${this.#stderr.trim().slice(-500)}`));
      });
    });
    this.#exited.catch(() => {}); // observed by write()/end(); never an unhandled rejection
  }

  /** Resolves when the pipe has room again (or at once when it had room); rejects if lame died. */
  write(s16: Uint8Array): Promise<void> {
    if (this.#child.stdin.write(s16)) return Promise.resolve();
    const died = this.#exited.then(() => {
      throw new Error('lame exited while input was pending');
    });
    return Promise.race([once(this.#child.stdin, 'drain').then(() => {}), died]);
  }

  /** Closes stdin and waits for the last frames and a clean exit. */
  end(): Promise<void> {
    this.#child.stdin.end();
    return this.#exited;
  }

  /** Stops the process (the stream is abandoned). */
  kill(): void {
    this.#child.stdin.destroy();
    this.#child.kill('SIGKILL');
  }
}
