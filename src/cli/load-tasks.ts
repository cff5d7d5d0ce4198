import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ModuleLoadError } from '../core/errors.js';
import { isTaskDefinition, type TaskDefinition } from '../core/task.js';

/**
 * Imports a module and collects the task definitions it exports: named exports, or a default
 * export that is a definition, an array of them or an object of them.
 */
export async function loadTasks(modulePath: string): Promise<TaskDefinition<any, any>[]> {
  const path = resolve(modulePath);
  if (!existsSync(path)) throw new ModuleLoadError(modulePath, `no file at ${path}`);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    throw new ModuleLoadError(modulePath, `importing it failed: ${(err as Error).message}`, err);
  }
  const found = new Map<string, TaskDefinition<any, any>>();
  const collect = (value: unknown) => {
    if (isTaskDefinition(value)) found.set(value.name, value);
    else if (Array.isArray(value))
      value.forEach((v) => {
        if (isTaskDefinition(v)) found.set(v.name, v);
      });
    else if (value && typeof value === 'object')
      Object.values(value).forEach((v) => {
        if (isTaskDefinition(v)) found.set(v.name, v);
      });
  };
  for (const value of Object.values(mod)) collect(value);
  if (found.size === 0) {
    throw new ModuleLoadError(
      modulePath,
      'it exports no task definitions; export the results of defineTask() (named exports, or a default array or object of them)',
    );
  }
  return [...found.values()];
}

export async function loadAll(modules: string[]): Promise<TaskDefinition<any, any>[]> {
  const all: TaskDefinition<any, any>[] = [];
  for (const m of modules) all.push(...(await loadTasks(m)));
  return all;
}
