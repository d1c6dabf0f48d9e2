export { crdFindings } from './crd.ts';
export { OVERLAYS, type Overlay } from './overlays.ts';
export { type PolicyOptions, policyFindings, REQUIRED_DEPLOYMENTS, STAGES } from './policy.ts';
export { type ParsedDocuments, parseDocuments, renderKustomization } from './render.ts';
export { schemaFindings } from './schema.ts';
export { type Finding, formatFinding, type K8sObject, objectId, RULES, type Rule } from './types.ts';
export { type ValidationResult, validateObjects, validateOverlay, validateYaml } from './validate.ts';
