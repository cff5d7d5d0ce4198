/** The demand estimate behind claiming ahead: the busiest of the last few full windows. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DemandWindow } from '../../src/core/demand.js';

function ticks(d: DemandWindow, at: number, n: number): void {
  for (let i = 0; i < n; i++) d.tick(at);
}

describe('DemandWindow', () => {
  it('counts the last full window, not the current one', () => {
    const d = new DemandWindow(10, 3);
    ticks(d, 1000, 5);
    assert.equal(d.last(1005), 0, 'the window still open does not count');
    assert.equal(d.last(1010), 5);
  });

  it('remembers the busiest of the last three windows, through quiet ones, and forgets it after', () => {
    const d = new DemandWindow(10, 3);
    ticks(d, 1000, 99);
    ticks(d, 1012, 1);
    assert.equal(d.last(1020), 99, 'a burst, then one: the burst');
    assert.equal(d.last(1039), 99, 'three windows on');
    assert.equal(d.last(1040), 1, 'the burst has left; the one remains');
    assert.equal(d.last(1050), 0);
  });

  it('with one window remembered, a window with no demand is none (as before)', () => {
    const d = new DemandWindow(10, 1);
    ticks(d, 1000, 7);
    assert.equal(d.last(1010), 7);
    assert.equal(d.last(1020), 0);
  });

  it('starts afresh after reset, after a long gap, and when the clock goes back', () => {
    const d = new DemandWindow(10, 3);
    ticks(d, 1000, 4);
    assert.equal(d.last(1010), 4);
    d.reset();
    assert.equal(d.last(1011), 0, 'reset');
    ticks(d, 2000, 4);
    assert.equal(d.last(2100), 0, 'a long gap');
    ticks(d, 3000, 4);
    assert.equal(d.last(3010), 4);
    assert.equal(d.last(2990), 0, 'the clock went back');
  });
});
