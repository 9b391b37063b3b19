// The largest and smallest of many numbers without spreading them into Math.max/Math.min, whose
// argument count is limited (a few hundred thousand arguments throw a RangeError: a corpus's notes,
// a dataset's labels). NaN propagates, as with Math.max/Math.min.

/** The largest of `values`, or `empty` when there are none. */
export function maxOf(values: ArrayLike<number>, empty = -Infinity): number {
  if (values.length === 0) return empty;
  let m = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) return NaN;
    if (v > m) m = v;
  }
  return m;
}

/** The smallest of `values`, or `empty` when there are none. */
export function minOf(values: ArrayLike<number>, empty = Infinity): number {
  if (values.length === 0) return empty;
  let m = Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) return NaN;
    if (v < m) m = v;
  }
  return m;
}
