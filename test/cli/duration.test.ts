/** Durations on the command line (`--for 10m`): what is accepted, and the error naming what is not. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, parseDuration } from '../../src/cli/duration.js';
import { InvalidOptionError } from '../../src/core/errors.js';

describe('CLI durations', () => {
  it('reads units, combinations, fractions and plain milliseconds', () => {
    const cases: [string, number][] = [
      ['500ms', 500],
      ['30s', 30_000],
      ['10m', 600_000],
      ['2h', 7_200_000],
      ['1d', 86_400_000],
      ['1h30m', 5_400_000],
      ['1.5h', 5_400_000],
      ['1m30s', 90_000],
      ['0.5s', 500],
      ['1500', 1500],
      [' 10M ', 600_000],
    ];
    for (const [text, ms] of cases) assert.equal(parseDuration('for', text), ms, text);
  });

  it('refuses anything else with INVALID_OPTION naming the option and the value', () => {
    for (const text of ['', '10x', '10 m', 'm', '-5s', '1e3', 'soon', '10m-', '.5s', '1h 30m']) {
      assert.throws(
        () => parseDuration('for', text),
        (err: unknown) => err instanceof InvalidOptionError && err.details?.option === 'for' && err.message.includes(`got "${text}"`),
        JSON.stringify(text),
      );
    }
    assert.throws(() => parseDuration('for', '0'), /at least 1 ms, got "0"/);
    assert.throws(() => parseDuration('for', '0.1ms'), /at least 1 ms/);
    assert.throws(() => parseDuration('for', '2d', 86_400_000), /at most 1d \(86400000 ms\), got "2d"/);
  });

  it('formats milliseconds for messages', () => {
    assert.deepEqual([1, 1500, 600_000, 5_400_000, 2 ** 31 - 1].map(formatDuration), ['1ms', '1.5s', '10m', '1h 30m', '24d 20h']);
  });
});
