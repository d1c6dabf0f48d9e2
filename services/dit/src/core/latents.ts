/** Latent geometry shared by every module (spec §2.12, §3): 48 kHz audio, hop 1920, 25 Hz, 64 channels. */

export const SAMPLE_RATE = 48000;
export const HOP_SAMPLES = 1920;
export const LATENT_RATE = SAMPLE_RATE / HOP_SAMPLES; // 25 frames per second
export const LATENT_CHANNELS = 64;
