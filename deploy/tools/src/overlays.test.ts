// The real overlays render offline and pass every schema, CRD and policy check.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { OVERLAYS } from './overlays.ts';
import { formatFinding, type K8sObject, list, record } from './types.ts';
import { validateObjects, validateOverlay } from './validate.ts';
import { containers, envValue, podTemplate } from './workloads.ts';

const rendered = new Map<string, K8sObject[]>();

function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const doc = objects.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(doc, `${kind} ${name} is rendered`);
  return doc;
}

function mainContainer(deployment: K8sObject) {
  const ref = containers(podTemplate(deployment)!.spec).find((c) => c.name === deployment.metadata.name);
  assert.ok(ref, `${deployment.metadata.name} has its container`);
  return ref.container;
}

describe('deploy/k8s overlays', () => {
  before(async () => {
    for (const overlay of OVERLAYS) {
      const result = await validateOverlay(overlay.dir, overlay);
      assert.deepEqual(result.findings.map(formatFinding), [], `${overlay.name} has no findings`);
      rendered.set(overlay.name, result.objects);
    }
  });

  test('every object lives in the acestep namespace, except the namespace itself', () => {
    for (const [name, objects] of rendered) {
      const stray = objects.filter((o) => o.kind !== 'Namespace' && o.metadata.namespace !== 'acestep');
      assert.deepEqual(
        stray.map((o) => `${o.kind}/${o.metadata.name}`),
        [],
        name,
      );
    }
  });

  test('gpu: lm, dit and vae own one GPU each and use it as cuda:0; the gateway owns none', () => {
    const objects = rendered.get('gpu')!;
    for (const stage of ['lm', 'dit', 'vae']) {
      const container = mainContainer(find(objects, 'Deployment', stage));
      assert.equal(record(record(container.resources).limits)['nvidia.com/gpu'], 1, stage);
      assert.equal(envValue(container, 'ACESTEP_DEVICE'), 'cuda:0', stage);
    }
    const gateway = mainContainer(find(objects, 'Deployment', 'gateway'));
    assert.equal(record(record(gateway.resources).limits)['nvidia.com/gpu'], undefined);
  });

  test('with monitoring, NATS is scraped through its exporter sidecar, which Prometheus may reach', () => {
    for (const overlay of ['gpu', 'single-gpu']) {
      const objects = rendered.get(overlay)!;
      const nats = containers(podTemplate(find(objects, 'StatefulSet', 'nats'))!.spec);
      const exporter = nats.find((c) => c.name === 'metrics')?.container;
      assert.ok(exporter, `${overlay}: exporter sidecar`);
      assert.ok(list(exporter.args).includes('http://localhost:8222'), 'reads the NATS monitoring port');
      const service = find(objects, 'Service', 'nats-metrics');
      assert.equal(list(record(service.spec).ports).map((p) => record(p).targetPort)[0], 'metrics');
      const monitor = find(objects, 'ServiceMonitor', 'nats');
      assert.equal(record(list(record(monitor.spec).endpoints)[0]).port, 'metrics');
      const policy = find(objects, 'NetworkPolicy', 'nats');
      const ports = list(record(policy.spec).ingress).flatMap((rule) => list(record(rule).ports));
      assert.ok(
        ports.some((p) => record(p).port === 'metrics'),
        `${overlay}: policy opens the exporter port`,
      );
    }
    assert.ok(
      !rendered.get('cpu-dev')!.some((o) => o.metadata.name === 'nats-metrics'),
      'only with monitoring',
    );
  });

  test('cpu-dev: every stage on the CPU, no GPU anywhere, no CRDs', () => {
    const objects = rendered.get('cpu-dev')!;
    for (const stage of ['lm', 'dit', 'vae'])
      assert.equal(envValue(mainContainer(find(objects, 'Deployment', stage)), 'ACESTEP_DEVICE'), 'cpu');
    assert.ok(!JSON.stringify(objects).includes('nvidia.com/gpu'));
    assert.deepEqual(
      objects.filter((o) => o.apiVersion.includes('keda.sh') || o.apiVersion.includes('coreos.com')),
      [],
    );
  });

  test('gpu: each stage scales on its own queue depth, the gateway on calls in flight', () => {
    const objects = rendered.get('gpu')!;
    for (const [name, metric] of [
      ['lm', 'acestep_queue_depth'],
      ['dit', 'acestep_queue_depth'],
      ['vae', 'acestep_queue_depth'],
      ['gateway', 'acestep_rpc_in_flight'],
    ] as const) {
      const trigger = record(list(record(find(objects, 'ScaledObject', name).spec).triggers)[0]);
      const query = String(record(trigger.metadata).query);
      assert.ok(query.includes(metric) && query.includes(`service="${name}"`), query);
    }
  });

  test('both overlays mount the same model set into every stage and the models Job', () => {
    for (const [name, objects] of rendered) {
      const modelSet = objects.find(
        (o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('acestep-model-set'),
      );
      assert.ok(modelSet, name);
      const dir = String(record(modelSet.data).ACESTEP_MODEL_DIR);
      assert.match(dir, /^\/models\/[\w.-]+$/, name);
      for (const kind of ['Deployment', 'Job']) {
        for (const doc of objects.filter((o) => o.kind === kind && o.metadata.name !== 'gateway')) {
          const refs = containers(podTemplate(doc)!.spec).flatMap((c) =>
            list(c.container.envFrom).map((e) => record(record(e).configMapRef).name),
          );
          assert.ok(refs.includes(modelSet.metadata.name), `${name} ${kind} ${doc.metadata.name}`);
        }
      }
    }
  });

  test('single-gpu: every stage takes one time-sliced share as cuda:0; the Job fetches then exports', () => {
    const objects = rendered.get('single-gpu')!;
    for (const stage of ['lm', 'dit', 'vae']) {
      const deployment = find(objects, 'Deployment', stage);
      const container = mainContainer(deployment);
      const limits = record(record(container.resources).limits);
      assert.equal(limits['nvidia.com/gpu.shared'], 1, stage);
      assert.equal(limits['nvidia.com/gpu'], undefined, stage);
      assert.equal(envValue(container, 'ACESTEP_DEVICE'), 'cuda:0', stage);
      assert.equal(record(deployment.spec).replicas, 1, stage);
    }
    const job = podTemplate(find(objects, 'Job', 'acestep-models-prepare'))!.spec;
    const [fetch] = list(job.initContainers).map(record);
    assert.deepEqual(fetch?.command, ['/usr/bin/python3', '/app/deploy/docker/fetch-checkpoints.py']);
    const secret = list(job.volumes)
      .map(record)
      .find((v) => v.name === 'hf-token');
    assert.deepEqual(record(secret?.secret).optional, true, 'public repos need no token');
    assert.ok(!objects.some((o) => o.apiVersion.includes('keda.sh')), 'no autoscaling on one GPU');
  });

  test('the validator takes the GPU resource the overlay chose: MIG passes, a whole GPU does not', async () => {
    const overlay = OVERLAYS.find((o) => o.name === 'single-gpu')!;
    const withResource = (from: string, to: string) =>
      JSON.parse(
        JSON.stringify(rendered.get('single-gpu')!).replaceAll(`"${from}"`, `"${to}"`),
      ) as K8sObject[];
    const mig = withResource('nvidia.com/gpu.shared', 'nvidia.com/mig-3g.40gb');
    assert.deepEqual(
      (await validateObjects(mig, { ...overlay, gpuResource: 'nvidia.com/mig-3g.40gb' })).map(formatFinding),
      [],
    );
    const whole = withResource('nvidia.com/gpu.shared', 'nvidia.com/gpu');
    const findings = (await validateObjects(whole, overlay)).map(formatFinding);
    assert.ok(
      findings.some((f) =>
        f.includes('Deployment acestep/lm: [gpu] container "lm" must limit nvidia.com/gpu.shared to 1'),
      ),
      findings.join('\n'),
    );
    const unknown = (await validateObjects(mig, { ...overlay, gpuResource: 'amd.com/gpu' })).map(
      formatFinding,
    );
    assert.ok(
      unknown.some((f) => f.includes('amd.com/gpu: [gpu] is not a GPU resource')),
      unknown.join('\n'),
    );
  });
});
