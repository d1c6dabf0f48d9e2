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
export { EncoderPool, type EncoderPoolOptions } from './encoder-pool.ts';
export { AudioInputError, AudioInputReason, isAudioInputError } from './errors.ts';
export { encodeFlac, type FlacBitDepth } from './flac-encoder.ts';
export { type FlacStreamSpec, FlacStreamWriter } from './flac-stream.ts';
export { LameProcess, lameCliAvailable } from './lame-cli.ts';
export {
  clampInPlace,
  isSilent,
  peakGuard,
  peakOf,
  type ToModelAudioOptions,
  toModelAudio,
  toStereo,
} from './model-audio.ts';
export { DEFAULT_MP3_BITRATE, DEFAULT_MP3_QUALITY, encodeMp3, type Mp3Bitrate } from './mp3.ts';
export { LAME_ENCODER_DELAY, lameFrameCount, parseMp3FrameHeader } from './mp3-info.ts';
export { type AudioProbe, PROBE_BYTES, probeAudioHeader } from './probe.ts';
export { type ResampleQuality, resample, resampledLength } from './resample.ts';
export { type AudioContainer, sniffContainer } from './sniff.ts';
export {
  defaultMp3Encoder,
  interleaveS16,
  type Mp3Encoder,
  openStreamEncoder,
  type StreamEncoder,
  type StreamEncodeSpec,
} from './stream-encoder.ts';
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
