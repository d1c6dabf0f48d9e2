// Shapes shared by the validator: rendered objects, findings, rule ids.

/** One document of a rendered overlay, as parsed from YAML. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** Every rule a finding can name. */
export const RULES = {
  document: 'document',
  unknownKind: 'unknown-kind',
  schema: 'schema',
  crd: 'crd-strict',
  limits: 'resource-limits',
  probes: 'probes',
  nonRoot: 'non-root',
  readOnlyRoot: 'read-only-root',
  capabilities: 'capabilities',
  pdb: 'pdb',
  headless: 'headless',
  stages: 'stages',
  gpu: 'gpu',
  grace: 'shutdown-grace',
  stageTarget: 'stage-target',
  scaleTarget: 'scale-target',
  networkPolicy: 'network-policy',
} as const;
export type Rule = (typeof RULES)[keyof typeof RULES];

/** One problem: which object, which rule, what is wrong. */
export interface Finding {
  /** "Kind namespace/name", e.g. "Deployment acestep/lm". */
  object: string;
  rule: Rule;
  message: string;
}

export function objectId(doc: Pick<K8sObject, 'kind' | 'metadata'>): string {
  const ns = doc.metadata?.namespace ?? '-';
  return `${doc.kind} ${ns}/${doc.metadata?.name ?? '?'}`;
}

export function finding(doc: Pick<K8sObject, 'kind' | 'metadata'>, rule: Rule, message: string): Finding {
  return { object: objectId(doc), rule, message };
}

export function formatFinding(f: Finding): string {
  return `${f.object}: [${f.rule}] ${f.message}`;
}

// Defensive accessors: policy rules run on documents that may have failed the
// schema, so no shape is trusted.
export type Json = Record<string, unknown>;

export function record(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
