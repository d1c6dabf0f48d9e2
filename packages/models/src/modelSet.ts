import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { checkGraph } from './contract.ts';
import { type Device, DeviceError, executionProviders } from './device.ts';
import type { GraphSession } from './graph-session.ts';
import { GRAPH_NAMES, type GraphName, loadManifest, type Manifest, ManifestError } from './manifest.ts';
import { openModelSetInWorker } from './worker-model-set.ts';

export interface OpenOptions {
  device?: Device;
  /** Threads per session for intra-op parallelism (ORT default when omitted). */
  intraOpThreads?: number;
  /** Open only these graphs (a DiT service does not need the LM). Default: all. */
  graphs?: readonly GraphName[];
  /** Recompute sha256 of every opened file against the manifest (slow for full-size sets). */
  verifyHashes?: boolean;
  /**
   * Run the sessions in a worker thread (what services do): onnxruntime-node's
   * run() blocks its thread for the whole inference, which would stall the
   * service's event loop (health probes, streams, cancellation).
   */
  worker?: boolean;
}

export interface ModelSet {
  dir: string;
  manifest: Manifest;
  sessions: Partial<Record<GraphName, GraphSession>>;
  /** The session of a graph that was opened; throws if it was not. */
  session(name: GraphName): GraphSession;
  close(): Promise<void>;
}

/** Session options of one graph file on a device (WebGPU pins some of a graph's ops to the CPU). */
export async function sessionOptions(
  device: Device,
  graphFile: string,
  intraOpThreads?: number,
): Promise<ort.InferenceSession.SessionOptions> {
  const opts: ort.InferenceSession.SessionOptions = {
    executionProviders: await executionProviders(device, graphFile),
    graphOptimizationLevel: 'all',
    interOpNumThreads: 1,
    // The Loop graph makes ORT warn about value_info it re-infers; errors still surface.
    logSeverityLevel: 3,
  };
  if (intraOpThreads !== undefined) opts.intraOpNumThreads = intraOpThreads;
  return opts;
}

/**
 * Opens the graphs of a model set and checks each against the manifest contract.
 * External weight files are resolved by ORT relative to the .onnx path.
 */
export async function openModelSet(dir: string, options: OpenOptions = {}): Promise<ModelSet> {
  if (options.worker) return openModelSetInWorker(dir, options);
  const manifest = await loadManifest(dir);
  const names = options.graphs ?? GRAPH_NAMES;
  const device = options.device ?? 'cpu';
  const sessions: Partial<Record<GraphName, ort.InferenceSession>> = {};
  const close = async () => {
    await Promise.all(Object.values(sessions).map((s) => s.release()));
  };
  try {
    for (const name of names) {
      const entry = manifest.graphs[name];
      if (options.verifyHashes) await verifyGraphFiles(dir, name, manifest);
      const file = join(dir, entry.file);
      const opts = await sessionOptions(device, file, options.intraOpThreads);
      const session = await ort.InferenceSession.create(file, opts).catch((error: Error) => {
        // Every graph is opened at start-up, so a device that cannot run one fails here, named.
        if (device === 'cpu') throw error;
        throw new DeviceError(`graph ${name} cannot run on ${device}: ${error.message}`);
      });
      sessions[name] = session;
      checkGraph(name, entry, session);
    }
  } catch (err) {
    await close();
    throw err;
  }
  return {
    dir,
    manifest,
    sessions,
    session(name) {
      const s = sessions[name];
      if (!s) throw new Error(`graph ${name} was not opened`);
      return s;
    },
    close,
  };
}

async function verifyGraphFiles(dir: string, name: GraphName, manifest: Manifest): Promise<void> {
  const entry = manifest.graphs[name];
  const files = [{ file: entry.file, sha256: entry.sha256 }];
  if (entry.weights) files.push(entry.weights);
  for (const f of files) {
    const got = await sha256File(join(dir, f.file));
    if (got !== f.sha256)
      throw new ManifestError(`graph ${name}: ${f.file} sha256 ${got} != manifest ${f.sha256}`);
  }
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}
