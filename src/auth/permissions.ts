/**
 * What a token may do. A scope allows a set of actions; task patterns narrow every action to the
 * tasks they match. The HTTP API asks `can(principal, action, task?)` and nothing else.
 */
import { isTaskPattern, patternMatches } from '../core/task-patterns.js';
import type { TokenScope } from '../store/store.js';

export const TOKEN_SCOPES: readonly TokenScope[] = ['submit', 'work', 'read', 'admin'];

/** What a request does: submit jobs, work on them (claim and finish), read, or administer. */
export type Action = 'submit' | 'work' | 'read' | 'admin';

const ALLOWED: Record<TokenScope, readonly Action[]> = {
  admin: ['submit', 'work', 'read', 'admin'],
  // A producer reads back the jobs it may submit.
  submit: ['submit', 'read'],
  work: ['work'],
  read: ['read'],
};

export function isTokenScope(value: unknown): value is TokenScope {
  return typeof value === 'string' && (TOKEN_SCOPES as readonly string[]).includes(value);
}

/** Who is making a request: a token, or the local user of a loopback listener without one. */
export interface Principal {
  /** The token's name; null for an anonymous local caller. */
  readonly name: string | null;
  readonly scope: TokenScope;
  /** Task patterns; empty means every task. */
  readonly tasks: readonly string[];
  /** One key per token (or per address when anonymous), for per-caller limits. */
  readonly key: string;
}

export function anonymousLocal(address: string): Principal {
  return { name: null, scope: 'admin', tasks: [], key: `local:${address}` };
}

export function allowsAction(p: Principal, action: Action): boolean {
  return ALLOWED[p.scope].includes(action);
}

/** Whether the token may touch this task at all (its patterns match it, or it has none). */
export function allowsTask(p: Principal, task: string): boolean {
  return p.tasks.length === 0 || p.tasks.some((pattern) => patternMatches(pattern, task));
}

/** True when the principal is narrowed to some tasks (listings must then be filtered). */
export function isTaskRestricted(p: Principal): boolean {
  return p.tasks.length > 0;
}

/** Task patterns live in core (rules name tasks by them too). */
export { isTaskPattern, patternMatches };
