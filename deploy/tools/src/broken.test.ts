// Deliberately broken documents fail, with a finding that names the object and the rule.
// Each case starts from the real gpu overlay (which passes) and breaks one thing.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { OVERLAYS } from './overlays.ts';
import { parseDocuments, renderKustomization } from './render.ts';
import { type Finding, formatFinding, type Json, type K8sObject, list, type Rule, record } from './types.ts';
import { validateObjects, validateYaml } from './validate.ts';

const gpu = OVERLAYS.find((o) => o.name === 'gpu')!;
let pristine: K8sObject[] = [];

before(async () => {
  pristine = parseDocuments(await renderKustomization(gpu.dir)).objects;
  assert.deepEqual((await validateObjects(pristine, gpu)).map(formatFinding), []);
});

function get(objects: K8sObject[], kind: string, name: string): K8sObject {
  const doc = objects.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(doc, `${kind} ${name}`);
  return doc;
}

function podSpec(doc: K8sObject): Json {
  return record(record(record(doc.spec).template).spec);
}

function container(doc: K8sObject, index = 0): Json {
  return record(list(podSpec(doc).containers)[index]);
}

/** Breaks a copy of the overlay and returns what the validator says. */
async function breakWith(mutate: (objects: K8sObject[]) => K8sObject[] | undefined): Promise<Finding[]> {
  const copy = structuredClone(pristine);
  return validateObjects(mutate(copy) ?? copy, gpu);
}

function assertFinding(findings: Finding[], object: string, rule: Rule, text: string): void {
  const all = findings.map(formatFinding);
  assert.ok(
    findings.some((f) => f.object === object && f.rule === rule && f.message.includes(text)),
    `expected ${object}: [${rule}] …${text}… among:\n  ${all.join('\n  ')}`,
  );
}

describe('broken documents', () => {
  test('a container without limits', async () => {
    const findings = await breakWith((o) => {
      delete record(container(get(o, 'Deployment', 'lm')).resources).limits;
      return o;
    });
    assertFinding(
      findings,
      'Deployment acestep/lm',
      'resource-limits',
      'container "lm" has no resources.limits.memory',
    );
    assertFinding(findings, 'Deployment acestep/lm', 'resource-limits', 'resources.limits.cpu');
  });

  test('an init container without requests', async () => {
    const findings = await breakWith((o) => {
      delete record(list(podSpec(get(o, 'Deployment', 'vae')).initContainers)[0]).resources;
      return o;
    });
    assertFinding(findings, 'Deployment acestep/vae', 'resource-limits', 'init container "wait-for-models"');
  });

  test('a stage Deployment without its PodDisruptionBudget', async () => {
    const findings = await breakWith((o) =>
      o.filter((d) => !(d.kind === 'PodDisruptionBudget' && d.metadata.name === 'dit')),
    );
    assertFinding(findings, 'Deployment acestep/dit', 'pdb', 'no PodDisruptionBudget');
    assert.equal(findings.length, 1, findings.map(formatFinding).join('\n'));
  });

  test('a container running as root', async () => {
    const findings = await breakWith((o) => {
      container(get(o, 'Deployment', 'vae')).securityContext = {
        ...record(container(get(o, 'Deployment', 'vae')).securityContext),
        runAsUser: 0,
      };
      return o;
    });
    assertFinding(findings, 'Deployment acestep/vae', 'non-root', 'container "vae" runs as user 0');
  });

  test('a pod that does not insist on non-root', async () => {
    const findings = await breakWith((o) => {
      delete record(podSpec(get(o, 'StatefulSet', 'nats')).securityContext).runAsNonRoot;
      return o;
    });
    assertFinding(findings, 'StatefulSet acestep/nats', 'non-root', 'container "nats" may run as root');
  });

  test('a field of the wrong type', async () => {
    const findings = await breakWith((o) => {
      (get(o, 'Deployment', 'gateway').spec as Json).replicas = 'two';
      return o;
    });
    assertFinding(findings, 'Deployment acestep/gateway', 'schema', 'spec.replicas must be integer');
  });

  test('a probe port of the wrong type', async () => {
    const findings = await breakWith((o) => {
      record(record(container(get(o, 'Deployment', 'dit')).livenessProbe).grpc).port = 'grpc';
      return o;
    });
    assertFinding(findings, 'Deployment acestep/dit', 'schema', 'livenessProbe.grpc.port must be integer');
  });

  test('a container without probes', async () => {
    const findings = await breakWith((o) => {
      delete container(get(o, 'Deployment', 'gateway')).readinessProbe;
      return o;
    });
    assertFinding(
      findings,
      'Deployment acestep/gateway',
      'probes',
      'container "gateway" has no readinessProbe',
    );
  });

  test('a writable root filesystem and kept capabilities', async () => {
    const findings = await breakWith((o) => {
      container(get(o, 'Deployment', 'lm')).securityContext = { allowPrivilegeEscalation: false };
      return o;
    });
    assertFinding(findings, 'Deployment acestep/lm', 'read-only-root', 'readOnlyRootFilesystem');
    assertFinding(findings, 'Deployment acestep/lm', 'capabilities', 'must drop ALL');
  });

  test('a stage Service with a cluster IP', async () => {
    const findings = await breakWith((o) => {
      delete (get(o, 'Service', 'lm').spec as Json).clusterIP;
      return o;
    });
    assertFinding(findings, 'Service acestep/lm', 'headless', 'selects stage lm but is not headless');
    assertFinding(
      findings,
      'Deployment acestep/gateway',
      'stage-target',
      'Service acestep/lm is not headless',
    );
  });

  test('a GPU stage without a GPU, and a device the pod does not own', async () => {
    const findings = await breakWith((o) => {
      delete record(record(container(get(o, 'Deployment', 'lm')).resources).limits)['nvidia.com/gpu'];
      const dit = list(container(get(o, 'Deployment', 'dit')).env).map(record);
      dit.find((e) => e.name === 'ACESTEP_DEVICE')!.value = 'cuda:1';
      return o;
    });
    assertFinding(
      findings,
      'Deployment acestep/lm',
      'gpu',
      'must limit nvidia.com/gpu to 1 and ask for no other GPU resource, has 0 of 0',
    );
    assertFinding(findings, 'Deployment acestep/lm', 'gpu', 'uses cuda:0 but has 0 nvidia.com/gpu');
    assertFinding(findings, 'Deployment acestep/dit', 'gpu', 'uses cuda:1 but has 1 nvidia.com/gpu');
  });

  test('a grace period shorter than the drain', async () => {
    const findings = await breakWith((o) => {
      podSpec(get(o, 'Deployment', 'vae')).terminationGracePeriodSeconds = 30;
      return o;
    });
    assertFinding(findings, 'Deployment acestep/vae', 'shutdown-grace', 'terminationGracePeriodSeconds 30');
  });

  test('a gateway target that bypasses client-side balancing', async () => {
    const findings = await breakWith((o) => {
      const env = list(container(get(o, 'Deployment', 'gateway')).env).map(record);
      env.find((e) => e.name === 'ACESTEP_DIT_TARGET')!.value = 'dit.acestep.svc:50052';
      env.find((e) => e.name === 'ACESTEP_VAE_TARGET')!.value = 'dns:///vae.acestep.svc:9999';
      return o;
    });
    assertFinding(findings, 'Deployment acestep/gateway', 'stage-target', 'ACESTEP_DIT_TARGET');
    assertFinding(findings, 'Deployment acestep/gateway', 'stage-target', 'has no port 9999');
  });

  test('a ScaledObject without a query, with a misspelled field and a missing target', async () => {
    const findings = await breakWith((o) => {
      const spec = get(o, 'ScaledObject', 'dit').spec as Json;
      delete record(record(list(spec.triggers)[0]).metadata).query;
      spec.maxReplicas = 3;
      (record(get(o, 'ScaledObject', 'vae').spec).scaleTargetRef as Json).name = 'vae-old';
      return o;
    });
    assertFinding(
      findings,
      'ScaledObject acestep/dit',
      'crd-strict',
      'spec.triggers[0].metadata.query is required',
    );
    assertFinding(
      findings,
      'ScaledObject acestep/dit',
      'crd-strict',
      'spec.maxReplicas is not a known field',
    );
    assertFinding(findings, 'ScaledObject acestep/vae', 'scale-target', 'targets Deployment vae-old');
  });

  test('a ServiceMonitor that would scrape everything', async () => {
    const findings = await breakWith((o) => {
      (get(o, 'ServiceMonitor', 'acestep').spec as Json).selector = {};
      return o;
    });
    assertFinding(
      findings,
      'ServiceMonitor acestep/acestep',
      'crd-strict',
      'spec.selector must not be empty',
    );
  });

  test('no default-deny NetworkPolicy', async () => {
    const findings = await breakWith((o) =>
      o.filter((d) => !(d.kind === 'NetworkPolicy' && d.metadata.name === 'default-deny-ingress')),
    );
    assertFinding(findings, 'Namespace -/acestep', 'network-policy', 'no default-deny ingress');
  });

  test('a missing stage and an unknown kind', async () => {
    const findings = await breakWith((o) => [
      ...o.filter((d) => !(d.kind === 'Deployment' && d.metadata.name === 'vae')),
      { apiVersion: 'apps/v1', kind: 'Deploymnet', metadata: { name: 'typo', namespace: 'acestep' } },
    ]);
    assertFinding(findings, 'Deployment -/vae', 'stages', 'is missing');
    assertFinding(findings, 'Deployment -/vae', 'gpu', 'GPU stage is missing');
    assertFinding(findings, 'Deploymnet acestep/typo', 'unknown-kind', 'no schema for apps/v1 Deploymnet');
  });

  test('YAML text: a document without a name and a syntax error', async () => {
    const copy = structuredClone(pristine);
    const text = [...copy.map((d) => stringify(d)), 'apiVersion: v1\nkind: ConfigMap\n', 'a: [1,\n'].join(
      '---\n',
    );
    const { findings } = await validateYaml(text, gpu);
    assertFinding(
      findings,
      `Document -/#${copy.length + 1}`,
      'document',
      'needs apiVersion, kind and metadata.name',
    );
    assert.ok(findings.some((f) => f.object === `Document -/#${copy.length + 2}` && f.rule === 'document'));
  });
});
