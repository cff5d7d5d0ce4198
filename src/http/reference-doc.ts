/**
 * docs/reference/http.md, rendered from the OpenAPI document (`npm run docs:http` writes it; a
 * test fails when it is out of date). The prose around the routes lives here too, so the whole
 * page is generated and cannot drift from the schemas.
 */

type Schema = Record<string, any>;

const PREAMBLE = `# HTTP API reference

<!-- Generated from the OpenAPI document by \`npm run docs:http\` (src/http/reference-doc.ts). Do not edit by hand. -->

\`offload start\` serves this API on **http://127.0.0.1:7070** by default (\`--http HOST:PORT\`,
\`--http off\`; see [the CLI](cli.md#offload-start)). The machine-readable contract is
\`GET /openapi.json\` (OpenAPI 3.1), generated from the same schemas that validate every request.
For agents in other languages, see the [agents guide](../guides/agents.md).

## Conventions

- **JSON in and out.** Bodies are \`Content-Type: application/json\` (anything else: 415). Unknown
  fields are rejected, naming the field. Ids are strings of digits (\`"42"\`); times are ISO 8601
  UTC strings on output, and ISO 8601 or epoch milliseconds on input.
- **Errors** are \`{"error":{"code":"…","message":"…","details":{…}}}\` with a 4xx/5xx status; every
  code is in [errors.md](errors.md). \`details.field\` names the offending field (\`body.priority\`,
  \`body[1].task\`, \`query.limit\`).
- **Jobs** have the same JSON shape as the CLI's \`--json\` (see [Job](#job)).
- **Tokens**: \`Authorization: Bearer ofl_…\`, made by \`offload token create NAME --scope S [--tasks P]\`.
  On a loopback listener a request without a token acts as admin; anywhere else every request
  needs one. Scopes: \`submit\` (submit, and read its tasks' jobs), \`work\` (claim, heartbeat,
  complete, fail, release), \`read\` (read), \`admin\` (everything). Task patterns (\`*\` wildcard)
  narrow every request to the tasks they match. Each route below says which scope it needs.
  The [dashboard](../guides/dashboard.md) logs in with a token (\`POST /dashboard/session\`) and
  then sends a session cookie instead; a request that changes something with that cookie must
  carry its \`Offload-CSRF\` header, and any browser request that changes something must come
  from this server's origin (\`Origin\`), else 403 \`CSRF_REFUSED\`.
- **Limits** (defaults): request body 4 MiB (\`--max-body\`; 413 \`PAYLOAD_TOO_LARGE\`), a job's input
  1 MiB of JSON (\`--max-input\`; 413 \`INPUT_TOO_LARGE\`), 1000 jobs per array or batch, long polls
  (\`waitMs\`, \`?wait\`) held at most 60 s, 64 long requests (waiting claims and submits, event
  streams) open per token (429), 10 failed authentications per address per minute (429 with
  \`Retry-After\`).
- **Audit log**: every request that acts (any method but GET), by a token or by the local caller
  without one, is written to the audit log once answered (\`GET /v1/audit\`, kept 90 days); work
  (routes of scope \`work\`, push callbacks) and submissions (scope \`submit\`; jobs record their
  \`origin\`) are not actions and are not logged.
- **Security headers** on every response: \`Content-Security-Policy: default-src 'none'\`,
  \`X-Content-Type-Options: nosniff\`, \`X-Frame-Options: DENY\`, \`Referrer-Policy: no-referrer\`,
  \`Cache-Control: no-store\`. No CORS: browsers on other origins cannot call the API.

## Routes
`;

const SCOPE_OF: Record<string, string> = {
  'POST /v1/jobs': 'submit',
  'GET /v1/jobs': 'read (submit: its tasks)',
  'GET /v1/jobs/{id}': 'read (submit: its tasks)',
  'POST /v1/jobs/{id}/cancel': 'admin',
  'POST /v1/jobs/{id}/retry': 'admin',
  'POST /v1/claim': 'work',
  'POST /v1/jobs/{id}/heartbeat': 'work',
  'POST /v1/jobs/{id}/complete': 'work',
  'POST /v1/jobs/{id}/fail': 'work',
  'POST /v1/jobs/{id}/release': 'work',
  'POST /v1/jobs/finish': 'work',
  'POST /v1/batches': 'submit',
  'GET /v1/batches/{id}': 'read (submit too)',
  'POST /v1/flows': 'submit',
  'GET /v1/flows/{id}': 'read (submit too)',
  'POST /v1/flows/{id}/cancel': 'admin',
  'GET /v1/tasks': 'read (submit too)',
  'GET /metrics': 'read (submit too)',
  'DELETE /v1/tasks/{task}/jobs': 'admin',
  'PUT /v1/tasks/{task}': 'work (its tasks)',
  'POST /v1/tasks/{task}/suspend': 'work (its tasks)',
  'POST /v1/tasks/{task}/resume': 'admin',
  'GET /v1/schedules': 'read (submit too)',
  'GET /v1/schedules/{name}': 'read (submit too)',
  'PUT /v1/schedules/{name}': 'admin',
  'POST /v1/schedules/{name}/pause': 'admin',
  'POST /v1/schedules/{name}/resume': 'admin',
  'POST /v1/schedules/{name}/run': 'admin',
  'DELETE /v1/schedules/{name}': 'admin',
  'GET /v1/rules': 'read (an unrestricted token)',
  'GET /v1/rules/{name}': 'read (an unrestricted token)',
  'PUT /v1/rules/{name}': 'admin (an unrestricted token)',
  'POST /v1/rules/{name}/pause': 'admin (an unrestricted token)',
  'POST /v1/rules/{name}/resume': 'admin (an unrestricted token)',
  'DELETE /v1/rules/{name}': 'admin (an unrestricted token)',
  'GET /v1/alerts': 'read (an unrestricted token)',
  'GET /v1/workers': 'read (submit too)',
  'POST /v1/workers/{id}/stop': 'admin (its tasks)',
  'POST /v1/jobs/bulk': 'admin (its tasks)',
  'GET /v1/errors': 'read (submit too; its tasks)',
  'GET /v1/tokens': 'admin (an unrestricted token)',
  'POST /v1/tokens': 'admin (an unrestricted token)',
  'DELETE /v1/tokens/{name}': 'admin (an unrestricted token)',
  'GET /v1/audit': 'admin (an unrestricted token)',
  'GET /v1/events': 'read (submit too)',
  'GET /v1/health': 'any',
  'GET /openapi.json': 'any',
};

const ORDER = ['jobs', 'agents', 'batches', 'flows', 'tasks', 'schedules', 'rules', 'workers', 'tokens', 'audit', 'events', 'meta'];

export function renderHttpReference(doc: Schema): string {
  const out = [PREAMBLE];
  const ops: { method: string; path: string; op: Schema }[] = [];
  for (const [path, methods] of Object.entries(doc.paths as Record<string, Schema>)) {
    for (const [method, op] of Object.entries(methods)) ops.push({ method: method.toUpperCase(), path, op });
  }
  const rank = (o: { op: Schema }) => ORDER.indexOf(o.op.tags?.[0] ?? 'meta');
  ops.sort((a, b) => rank(a) - rank(b));
  for (const { method, path, op } of ops) out.push(renderOperation(method, path, op));
  out.push('## Schemas\n');
  for (const [name, schema] of Object.entries(doc.components.schemas as Record<string, Schema>)) {
    out.push(`### ${name}\n`);
    if (schema.description) out.push(`${schema.description}\n`);
    out.push(fieldTable(schema));
  }
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

function renderOperation(method: string, path: string, op: Schema): string {
  const lines = [`### \`${method} ${path}\`\n`, `${op.summary}.`, ''];
  if (op.description) lines.push(op.description, '');
  lines.push(`Scope: ${SCOPE_OF[`${method} ${path}`] ?? 'any'}.`, '');
  const params = (op.parameters ?? []) as Schema[];
  if (params.length) {
    lines.push('| parameter | in | type | description |', '|---|---|---|---|');
    for (const p of params)
      lines.push(`| \`${p.name}\`${p.required ? '' : '?'} | ${p.in} | ${typeOf(p.schema)} | ${cell(p.description ?? p.schema.description ?? '')} |`);
    lines.push('');
  }
  const body = op.requestBody?.content?.['application/json']?.schema as Schema | undefined;
  if (body) {
    lines.push('Request body:', '');
    if (body.anyOf) {
      for (const branch of body.anyOf as Schema[]) lines.push(`- ${typeOf(branch)}${branch.description ? `: ${branch.description}` : ''}`);
      lines.push('');
      const object = (body.anyOf as Schema[]).find((b) => b.type === 'object');
      if (object) lines.push(fieldTable(object));
    } else lines.push(fieldTable(body));
  }
  lines.push('Responses:', '');
  const errors: string[] = [];
  for (const [status, r] of Object.entries(op.responses as Record<string, Schema>)) {
    const content = r.content ?? {};
    const type = Object.keys(content)[0];
    const schema = content[type!]?.schema as Schema | undefined;
    if (schema?.$ref === '#/components/schemas/Error') {
      errors.push(status);
      continue;
    }
    const shape = type !== undefined && type !== 'application/json' ? `\`${type}\`` : schema ? typeOf(schema) : '';
    lines.push(`- **${status}** ${r.description}${shape ? ` — ${shape}` : ''}`);
  }
  if (errors.length) lines.push(`- **${errors.join(', ')}** — [Error](#error)`);
  lines.push('');
  return lines.join('\n');
}

function fieldTable(schema: Schema): string {
  const props = (schema.properties ?? {}) as Record<string, Schema>;
  const required = new Set<string>(schema.required ?? []);
  const rows = Object.entries(props).map(([name, p]) => `| \`${name}\`${required.has(name) ? '' : '?'} | ${typeOf(p)} | ${cell(p.description ?? '')} |`);
  if (rows.length === 0) return '';
  return ['| field | type | description |', '|---|---|---|', ...rows, ''].join('\n');
}

/** A short, readable type: `string (1–255 chars)`, `Job[]`, `integer ≥ 0`, `"queued" \| …`. */
export function typeOf(s: Schema | undefined): string {
  if (!s || Object.keys(s).filter((k) => k !== 'description').length === 0) return 'any JSON';
  if (s.$ref) {
    const name = String(s.$ref).split('/').pop()!;
    return `[${name}](#${name.toLowerCase()})`;
  }
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.anyOf) return (s.anyOf as Schema[]).map(typeOf).join(' \\| ');
  if (s.type === 'array') return `${typeOf(s.items)}[]${range(s.minItems, s.maxItems, ' items')}`;
  if (s.type === 'object') {
    if (!s.properties) return 'object';
    const inner = Object.entries(s.properties as Record<string, Schema>).map(([k, v]) => `${k}${(s.required ?? []).includes(k) ? '' : '?'}: ${typeOf(v)}`);
    return `{ ${inner.join(', ')} }`;
  }
  if (s.type === 'string') {
    if (s.format) return `string (${s.format})`;
    return `string${range(s.minLength, s.maxLength, ' chars')}`;
  }
  if (s.type === 'integer' || s.type === 'number') return `${s.type}${range(s.minimum, s.maximum, '')}`;
  return String(s.type ?? 'any JSON');
}

function range(min: number | undefined, max: number | undefined, unit: string): string {
  if (min !== undefined && max !== undefined) return ` (${min}–${max}${unit})`;
  if (min !== undefined) return ` (≥ ${min}${unit})`;
  if (max !== undefined) return ` (≤ ${max}${unit})`;
  return '';
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
