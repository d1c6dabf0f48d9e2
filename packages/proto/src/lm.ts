// acestep.lm.v1
export * from './gen/acestep/lm/v1/lm_pb.js';
