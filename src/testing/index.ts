/** Helpers for testing code that uses Offload: `import { ManualClock } from 'offload/testing'`. */
export { ManualClock } from './manual-clock.js';
