// Startup probe of a stage pod: calls the stage's own Warmup RPC on localhost
// (Connect JSON over cleartext HTTP/2) and exits 0 only when it answers OK. The
// pod therefore turns ready after its graphs ran once on the device, not merely
// after the port opened; while the model set still loads the port is closed and
// the probe fails, which the startup probe's budget allows for.
//   node deploy/docker/warmup-probe.ts lm|dit|vae      (reads ACESTEP_PORT)
import { connect } from 'node:http2';

const SERVICES = {
  lm: 'acestep.lm.v1.LmService',
  dit: 'acestep.dit.v1.DitService',
  vae: 'acestep.vae.v1.VaeService',
} as const;
type Stage = keyof typeof SERVICES;

function isStage(name: string | undefined): name is Stage {
  return name !== undefined && Object.hasOwn(SERVICES, name);
}

/** Resolves with the HTTP status and body of one unary Connect call. */
function callWarmup(
  port: number,
  stage: Stage,
  timeoutMs: number,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const session = connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    session.setTimeout(timeoutMs, () => session.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    const req = session.request({
      ':method': 'POST',
      ':path': `/${SERVICES[stage]}/Warmup`,
      'content-type': 'application/json',
      'connect-protocol-version': '1',
    });
    let status = 0;
    let body = '';
    req.setEncoding('utf8');
    req.on('response', (headers) => {
      status = Number(headers[':status']);
    });
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      session.close();
      resolve({ status, body });
    });
    req.on('error', reject);
    req.end('{}');
  });
}

const stage = process.argv[2];
const port = Number(process.env.ACESTEP_PORT);
if (!isStage(stage) || !Number.isInteger(port) || port <= 0) {
  console.log(`usage: ACESTEP_PORT=N node warmup-probe.ts ${Object.keys(SERVICES).join('|')}`);
  process.exit(2);
}
try {
  const { status, body } = await callWarmup(
    port,
    stage,
    Number(process.env.WARMUP_PROBE_TIMEOUT_MS ?? 280_000),
  );
  console.log(`${stage} Warmup: HTTP ${status} ${body.slice(0, 500)}`);
  process.exit(status === 200 ? 0 : 1);
} catch (error) {
  console.log(`${stage} Warmup: ${(error as Error).message}`);
  process.exit(1);
}
