// acestep.vae.v1
export * from './gen/acestep/vae/v1/vae_pb.js';
