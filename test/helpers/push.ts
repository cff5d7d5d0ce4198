/** An Offload on a fresh store with the system clock (push talks to real sockets in real time), and group settings for tests. */
import { after, before } from 'node:test';
import type { EndpointGroupSettings, EndpointSettings } from '../../src/core/endpoint-group.js';
import { silentLogger } from '../../src/core/logger.js';
import { Offload } from '../../src/index.js';
import { startEndpoint, type TestEndpoint } from './endpoints.js';
import { defaultFactory } from './offload.js';
import type { StoreFixture } from './stores.js';

export const SECRET = 'a-test-secret-of-32-characters!!';

export interface PushFixture {
  offload: Offload;
  fixture: StoreFixture;
  another(): Promise<Offload>;
  dispose(): Promise<void>;
}

export async function openPush(): Promise<PushFixture> {
  const fixture = await defaultFactory()();
  const offload = await Offload.open({ store: fixture.url, logger: silentLogger });
  const others: Offload[] = [];
  return {
    offload,
    fixture,
    async another() {
      const o = await Offload.open({ store: fixture.url, logger: silentLogger });
      others.push(o);
      return o;
    },
    async dispose() {
      await Promise.all([offload, ...others].map((o) => o.close()));
      await fixture.dispose();
    },
  };
}

/** A group on loopback endpoints (allowed explicitly, as a real group must). */
export function groupOf(name: string, endpoints: EndpointSettings[], more: Partial<EndpointGroupSettings> = {}): EndpointGroupSettings {
  return { name, endpoints, tasks: [`${name}.job`], secret: SECRET, allowAddresses: ['127.0.0.1'], ...more };
}

/**
 * For one describe block: an Offload that runs push (from `before`), and real endpoints started
 * with `endpoint()`, all closed after the block.
 */
export function pushingOffload(): { readonly t: PushFixture; endpoint(...args: Parameters<typeof startEndpoint>): Promise<TestEndpoint> } {
  let t: PushFixture | undefined;
  const endpoints: TestEndpoint[] = [];
  before(async () => {
    t = await openPush();
    await t.offload.push.start({ callbackBaseUrl: null });
  });
  after(async () => {
    await t?.dispose();
    await Promise.all(endpoints.map((e) => e.close()));
  });
  return {
    get t() {
      if (!t) throw new Error('pushingOffload(): the Offload opens in before()');
      return t;
    },
    async endpoint(...args) {
      const e = await startEndpoint(...args);
      endpoints.push(e);
      return e;
    },
  };
}
