import { Type, type TSchema } from '@sinclair/typebox';
import { PROBLEM_CODES } from '@subpack/rules';
import { API_PREFIX } from './router';
import { WRITE_METHODS, type Route } from './route';

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'A URI naming the kind of problem.' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String({ description: 'What is wrong, in words a person can act on.' }),
    code: Type.String({ description: `One of ${PROBLEM_CODES.join(', ')}, or the machine code of a refused APK or rule (e.g. NOT_A_ZIP).` }),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Unknown(), { description: 'Each problem of the input, e.g. one per channel line.' })),
  },
  { title: 'Problem', description: 'RFC 9457 problem details.' },
);

function plain(schema: TSchema): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
}

/** The refusals every route of an access level can give, beside its own answers. */
function commonRefusals(route: Route): Record<string, string> {
  const out: Record<string, string> = {};
  if (route.access !== 'public') {
    out['401'] = 'Not signed in, or the token expired or was revoked.';
    out['403'] = `The caller's role is below ${route.access}, or a signed-in write lacks X-CSRF-Token.`;
  }
  if (route.body !== undefined || route.query !== undefined) out['422'] = 'The input breaks its schema or the shared rules.';
  if (route.body !== undefined) {
    out['400'] = 'The body is not JSON.';
    out['413'] = 'The body is too large.';
    out['415'] = 'The body is not application/json.';
  }
  return out;
}

function queryParameters(route: Route): Record<string, unknown>[] {
  const query = route.query;
  if (query === undefined) return [];
  const required = new Set(query.required ?? []);
  return Object.entries(query.properties).map(([name, schema]) => {
    const s = plain(schema);
    return { name, in: 'query', required: required.has(name), ...(typeof s['description'] === 'string' ? { description: s['description'] } : {}), schema: s };
  });
}

function pathParameters(route: Route): Record<string, unknown>[] {
  return [...route.path.matchAll(/\{([A-Za-z]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
}

/**
 * The OpenAPI 3.1 document of the route table: the same TypeBox schemas the router validates with, so the document and
 * the server cannot disagree. Each operation names the role it needs in `x-subpack-role`.
 */
export function openApiDocument(routes: readonly Route[], info: { version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const responses: Record<string, unknown> = {};
    for (const [status, spec] of Object.entries(route.responses)) {
      const content = spec.schema !== undefined ? { 'application/json': { schema: plain(spec.schema) } } : spec.contentType !== undefined ? { [spec.contentType]: {} } : undefined;
      responses[status] = { description: spec.description, ...(content ? { content } : {}) };
    }
    for (const [status, description] of Object.entries(commonRefusals(route))) {
      responses[status] ??= { description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
    }
    const operation: Record<string, unknown> = {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      'x-subpack-role': route.access,
      parameters: [...pathParameters(route), ...queryParameters(route)],
      ...(route.body !== undefined ? { requestBody: { required: true, content: { 'application/json': { schema: plain(route.body) } } } } : {}),
      responses,
      security: route.access === 'public' ? [] : [{ session: [] }, { bearer: [] }],
    };
    if (WRITE_METHODS.has(route.method) && route.access !== 'public') operation['description'] = 'Signed-in callers send X-CSRF-Token; token callers do not.';
    (paths[`${API_PREFIX}${route.path}`] ??= {})[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'subpack API', version: info.version, description: 'Channel packs: masters, channel lists, destinations, tasks, links, live progress.' },
    paths,
    components: {
      schemas: { Problem: plain(ProblemSchema) },
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: 'subpack_session' },
        bearer: { type: 'http', scheme: 'bearer', description: 'An API token (spk_…) created by an admin.' },
      },
    },
  };
}
