// The gateway's plain core: request validation and defaults, the stage plan,
// seeds and the result texts. No gRPC, no I/O.
export * from './deployment.ts';
export * from './generation-info.ts';
export * from './plan.ts';
export type * from './types.ts';
export * from './validate.ts';
