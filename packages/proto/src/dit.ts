// acestep.dit.v1
export * from './gen/acestep/dit/v1/dit_pb.js';
