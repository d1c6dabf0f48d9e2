// The whole check of one overlay: render, parse, schemas, CRD strictness, policy.
import { crdFindings } from './crd.ts';
import { type PolicyOptions, policyFindings } from './policy.ts';
import { parseDocuments, renderKustomization } from './render.ts';
import { schemaFindings } from './schema.ts';
import type { Finding, K8sObject } from './types.ts';

export interface ValidationResult {
  objects: K8sObject[];
  findings: Finding[];
}

/** Validates already parsed objects. */
export async function validateObjects(
  objects: readonly K8sObject[],
  options: PolicyOptions,
): Promise<Finding[]> {
  const schema = await Promise.all(objects.map(schemaFindings));
  return [...schema.flat(), ...objects.flatMap(crdFindings), ...policyFindings(objects, options)];
}

/** Validates a multi-document YAML text (a rendered overlay). */
export async function validateYaml(yamlText: string, options: PolicyOptions): Promise<ValidationResult> {
  const parsed = parseDocuments(yamlText);
  const findings = await validateObjects(parsed.objects, options);
  return { objects: parsed.objects, findings: [...parsed.findings, ...findings] };
}

/** Renders a kustomization directory offline and validates it. */
export async function validateOverlay(dir: string, options: PolicyOptions): Promise<ValidationResult> {
  return validateYaml(await renderKustomization(dir), options);
}
