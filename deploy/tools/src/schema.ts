// Schema validation with the OpenAPI schemas compiled into kubernetes-models
// (built-in kinds) and its CRD packages (KEDA, Prometheus Operator). These
// schemas accept unknown fields; the policy rules catch the misspellings that
// matter (a misspelled `resources` or `securityContext` fails resource-limits or non-root).
import * as keda from '@kubernetes-models/keda/keda.sh/v1alpha1';
import * as monitoring from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { type Finding, finding, type K8sObject, RULES } from './types.ts';

interface ValidatableModel {
  validate(): void;
}
type ModelClass = new (data: unknown) => ValidatableModel;
type ModelModule = Record<string, unknown>;

/** CRD groups come from their own packages; built-in groups from kubernetes-models/<group>/<version>. */
const CRD_MODULES: Record<string, ModelModule> = {
  'keda.sh/v1alpha1': keda,
  'monitoring.coreos.com/v1': monitoring,
};

const moduleCache = new Map<string, Promise<ModelModule | undefined>>();

function loadModule(apiVersion: string): Promise<ModelModule | undefined> {
  const crd = CRD_MODULES[apiVersion];
  if (crd) return Promise.resolve(crd);
  if (!/^[a-z0-9.]+(\/v[0-9a-z]+)?$/.test(apiVersion)) return Promise.resolve(undefined);
  let loaded = moduleCache.get(apiVersion);
  if (!loaded) {
    loaded = import(`kubernetes-models/${apiVersion}`).then(
      (m: ModelModule) => m,
      () => undefined,
    );
    moduleCache.set(apiVersion, loaded);
  }
  return loaded;
}

interface AjvError {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

function describeErrors(error: unknown): string[] {
  const errors = (error as { errors?: AjvError[] }).errors;
  if (!Array.isArray(errors) || errors.length === 0) return [String((error as Error).message ?? error)];
  return errors.map((e) => {
    const path = e.instancePath ? e.instancePath.slice(1).replaceAll('/', '.') : '(root)';
    const allowed = e.params?.allowedValues ? ` (${JSON.stringify(e.params.allowedValues)})` : '';
    return `${path} ${e.message ?? 'is invalid'}${allowed}`;
  });
}

/** Validates one object against its kind's schema; unknown apiVersion/kind pairs are findings too. */
export async function schemaFindings(doc: K8sObject): Promise<Finding[]> {
  const module = await loadModule(doc.apiVersion);
  const Model = module?.[doc.kind] as ModelClass | undefined;
  if (typeof Model !== 'function')
    return [finding(doc, RULES.unknownKind, `no schema for ${doc.apiVersion} ${doc.kind}`)];
  try {
    new Model(doc).validate();
    return [];
  } catch (error) {
    return [...new Set(describeErrors(error))].map((m) => finding(doc, RULES.schema, m));
  }
}
