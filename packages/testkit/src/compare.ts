// Comparisons of model outputs the tests share.

/** Largest |a[i] - b[i]| over two equally long arrays; NaN when any difference is NaN. */
export function maxAbsDiff(a: ArrayLike<number | bigint>, b: ArrayLike<number | bigint>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(Number(a[i]) - Number(b[i]));
    if (Number.isNaN(d)) return Number.NaN;
    if (d > worst) worst = d;
  }
  return worst;
}
