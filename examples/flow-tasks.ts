/**
 * The tasks of examples/flow.ts and examples/flow.json: a word count per chapter, and a join that
 * sums what the steps it waited for returned. A worker for them: offload worker ./dist/examples/flow-tasks.js
 */
import { defineTask } from 'offload';

export const count = defineTask('words.count', async (input: { text: string }) => input.text.split(/\s+/).filter(Boolean).length);

export const total = defineTask('words.total', async (_input: null, ctx) => {
  let sum = 0;
  for (const dependency of ctx.dependencies) sum += dependency.result as number;
  return sum;
});
