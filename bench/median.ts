// The benchmarks' one timing rule: one warm-up run (JIT, wasm compilation,
// kernel set-up), then the median wall time of `runs` runs, in milliseconds.
export async function medianMs(fn: () => Promise<unknown>, runs: number): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}
