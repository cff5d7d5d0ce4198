#!/usr/bin/env node
import { readFileSync } from 'node:fs';
/** The `offload` command: thin over the public API. Human output by default, --json for scripts. */
import { Command, CommanderError, Option } from 'commander';
import { TOKEN_SCOPES } from '../auth/permissions.js';
import { createToken, listTokens, revokeToken } from '../auth/tokens.js';
import { MAX_TIMER_MS, systemClock } from '../core/clock.js';
import { InvalidInputError, InvalidOptionError, WaitTimeoutError } from '../core/errors.js';
import { isFinished, isJobState, JOB_STATES, type Job, type JobState } from '../core/job.js';
import { defaultLogger } from '../core/logger.js';
import type { TaskDefinition } from '../core/task.js';
import { dashboardPlugin } from '../dashboard/index.js';
import { gearmanFrontDoor } from '../gearman/server.js';
import { httpFrontDoor } from '../http/front-door.js';
import { HTTP_DEFAULTS } from '../http/options.js';
import type { MailerConfig } from '../notify/mailer.js';
import { Offload } from '../offload.js';
import { remoteWorker } from '../remote/remote-worker.js';
import { type FrontDoorFactory, startServer } from '../server/server.js';
import { exitOnSignals } from '../server/signals.js';
import { DEFAULT_STORE_URL, redact } from '../store/url.js';
import { addBatchCommands } from './batch-commands.js';
import { readConfigFile } from './config-file.js';
import { duration } from './duration.js';
import { addFlowCommands } from './flow-commands.js';
import { addGroupCommands } from './group-commands.js';
import { parseListenAddress } from './listen-address.js';
import { loadAll } from './load-tasks.js';
import { type Output, printCounts, printError, printJob, printJobs, printTokens, processOutput } from './output.js';
import { ProgressView, untilDoneOr, watchUntilFinished } from './progress.js';
import { addRuleCommands } from './rule-commands.js';
import { addScheduleCommands } from './schedule-commands.js';
import { parseSmtpUrl } from './smtp-url.js';
import { addTaskCommands } from './task-commands.js';

interface GlobalOptions {
  store: string;
  json: boolean;
}

const program = new Command('offload')
  .description('Offload: a durable job server and background-processing framework')
  .version(JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version as string)
  .addOption(new Option('--store <url>', 'store URL').env('OFFLOAD_STORE').default(DEFAULT_STORE_URL))
  .option('--json', 'print JSON instead of text', false)
  .showHelpAfterError('(run with --help for usage)')
  // Set before the subcommands are added, so they inherit it.
  .exitOverride();

const globals = (): GlobalOptions => program.opts<GlobalOptions>();
const output = (): Output => processOutput(globals().json);

function int(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidOptionError(name, `must be an integer ≥ ${min}, got "${value}"`);
    return n;
  };
}

interface StartOptions {
  tasks: string[];
  concurrency: number;
  lease: number;
  shutdownTimeout: number;
  http: string;
  allow?: string[];
  requireToken: boolean;
  maxBody: number;
  maxInput: number;
  rescueInterval: number;
  gearman: string;
  gearmanAllow?: string[];
  gearmanMaxAttempts?: number;
  gearmanCancelOnDisconnect: boolean;
  gearmanGrabLinger: number;
  gearmanKeepalive: number;
  config?: string;
  publicUrl?: string;
  smtp?: MailerConfig;
  dashboard: boolean;
}

function list(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== ''),
  ];
}

function state(value: string, previous: JobState[] = []): JobState[] {
  if (!isJobState(value)) throw new InvalidOptionError('state', `must be one of ${JOB_STATES.join(', ')}, got "${value}"`);
  return [...previous, value];
}

/** Opens the store for a one-shot command, runs `fn`, closes. */
async function withOffload<T>(fn: (offload: Offload) => Promise<T>): Promise<T> {
  const offload = await Offload.open({ store: globals().store });
  try {
    return await fn(offload);
  } finally {
    await offload.close();
  }
}

program
  .command('start')
  .description('run the server: the HTTP API, the Gearman port, a worker for the given tasks and maintenance')
  .option('--tasks <module...>', 'modules exporting task definitions', [])
  .option('--concurrency <n>', 'jobs run at once by the built-in worker', int('concurrency', 0), 10)
  .option('--lease <ms>', "the built-in worker's lease length; a silent worker's jobs come back after this long", int('lease', 1000), 30_000)
  .option('--shutdown-timeout <ms>', 'on SIGTERM, how long running jobs may take before they are released', int('shutdown-timeout', 0), 10_000)
  .addOption(
    new Option('--http <host:port|off>', 'where the HTTP API listens; off for none').env('OFFLOAD_HTTP').default(`${HTTP_DEFAULTS.host}:${HTTP_DEFAULTS.port}`),
  )
  .option('--allow <cidrs>', 'comma-separated client addresses or CIDRs allowed to connect to the HTTP API (default: any)', list)
  .option('--require-token', 'require a token on every request, even on 127.0.0.1', false)
  .option('--no-dashboard', "do not serve the dashboard at / on the HTTP API's port")
  .option('--max-body <bytes>', 'largest HTTP request body', int('max-body', 1024), HTTP_DEFAULTS.maxBodyBytes)
  .option('--max-input <bytes>', 'largest job input, as JSON', int('max-input', 1), 1024 * 1024)
  .addOption(
    new Option('--gearman <host:port|off>', 'where the Gearman port listens (port 0: any free port), or off').env('OFFLOAD_GEARMAN').default('127.0.0.1:4730'),
  )
  .option('--gearman-allow <networks>', 'networks (CIDR, comma-separated) that may connect to a Gearman port on a non-loopback address', list)
  .option('--gearman-max-attempts <n>', 'attempts of jobs of functions first seen on the Gearman port (default: 3)', int('gearman-max-attempts', 1))
  .option(
    '--gearman-cancel-on-disconnect',
    'cancel a foreground Gearman job no worker has started when its last client disconnects, as gearmand drops it',
    false,
  )
  .option(
    '--gearman-keepalive <ms>',
    "probe a silent Gearman peer after this long and drop it when it does not answer, so a dead worker machine's jobs come back (0: off)",
    int('gearman-keepalive', 0),
    30_000,
  )
  .option(
    '--gearman-grab-linger <ms>',
    'how long a Gearman GRAB that finds nothing waits for a new job before NO_JOB (0: at once, as gearmand)',
    int('gearman-grab-linger', 0),
    2,
  )
  .option('--rescue-interval <ms>', 'how often jobs whose lease expired are put back in the queue', int('rescue-interval', 10), 5000)
  .option('--config <file>', 'a JSON config file: endpointGroups to save and push to (see docs/guides/push.md)')
  .option('--public-url <url>', "the base URL push endpoints reach this server's HTTP API at, for callbacks (default: the HTTP API's own address)")
  .addOption(
    new Option('--smtp <url>', 'the SMTP server rules send e-mail through: smtp://user:pass@host:587?from=ops@example.com (smtps:// for TLS from the start)')
      .env('OFFLOAD_SMTP')
      .argParser(parseSmtpUrl),
  )
  .action(async (opts: StartOptions) => {
    const o = output();
    const config = opts.config ? readConfigFile(opts.config) : undefined;
    const tasks = await loadAll(opts.tasks);
    const logger = defaultLogger(process.env.OFFLOAD_LOG_LEVEL ?? 'info');
    const frontDoors: FrontDoorFactory[] = [];
    const http = parseListenAddress('http', opts.http);
    if (http) {
      const plugins = opts.dashboard ? [dashboardPlugin()] : [];
      frontDoors.push(httpFrontDoor({ ...http, allow: opts.allow, requireToken: opts.requireToken, maxBodyBytes: opts.maxBody, plugins }));
    }
    const gearman = parseListenAddress('gearman', opts.gearman);
    if (gearman) {
      frontDoors.push(
        gearmanFrontDoor({
          ...gearman,
          allow: opts.gearmanAllow,
          cancelOnDisconnect: opts.gearmanCancelOnDisconnect,
          grabLingerMs: opts.gearmanGrabLinger,
          keepAliveMs: opts.gearmanKeepalive,
          functionDefaults: opts.gearmanMaxAttempts === undefined ? {} : { maxAttempts: opts.gearmanMaxAttempts },
        }),
      );
    }
    const server = await startServer({
      store: globals().store,
      tasks,
      concurrency: opts.concurrency,
      leaseMs: opts.lease,
      shutdownTimeoutMs: opts.shutdownTimeout,
      logger,
      frontDoors,
      maxInputBytes: opts.maxInput,
      rescueIntervalMs: opts.rescueInterval,
      push: { groups: config?.endpointGroups, callbackBaseUrl: opts.publicUrl },
      mail: opts.smtp ?? config?.smtp,
    });
    exitOnSignals(
      () => server.close(),
      (text) => o.err(text),
    );
    const names = tasks.map((t) => t.name);
    o.out(`Offload is running on ${redact(server.offload.store.description)}`);
    for (const door of server.frontDoors) o.out(door.description);
    const api = http && opts.dashboard ? server.frontDoors.find((d) => d.url) : undefined;
    if (api) o.out(`Dashboard on ${api.url}/`);
    o.out(
      names.length
        ? `Worker: ${names.length} task(s), concurrency ${opts.concurrency}: ${names.join(', ')}`
        : "No tasks loaded (pass --tasks MODULE to run some here); the worker runs Offload's built-in tasks.",
    );
    for (const { group } of await server.offload.push.groups())
      o.out(`Push: group ${group.name} (${group.balancer}, ${group.endpoints.length} endpoint(s)) runs ${group.tasks.join(', ')}`);
    const example = names.find((n) => n === 'example.greet') ?? names[0];
    if (example)
      o.out(`Submit a job from another terminal:\n  npx offload submit ${example} '${example === 'example.greet' ? '{"name":"Ada"}' : 'null'}' --wait`);
    o.out('Stop with Ctrl-C (running jobs finish or are released).');
  });

interface DashboardOptions {
  listen: string;
  allow?: string[];
  requireToken: boolean;
}

program
  .command('dashboard')
  .description('serve the dashboard and the HTTP API against a store, without running workers or maintenance')
  .addOption(
    new Option('--listen <host:port>', 'where the dashboard and the API listen').env('OFFLOAD_HTTP').default(`${HTTP_DEFAULTS.host}:${HTTP_DEFAULTS.port}`),
  )
  .option('--allow <cidrs>', 'comma-separated client addresses or CIDRs allowed to connect (default: any)', list)
  .option('--require-token', 'require a token (a login) even on 127.0.0.1', false)
  .action(async (opts: DashboardOptions) => {
    const o = output();
    const address = parseListenAddress('listen', opts.listen);
    if (!address) throw new InvalidOptionError('listen', 'the dashboard needs an address to listen on, not off');
    const logger = defaultLogger(process.env.OFFLOAD_LOG_LEVEL ?? 'info');
    const offload = await Offload.open({ store: globals().store, logger });
    try {
      const door = await httpFrontDoor({ ...address, allow: opts.allow, requireToken: opts.requireToken, plugins: [dashboardPlugin()] })(offload, logger);
      await door.start();
      exitOnSignals(
        async () => {
          await door.stop();
          await offload.close();
        },
        (text) => o.err(text),
      );
      o.out(`Offload dashboard on ${door.url}/ for ${redact(offload.store.description)} (no workers run here)`);
      o.out(door.description);
      o.out('Stop with Ctrl-C.');
    } catch (err) {
      await offload.close();
      throw err;
    }
  });

/** A worker as `offload.work()` and `remoteWorker()` make it. */
type Worker = Awaited<ReturnType<Offload['work']>>;

interface WorkerCommandOptions {
  concurrency: number;
  claimAhead: number;
  lease: number;
  shutdownTimeout: number;
  for?: number;
  maxJobs?: number;
  untilIdle: boolean;
  connect?: string;
  token?: string;
}

program
  .command('worker')
  .description('run a worker process for the tasks exported by MODULE(s)')
  .argument('<module...>', 'modules exporting task definitions')
  .option('--concurrency <n>', 'jobs run at once', int('concurrency', 1), 10)
  .option('--claim-ahead <n>', 'while handlers finish fast, at most this many jobs claimed beyond the free slots (0: none)', int('claim-ahead', 0), 100)
  .option('--lease <ms>', "lease length; a silent worker's jobs come back after this long", int('lease', 1000), 30_000)
  .option('--shutdown-timeout <ms>', 'on SIGTERM, how long running jobs may take before they are released', int('shutdown-timeout', 0), 10_000)
  .option('--for <duration>', 'run this long (30s, 10m, 2h…), then stop as on SIGTERM and exit 0', duration('for', MAX_TIMER_MS))
  .option('--max-jobs <n>', 'run at most this many jobs, then exit 0 once they have finished', int('max-jobs', 1))
  .option('--until-idle', 'exit 0 once nothing runs and no job of the tasks is runnable', false)
  .option('--connect <url>', 'work for the Offload server at this URL, over its HTTP API, instead of opening the store')
  .addOption(
    new Option('--token <secret>', 'with --connect: an API token of scope work (better in $OFFLOAD_TOKEN, out of the process list)').env('OFFLOAD_TOKEN'),
  )
  .action(async (modules: string[], opts: WorkerCommandOptions) => {
    const o = output();
    const tasks = await loadAll(modules);
    if (opts.connect !== undefined) return workRemotely(o, tasks, { ...opts, url: opts.connect });
    const offload = await Offload.open({ store: globals().store, tasks, logger: defaultLogger(process.env.OFFLOAD_LOG_LEVEL ?? 'info') });
    const stop = () => offload.close();
    exitOnSignals(stop, (text) => o.err(text));
    if (budgeted(opts)) {
      // A short run may end before maintenance's first turn: jobs whose worker died come back now
      // (and run in this run), old ones are pruned, and the ticks of schedules due by now fire.
      const { rescuer, pruner, scheduler } = await offload.startMaintenance();
      await rescuer.runNow();
      await pruner.runNow();
      await scheduler.runNow();
    }
    const worker = await offload.work(workerOptions(opts));
    if (o.json) o.out(JSON.stringify({ worker: worker.id, tasks: worker.tasks, concurrency: worker.concurrency }));
    else o.out(`worker ${worker.id} running ${worker.tasks.join(', ')} (concurrency ${worker.concurrency}) on ${redact(offload.store.description)}`);
    exitWhenFinished(o, worker, opts, stop);
  });

function workerOptions(opts: WorkerCommandOptions) {
  return {
    concurrency: opts.concurrency,
    claimAhead: opts.claimAhead,
    leaseMs: opts.lease,
    shutdownTimeoutMs: opts.shutdownTimeout,
    runForMs: opts.for,
    maxJobs: opts.maxJobs,
    untilIdle: opts.untilIdle,
  };
}

/** A run with an end: --for, --max-jobs, --until-idle. */
function budgeted(opts: WorkerCommandOptions): boolean {
  return opts.for !== undefined || opts.maxJobs !== undefined || opts.untilIdle;
}

/** A budgeted run exits 0 when it is over; so does any run an operator stopped (POST /v1/workers/ID/stop). */
function exitWhenFinished(o: Output, worker: Worker, opts: WorkerCommandOptions, close: () => Promise<void>): void {
  void worker.finished.then(async (end) => {
    // An unbudgeted run that ended otherwise was stopped by a signal, whose handler exits.
    if (!budgeted(opts) && end.reason !== 'stop-requested') return;
    await close();
    if (o.json) o.out(JSON.stringify({ worker: worker.id, finished: end.reason, started: end.started }));
    else o.out(`worker ${worker.id} finished (${FINISHED[end.reason]}): ${end.started} job(s) started`);
    process.exit(0);
  });
}

const FINISHED: Record<Awaited<Worker['finished']>['reason'], string> = {
  time: 'its time was up',
  'max-jobs': 'it ran --max-jobs jobs',
  idle: 'nothing left to run',
  stopped: 'stopped',
  'stop-requested': 'an operator asked it to stop',
};

/** `offload worker --connect`: the same worker, over HTTP; it waits for a server that is not up yet. */
async function workRemotely(o: Output, tasks: TaskDefinition<any, any>[], opts: WorkerCommandOptions & { url: string }): Promise<void> {
  const worker = remoteWorker({
    url: opts.url,
    token: opts.token,
    tasks,
    ...workerOptions(opts),
    logger: defaultLogger(process.env.OFFLOAD_LOG_LEVEL ?? 'info'),
  });
  const stop = () => worker.stop();
  exitOnSignals(stop, (text) => o.err(text));
  await worker.start();
  if (o.json) o.out(JSON.stringify({ worker: worker.id, tasks: worker.tasks, concurrency: worker.concurrency, server: opts.url }));
  else o.out(`worker ${worker.id} running ${worker.tasks.join(', ')} (concurrency ${worker.concurrency}) on ${opts.url}`);
  exitWhenFinished(o, worker, opts, stop);
}

program
  .command('submit')
  .description('submit a job; INPUT is JSON ("-" reads it from stdin)')
  .argument('<task>', 'task name')
  .argument('[input]', 'job input as JSON', 'null')
  .option('--wait', 'wait until the job finishes and print it; exit 1 if it failed', false)
  .option('--wait-timeout <ms>', 'with --wait, give up waiting after this long', int('wait-timeout', 1))
  .option('--priority <n>', 'higher runs first', int('priority', -(2 ** 31)))
  .option('--delay <ms>', 'run no sooner than this many ms from now', int('delay', 0))
  .option('--unique <key>', 'return the queued or running job with this key instead of adding one')
  .option('--concurrency-key <key>', 'limit how many jobs with this key run at once')
  .option(
    '--debounce <duration>',
    "with --unique: start after this long; a submit with the same key meanwhile replaces the queued job's input (e.g. 5s)",
    duration('debounce', 86_400_000),
  )
  .option('--max-attempts <n>', 'attempts before the job fails', int('max-attempts', 1))
  .action(
    async (
      task: string,
      inputText: string,
      opts: {
        wait: boolean;
        waitTimeout?: number;
        priority?: number;
        delay?: number;
        unique?: string;
        concurrencyKey?: string;
        debounce?: number;
        maxAttempts?: number;
      },
    ) => {
      const o = output();
      const input = parseInput(task, inputText === '-' ? readFileSync(0, 'utf8') : inputText);
      await withOffload(async (offload) => {
        const handle = await offload.enqueue(task, input, {
          priority: opts.priority,
          delayMs: opts.delay,
          uniqueKey: opts.unique,
          concurrencyKey: opts.concurrencyKey,
          debounceMs: opts.debounce,
          maxAttempts: opts.maxAttempts,
          origin: 'cli',
        });
        if (!opts.wait) {
          if (!o.json && handle.deduplicated)
            o.err(
              opts.debounce === undefined
                ? `a job with unique key "${opts.unique}" already exists`
                : `the queued job with unique key "${opts.unique}" took this input (or it is running and kept its own)`,
            );
          return printJob(o, await handle.status());
        }
        const job = o.json ? await handle.finished({ timeoutMs: opts.waitTimeout }) : await finishedShowingProgress(offload, handle.id, opts.waitTimeout);
        printJob(o, job);
        if (job.state !== 'succeeded') process.exitCode = 1;
      });
    },
  );

program
  .command('status')
  .description('show one job')
  .argument('<id>', 'job id')
  .action(async (id: string) => withOffload(async (offload) => printJob(output(), await offload.getJob(id))));

program
  .command('jobs')
  .description('list jobs, newest first')
  .option('--task <task>', 'only this task')
  .addOption(new Option('--state <state>', 'only this state').choices([...JOB_STATES]))
  .option('--batch <id>', 'only this batch')
  .option('--limit <n>', 'at most this many (1–1000)', int('limit', 1), 50)
  .option('--cursor <cursor>', 'the next page, as printed by the previous one')
  .action(async (opts: { task?: string; state?: JobState; batch?: string; limit: number; cursor?: string }) =>
    withOffload(async (offload) => {
      const page = await offload.listJobs({ task: opts.task, state: opts.state, batchId: opts.batch, limit: opts.limit, cursor: opts.cursor });
      printJobs(output(), page.jobs, page.nextCursor);
    }),
  );

program
  .command('counts')
  .description('jobs per task and state')
  .action(async () => withOffload(async (offload) => printCounts(output(), await offload.counts())));

program
  .command('purge')
  .description("delete a task's jobs in the given states (default: queued)")
  .argument('<task>', 'task name')
  .option('--state <state>', 'state to purge (repeat for several): queued, succeeded, failed, cancelled', state)
  .action(async (task: string, opts: { state?: JobState[] }) =>
    withOffload(async (offload) => {
      const deleted = await offload.purge(task, opts.state ?? ['queued']);
      const o = output();
      if (o.json) o.out(JSON.stringify({ task, deleted }));
      else o.out(`purged ${deleted} job(s) of ${task}`);
    }),
  );

program
  .command('retry')
  .description('put a failed or cancelled job back in the queue')
  .argument('<id>', 'job id')
  .action(async (id: string) => withOffload(async (offload) => printJob(output(), await offload.retry(id))));

program
  .command('cancel')
  .description('cancel a queued or running job')
  .argument('<id>', 'job id')
  .action(async (id: string) => withOffload(async (offload) => printJob(output(), await offload.cancel(id))));

addTaskCommands(program, { output, withOffload });
addScheduleCommands(program, { output, withOffload, parseInput, int });
addGroupCommands(program, { output, withOffload });
addRuleCommands(program, { output, withOffload });
addBatchCommands(program, { output, withOffload, int });
addFlowCommands(program, { output, withOffload, int });

const token = program.command('token').description('API tokens for the HTTP API: create (prints the secret once), list, revoke');

token
  .command('create')
  .description('create a token and print its secret (shown only this once)')
  .argument('<name>', 'a name for the token (who or what uses it)')
  .addOption(new Option('--scope <scope>', 'what it allows').choices([...TOKEN_SCOPES]).makeOptionMandatory())
  .option('--tasks <patterns>', 'comma-separated task patterns it is limited to (* is a wildcard); default: every task')
  .action(async (name: string, opts: { scope: (typeof TOKEN_SCOPES)[number]; tasks?: string }) =>
    withOffload(async (offload) => {
      const tasks =
        opts.tasks
          ?.split(',')
          .map((t) => t.trim())
          .filter(Boolean) ?? [];
      const { token: record, secret } = await createToken(offload.store, systemClock, { name, scope: opts.scope, tasks });
      const o = output();
      if (o.json) o.out(JSON.stringify({ name: record.name, scope: record.scope, tasks: record.tasks, secret }));
      else {
        o.out(secret);
        o.err(
          `token "${record.name}" (scope ${record.scope}${record.tasks.length ? `, tasks ${record.tasks.join(',')}` : ''}) created; the secret above is shown only once. Send it as "Authorization: Bearer <secret>".`,
        );
      }
    }),
  );

token
  .command('list')
  .description('list tokens (never their secrets)')
  .option('--all', 'include revoked tokens', false)
  .action(async (opts: { all: boolean }) =>
    withOffload(async (offload) => printTokens(output(), await listTokens(offload.store, { includeRevoked: opts.all }))),
  );

token
  .command('revoke')
  .description('revoke a token: requests carrying it get 401 at once')
  .argument('<name>', "the token's name")
  .action(async (name: string) =>
    withOffload(async (offload) => {
      await revokeToken(offload.store, systemClock, name);
      const o = output();
      if (o.json) o.out(JSON.stringify({ name, revoked: true }));
      else o.out(`revoked token "${name}"`);
    }),
  );

program
  .command('migrate')
  .description("create or upgrade the store's schema (also done by every command that opens it)")
  .action(async () =>
    withOffload(async (offload) => {
      const o = output();
      if (o.json) o.out(JSON.stringify({ store: offload.store.description, migrated: true }));
      else o.out(`schema up to date on ${redact(offload.store.description)}`);
    }),
  );

/** Waits for a job, showing the progress its handler reports (a bar on a terminal, lines elsewhere). */
function finishedShowingProgress(offload: Offload, id: string, timeoutMs?: number): Promise<Job> {
  return watchUntilFinished<Job>(
    {
      read: () => offload.getJob(id),
      wait: (ms) => untilDoneOr(offload.waitForJob(id, { timeoutMs: ms })),
      finished: (job) => isFinished(job.state),
      figures: (job) => (job.progress ? { done: job.progress.done, total: job.progress.total, note: job.progress.message } : undefined),
      timedOut: () => new WaitTimeoutError(id, timeoutMs!),
    },
    new ProgressView(`job ${id}`, 'steps/s'),
    timeoutMs,
  );
}

function parseInput(task: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidInputError(task, `the input is not JSON (${(err as Error).message}); quote it for the shell, e.g. '{"name":"Ada"}'`);
  }
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 2;
  } else {
    printError(processOutput(process.argv.includes('--json')), err);
    process.exitCode = 1;
  }
}
