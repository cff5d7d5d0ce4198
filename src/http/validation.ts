/**
 * Request validation from the route schemas (TypeBox, compiled once per route). A failure becomes
 * an InvalidRequestError naming the first offending field: `unknown field "x" in body`,
 * `body.priority must be integer`, `missing field "task" in body`.
 */
import type { FastifySchemaCompiler } from 'fastify';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';
import { InvalidIdError, InvalidRequestError } from '../core/errors.js';

interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message: string;
}

type Part = 'body' | 'query' | 'params' | 'headers';

const PART_NAMES: Record<string, Part> = { body: 'body', querystring: 'query', params: 'params', headers: 'headers' };

export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const part = PART_NAMES[httpPart ?? 'body'] ?? 'body';
  const check = Compile(schema);
  return (value: unknown) => {
    // Query strings and path parameters arrive as text: "10" may be the integer 10.
    const converted = part === 'body' ? value : Value.Convert(schema, value);
    if (check.Check(converted)) return { value: converted };
    return { error: explain(schema, converted, part) };
  };
};

/** The most useful single error: for a union, the branch whose type fits the value. */
export function explain(schema: TSchema, value: unknown, part: Part): Error {
  const s = schema as { anyOf?: TSchema[] };
  if (part === 'body' && value === undefined) return new InvalidRequestError('body', 'is required (send a JSON document)');
  if (s.anyOf) {
    const branch = s.anyOf.find((b) => jsonTypeFits((b as { type?: string }).type, value));
    if (branch) return explain(branch, value, part);
  }
  const errors = (Compile(schema).Errors(value) as SchemaError[]).filter((e) => e.keyword !== 'boolean');
  const first = pick(errors);
  if (!first) return new InvalidRequestError(part, 'does not match the schema');
  return toRequestError(first, part, schema, value);
}

function pick(errors: SchemaError[]): SchemaError | undefined {
  // Unknown and missing fields say the most; then the deepest error (the leaf that is wrong).
  return (
    errors.find((e) => e.keyword === 'additionalProperties') ??
    errors.find((e) => e.keyword === 'required') ??
    [...errors].sort((a, b) => b.instancePath.length - a.instancePath.length)[0]
  );
}

function toRequestError(e: SchemaError, part: Part, schema: TSchema, value: unknown): Error {
  const where = fieldName(part, e.instancePath);
  if (e.keyword === 'additionalProperties') {
    const names = e.params.additionalProperties as string[];
    return new InvalidRequestError(
      `${where}.${names[0]}`,
      `is not a known field${
        names.length > 1
          ? ` (nor are ${names
              .slice(1)
              .map((n) => `"${n}"`)
              .join(', ')})`
          : ''
      }`,
    );
  }
  if (e.keyword === 'required') {
    const names = e.params.requiredProperties as string[];
    return new InvalidRequestError(`${where}.${names[0]}`, 'is required');
  }
  if (part === 'params' && e.instancePath === '/id') {
    // Ids have their own code, the same the library and the CLI give.
    const idSchema = (schema as { properties?: { id?: { description?: string } } }).properties?.id;
    const kind = idSchema?.description?.toLowerCase().includes('batch') ? 'batch' : 'job';
    return new InvalidIdError(kind, (value as { id?: unknown }).id);
  }
  return new InvalidRequestError(where, e.keyword === 'anyOf' ? 'has the wrong type' : e.message);
}

function fieldName(part: Part, pointer: string): string {
  let out: string = part;
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(seg) ? `[${seg}]` : `.${seg}`;
  }
  return out;
}

function jsonTypeFits(type: string | undefined, value: unknown): boolean {
  if (type === 'array') return Array.isArray(value);
  if (type === 'object') return typeof value === 'object' && value !== null && !Array.isArray(value);
  if (type === 'string') return typeof value === 'string';
  if (type === 'integer' || type === 'number') return typeof value === 'number';
  return false;
}
