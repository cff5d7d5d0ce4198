/**
 * Kept-alive connections for outbound requests that go to the same endpoints again and again
 * (a push dispatcher's group). Each set of address rules has agents of its own, so a socket opened
 * under one policy is never reused under another; an idle socket is closed after IDLE_MS, before
 * the 5 s after which common servers (Node, nginx's default is longer) close theirs.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { AddressPolicyOptions } from './address-policy.js';

const IDLE_MS = 4000;

export class OutboundPool {
  private readonly agents = new Map<string, HttpAgent>();

  /** `maxSocketsPerHost`: connections open at once to one host and port (default 256). */
  constructor(private readonly maxSocketsPerHost = 256) {}

  agentFor(protocol: string, rules: AddressPolicyOptions, lookup: LookupFunction): HttpAgent {
    const key = `${protocol} ${rules.denyPrivateAddresses !== false} ${[...(rules.allowAddresses ?? [])].sort().join(',')}`;
    let agent = this.agents.get(key);
    if (!agent) {
      const options = { keepAlive: true, maxSockets: this.maxSocketsPerHost, timeout: IDLE_MS, scheduling: 'lifo' as const, lookup };
      agent = protocol === 'https:' ? new HttpsAgent(options) : new HttpAgent(options);
      this.agents.set(key, agent);
    }
    return agent;
  }

  /** Closes every connection, idle or not. */
  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}
