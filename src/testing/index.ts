/** Helpers for testing code that uses Offload: `import { ManualClock, runTask } from 'offload/testing'`. */
export { ManualClock } from './manual-clock.js';
export type { InlineRun } from './run-task.js';
export { runTask } from './run-task.js';
