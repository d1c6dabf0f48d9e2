export { decodeAudio, decodeAudioSource } from './decode.ts';
export { closeDecodePool, decodeAudioOffThread, decodeAudioSourceOffThread } from './decode-pool.ts';
export {
  type EncodeOptions,
  encodeAudio,
  formatFromSpec,
  formatInfo,
  type OutputFormat,
  type SpecFormat,
} from './encode.ts';
export { AudioInputError, AudioInputReason, isAudioInputError } from './errors.ts';
export { encodeFlac, type FlacBitDepth } from './flac-encoder.ts';
export {
  clampInPlace,
  isSilent,
  peakGuard,
  peakOf,
  type ToModelAudioOptions,
  toModelAudio,
  toStereo,
} from './model-audio.ts';
export { DEFAULT_MP3_BITRATE, encodeMp3, LAME_ENCODER_DELAY, type Mp3Bitrate } from './mp3.ts';
export { type AudioProbe, PROBE_BYTES, probeAudioHeader } from './probe.ts';
export { type ResampleQuality, resample, resampledLength } from './resample.ts';
export { type AudioContainer, sniffContainer } from './sniff.ts';
export {
  type AudioLimits,
  DEFAULT_AUDIO_LIMITS,
  durationSeconds,
  MODEL_CHANNELS,
  MODEL_SAMPLE_RATE,
  numFrames,
  type PcmAudio,
} from './types.ts';
export {
  encodeWav,
  parseWavInfo,
  type WavHeaderSpec,
  type WavSampleFormat,
  WavStreamWriter,
  wavHeader,
  wavHeaderSize,
  wavSamples,
} from './wav.ts';
