// Policy rules over a rendered overlay: per container (limits, probes, non-root,
// read-only root, capabilities), per pod (shutdown grace) and across objects
// (PDBs, headless stage Services, gateway targets, GPUs, scaler targets, default deny).
import { mapSelects, selects } from './selector.ts';
import { type Finding, finding, type Json, type K8sObject, list, RULES, record, text } from './types.ts';
import {
  type ContainerRef,
  containers,
  envValue,
  isStage,
  LONG_RUNNING,
  namespaceOf,
  podTemplate,
} from './workloads.ts';

export interface PolicyOptions {
  /** The overlay runs the stages on GPUs: lm, dit and vae must each ask for one. */
  gpu: boolean;
  /**
   * The extended resource a stage asks for (default nvidia.com/gpu, a whole
   * GPU): nvidia.com/gpu.shared is a time-sliced share (the NVIDIA device
   * plugin's timeSlicing with renameByDefault), nvidia.com/mig-<g>g.<n>gb a MIG
   * instance. Either way the pod sees one device, cuda:0.
   */
  gpuResource?: string;
}

/** Every resource name that hands a container a CUDA device. */
export const GPU_RESOURCE = /^nvidia\.com\/(gpu|gpu\.shared|mig-\d+g\.\d+gb)$/;

/** The Deployments every overlay must have. */
export const STAGES = ['lm', 'dit', 'vae'] as const;
export const REQUIRED_DEPLOYMENTS = [...STAGES, 'gateway'] as const;

export function policyFindings(objects: readonly K8sObject[], options: PolicyOptions): Finding[] {
  return [
    ...objects.flatMap((doc) => workloadFindings(doc)),
    ...pdbFindings(objects),
    ...headlessFindings(objects),
    ...requiredDeploymentFindings(objects),
    ...gpuFindings(objects, options),
    ...stageTargetFindings(objects),
    ...scaleTargetFindings(objects),
    ...networkPolicyFindings(objects),
  ];
}

// ---- per workload ---------------------------------------------------------

function workloadFindings(doc: K8sObject): Finding[] {
  const pod = podTemplate(doc);
  if (!pod) return [];
  const podSecurity = record(pod.spec.securityContext);
  const out: Finding[] = [];
  for (const ref of containers(pod.spec)) {
    const problems = [
      ...limitProblems(ref),
      ...(LONG_RUNNING.has(doc.kind) ? probeProblems(ref) : []),
      ...securityProblems(ref, podSecurity),
    ];
    out.push(...problems.map(([rule, message]) => finding(doc, rule, message)));
  }
  out.push(...graceFindings(doc, pod.spec));
  return out;
}

type Problem = [rule: Finding['rule'], message: string];

function label(ref: ContainerRef): string {
  return `${ref.init ? 'init container' : 'container'} "${ref.name}"`;
}

function limitProblems(ref: ContainerRef): Problem[] {
  const resources = record(ref.container.resources);
  const problems: Problem[] = [];
  for (const kind of ['requests', 'limits'] as const) {
    const values = record(resources[kind]);
    for (const resource of ['cpu', 'memory'])
      if (values[resource] === undefined)
        problems.push([RULES.limits, `${label(ref)} has no resources.${kind}.${resource}`]);
  }
  return problems;
}

function probeProblems(ref: ContainerRef): Problem[] {
  if (ref.init) return [];
  return (['livenessProbe', 'readinessProbe'] as const)
    .filter((probe) => ref.container[probe] === undefined)
    .map((probe) => [RULES.probes, `${label(ref)} has no ${probe}`]);
}

function securityProblems(ref: ContainerRef, podSecurity: Json): Problem[] {
  const own = record(ref.container.securityContext);
  const effective = (key: string) => (own[key] !== undefined ? own[key] : podSecurity[key]);
  const problems: Problem[] = [];
  if (effective('runAsNonRoot') !== true)
    problems.push([RULES.nonRoot, `${label(ref)} may run as root: runAsNonRoot is not true`]);
  if (effective('runAsUser') === 0) problems.push([RULES.nonRoot, `${label(ref)} runs as user 0 (root)`]);
  if (own.readOnlyRootFilesystem !== true)
    problems.push([RULES.readOnlyRoot, `${label(ref)} needs securityContext.readOnlyRootFilesystem: true`]);
  if (own.allowPrivilegeEscalation !== false)
    problems.push([
      RULES.capabilities,
      `${label(ref)} needs securityContext.allowPrivilegeEscalation: false`,
    ]);
  if (own.privileged === true) problems.push([RULES.capabilities, `${label(ref)} is privileged`]);
  const drop = list(record(own.capabilities).drop).map(String);
  if (!drop.includes('ALL')) problems.push([RULES.capabilities, `${label(ref)} must drop ALL capabilities`]);
  const add = list(record(own.capabilities).add);
  if (add.length > 0)
    problems.push([RULES.capabilities, `${label(ref)} adds capabilities ${add.join(', ')}`]);
  return problems;
}

/** Kubernetes sends SIGKILL after terminationGracePeriodSeconds: it must outlast the drain. */
function graceFindings(doc: K8sObject, podSpec: Json): Finding[] {
  const period =
    typeof podSpec.terminationGracePeriodSeconds === 'number' ? podSpec.terminationGracePeriodSeconds : 30;
  return containers(podSpec).flatMap(({ name, container }) => {
    const raw = envValue(container, 'ACESTEP_SHUTDOWN_GRACE_MS');
    const graceMs = raw === undefined ? 30_000 : Number(raw);
    if (!envValue(container, 'ACESTEP_PORT') && raw === undefined) return [];
    return period * 1000 > graceMs
      ? []
      : [
          finding(
            doc,
            RULES.grace,
            `terminationGracePeriodSeconds ${period} must exceed container "${name}"'s ACESTEP_SHUTDOWN_GRACE_MS ${graceMs} / 1000`,
          ),
        ];
  });
}

// ---- across objects -------------------------------------------------------

function byKind(objects: readonly K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

function pdbFindings(objects: readonly K8sObject[]): Finding[] {
  const pdbs = byKind(objects, 'PodDisruptionBudget');
  return objects
    .filter((doc) => doc.kind === 'Deployment' || doc.kind === 'StatefulSet')
    .flatMap((doc) => {
      const labels = podTemplate(doc)?.labels ?? {};
      const covered = pdbs.some(
        (pdb) => namespaceOf(pdb) === namespaceOf(doc) && selects(record(pdb.spec).selector, labels),
      );
      return covered ? [] : [finding(doc, RULES.pdb, 'no PodDisruptionBudget selects its pods')];
    });
}

function stageDeployments(objects: readonly K8sObject[]): K8sObject[] {
  return byKind(objects, 'Deployment').filter((d) => isStage(podTemplate(d)?.labels));
}

/** Stage Services must be headless: the gateway balances over the pod addresses itself. */
function headlessFindings(objects: readonly K8sObject[]): Finding[] {
  const services = byKind(objects, 'Service');
  return stageDeployments(objects).flatMap((deployment) => {
    const labels = podTemplate(deployment)?.labels ?? {};
    const selecting = services.filter(
      (s) => namespaceOf(s) === namespaceOf(deployment) && mapSelects(record(s.spec).selector, labels),
    );
    const out = selecting
      .filter((s) => record(s.spec).clusterIP !== 'None')
      .map((s) =>
        finding(
          s,
          RULES.headless,
          `selects stage ${deployment.metadata.name} but is not headless (clusterIP: None)`,
        ),
      );
    if (selecting.length === 0)
      out.push(finding(deployment, RULES.headless, 'no headless Service selects this stage'));
    return out;
  });
}

function requiredDeploymentFindings(objects: readonly K8sObject[]): Finding[] {
  const names = new Set(byKind(objects, 'Deployment').map((d) => d.metadata.name));
  return REQUIRED_DEPLOYMENTS.filter((n) => !names.has(n)).map((n) =>
    finding({ kind: 'Deployment', metadata: { name: n } }, RULES.stages, 'is missing from the overlay'),
  );
}

/** Devices a container gets: one resource's count, or every GPU resource's together. */
function gpuCount(container: Json, resource?: string): number {
  const limits = record(record(container.resources).limits);
  return Object.entries(limits)
    .filter(([name]) => (resource ? name === resource : GPU_RESOURCE.test(name)))
    .reduce((sum, [, raw]) => sum + Number(raw), 0);
}

/**
 * A container that names cuda:N must own at least N+1 GPUs; in a GPU overlay
 * every stage owns exactly one and uses it as cuda:0.
 */
function gpuFindings(objects: readonly K8sObject[], options: PolicyOptions): Finding[] {
  const out: Finding[] = [];
  const resource = options.gpuResource ?? 'nvidia.com/gpu';
  if (!GPU_RESOURCE.test(resource))
    out.push(
      finding(
        { kind: 'Overlay', metadata: { name: resource } },
        RULES.gpu,
        `is not a GPU resource (${GPU_RESOURCE})`,
      ),
    );
  for (const doc of objects) {
    const pod = podTemplate(doc);
    if (!pod) continue;
    for (const { name, container, init } of containers(pod.spec)) {
      if (init) continue;
      const device = envValue(container, 'ACESTEP_DEVICE');
      const gpus = gpuCount(container);
      const index = /^cuda:(\d+)$/.exec(device ?? '')?.[1];
      if (index !== undefined && Number(index) >= gpus)
        out.push(finding(doc, RULES.gpu, `container "${name}" uses ${device} but has ${gpus} ${resource}`));
      const stage = STAGES.find((s) => s === doc.metadata.name);
      if (!options.gpu || doc.kind !== 'Deployment' || !stage || name !== stage) continue;
      const own = gpuCount(container, resource);
      if (own !== 1 || gpus !== 1)
        out.push(
          finding(
            doc,
            RULES.gpu,
            `container "${name}" must limit ${resource} to 1 and ask for no other GPU resource, has ${own} of ${gpus}`,
          ),
        );
      if (device !== 'cuda:0')
        out.push(
          finding(
            doc,
            RULES.gpu,
            `container "${name}" must set ACESTEP_DEVICE=cuda:0, has ${device ?? 'none'}`,
          ),
        );
    }
  }
  if (options.gpu)
    for (const stage of STAGES)
      if (!objects.some((d) => d.kind === 'Deployment' && d.metadata.name === stage))
        out.push(
          finding({ kind: 'Deployment', metadata: { name: stage } }, RULES.gpu, 'GPU stage is missing'),
        );
  return out;
}

const TARGETS = { ACESTEP_LM_TARGET: 'lm', ACESTEP_DIT_TARGET: 'dit', ACESTEP_VAE_TARGET: 'vae' } as const;

/** The gateway's dns:/// targets must name the stage's headless Service and its gRPC port. */
function stageTargetFindings(objects: readonly K8sObject[]): Finding[] {
  const services = byKind(objects, 'Service');
  const out: Finding[] = [];
  for (const doc of byKind(objects, 'Deployment')) {
    for (const { name, container } of containers(podTemplate(doc)?.spec ?? {})) {
      for (const [variable, stage] of Object.entries(TARGETS)) {
        const target = envValue(container, variable);
        if (target === undefined) continue;
        const problem = targetProblem(target, stage, namespaceOf(doc), services);
        if (problem)
          out.push(finding(doc, RULES.stageTarget, `container "${name}" ${variable}=${target}: ${problem}`));
      }
    }
  }
  return out;
}

function targetProblem(
  target: string,
  stage: string,
  namespace: string,
  services: K8sObject[],
): string | undefined {
  const match = /^dns:\/\/\/([a-z0-9-]+)(?:\.([a-z0-9-]+)(?:\.svc(?:\.[a-z0-9.-]+)?)?)?:(\d+)$/.exec(target);
  if (!match) return 'must be dns:///<service>[.<namespace>.svc]:<port> to balance over every replica';
  const [, name, ns = namespace, port] = match;
  const service = services.find((s) => s.metadata.name === name && namespaceOf(s) === ns);
  if (!service) return `no Service ${ns}/${name}`;
  if (name !== stage) return `names Service ${name}, expected the ${stage} stage`;
  const spec = record(service.spec);
  if (spec.clusterIP !== 'None') return `Service ${ns}/${name} is not headless`;
  if (!list(spec.ports).some((p) => record(p).port === Number(port)))
    return `Service ${ns}/${name} has no port ${port}`;
  return undefined;
}

/** ScaledObjects and HPAs must point at a Deployment of the overlay. */
function scaleTargetFindings(objects: readonly K8sObject[]): Finding[] {
  const scalers = objects.filter((o) => o.kind === 'ScaledObject' || o.kind === 'HorizontalPodAutoscaler');
  return scalers.flatMap((scaler) => {
    const ref = record(record(scaler.spec).scaleTargetRef);
    const kind = text(ref.kind) ?? 'Deployment';
    const exists = objects.some(
      (o) => o.kind === kind && o.metadata.name === ref.name && namespaceOf(o) === namespaceOf(scaler),
    );
    return exists
      ? []
      : [finding(scaler, RULES.scaleTarget, `targets ${kind} ${String(ref.name)}, which the overlay lacks`)];
  });
}

/** Every namespace with workloads denies ingress by default; the allow rules are the exceptions. */
function networkPolicyFindings(objects: readonly K8sObject[]): Finding[] {
  const namespaces = new Set(objects.filter((o) => LONG_RUNNING.has(o.kind)).map(namespaceOf));
  const denies = new Set(
    byKind(objects, 'NetworkPolicy')
      .filter((p) => {
        const spec = record(p.spec);
        const everyPod =
          Object.keys(record(record(spec.podSelector).matchLabels)).length === 0 &&
          list(record(spec.podSelector).matchExpressions).length === 0;
        return everyPod && list(spec.policyTypes).includes('Ingress') && list(spec.ingress).length === 0;
      })
      .map(namespaceOf),
  );
  return [...namespaces]
    .filter((ns) => !denies.has(ns))
    .map((ns) =>
      finding(
        { kind: 'Namespace', metadata: { name: ns } },
        RULES.networkPolicy,
        'has no default-deny ingress NetworkPolicy',
      ),
    );
}
