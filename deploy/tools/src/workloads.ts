// Where the pod template and containers of each workload kind live.
import { type Json, type K8sObject, list, record, text } from './types.ts';

export const LONG_RUNNING = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet']);

/** The pod spec of a workload (or a Pod), undefined for other kinds. */
export function podTemplate(doc: K8sObject): { labels: Record<string, string>; spec: Json } | undefined {
  const spec = record(doc.spec);
  if (doc.kind === 'Pod') return { labels: doc.metadata.labels ?? {}, spec };
  const template =
    doc.kind === 'CronJob' ? record(record(record(spec.jobTemplate).spec).template) : record(spec.template);
  if (!LONG_RUNNING.has(doc.kind) && doc.kind !== 'Job' && doc.kind !== 'CronJob') return undefined;
  return {
    labels: record(record(template.metadata).labels) as Record<string, string>,
    spec: record(template.spec),
  };
}

export interface ContainerRef {
  name: string;
  init: boolean;
  container: Json;
}

export function containers(podSpec: Json): ContainerRef[] {
  const refs = (field: string, init: boolean) =>
    list(podSpec[field]).map((raw, i) => {
      const container = record(raw);
      return { name: text(container.name) ?? `#${i}`, init, container };
    });
  return [...refs('initContainers', true), ...refs('containers', false)];
}

/** The literal value of an env var, undefined when absent or taken from elsewhere. */
export function envValue(container: Json, name: string): string | undefined {
  const entry = list(container.env)
    .map(record)
    .find((e) => e.name === name);
  return entry ? text(entry.value) : undefined;
}

/** True for objects labelled as one of the model stages (lm, dit, vae). */
export function isStage(labels: Record<string, string> | undefined): boolean {
  return labels?.['app.kubernetes.io/component'] === 'stage';
}

export function namespaceOf(doc: K8sObject): string {
  return doc.metadata.namespace ?? 'default';
}
