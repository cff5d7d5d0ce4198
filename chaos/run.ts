/**
 * `npm run chaos [-- --only NAME[,NAME…]] [--store postgres|sqlite] [--short]`: every fault and
 * pressure scenario against real processes, one after another; prints the table and writes it
 * to bench/results/chaos-latest.json (not for --short or --only runs).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { printResults } from './report.js';
import { runScenario, type ScenarioResult } from './scenario.js';
import { SCENARIOS } from './scenarios.js';

const { values } = parseArgs({ options: { only: { type: 'string' }, store: { type: 'string' }, short: { type: 'boolean', default: false } } });
const only = values.only?.split(',').map((s) => s.trim());
const chosen = SCENARIOS.filter((s) => (!only || only.includes(s.name)) && (!values.store || s.store === values.store));
if (chosen.length === 0) {
  console.error(`no scenario matches; there are: ${[...new Set(SCENARIOS.map((s) => s.name))].join(', ')}`);
  process.exit(2);
}

const results: ScenarioResult[] = [];
const started = Date.now();
for (const s of chosen) {
  const r = await runScenario(s, { short: values.short, log: (text) => console.log(text) });
  results.push(r);
  printResults([r]);
}
console.log(`\n${results.length} scenarios in ${Math.round((Date.now() - started) / 1000)} s`);
printResults(results);
const lost = results.reduce((n, r) => n + r.lost, 0);
const broken = results.filter((r) => r.lost || r.unfinished || r.duplicateSubmits || r.ranAgainUnexplained || r.attemptRunTwice);
if (!values.short && !only && !values.store) {
  const dir = new URL('../../bench/results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    new URL('chaos-latest.json', dir),
    `${JSON.stringify({ at: new Date().toISOString(), cpus: cpus().length, loadAverageAfter: loadavg(), results }, null, 2)}\n`,
  );
  console.log('written to bench/results/chaos-latest.json');
}
console.log(
  broken.length
    ? `FAILED: ${broken.map((r) => `${r.scenario}/${r.store}`).join(', ')} (${lost} acknowledged jobs lost)`
    : 'every scenario: 0 acknowledged jobs lost, no duplicate, no run without a lost lease',
);
process.exit(broken.length ? 1 : 0);
