// Strict checks of the custom resources we use, beyond their CRD schemas:
// unknown fields at the levels we write (a misspelled key is silently ignored by
// the operator), and the trigger fields KEDA's prometheus scaler needs at run time.
import { type Finding, finding, type Json, type K8sObject, list, RULES, record, text } from './types.ts';

const SCALED_OBJECT_SPEC = new Set([
  'scaleTargetRef',
  'pollingInterval',
  'cooldownPeriod',
  'initialCooldownPeriod',
  'idleReplicaCount',
  'minReplicaCount',
  'maxReplicaCount',
  'fallback',
  'advanced',
  'triggers',
]);
const TRIGGER = new Set(['type', 'name', 'metadata', 'metricType', 'authenticationRef', 'useCachedMetrics']);
const METRIC_TYPES = new Set(['AverageValue', 'Value', 'Utilization']);
const SERVICE_MONITOR_SPEC = new Set([
  'selector',
  'endpoints',
  'namespaceSelector',
  'jobLabel',
  'targetLabels',
  'podTargetLabels',
  'sampleLimit',
  'scrapeProtocols',
  'attachMetadata',
  'labelLimit',
  'labelNameLengthLimit',
  'labelValueLengthLimit',
  'targetLimit',
  'keepDroppedTargets',
  'scrapeClass',
  'bodySizeLimit',
  'fallbackScrapeProtocol',
  'selectorMechanism',
  'serviceDiscoveryRole',
  'convertClassicHistogramsToNHCB',
  'scrapeClassicHistograms',
  'nativeHistogramBucketLimit',
  'nativeHistogramMinBucketFactor',
]);
const ENDPOINT = new Set([
  'port',
  'targetPort',
  'portNumber',
  'path',
  'scheme',
  'params',
  'interval',
  'scrapeTimeout',
  'honorLabels',
  'honorTimestamps',
  'trackTimestampsStaleness',
  'metricRelabelings',
  'relabelings',
  'followRedirects',
  'enableHttp2',
  'filterRunning',
  'tlsConfig',
  'authorization',
  'basicAuth',
  'oauth2',
  'bearerTokenSecret',
  'bearerTokenFile',
  'proxyUrl',
  'noProxy',
  'proxyFromEnvironment',
  'proxyConnectHeader',
]);

function unknownKeys(value: Json, allowed: Set<string>, where: string): string[] {
  return Object.keys(value)
    .filter((k) => !allowed.has(k))
    .map((k) => `${where}.${k} is not a known field`);
}

function scaledObjectProblems(spec: Json): string[] {
  const problems = unknownKeys(spec, SCALED_OBJECT_SPEC, 'spec');
  if (!text(record(spec.scaleTargetRef).name)) problems.push('spec.scaleTargetRef.name is required');
  const min = typeof spec.minReplicaCount === 'number' ? spec.minReplicaCount : 0;
  const max = typeof spec.maxReplicaCount === 'number' ? spec.maxReplicaCount : 100;
  if (min > max) problems.push(`spec.minReplicaCount ${min} exceeds spec.maxReplicaCount ${max}`);
  const triggers = list(spec.triggers);
  if (triggers.length === 0) problems.push('spec.triggers needs at least one trigger');
  triggers.forEach((raw, i) => {
    const trigger = record(raw);
    const where = `spec.triggers[${i}]`;
    problems.push(...unknownKeys(trigger, TRIGGER, where));
    if (!text(trigger.type)) problems.push(`${where}.type is required`);
    if (trigger.metricType !== undefined && !METRIC_TYPES.has(String(trigger.metricType)))
      problems.push(`${where}.metricType must be one of ${[...METRIC_TYPES].join(', ')}`);
    const metadata = record(trigger.metadata);
    for (const [key, value] of Object.entries(metadata))
      if (typeof value !== 'string') problems.push(`${where}.metadata.${key} must be a string`);
    if (trigger.type === 'prometheus') problems.push(...prometheusTrigger(metadata, where));
  });
  return problems;
}

function prometheusTrigger(metadata: Json, where: string): string[] {
  const problems: string[] = [];
  const server = text(metadata.serverAddress);
  if (!server || !/^https?:\/\/[^/\s]+/.test(server))
    problems.push(`${where}.metadata.serverAddress must be an http(s) URL`);
  if (!text(metadata.query)?.trim()) problems.push(`${where}.metadata.query is required`);
  const threshold = Number(text(metadata.threshold));
  if (!(threshold > 0)) problems.push(`${where}.metadata.threshold must be a number above 0`);
  return problems;
}

function serviceMonitorProblems(spec: Json): string[] {
  const problems = unknownKeys(spec, SERVICE_MONITOR_SPEC, 'spec');
  const selector = record(spec.selector);
  if (Object.keys(record(selector.matchLabels)).length === 0 && list(selector.matchExpressions).length === 0)
    problems.push('spec.selector must not be empty (it would scrape every Service)');
  const endpoints = list(spec.endpoints);
  if (endpoints.length === 0) problems.push('spec.endpoints needs at least one endpoint');
  endpoints.forEach((raw, i) => {
    const endpoint = record(raw);
    problems.push(...unknownKeys(endpoint, ENDPOINT, `spec.endpoints[${i}]`));
    if (endpoint.port === undefined && endpoint.targetPort === undefined && endpoint.portNumber === undefined)
      problems.push(`spec.endpoints[${i}] needs port (a Service port name) or targetPort`);
  });
  return problems;
}

/** Strict findings for ScaledObject and ServiceMonitor; other kinds have none. */
export function crdFindings(doc: K8sObject): Finding[] {
  const spec = record(doc.spec);
  const problems =
    doc.kind === 'ScaledObject' && doc.apiVersion === 'keda.sh/v1alpha1'
      ? scaledObjectProblems(spec)
      : doc.kind === 'ServiceMonitor' && doc.apiVersion === 'monitoring.coreos.com/v1'
        ? serviceMonitorProblems(spec)
        : [];
  return problems.map((m) => finding(doc, RULES.crd, m));
}
