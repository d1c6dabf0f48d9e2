// Layout conversions between the wire (time-major latents [T, 64], planar
// audio [2, S]) and the VAE graphs (channel-major [B, 64, T] and [B, 2, S]).

/** [T, C] time-major → [C, T] channel-major, for frames [start, end). */
export function timeMajorToChannelMajor(
  values: Float32Array,
  channels: number,
  start: number,
  end: number,
  out = new Float32Array((end - start) * channels),
): Float32Array {
  const frames = end - start;
  for (let t = 0; t < frames; t++) {
    const row = (start + t) * channels;
    for (let c = 0; c < channels; c++) out[c * frames + t] = values[row + c]!;
  }
  return out;
}

/** [C, T] channel-major (frames [start, end) of a window of `frames`) → [end-start, C] time-major. */
export function channelMajorToTimeMajor(
  values: Float32Array,
  channels: number,
  frames: number,
  start: number,
  end: number,
): Float32Array {
  const out = new Float32Array((end - start) * channels);
  for (let t = start; t < end; t++) {
    for (let c = 0; c < channels; c++) out[(t - start) * channels + c] = values[c * frames + t]!;
  }
  return out;
}

/** Keeps samples [start, end) of every channel of planar [C, S] audio. */
export function slicePlanar(
  values: Float32Array,
  channels: number,
  samples: number,
  start: number,
  end: number,
): Float32Array {
  const out = new Float32Array((end - start) * channels);
  for (let c = 0; c < channels; c++)
    out.set(values.subarray(c * samples + start, c * samples + end), c * (end - start));
  return out;
}
