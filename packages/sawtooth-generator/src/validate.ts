// Option validation shared by the package. Every error names the option and
// carries Node's codes, so callers can switch on `code` as well as on the class.

/** A TypeError naming the option, `code: 'ERR_INVALID_ARG_TYPE'`. */
export function invalidType(name: string, expected: string, value: unknown): TypeError {
  return Object.assign(new TypeError(`${name} must be ${expected}, got ${describe(value)}`), {
    code: 'ERR_INVALID_ARG_TYPE',
  });
}

/** A RangeError naming the option, `code: 'ERR_OUT_OF_RANGE'`. */
export function outOfRange(name: string, expected: string, value: unknown): RangeError {
  return Object.assign(new RangeError(`${name} must be ${expected}, got ${describe(value)}`), {
    code: 'ERR_OUT_OF_RANGE',
  });
}

/** Returns `value` if it is a finite number in [min, max] (and > min when `minExclusive`). */
export function checkNumber(
  name: string,
  value: unknown,
  { min = -Infinity, max = Infinity, minExclusive = false, integer = false, allowInfinity = false } = {},
): number {
  if (typeof value !== 'number') throw invalidType(name, 'a number', value);
  const finiteEnough = Number.isFinite(value) || (allowInfinity && value === Infinity);
  const inRange = minExclusive ? value > min : value >= min;
  if (!finiteEnough || !inRange || value > max || (integer && Number.isFinite(value) && !Number.isInteger(value))) {
    throw outOfRange(name, describeRange(min, max, minExclusive, integer, allowInfinity), value);
  }
  return value;
}

function describeRange(min: number, max: number, minExclusive: boolean, integer: boolean, allowInfinity: boolean) {
  const kind = integer ? 'an integer' : 'a finite number';
  const parts: string[] = [];
  if (min !== -Infinity && max !== Infinity) parts.push(`in [${min}, ${max}]`);
  else if (min !== -Infinity) parts.push(minExclusive ? `> ${min}` : `>= ${min}`);
  else if (max !== Infinity) parts.push(`<= ${max}`);
  return `${kind}${parts.length > 0 ? ` ${parts.join(' ')}` : ''}${allowInfinity ? ' or Infinity' : ''}`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `string ${JSON.stringify(value)}`;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return typeof value;
}
