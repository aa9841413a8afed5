import { Type, type Static } from '@sinclair/typebox';
import { API_ROLES } from '@subpack/rules';
import { DateTimeSchema } from './common';
import { noControlCharacters, rule, StringEnum } from './rules';

/** The HTTP methods the API audits: its writes (reads are not recorded). */
export const AUDITED_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'] as const;

/**
 * Longest text a request can put into a record (path, path parameter, forwarded address): the HTTP server refuses a
 * request whose request line or headers exceed 16 KiB (Node's default header limit).
 */
const REQUEST_TEXT_MAX_LENGTH = 16 * 1024;

export const AuditRecordSchema = Type.Object(
  {
    seq: Type.Integer({
      minimum: 1,
      description:
        'Number of the record in the API\'s audit trail, one more than the record before; GET /api/v1/audit lists the ' +
        'same records under the same numbers. A gap means records were dropped from the tap (or not published).',
    }),
    actor: Type.String({
      minLength: 1,
      maxLength: 256,
      allOf: [noControlCharacters],
      description: 'Who made the request: a user or API token name, or "anonymous" when the caller was not authenticated.',
    }),
    role: Type.Union([StringEnum(API_ROLES), Type.Null()], {
      description: 'The caller\'s role when the request was made; null for an anonymous caller.',
    }),
    action: Type.String({
      minLength: 1,
      maxLength: 128,
      allOf: [rule({ pattern: '^[A-Za-z][A-Za-z0-9]*$' }, 'must be an operationId of the API (letters and digits)')],
      description: 'What was asked: the operationId of the API operation (see the API\'s OpenAPI document), e.g. cancelTask.',
    }),
    method: StringEnum(AUDITED_METHODS, { description: 'HTTP method of the request.' }),
    path: Type.String({
      minLength: 1,
      maxLength: REQUEST_TEXT_MAX_LENGTH,
      allOf: [rule({ pattern: '^/[\\u0021-\\u007e]*$' }, 'must be a URL path (starting with "/", percent-encoded)')],
      description: 'URL path of the request as sent (percent-encoded), without the query string.',
    }),
    status: Type.Integer({ minimum: 100, maximum: 599, description: 'HTTP status of the answer; refusals (401, 403, 4xx) are recorded too.' }),
    subject: Type.Optional(
      Type.String({
        maxLength: REQUEST_TEXT_MAX_LENGTH,
        allOf: [noControlCharacters],
        description:
          'What the request was about, when the operation names it: a task id, user name, list id, token id, master ' +
          'id. Absent when the request was refused before the operation knew it.',
      }),
    ),
    ip: Type.String({
      minLength: 1,
      maxLength: REQUEST_TEXT_MAX_LENGTH,
      description:
        'The caller\'s address: the connection\'s peer, or the first X-Forwarded-For hop when the API is configured to ' +
        'trust its proxy (then as the client sent it, so a claim rather than a fact); "unknown" when neither is known.',
    }),
    at: DateTimeSchema('When the answer was sent.'),
  },
  {
    title: 'AuditRecord',
    description:
      'One write to the HTTP API (allowed or refused), published on the main exchange with routing key audit.recorded ' +
      'after the API stored it in Redis. It names who asked for what and how it was answered, never a request body, ' +
      'header, cookie, password or token: the fields are a closed list (no additional properties), so nothing else ' +
      'can travel with a record. Not an event (no task id, not under event.): the notifier never sees it.',
    additionalProperties: false,
    examples: [
      {
        seq: 1042,
        actor: 'ops',
        role: 'operator',
        action: 'cancelTask',
        method: 'POST',
        path: '/api/v1/tasks/release-2025-06-01.42/cancel',
        status: 200,
        subject: 'release-2025-06-01.42',
        ip: '203.0.113.7',
        at: '2025-06-01T12:00:30.000Z',
      },
      {
        seq: 1043,
        actor: 'anonymous',
        role: null,
        action: 'login',
        method: 'POST',
        path: '/api/v1/session',
        status: 401,
        subject: 'ops',
        ip: '198.51.100.23',
        at: '2025-06-01T12:00:31.000Z',
      },
    ],
  },
);
export type AuditRecord = Static<typeof AuditRecordSchema>;
