import Schema from 'typebox/schema';
import type { Clock } from './clock.js';
import { InvalidInputError, InvalidTaskError, TaskAlreadyDefinedError, UnknownTaskError } from './errors.js';
import type { ResolvedTaskSettings, TaskDefinition, TaskRecord } from './task.js';

/** Where task settings are kept for every process: the part of the Store the registry uses. */
export interface TaskSettingsStore {
  registerTasks(p: { tasks: { name: string; settings: ResolvedTaskSettings }[]; now: number; onlyIfMissing?: boolean }): Promise<void>;
  getTasks(p: { names?: string[] }): Promise<TaskRecord[]>;
}

interface Validator {
  schemaText: string;
  check(value: unknown): boolean;
  errors(value: unknown): string;
}

/**
 * What one process knows about tasks: the ones it defines (with handlers) and the ones other
 * processes registered in the store (settings only). A locally defined task is written to the
 * store before its first job, so every process that shares the store can submit to it.
 */
export class TaskRegistry {
  private readonly local = new Map<string, TaskDefinition<any, any>>();
  private readonly inStore = new Set<string>();
  private readonly remote = new Map<string, { settings: ResolvedTaskSettings; fetchedAt: number }>();
  private readonly validators = new Map<string, Validator>();
  /** Offload's own tasks, defined in every process (`offload.http.request`, `offload.rule.*`): written to the store with their first job, not on open. */
  private readonly builtIn = new Set<string>();

  constructor(
    private readonly store: TaskSettingsStore,
    private readonly clock: Clock,
    private readonly remoteTtlMs = 5000,
  ) {}

  define(def: TaskDefinition<any, any>): void {
    const existing = this.local.get(def.name);
    if (existing && existing.handler !== def.handler) throw new TaskAlreadyDefinedError(def.name);
    if (!existing) {
      this.local.set(def.name, def);
      this.inStore.delete(def.name);
    }
  }

  /**
   * Defines a task of Offload's own: a worker without a task list runs it with the process's own
   * tasks, but it is not among them (`localNames()`), and the store hears of it only when a job of
   * it is first submitted, so a store that never uses it never lists it.
   */
  defineBuiltIn(def: TaskDefinition<any, any>): void {
    this.define(def);
    this.builtIn.add(def.name);
  }

  get(name: string): TaskDefinition<any, any> | undefined {
    return this.local.get(name);
  }

  /** The tasks this process defines, without Offload's own. */
  localNames(): string[] {
    return [...this.local.keys()].filter((name) => !this.builtIn.has(name));
  }

  /** What a worker without a task list runs: the process's tasks, then Offload's own. */
  defaultWorkerTasks(): string[] {
    return [...this.localNames(), ...this.builtIn];
  }

  /** Writes locally defined tasks that the store does not know yet (built-in ones wait for their first job). */
  async ensureRegistered(names: string[] = this.localNames()): Promise<void> {
    await this.write(names.filter((n) => !this.builtIn.has(n)));
  }

  private async write(names: string[]): Promise<void> {
    const missing = names.filter((n) => this.local.has(n) && !this.inStore.has(n));
    if (missing.length === 0) return;
    await this.store.registerTasks({ tasks: missing.map((n) => ({ name: n, settings: this.local.get(n)!.settings })), now: this.clock.now() });
    for (const n of missing) this.inStore.add(n);
  }

  /** Settings of a task defined here or registered in the store; UnknownTaskError otherwise. */
  async settingsFor(name: string): Promise<ResolvedTaskSettings> {
    const def = this.local.get(name);
    if (def) {
      if (!this.inStore.has(name)) await this.write([name]);
      return def.settings;
    }
    const cached = this.remote.get(name);
    if (cached && this.clock.now() - cached.fetchedAt < this.remoteTtlMs) return cached.settings;
    const [record] = await this.store.getTasks({ names: [name] });
    if (!record) throw new UnknownTaskError(name);
    this.remote.set(name, { settings: record.settings, fetchedAt: this.clock.now() });
    return record.settings;
  }

  /** The settings this process knows of a task without asking the store (defined here, or read lately); undefined otherwise. */
  knownSettings(name: string): ResolvedTaskSettings | undefined {
    return this.local.get(name)?.settings ?? this.remote.get(name)?.settings;
  }

  /** Drops what this process cached about a task registered elsewhere (its settings just changed). */
  forget(name: string): void {
    this.remote.delete(name);
    this.validators.delete(name);
  }

  /** Throws INVALID_TASK when `schema` is not a JSON Schema this process can check inputs with. */
  checkSchema(task: string, schema: Record<string, unknown>): void {
    try {
      // Some schema mistakes only show when a value is checked.
      this.validatorFor(task, schema).check(null);
    } catch (err) {
      this.validators.delete(task);
      throw new InvalidTaskError(task, `its input schema cannot be compiled (${err instanceof Error ? err.message : String(err)})`);
    }
  }

  /** Checks an input against the task's JSON Schema, when it has one. */
  validate(task: string, settings: ResolvedTaskSettings, input: unknown): void {
    if (!settings.inputSchema) return;
    const v = this.validatorFor(task, settings.inputSchema);
    if (!v.check(input)) throw new InvalidInputError(task, v.errors(input));
  }

  private validatorFor(task: string, schema: Record<string, unknown>): Validator {
    const schemaText = JSON.stringify(schema);
    const cached = this.validators.get(task);
    if (cached && cached.schemaText === schemaText) return cached;
    const compiled = Schema.Compile(schema as Schema.XSchema);
    const v: Validator = {
      schemaText,
      check: (value) => compiled.Check(value),
      errors: (value) => {
        const [, errors] = compiled.Errors(value);
        return (
          errors
            .slice(0, 5)
            .map((e) => `${e.instancePath || '(root)'} ${e.message}`)
            .join('; ') || 'does not match the input schema'
        );
      },
    };
    this.validators.set(task, v);
    return v;
  }
}
