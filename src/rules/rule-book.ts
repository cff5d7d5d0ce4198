/**
 * `offload.rules`: rules defined in code, saved in the store so every process sees them. Saving,
 * pausing or removing one here takes effect in this process at once, in others within
 * RULES_FRESH_MS of their next event (and on their alert watcher's next pass).
 */
import type { Clock } from '../core/clock.js';
import { RuleNotFoundError } from '../core/errors.js';
import type { TaskRegistry } from '../core/registry.js';
import { checkRuleName, publicRule, type Rule, type RuleAlert, type RuleSettings, resolveRule } from '../core/rule.js';
import type { Store } from '../store/store.js';

export interface RuleBookDeps {
  store: Store;
  clock: Clock;
  registry: TaskRegistry;
  /** Tells this process's rules engine (when it runs) that the rules changed. */
  changed(): Promise<void>;
}

export class RuleBook {
  constructor(private readonly deps: RuleBookDeps) {}

  /**
   * Adds a rule, or replaces the one of that name (its pause and its firing alerts stay).
   *
   * @example
   * await offload.rules.save('billing-dead', { on: { event: 'job.dead' }, tasks: ['billing.*'], action: { type: 'email', to: ['ops@example.com'] } });
   */
  async save(name: string, settings: RuleSettings): Promise<Rule> {
    const rule = resolveRule(checkRuleName(name), settings);
    // A follow-up task must be known now, not when the first event comes (UNKNOWN_TASK otherwise).
    if (rule.action.type === 'enqueue') await this.deps.registry.settingsFor(rule.action.task);
    const record = await this.deps.store.saveRule({ rule, now: this.deps.clock.now() });
    await this.deps.changed();
    return publicRule(record);
  }

  /** Every rule, by name; a webhook's secret is never shown back. */
  async list(): Promise<Rule[]> {
    return (await this.deps.store.getRules({})).map(publicRule);
  }

  async get(name: string): Promise<Rule> {
    const [record] = await this.deps.store.getRules({ names: [checkRuleName(name)] });
    if (!record) throw new RuleNotFoundError(name);
    return publicRule(record);
  }

  /** Stops the rule: no event or condition sets it off until it is resumed (deliveries already enqueued still go out). */
  pause(name: string): Promise<Rule> {
    return this.setPaused(name, true);
  }

  resume(name: string): Promise<Rule> {
    return this.setPaused(name, false);
  }

  /** Deletes a rule and its alerts (its deliveries already enqueued fail, finding no rule). */
  async remove(name: string): Promise<void> {
    if (!(await this.deps.store.removeRule({ name: checkRuleName(name) }))) throw new RuleNotFoundError(name);
    await this.deps.changed();
  }

  /** The alerts of condition rules that are firing now (of one rule, or of all). */
  async alerts(name?: string): Promise<RuleAlert[]> {
    return this.deps.store.getRuleAlerts({ rule: name === undefined ? undefined : checkRuleName(name) });
  }

  private async setPaused(name: string, paused: boolean): Promise<Rule> {
    if (!(await this.deps.store.setRulePaused({ name: checkRuleName(name), paused, now: this.deps.clock.now() }))) throw new RuleNotFoundError(name);
    await this.deps.changed();
    return this.get(name);
  }
}
