/** Machine-readable causes of a rejected upload; the gRPC layer maps all of them to INVALID_ARGUMENT. */
export const AudioInputReason = {
  empty: 'empty',
  tooLarge: 'too_large',
  unknownFormat: 'unknown_format',
  truncated: 'truncated',
  corrupt: 'corrupt',
  unsupportedCodec: 'unsupported_codec',
  sampleRate: 'sample_rate',
  channels: 'channels',
  tooLong: 'too_long',
} as const;
export type AudioInputReason = (typeof AudioInputReason)[keyof typeof AudioInputReason];

/** The one error `decodeAudio` throws for anything wrong with its input. */
export class AudioInputError extends Error {
  readonly reason: AudioInputReason;

  constructor(reason: AudioInputReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AudioInputError';
    this.reason = reason;
  }
}

export function isAudioInputError(err: unknown): err is AudioInputError {
  return err instanceof AudioInputError;
}
