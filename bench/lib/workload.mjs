// The readings of the storage scenarios: a plant's sensors at regular
// intervals, in three shapes, the same every run (seeded).
//
//   sawtooth  0.0, 0.1, … 9.9, then 0.0 again (a 100-step ramp, its phase set by the sensor)
//   walk      a slow random walk in steps of 0.01 around 20 + k (a temperature read to two decimals)
//   constant  one value for ever (a setpoint)
//
// Each value is the number a sensor's short decimal text parses to
// (String(value) is that text), so a reading sent over UDP and one appended
// to @opc-lite/tsdb directly are stored alike.

export const SHAPES = Object.freeze(['sawtooth', 'walk', 'constant']);

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The `k`-th sensor of a shape: `{ name, shape, next() }`, `next()` giving
 * its values one after the other.
 */
export function sensor(shape, k, name = `${shape}${k}`) {
  if (shape === 'sawtooth') {
    let i = (k * 7) % 100;
    return { name, shape, next: () => (i++ % 100) / 10 };
  }
  if (shape === 'walk') {
    const random = rng(0x5eed + k);
    let cents = (20 + (k % 50)) * 100;
    return {
      name,
      shape,
      next: () => {
        const r = random();
        if (r < 1 / 3) cents--;
        else if (r >= 2 / 3) cents++;
        return cents / 100;
      },
    };
  }
  if (shape === 'constant') {
    const value = 12.5 + (k % 10);
    return { name, shape, next: () => value };
  }
  throw new TypeError(`unknown shape ${shape}`);
}

/** `count` sensors per shape of `shapes`, interleaved (sawtooth0, walk0, constant0, sawtooth1, …). */
export function sensors(shapes, count) {
  const out = [];
  for (let k = 0; k < count; k++) for (const shape of shapes) out.push(sensor(shape, k));
  return out;
}

/** Whole seconds, in ms: the first timestamp of `readings` readings `intervalMs` apart that end a little before now. */
export function startMs(readings, intervalMs, now = Date.now()) {
  return Math.floor(now / 1000) * 1000 - (readings + 1) * intervalMs;
}
