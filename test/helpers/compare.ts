import assert from 'node:assert/strict';

type Num = ArrayLike<number>;

/** |a − e| ≤ atol + rtol·|e| element-wise (NaN matches only NaN); reports the worst element. */
export function assertClose(actual: Num, expected: Num, label: string, atol = 1e-5, rtol = 1e-4): void {
  assert.equal(actual.length, expected.length, `${label}: length ${actual.length} vs ${expected.length}`);
  let worst = -1, worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    if (Number.isNaN(e) || Number.isNaN(a)) {
      assert.ok(Number.isNaN(a) && Number.isNaN(e), `${label}[${i}]: ${a} vs ${e}`);
      continue;
    }
    if (a === e) continue;
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (excess > worstExcess) { worstExcess = excess; worst = i; }
  }
  assert.ok(worst < 0, `${label}: element ${worst} is ${actual[worst]} but expected ${expected[worst]} (atol ${atol}, rtol ${rtol})`);
}
