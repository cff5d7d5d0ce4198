/** Durations on the command line: `500ms`, `30s`, `10m`, `2h`, `1d`, `1h30m`, `1.5h`, or plain milliseconds (`1500`). */
import { InvalidOptionError } from '../core/errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
const EXAMPLES = '500ms, 30s, 10m, 2h, 1d, 1h30m, or a whole number of milliseconds';

/**
 * The duration `text` in milliseconds (fractions rounded to the millisecond), at least 1 and at
 * most `maxMs`; INVALID_OPTION naming the option and the value otherwise.
 */
export function parseDuration(option: string, text: string, maxMs: number = Number.MAX_SAFE_INTEGER): number {
  const value = text.trim().toLowerCase();
  let ms: number;
  if (/^\d+$/.test(value)) ms = Number(value);
  else if (WHOLE.test(value)) ms = Math.round([...value.matchAll(PART)].reduce((sum, [, n, unit]) => sum + Number(n) * UNIT_MS[unit!]!, 0));
  else throw new InvalidOptionError(option, `must be a duration such as ${EXAMPLES}, got "${text}"`);
  if (!Number.isSafeInteger(ms) || ms < 1) throw new InvalidOptionError(option, `must be at least 1 ms, got "${text}"`);
  if (ms > maxMs) throw new InvalidOptionError(option, `must be at most ${formatDuration(maxMs)} (${maxMs} ms), got "${text}"`);
  return ms;
}

/** A commander argument parser for a duration option. */
export function duration(option: string, maxMs?: number): (value: string) => number {
  return (value) => parseDuration(option, value, maxMs);
}

/** Milliseconds as the largest units that fit, for messages: `1d 2h`, `10m`, `1500ms` → `1.5s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(3))}s`;
  const parts: string[] = [];
  let left = Math.round(ms / 1000);
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(left / size);
    if (n > 0) parts.push(`${n}${unit}`);
    left -= n * size;
  }
  return parts.slice(0, 2).join(' ');
}
