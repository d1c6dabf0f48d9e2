// The hostile-input corpus against one real stack (tiny models, loopback):
// hundreds of malformed, out-of-range, oversized and lying requests over
// Connect JSON, binary gRPC, the official REST routes and /v1/objects uploads
// (decompression bombs included). Every case must get its clear answer (the
// expected status, a message naming the field or the limit, never
// UNKNOWN/INTERNAL/500) within a bound; afterwards every service is healthy,
// the gateway's memory barely moved across the bombs, and a normal generation
// still succeeds. docs/reliability.md has the figures.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { connectClient } from '@acestep/cli/client';
import { launchStack, type Stack } from '@acestep/cli/launcher';
import { GatewayService } from '@acestep/proto/gateway';
import { Health, HealthCheckResponse_ServingStatus } from '@acestep/proto/health';
import { type HostileCase, hostileCorpus } from '@acestep/testkit/hostile-corpus';
import { type HostileAnswer, sendCase, type Target } from '@acestep/testkit/hostile-send';

const UPLOAD_LIMIT = 4 << 20;
const API_KEY = 'corpus-key-0123456789';
const CASE_TIMEOUT_MS = 10_000;
const BATCH = 8;
/** Statuses that say "a fault of ours", never a clear answer to bad input. */
const UNCLEAR = new Set([500, 502, 503]);
const UNCLEAR_GRPC = new Set([2, 13]);

/** Peak RSS of a process since the last reset (the kernel's VmHWM), in bytes. */
function peakRss(pid: number): number {
  return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
}
function rss(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
}

/** What is wrong with an answer, or undefined when it is the clear answer the case expects. */
function verdict(
  c: HostileCase,
  a: HostileAnswer,
): { kind: 'crash' | 'hang' | 'unclear'; why: string } | undefined {
  if (a.failure === 'hang') return { kind: 'hang', why: `no answer in ${CASE_TIMEOUT_MS} ms` };
  if (a.failure) return { kind: 'crash', why: a.failure };
  const faulty = c.transport === 'grpc' ? UNCLEAR_GRPC.has(a.status) : UNCLEAR.has(a.status);
  if (faulty || !c.expect.includes(a.status))
    return {
      kind: 'unclear',
      why: `status ${a.status}, expected ${c.expect.join('|')}: ${a.message.slice(0, 300)}`,
    };
  if (!c.message.test(a.message))
    return {
      kind: 'unclear',
      why: `message ${JSON.stringify(a.message.slice(0, 300))} does not match ${c.message}`,
    };
  return undefined;
}

describe('hostile-input corpus', () => {
  let stack: Stack;
  let target: Target;
  /** The last log lines of each service, said when one dies. */
  const logs: string[] = [];
  before(async () => {
    stack = await launchStack({
      onLog: (service, line) => {
        logs.push(`${service}: ${line.slice(0, 2000)}`);
        if (logs.length > 200) logs.shift();
      },
      gatewayArgs: ['--max-upload-bytes', String(UPLOAD_LIMIT), '--api-key', API_KEY],
    });
    target = {
      address: stack.gateway.address,
      auth: { authorization: `Bearer ${API_KEY}` },
      timeoutMs: CASE_TIMEOUT_MS,
    };
  });
  after(async () => {
    await stack?.stop();
  });

  it('answers every case clearly and in time, with the gateway memory bounded across the bombs', async () => {
    const cases = hostileCorpus({ uploadLimit: UPLOAD_LIMIT, apiKey: API_KEY });
    assert.ok(cases.length >= 300, `${cases.length} cases`);
    const problems: string[] = [];
    const counts = { crash: 0, hang: 0, unclear: 0 };
    let slowest = 0;
    const run = async (batch: HostileCase[]) => {
      const answers = await Promise.all(batch.map((c) => sendCase(c, target)));
      answers.forEach((a, i) => {
        const c = batch[i]!;
        slowest = Math.max(slowest, a.ms);
        const bad = verdict(c, a);
        if (bad) {
          counts[bad.kind]++;
          problems.push(`[${bad.kind}] ${c.group} / ${c.name}: ${bad.why}`);
        }
      });
      for (const service of [stack.lm, stack.dit, stack.vae, stack.gateway])
        assert.equal(
          service.child.exitCode,
          null,
          `${service.name} exited during the corpus (batch: ${batch.map((c) => c.name).join('; ')})\n${logs.slice(-30).join('\n')}`,
        );
    };
    const plain = cases.filter((c) => !c.bomb);
    for (let i = 0; i < plain.length; i += BATCH) await run(plain.slice(i, i + BATCH));

    // The bombs one at a time, with the gateway's peak RSS measured by the kernel across them.
    const pid = stack.gateway.child.pid!;
    const baseline = rss(pid);
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    for (const bomb of cases.filter((c) => c.bomb)) await run([bomb]);
    const growthMb = (peakRss(pid) - baseline) / 2 ** 20;

    const summary = `hostile corpus: ${cases.length} cases, ${counts.crash} crashes, ${counts.hang} hangs, ${counts.unclear} unclear; slowest ${slowest.toFixed(0)} ms; gateway RSS growth across ${cases.filter((c) => c.bomb).length} bombs ${growthMb.toFixed(1)} MB`;
    console.log(summary);
    assert.deepEqual(problems, [], summary);
    assert.ok(growthMb < 50, summary);
  });

  it('leaves every service healthy and still generates', async () => {
    for (const service of [stack.lm, stack.dit, stack.vae, stack.gateway]) {
      const health = await connectClient(Health, service.address).check({ service: '' });
      assert.equal(health.status, HealthCheckResponse_ServingStatus.SERVING, service.name);
    }
    const client = connectClient(GatewayService, stack.gateway.address, {
      authorization: `Bearer ${API_KEY}`,
    });
    let success = false;
    for await (const event of client.generate({ config: { caption: 'after the corpus', audioDuration: 10 } }))
      if (event.event.case === 'result') success = event.event.value.success;
    assert.ok(success, 'a normal generation after the corpus');
  });
});
