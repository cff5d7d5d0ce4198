import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { Type } from 'typebox';
import { createToken } from '../../src/auth/tokens.js';
import { defineTask } from '../../src/core/task.js';
import { buildApi, type HttpApi } from '../../src/http/api.js';
import type { HttpApiOptions } from '../../src/http/options.js';
import type { TokenScope } from '../../src/store/store.js';
import { openTestOffload, type TestOffload } from './offload.js';

export interface TestApi extends TestOffload {
  api: HttpApi;
  /** `inject()` with JSON in and out; `token` sets the Authorization header. */
  call(
    method: InjectOptions['method'],
    url: string,
    opts?: { body?: unknown; token?: string; headers?: Record<string, string>; payload?: string; remoteAddress?: string },
  ): Promise<Reply>;
  /** A new token's secret. */
  token(scope: TokenScope, tasks?: string[], name?: string): Promise<string>;
  /** Resolves once `n` long requests are open (a claim is waiting, a stream is connected). */
  waitForLongRequests(n: number): Promise<void>;
}

export interface Reply {
  status: number;
  json: any;
  headers: LightMyRequestResponse['headers'];
  raw: LightMyRequestResponse;
}

/** Tasks the API tests submit to: defined (so registered), but no worker runs them unless a test starts one. */
export const apiTasks = {
  echo: defineTask('t.echo', async (input: unknown) => input),
  other: defineTask('t.other', async () => 'other'),
  schema: defineTask('t.schema', { input: Type.Object({ n: Type.Integer() }, { additionalProperties: false }) }, async (input) => input.n * 2),
};

/** An HTTP API over a fresh SQLite file, a manual clock, responses checked against their schemas. */
export async function openTestApi(opts: HttpApiOptions & { maxInputBytes?: number } = {}): Promise<TestApi> {
  const base = await openTestOffload({ tasks: Object.values(apiTasks), maxInputBytes: opts.maxInputBytes });
  // An API refused at build (a bad option, as a test may mean) leaves no store behind.
  const api = await buildApi(base.offload, { checkResponses: true, ...opts }).catch(async (err: unknown) => {
    await base.dispose();
    throw err;
  });
  let tokens = 0;
  return {
    ...base,
    api,
    async call(method, url, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      if (o.token) headers.authorization = `Bearer ${o.token}`;
      let payload = o.payload;
      if (o.body !== undefined) {
        payload = JSON.stringify(o.body);
        headers['content-type'] ??= 'application/json';
      }
      const raw = await api.app.inject({ method, url, headers, payload, remoteAddress: o.remoteAddress });
      let json: unknown;
      try {
        json = raw.body === '' ? undefined : JSON.parse(raw.body);
      } catch {
        json = raw.body;
      }
      return { status: raw.statusCode, json, headers: raw.headers, raw };
    },
    async token(scope, tasks = [], name = `tok${++tokens}`) {
      return (await createToken(base.offload.store, base.clock, { name, scope, tasks })).secret;
    },
    async waitForLongRequests(n) {
      while (api.openLongRequests() < n) await new Promise((resolve) => setImmediate(resolve));
    },
    async dispose() {
      await api.close();
      await base.dispose();
    },
  };
}
