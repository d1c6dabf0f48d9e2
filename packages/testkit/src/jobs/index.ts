// Support for the job tests of the gateway: a deterministic executor, the one
// semantics suite both job services must pass, and the crash-test worker script.
import { fileURLToPath } from 'node:url';

export { jobSemanticsTests, type MakeService } from './job-semantics.ts';
export { audioBytes, collect, config, eventually, sha256Hex, testExecutor, until } from './test-executor.ts';

/** Path of the crash-test worker (`node <path> '<json options>'`), spawned by the NATS crash tests. */
export const CRASH_WORKER_SCRIPT = fileURLToPath(new URL('./crash-worker.ts', import.meta.url));
