/** API tokens over HTTP (admin): list (never hashes or secrets), create (the secret answered once), revoke. The same functions as `offload token …`. */
import { createToken, listTokens, revokeToken, tokenInfo } from '../../auth/tokens.js';
import { requireEveryTask } from '../access.js';
import type { Api, ApiContext } from '../context.js';
import { CreateTokenBody, CreateTokenResponse, RevokeTokenResponse, TokenParams, TokensQuery, TokensResponse } from '../dashboard-schemas.js';
import { errorResponses } from '../schemas.js';

const errors = errorResponses(400, 401, 403, 404, 413, 415, 429);

export function tokenRoutes(app: Api, ctx: ApiContext): void {
  const { offload } = ctx;

  app.get(
    '/v1/tokens',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'List API tokens: name, scope, task patterns, times; never a secret or its hash',
        description: 'What `offload token list` shows. `?all=true` includes revoked tokens.',
        tags: ['tokens'],
        querystring: TokensQuery,
        response: { 200: TokensResponse, ...errors },
      },
    },
    async (request) => {
      requireEveryTask(request, 'tokens');
      return { tokens: await listTokens(offload.store, { includeRevoked: request.query.all }) };
    },
  );

  app.post(
    '/v1/tokens',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Create an API token; the answer carries its secret, the only time it is shown',
        description:
          'What `offload token create` does. The store keeps only a hash of the secret: keep the answer. ' +
          '400 INVALID_OPTION when the name is taken or a task pattern is not one.',
        tags: ['tokens'],
        body: CreateTokenBody,
        response: { 201: CreateTokenResponse, ...errors },
      },
    },
    async (request, reply) => {
      // A token narrowed to some tasks could otherwise make one that is not.
      requireEveryTask(request, 'tokens');
      const { token, secret } = await createToken(offload.store, offload.clock, request.body);
      request.auditTargets = [token.name];
      void reply.code(201);
      return { token: tokenInfo(token), secret };
    },
  );

  app.delete(
    '/v1/tokens/:name',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Revoke a token: requests carrying it get 401 from then on',
        description: 'What `offload token revoke` does. 404 TOKEN_NOT_FOUND when no active token has this name.',
        tags: ['tokens'],
        params: TokenParams,
        response: { 200: RevokeTokenResponse, ...errors },
      },
    },
    async (request) => {
      requireEveryTask(request, 'tokens');
      await revokeToken(offload.store, offload.clock, request.params.name);
      return { name: request.params.name, revoked: true as const };
    },
  );
}
