/**
 * The HTTP API on a real socket for route tests: every request carries a token (the admin one
 * unless the call names another), tokens of any scope and tasks are made on demand, and event
 * streams are read one event at a time.
 */
import { createToken } from '../../src/auth/tokens.js';
import { silentLogger } from '../../src/core/logger.js';
import type { TaskDefinition } from '../../src/core/task.js';
import { type HttpFrontDoor, httpFrontDoor } from '../../src/http/front-door.js';
import type { TokenScope } from '../../src/store/store.js';
import { openTestOffload, type TestOffload } from './offload.js';

export interface ServedApi extends TestOffload {
  door: HttpFrontDoor;
  admin: string;
  /** A request with JSON in and out; the admin token unless `token` names another. */
  call(
    method: string,
    path: string,
    o?: { body?: unknown; token?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; json: any; headers: Headers }>;
  token(scope: TokenScope, tasks?: string[]): Promise<string>;
  /** Resolves once the server holds exactly `n` long requests (claims, waits, streams). */
  untilLongRequests(n: number): Promise<void>;
}

/** An Offload on a fresh store (see openTestOffload) with these tasks, served with tokens required. */
export async function serveWithTokens(tasks: TaskDefinition<any, any>[]): Promise<ServedApi> {
  const t = await openTestOffload({ tasks });
  const door = await httpFrontDoor({ host: '127.0.0.1', port: 0, requireToken: true, checkResponses: true })(t.offload, silentLogger);
  await door.start();
  let tokens = 0;
  const token = async (scope: TokenScope, tasks: string[] = []) =>
    (await createToken(t.offload.store, t.clock, { name: `tok${++tokens}`, scope, tasks })).secret;
  const admin = await token('admin');
  return {
    ...t,
    door,
    admin,
    token,
    async call(method, path, o = {}) {
      const headers: Record<string, string> = { authorization: `Bearer ${o.token ?? admin}`, ...o.headers };
      if (o.body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${door.url}${path}`, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body) });
      const text = await res.text();
      return { status: res.status, json: text === '' ? undefined : JSON.parse(text), headers: res.headers };
    },
    async untilLongRequests(n) {
      while (door.api.openLongRequests() !== n) await new Promise((resolve) => setImmediate(resolve));
    },
    async dispose() {
      await door.stop();
      await t.dispose();
    },
  };
}

/**
 * Reads server-sent events from a fetch response, one `{event, data}` at a time; with `comments`,
 * comment lines (`: ping`) come as `{comment}` too (the `retry:` preamble never does).
 */
export function sseReader(res: Response, o: { comments?: boolean } = {}) {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  return async function next(): Promise<{ event?: string; data?: any; comment?: string }> {
    for (;;) {
      const end = buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const lines = block.split('\n');
        const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
        const data = lines.find((l) => l.startsWith('data: '))?.slice(6);
        if (event) return { event, data: JSON.parse(data!) };
        const comment = lines.find((l) => l.startsWith(': '));
        if (o.comments && comment && !block.startsWith('retry:')) return { comment: comment.slice(2) };
        continue;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error('the stream ended');
      buffer += decoder.decode(value, { stream: true });
    }
  };
}
