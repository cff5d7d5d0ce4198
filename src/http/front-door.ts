/**
 * The HTTP API as one of `offload start`'s front doors. It listens on 127.0.0.1:7070 by default,
 * where tokens are optional; on any other address it refuses to start unless a token exists, and
 * then every request needs one.
 */
import type { AddressInfo } from 'node:net';
import { isLoopbackHost } from '../auth/allow-list.js';
import { TokensRequiredError } from '../core/errors.js';
import type { FrontDoor, FrontDoorFactory } from '../server/server.js';
import { type ApiPlugin, buildApi, type HttpApi } from './api.js';
import { HTTP_DEFAULTS, type HttpApiOptions } from './options.js';

export interface HttpFrontDoorOptions extends HttpApiOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 7070; 0 picks a free port. */
  port?: number;
  /** More routes on the same port (the dashboard). */
  plugins?: ApiPlugin[];
}

/** The front door, plus what tests and embedders need: the API object and the URL it listens on. */
export interface HttpFrontDoor extends FrontDoor {
  readonly api: HttpApi;
  /** `http://host:port`, with the real port once started. */
  readonly url: string;
}

export function httpFrontDoor(o: HttpFrontDoorOptions = {}): (...args: Parameters<FrontDoorFactory>) => Promise<HttpFrontDoor> {
  return async (offload, logger): Promise<HttpFrontDoor> => {
    const host = o.host ?? HTTP_DEFAULTS.host;
    const port = o.port ?? HTTP_DEFAULTS.port;
    const loopback = isLoopbackHost(host);
    if (!loopback && (await offload.store.listTokens({})).length === 0) throw new TokensRequiredError(`${host}:${port}`);
    const api = await buildApi(offload, { ...o, requireToken: o.requireToken === true || !loopback, logger });
    let url = `http://${formatHost(host)}:${port}`;
    return {
      api,
      get url() {
        return url;
      },
      get description() {
        return `HTTP API on ${url} (${!loopback || o.requireToken ? 'every request needs a token' : 'tokens optional on loopback'})`;
      },
      async start() {
        await api.app.listen({ host, port });
        const address = api.app.server.address() as AddressInfo;
        url = `http://${formatHost(host)}:${address.port}`;
      },
      stop: () => api.close(),
    };
  };
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
