// End-to-end generation: through the four service processes (gRPC over
// loopback) vs the same stages called in-process (Connect router transports:
// same handlers and models, no sockets), in one run; then requests/s through
// the services at concurrency 1, 4 and 8.
//   node bench/gateway.ts [--runs 5]
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EncoderPool } from '@acestep/audio';
import { connectClient } from '@acestep/cli/client';
import { launchStack } from '@acestep/cli/launcher';
import { defaultDitConfig, ditSpec } from '@acestep/dit/internal';
import { runGeneration } from '@acestep/gateway/internal';
import { DiskResultStore } from '@acestep/gateway/jobs';
import { lmDefaults, lmSpec } from '@acestep/lm/internal';
import { DitService } from '@acestep/proto/dit';
import {
  AudioFormat,
  GenerationConfigSchema as ConfigSchema,
  GatewayService,
  type GenerationConfigSchema,
} from '@acestep/proto/gateway';
import { LmService } from '@acestep/proto/lm';
import { VaeService } from '@acestep/proto/vae';
import {
  createLogger,
  DEFAULT_MODEL_DIR,
  defaultServiceConfig,
  parseFlags,
  Stage,
  startInProcess,
} from '@acestep/runtime';
import { vaeSpec } from '@acestep/vae/internal';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { createClient } from '@connectrpc/connect';
import { medianMs } from './median.ts';

const flags = parseFlags(process.argv.slice(2));
const RUNS = Number(flags.get('runs') ?? 5);

const CASES: Record<string, MessageInitShape<typeof GenerationConfigSchema>> = {
  'text2music 10 s, no LM': {
    caption: 'bench',
    lyrics: '[Instrumental]',
    audioDuration: 10,
    bpm: 120,
    keyScale: 'C major',
    timeSignature: '4/4',
    useRandomSeed: false,
    seed: 1n,
    audioFormat: AudioFormat.WAV,
  },
  'text2music 10 s, LM metadata + codes': {
    caption: 'bench',
    lyrics: '[Instrumental]',
    audioDuration: 10,
    useLlmThinking: true,
    useRandomSeed: false,
    seed: 1n,
    audioFormat: AudioFormat.WAV,
  },
};

async function inProcessStages() {
  const config = (port: number) => ({
    ...defaultServiceConfig({ port, metricsPort: 0 }),
    modelDir: DEFAULT_MODEL_DIR,
  });
  const [lm, dit, vae] = await Promise.all([
    startInProcess(lmSpec(), lmDefaults(config(0))),
    startInProcess(ditSpec(), { ...defaultDitConfig(), modelDir: DEFAULT_MODEL_DIR }),
    startInProcess(vaeSpec(), config(0)),
  ]);
  const common = { attempts: 1, timeoutMs: 600_000 };
  return {
    stages: {
      lm: new Stage(createClient(LmService, lm.transport), { name: 'lm', label: 'LM', ...common }),
      dit: new Stage(createClient(DitService, dit.transport), { name: 'dit', label: 'DiT', ...common }),
      vae: new Stage(createClient(VaeService, vae.transport), { name: 'vae', label: 'VAE', ...common }),
    },
    stop: () => Promise.all([lm.stop(), dit.stop(), vae.stop()]),
  };
}

const local = await inProcessStages();
const store = await DiskResultStore.open(await mkdtemp(join(tmpdir(), 'acestep-bench-')), 512 << 20);
const context = {
  stages: local.stages,
  store,
  deployment: async () => ({
    ditVariant: 'turbo' as const,
    maxBatch: 8,
    limits: { maxCaptionChars: 4096, maxLyricsChars: 32768, maxDurationSeconds: 600 },
  }),
  audioLimits: {},
  logger: createLogger('bench', 'error'),
  encoders: new EncoderPool(),
};
const stack = await launchStack();
const gateway = connectClient(GatewayService, stack.gateway.address);
const viaServices = async (config: MessageInitShape<typeof GenerationConfigSchema>) => {
  for await (const res of gateway.generate({ config })) {
    if (res.event.case === 'result' && !res.event.value.success) throw new Error(res.event.value.error);
  }
};
try {
  console.log(`end-to-end latency, median of ${RUNS} runs after 1 warm-up (tiny models)`);
  for (const [name, config] of Object.entries(CASES)) {
    const processes = await medianMs(() => viaServices(config), RUNS);
    const inProcess = await medianMs(
      () => runGeneration(context, create(ConfigSchema, config), () => {}, new AbortController().signal),
      RUNS,
    );
    console.log(
      `${name.padEnd(40)} services ${processes.toFixed(0).padStart(6)} ms  in-process ${inProcess.toFixed(0).padStart(6)} ms  ratio ${(processes / inProcess).toFixed(2)}`,
    );
  }
  const config = CASES['text2music 10 s, no LM']!;
  for (const concurrency of [1, 4, 8]) {
    const total = concurrency * 3;
    let next = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next++ < total) await viaServices({ ...config, seed: BigInt(next) });
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    console.log(
      `concurrency ${concurrency}: ${total} requests in ${seconds.toFixed(1)} s = ${(total / seconds).toFixed(2)} req/s`,
    );
  }
} finally {
  await stack.stop();
  await local.stop();
  await context.encoders.close();
}
