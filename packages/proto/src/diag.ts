// acestep.diag.v1
export * from './gen/acestep/diag/v1/diagnostics_pb.js';
