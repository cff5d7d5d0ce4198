/** Connections filed under each function they can do: the workers waiting for work of a function. */
import type { GearmanConnection } from './connection.js';

export class ConnectionsByFunction {
  private readonly byTask = new Map<string, Set<GearmanConnection>>();

  /** Files `conn` under each function it can do now. */
  add(conn: GearmanConnection): void {
    for (const task of conn.worker.abilities.keys()) {
      let set = this.byTask.get(task);
      if (!set) this.byTask.set(task, (set = new Set()));
      set.add(conn);
    }
  }

  /** Takes `conn` out from under `tasks` (by default, every function it can do). */
  delete(conn: GearmanConnection, tasks: Iterable<string> = conn.worker.abilities.keys()): void {
    for (const task of tasks) {
      const set = this.byTask.get(task);
      if (!set) continue;
      set.delete(conn);
      if (set.size === 0) this.byTask.delete(task);
    }
  }

  of(task: string): Iterable<GearmanConnection> {
    return this.byTask.get(task) ?? [];
  }

  has(task: string): boolean {
    return this.byTask.has(task);
  }

  functions(): string[] {
    return [...this.byTask.keys()];
  }
}
