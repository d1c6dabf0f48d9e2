// acestep.common.v1
export * from './gen/acestep/common/v1/service_pb.js';
export * from './gen/acestep/common/v1/tensor_pb.js';
