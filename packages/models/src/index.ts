export { ContractError, checkGraph } from './contract.ts';
export type { Device, ParsedDevice } from './device.ts';
export { DEVICE_ALLOWED, DEVICE_PATTERN, DeviceError, hasDeviceTensors, parseDevice } from './device.ts';
export type { CopyCounters, DeviceTensorType } from './device-tensors.ts';
export { DeviceCopier, identityGraph } from './device-tensors.ts';
export type { GraphSession } from './graph-session.ts';
export type {
  Dim,
  DitFamily,
  DitVariant,
  GraphEntry,
  GraphName,
  LmConstants,
  Manifest,
  ModelConstants,
  TensorDtype,
  TensorFile,
  TensorSpec,
  TokenizerEntry,
} from './manifest.ts';
export {
  CONTRACT_VERSION,
  DIT_FAMILIES,
  ditVariant,
  GRAPH_NAMES,
  loadManifest,
  ManifestError,
  parseManifest,
} from './manifest.ts';
export type { ModelSet, OpenOptions } from './modelSet.ts';
export { openModelSet, sessionOptions, sha256File } from './modelSet.ts';
export { defaultModelDir, requireModelDir, TINY_BUILD_COMMAND } from './paths.ts';
