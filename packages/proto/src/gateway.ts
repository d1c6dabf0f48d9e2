// acestep.v1 (the public API)
export * from './gen/acestep/v1/gateway_pb.js';
export * from './gen/acestep/v1/generation_pb.js';
