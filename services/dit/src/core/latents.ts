/** Latent geometry shared by every module (docs/model-rules.md, "Numbers"): 48 kHz audio, hop 1920, 25 Hz, 64 channels. */

import { HOP_SAMPLES, LATENT_CHANNELS, LATENT_FRAMES_PER_SECOND, SAMPLE_RATE } from '@acestep/acestep';

export { HOP_SAMPLES, LATENT_CHANNELS, SAMPLE_RATE };
/** 25 latent frames per second. */
export const LATENT_RATE = LATENT_FRAMES_PER_SECOND;
