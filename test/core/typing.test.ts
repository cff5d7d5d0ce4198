/**
 * Compile-time checks: this file must type-check (the build fails otherwise). Each
 * `@ts-expect-error` line is a mistake the compiler has to catch.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineTask, type Offload, type TaskMapOf, Type } from '../../src/index.js';

const resize = defineTask('image.resize', async (input: { url: string; width: number }) => ({ bytes: input.width * 10 }));
const parsed = defineTask('parsed', { input: Type.Object({ n: Type.Number() }) }, async (input, ctx) => {
  const n: number = input.n;
  ctx.progress(1, 1);
  return n;
});
const tasks = { resize, parsed };
type Tasks = TaskMapOf<typeof tasks>;

export async function compileOnly(offload: Offload<Tasks>): Promise<void> {
  await offload.enqueue(resize, { url: 'x', width: 10 });
  // @ts-expect-error width is missing
  await offload.enqueue(resize, { url: 'x' });
  // @ts-expect-error n must be a number
  await offload.enqueue(parsed, { n: 'one' });
  await offload.enqueue('image.resize', { url: 'x', width: 1 });
  // @ts-expect-error input of the named task is checked too
  await offload.enqueue('image.resize', { url: 1, width: 1 });
  const r: { bytes: number } = await offload.run(resize, { url: 'x', width: 1 });
  const n: number = await offload.run('parsed', { n: 1 });
  // @ts-expect-error the result of resize is not a string
  const s: string = await offload.run(resize, { url: 'x', width: 1 });
  void r;
  void n;
  void s;
}

describe('typed task registry', () => {
  it('is checked by the compiler (see this file)', () => {
    assert.equal(typeof compileOnly, 'function');
  });
});
