// Numbers of the ACE-Step 1.5 model family that every stage shares
// (docs/model-rules.md). Per-model values (hidden sizes, token ids) come from
// each model set's manifest instead; packages/models cross-checks these there.

/** Every component works on 48 kHz stereo. */
export const SAMPLE_RATE = 48_000;
export const AUDIO_CHANNELS = 2;
/** Audio samples per latent frame (the VAE's hop): 25 latent frames per second. */
export const HOP_SAMPLES = 1920;
export const LATENT_FRAMES_PER_SECOND = SAMPLE_RATE / HOP_SAMPLES;
/** Channels of one latent frame. */
export const LATENT_CHANNELS = 64;
/** The LM's audio codes run at 5 Hz: one code per 5 latent frames. */
export const AUDIO_CODES_PER_SECOND = 5;
export const FRAMES_PER_AUDIO_CODE = LATENT_FRAMES_PER_SECOND / AUDIO_CODES_PER_SECOND;
/** The FSQ codebook (levels 8·8·8·5·5·5): codes are 0 .. 63 999. */
export const AUDIO_CODE_COUNT = 64_000;

/** Song length the model was trained for, in seconds. */
export const DURATION_MIN_SECONDS = 10;
export const DURATION_MAX_SECONDS = 600;
/** Longest song in latent frames (600 s at 25 Hz) and in audio codes (600 s at 5 Hz). */
export const MAX_LATENT_FRAMES = DURATION_MAX_SECONDS * LATENT_FRAMES_PER_SECOND;
export const MAX_AUDIO_CODES = DURATION_MAX_SECONDS * AUDIO_CODES_PER_SECOND;
/** Tempo range of the LM's metadata and of requests. */
export const BPM_MIN = 30;
export const BPM_MAX = 300;
