/** The schemas of the push routes: endpoint groups and the callbacks of accepted pushes. */
import { Type } from 'typebox';

const Iso = Type.String({ format: 'date-time', description: 'ISO 8601, UTC.' });

export const GroupParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false });
export const CallbackParams = Type.Object({ id: Type.String({ pattern: '^[0-9]{1,19}$' }) }, { additionalProperties: false });

const Endpoint = Type.Object(
  {
    id: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'Names the endpoint (default: its URL).' })),
    url: Type.String({ maxLength: 2000, description: 'Where jobs are POSTed: an absolute http:// or https:// URL.' }),
    hostHeader: Type.Optional(Type.String({ maxLength: 255, description: 'Sent as the Host header (a name-based virtual host).' })),
    credentials: Type.Optional(
      Type.Unknown({ description: 'Sent with every request: `{ bearer }`, `{ username, password }` (Basic) or `{ headers: { name: value } }`. Never shown.' }),
    ),
    weight: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Its share under random and round-robin (default 1).' })),
    concurrency: Type.Optional(
      Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], { description: 'Most jobs outstanding there at once, across every server (default: no limit).' }),
    ),
    statusUrl: Type.Optional(
      Type.String({ maxLength: 2000, description: 'Probed every second under most-idle: `{ "idle": n }` or Apache `server-status?auto`.' }),
    ),
    healthUrl: Type.Optional(Type.String({ maxLength: 2000, description: 'GET to bring it back in after failures (default: its URL).' })),
  },
  { additionalProperties: false },
);

export const GroupBody = Type.Object(
  {
    endpoints: Type.Array(Endpoint, { minItems: 1, maxItems: 100 }),
    balancer: Type.Optional(Type.Union(['random', 'round-robin', 'least-outstanding', 'most-idle'].map((b) => Type.Literal(b)))),
    tasks: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
      minItems: 1,
      maxItems: 1000,
      description: 'The tasks this group runs; one group per task.',
    }),
    taskSettings: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), { description: "The tasks' settings (maxAttempts, backoff, timeoutMs, priority, retention)." }),
    ),
    secret: Type.String({ minLength: 16, maxLength: 500, description: 'The key of the Offload-Signature header every request carries.' }),
    concurrency: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], { description: 'Most jobs outstanding in the group at once.' })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
    maxResponseBytes: Type.Optional(Type.Integer({ minimum: 1 })),
    callbackTimeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
    health: Type.Optional(
      Type.Object(
        { failures: Type.Optional(Type.Integer({ minimum: 1 })), probeAfterMs: Type.Optional(Type.Integer({ minimum: 1 })) },
        { additionalProperties: false },
      ),
    ),
    allowAddresses: Type.Optional(Type.Array(Type.String({ maxLength: 100 }), { maxItems: 100 })),
  },
  { additionalProperties: false, description: 'An endpoint group; absent fields take their defaults (docs/guides/push.md).' },
);

const EndpointHealth = Type.Object({
  id: Type.String(),
  healthy: Type.Boolean(),
  failures: Type.Integer(),
  probeAt: Type.Union([Iso, Type.Null()]),
  idle: Type.Union([Type.Integer(), Type.Null()]),
});

const GroupView = Type.Object({
  name: Type.String(),
  balancer: Type.String(),
  tasks: Type.Array(Type.String()),
  concurrency: Type.Integer(),
  timeoutMs: Type.Integer(),
  callbackTimeoutMs: Type.Integer(),
  endpoints: Type.Array(
    Type.Object({
      id: Type.String(),
      url: Type.String(),
      weight: Type.Integer(),
      concurrency: Type.Union([Type.Integer(), Type.Null()]),
      outstanding: Type.Integer({ description: 'Jobs outstanding there now, across every server.' }),
    }),
  ),
  health: Type.Union([Type.Array(EndpointHealth), Type.Null()], {
    description: "Each endpoint's health as this server sees it; null when push does not run here.",
  }),
  createdAt: Iso,
  updatedAt: Iso,
});

export const GroupResponse = Type.Object({ group: GroupView });
export const GroupsResponse = Type.Object({ groups: Type.Array(GroupView) });
export const GroupRemovedResponse = Type.Object({ removed: Type.String() });

const CallbackToken = Type.Object(
  { 'offload-callback-token': Type.String({ minLength: 10, maxLength: 200, description: "The token in the push's `callback.token`." }) },
  { additionalProperties: true },
);
export const CallbackHeaders = CallbackToken;

export const ProgressCallbackBody = Type.Object(
  { done: Type.Number(), total: Type.Number(), message: Type.Optional(Type.String({ maxLength: 1000 })) },
  { additionalProperties: false },
);
export const CompleteCallbackBody = Type.Object({ result: Type.Optional(Type.Unknown()) }, { additionalProperties: false });
export const FailCallbackBody = Type.Object(
  {
    error: Type.Union([
      Type.String({ maxLength: 10_000 }),
      Type.Object({ message: Type.String({ maxLength: 10_000 }), code: Type.Optional(Type.String({ maxLength: 100 })) }),
    ]),
    retryable: Type.Optional(Type.Boolean({ description: "false: fail now, whatever attempts are left (default true: retried per the task's policy)." })),
  },
  { additionalProperties: false },
);
export const CallbackResponse = Type.Object({ ok: Type.Literal(true) });
