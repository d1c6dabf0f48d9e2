// grpc.reflection.v1 and its older name v1alpha (same messages).
export * as v1 from './gen/grpc/reflection/v1/reflection_pb.js';
export * as v1alpha from './gen/grpc/reflection/v1alpha/reflection_pb.js';
