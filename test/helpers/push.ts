/** An Offload on a fresh store with the system clock (push talks to real sockets in real time), and group settings for tests. */
import type { EndpointGroupSettings, EndpointSettings } from '../../src/core/endpoint-group.js';
import { silentLogger } from '../../src/core/logger.js';
import { Offload } from '../../src/index.js';
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
