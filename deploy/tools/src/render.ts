// Rendering an overlay offline (`kubectl kustomize`) and splitting it into objects.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { type Finding, finding, type K8sObject, RULES, record, text } from './types.ts';

const run = promisify(execFile);

/** Renders a kustomization directory with kubectl's built-in kustomize; no cluster is needed. */
export async function renderKustomization(
  dir: string,
  kubectl = process.env.KUBECTL ?? 'kubectl',
): Promise<string> {
  try {
    const { stdout } = await run(kubectl, ['kustomize', dir], { maxBuffer: 64 << 20 });
    return stdout;
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error(`${kubectl} not found: install kubectl >= 1.27 or set KUBECTL`);
    throw new Error(`kubectl kustomize ${dir} failed: ${e.stderr?.trim() || e.message}`);
  }
}

export interface ParsedDocuments {
  objects: K8sObject[];
  /** YAML errors and documents without apiVersion, kind or metadata.name. */
  findings: Finding[];
}

export function parseDocuments(yamlText: string): ParsedDocuments {
  const objects: K8sObject[] = [];
  const findings: Finding[] = [];
  parseAllDocuments(yamlText).forEach((doc, index) => {
    const where = { kind: 'Document', metadata: { name: `#${index + 1}` } };
    if (doc.errors.length > 0) {
      findings.push(finding(where, RULES.document, doc.errors.map((e) => e.message).join('; ')));
      return;
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    const data = record(value);
    const meta = record(data.metadata);
    if (!text(data.apiVersion) || !text(data.kind) || !text(meta.name)) {
      findings.push(finding(where, RULES.document, 'needs apiVersion, kind and metadata.name'));
      return;
    }
    objects.push(data as K8sObject);
  });
  return { objects, findings };
}
