import { TaskAlreadyDefinedError } from '../core/errors.js';
import type { TaskRegistry } from '../core/registry.js';
import type { TaskDefinition } from '../core/task.js';

/** The task definitions a worker can run: the process's task registry, or a plain catalogue. */
export type TaskLookup = Pick<TaskRegistry, 'get' | 'localNames' | 'defaultWorkerTasks' | 'define'>;

/**
 * The handlers a worker can run, in a process without a store (a remote worker): the part of
 * the task registry a worker uses, and nothing that needs the store.
 */
export class TaskCatalog implements TaskLookup {
  private readonly definitions = new Map<string, TaskDefinition<any, any>>();

  constructor(definitions: TaskDefinition<any, any>[] = []) {
    for (const d of definitions) this.define(d);
  }

  define(def: TaskDefinition<any, any>): void {
    const existing = this.definitions.get(def.name);
    if (existing && existing.handler !== def.handler) throw new TaskAlreadyDefinedError(def.name);
    this.definitions.set(def.name, def);
  }

  get(name: string): TaskDefinition<any, any> | undefined {
    return this.definitions.get(name);
  }

  localNames(): string[] {
    return [...this.definitions.keys()];
  }

  defaultWorkerTasks(): string[] {
    return this.localNames();
  }
}
