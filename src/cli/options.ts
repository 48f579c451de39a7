import { InvalidArgumentError } from 'commander';
import { parseRate } from '../integrate/token-bucket.js';

/** Option parsers: a bad value is a usage error (exit 2) naming the option's rule. */
export function integerOption(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < min || n > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}`);
    return n;
  };
}

export function rateOption(value: string): number {
  const rate = parseRate(value);
  if (rate === null) throw new InvalidArgumentError('must be pushes per second, e.g. 50 or 50/s');
  return rate;
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
