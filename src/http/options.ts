/** The HTTP API's settings, with the defaults that keep a fresh install safe. */
export interface HttpApiOptions {
  /** Every request must carry a valid token (always true off loopback). Default false. */
  requireToken?: boolean;
  /** Client addresses allowed to connect (CIDRs or single addresses); absent: any. */
  allow?: string[];
  /** Largest request body, in bytes (default 4 MiB; each job's input is also limited by Offload's maxInputBytes, default 1 MiB). */
  maxBodyBytes?: number;
  /** Most jobs in one submit array or batch (default 1000). */
  maxJobsPerRequest?: number;
  /** Most steps in one flow (default 20,000: a fan-in of 10,000 edges fits; the body limit still applies). */
  maxFlowSteps?: number;
  /** Longest a claim's `waitMs` or a submit's `?wait` may hold a request (default 60 000 ms). */
  maxLongPollMs?: number;
  /** Most long requests (waiting claims and submits, event streams) open at once per token, or per address without one (default 64). */
  maxOpenLongPolls?: number;
  /** A comment line is sent on idle event streams this often, so proxies keep them open (default 15 000 ms). */
  sseHeartbeatMs?: number;
  /** Failed authentications allowed per address per `failedAuthWindowMs` before it gets 429s (default 10). */
  failedAuthLimit?: number;
  failedAuthWindowMs?: number;
  /** Checks every response against its schema and fails loudly on a mismatch (tests). */
  checkResponses?: boolean;
}

export type ResolvedHttpApiOptions = Required<Omit<HttpApiOptions, 'allow'>> & { allow: string[] | null };

export const HTTP_DEFAULTS = {
  host: '127.0.0.1',
  port: 7070,
  maxBodyBytes: 4 * 1024 * 1024,
  maxJobsPerRequest: 1000,
  maxFlowSteps: 20_000,
  maxLongPollMs: 60_000,
  maxOpenLongPolls: 64,
  sseHeartbeatMs: 15_000,
  failedAuthLimit: 10,
  failedAuthWindowMs: 60_000,
} as const;

export function resolveHttpOptions(o: HttpApiOptions = {}): ResolvedHttpApiOptions {
  return {
    requireToken: o.requireToken ?? false,
    allow: o.allow && o.allow.length > 0 ? o.allow : null,
    maxBodyBytes: o.maxBodyBytes ?? HTTP_DEFAULTS.maxBodyBytes,
    maxJobsPerRequest: o.maxJobsPerRequest ?? HTTP_DEFAULTS.maxJobsPerRequest,
    maxFlowSteps: o.maxFlowSteps ?? HTTP_DEFAULTS.maxFlowSteps,
    maxLongPollMs: o.maxLongPollMs ?? HTTP_DEFAULTS.maxLongPollMs,
    maxOpenLongPolls: o.maxOpenLongPolls ?? HTTP_DEFAULTS.maxOpenLongPolls,
    sseHeartbeatMs: o.sseHeartbeatMs ?? HTTP_DEFAULTS.sseHeartbeatMs,
    failedAuthLimit: o.failedAuthLimit ?? HTTP_DEFAULTS.failedAuthLimit,
    failedAuthWindowMs: o.failedAuthWindowMs ?? HTTP_DEFAULTS.failedAuthWindowMs,
    checkResponses: o.checkResponses ?? false,
  };
}
