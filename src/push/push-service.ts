/**
 * Push in one process: the endpoint groups saved in the store, a dispatcher for each while push
 * runs here, and the callbacks of accepted attempts. Any number of servers may run push on one
 * store: slots and caps are the store's, so they hold across all of them; health and balancer
 * turns are each server's own.
 */
import {
  checkGroupName,
  type EndpointGroup,
  type EndpointGroupRecord,
  type EndpointGroupSettings,
  redactedGroup,
  resolveEndpointGroup,
} from '../core/endpoint-group.js';
import { EndpointGroupNotFoundError, JobNotFoundError, LeaseLostError } from '../core/errors.js';
import type { JobProgress } from '../core/job.js';
import { AwaitedCallbacks, type CallbackMessage, callbackTokenMatches } from './callbacks.js';
import type { EndpointStatus } from './endpoint-health.js';
import { type DispatcherOptions, GroupDispatcher, type PushHost } from './group-dispatcher.js';

/** How a callback is written when the attempt is another server's: through the store, under the lease token. */
export interface LeaseWriter {
  heartbeat(id: string, opts: { leaseToken: string; progress?: JobProgress }): Promise<unknown>;
  complete(id: string, opts: { leaseToken: string; result?: unknown }): Promise<void>;
  fail(id: string, opts: { leaseToken: string; error: { message: string; code?: string }; retryable?: boolean }): Promise<unknown>;
}

/** A group as listings show it: no secret, no credentials; with what is outstanding and, where push runs, each endpoint's health here. */
export interface EndpointGroupView {
  group: ReturnType<typeof redactedGroup>;
  createdAt: number;
  updatedAt: number;
  outstanding: Record<string, number>;
  /** Null when push does not run in this process. */
  health: EndpointStatus[] | null;
}

/** How often a process running push looks for groups saved or changed by other processes. */
const GROUPS_POLL_MS = 5000;

export class PushService {
  private readonly callbacks = new AwaitedCallbacks();
  private readonly dispatchers = new Map<string, { dispatcher: GroupDispatcher; updatedAt: number }>();
  private options: DispatcherOptions | undefined;
  private pollTimer: { cancel(): void } | undefined;
  /** One reload at a time. */
  private reloading: Promise<void> = Promise.resolve();

  constructor(
    private readonly host: PushHost,
    private readonly leases: LeaseWriter,
  ) {}

  get running(): boolean {
    return this.options !== undefined;
  }

  /** Saves a group (replacing one of the same name) and binds its tasks to it. */
  async saveGroup(settings: EndpointGroupSettings): Promise<EndpointGroupView> {
    const group = resolveEndpointGroup(settings);
    const now = this.host.clock.now();
    await this.host.store.saveEndpointGroup({ group, now });
    for (const t of group.tasks) this.host.registry.forget(t);
    if (this.running) await this.reload();
    return this.getGroup(group.name);
  }

  async groups(): Promise<EndpointGroupView[]> {
    const records = await this.host.store.getEndpointGroups({});
    return Promise.all(records.map((r) => this.viewOf(r)));
  }

  async getGroup(name: string): Promise<EndpointGroupView> {
    const [record] = await this.host.store.getEndpointGroups({ names: [checkGroupName(name)] });
    if (!record) throw new EndpointGroupNotFoundError(name);
    return this.viewOf(record);
  }

  /** Deletes a group; its tasks are unbound (pull workers may claim them again). */
  async removeGroup(name: string): Promise<void> {
    if (!(await this.host.store.removeEndpointGroup({ name: checkGroupName(name) }))) throw new EndpointGroupNotFoundError(name);
    if (this.running) await this.reload();
  }

  /** Runs a dispatcher for every group in the store, now and as groups are saved, changed or removed. */
  async start(options: DispatcherOptions): Promise<void> {
    if (this.options) return;
    this.options = options;
    await this.reload();
    this.poll();
  }

  async stop(): Promise<void> {
    this.options = undefined;
    this.pollTimer?.cancel();
    await this.reloading;
    await Promise.all([...this.dispatchers.values()].map((d) => d.dispatcher.stop()));
    this.dispatchers.clear();
  }

  /** The dispatcher of a group in this process (tests, the dashboard). */
  dispatcher(group: string): GroupDispatcher | undefined {
    return this.dispatchers.get(group)?.dispatcher;
  }

  /**
   * A callback of an accepted attempt, with its token. LEASE_LOST when the attempt is over (timed
   * out, cancelled, handed to another endpoint) or the token is not this attempt's.
   */
  async callback(jobId: string, token: string, message: CallbackMessage): Promise<void> {
    const row = await this.host.store.getJob({ id: jobId });
    if (!row) throw new JobNotFoundError(jobId);
    const group = row.state === 'running' && row.leaseToken !== null ? await this.groupOfTask(row.task) : undefined;
    if (!group || row.leaseToken === null || !callbackTokenMatches(group.secret, jobId, row.leaseToken, token)) throw new LeaseLostError(jobId, row.state);
    if (this.callbacks.deliver(jobId, row.leaseToken, message)) return;
    const leaseToken = row.leaseToken;
    if (message.type === 'progress') {
      const { done, total, message: text } = message;
      await this.leases.heartbeat(jobId, { leaseToken, progress: text === undefined ? { done, total } : { done, total, message: text } });
    } else if (message.type === 'complete') await this.leases.complete(jobId, { leaseToken, result: message.result });
    else await this.leases.fail(jobId, { leaseToken, error: message.error, retryable: message.retryable });
  }

  private async groupOfTask(task: string): Promise<EndpointGroup | undefined> {
    for (const { dispatcher } of this.dispatchers.values()) if (dispatcher.group.tasks.includes(task)) return dispatcher.group;
    return (await this.host.store.getEndpointGroups({})).map((r) => r.group).find((g) => g.tasks.includes(task));
  }

  private async viewOf(r: EndpointGroupRecord): Promise<EndpointGroupView> {
    const counts = await this.host.store.countPushSlots({ group: r.group.name });
    const outstanding = Object.fromEntries(r.group.endpoints.map((e) => [e.id, counts.find((c) => c.endpoint === e.id)?.outstanding ?? 0]));
    const health = this.dispatchers.get(r.group.name)?.dispatcher.health.status() ?? null;
    return { group: redactedGroup(r.group), createdAt: r.createdAt, updatedAt: r.updatedAt, outstanding, health };
  }

  private poll(): void {
    this.pollTimer = this.host.clock.setTimer(() => {
      if (!this.running) return;
      void this.reload().finally(() => this.poll());
    }, GROUPS_POLL_MS);
  }

  /** Starts, restarts (changed) and stops dispatchers to match the groups in the store. */
  private reload(): Promise<void> {
    this.reloading = this.reloading
      .catch(() => undefined)
      .then(async () => {
        const options = this.options;
        if (!options) return;
        let records: EndpointGroupRecord[];
        try {
          records = await this.host.store.getEndpointGroups({});
        } catch (err) {
          this.host.logger.error({ err }, 'could not read the endpoint groups; keeping the dispatchers as they are');
          return;
        }
        const wanted = new Map(records.map((r) => [r.group.name, r]));
        for (const [name, d] of this.dispatchers) {
          const r = wanted.get(name);
          if (r && r.updatedAt === d.updatedAt) continue;
          this.dispatchers.delete(name);
          await d.dispatcher.stop();
        }
        for (const r of records) {
          if (this.dispatchers.has(r.group.name)) continue;
          const dispatcher = new GroupDispatcher(this.host, r.group, this.callbacks, options);
          await dispatcher.start();
          this.dispatchers.set(r.group.name, { dispatcher, updatedAt: r.updatedAt });
        }
      });
    return this.reloading;
  }
}
