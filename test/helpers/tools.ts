/**
 * External programs some suites need (the Gearman command-line tools, PHP with its gearman
 * extension, Perl's Gearman::Client). Missing on a developer's machine: the suite is skipped,
 * saying why. Missing in CI (CI=true, where .ci/run installs them): the suite fails.
 */
import { spawnSync } from 'node:child_process';

const CHECKS: Record<string, () => boolean> = {
  gearman: () => spawnSync('gearman', ['-H'], { stdio: 'ignore' }).error === undefined,
  gearadmin: () => spawnSync('gearadmin', ['--help'], { stdio: 'ignore' }).error === undefined,
  gearmand: () => spawnSync('gearmand', ['--version'], { stdio: 'ignore' }).error === undefined,
  'php-gearman': () => /^gearman$/m.test(spawnSync('php', ['-m'], { encoding: 'utf8' }).stdout ?? ''),
  tmux: () => spawnSync('tmux', ['-V'], { stdio: 'ignore' }).status === 0,
  'perl-gearman': () => spawnSync('perl', ['-MGearman::Client', '-MGearman::Worker', '-e', '1'], { stdio: 'ignore' }).status === 0,
};

export type Tool = keyof typeof CHECKS;

/** For `describe(name, { skip: skipUnless(...) }, …)`: false when all are there. */
export function skipUnless(...tools: Tool[]): string | false {
  const missing = tools.filter((t) => !CHECKS[t]());
  if (missing.length === 0) return false;
  const message = `missing ${missing.join(', ')} (Debian: apt-get install gearman-tools php-cli php-gearman gearman-job-server libgearman-client-perl tmux)`;
  if (process.env.CI === 'true') throw new Error(`CI must run this suite, but ${message}`);
  return message;
}
