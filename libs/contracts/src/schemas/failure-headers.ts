import { Type, type Static } from '@sinclair/typebox';
import { DateTimeSchema, REASON_MAX_LENGTH } from './common';
import { StringEnum } from './rules';

/**
 * The project's own failure headers. Retry decisions read these, never `x-death`: RabbitMQ 3.13+/4.x stop updating
 * x-death when a client republishes.
 */
export const HEADERS = {
  attempt: 'x-subpack-attempt',
  error: 'x-subpack-error',
  errorClass: 'x-subpack-error-class',
  originQueue: 'x-subpack-origin-queue',
  originRoutingKey: 'x-subpack-origin-routing-key',
  tier: 'x-subpack-tier',
  parkedAt: 'x-subpack-parked-at',
  failedAt: 'x-subpack-failed-at',
  truncatedFrom: 'x-subpack-truncated-from',
} as const;

/**
 * The header the retry exchange routes on. RabbitMQ's headers exchange ignores binding arguments whose name starts with
 * "x-": a binding on x-subpack-tier would match every message and copy each retry into every tier queue. So the
 * retry-scheduler sets both: this one for routing, x-subpack-tier for people reading the message.
 */
export const TIER_ROUTING_HEADER = 'subpack-tier';

export const ERROR_CLASSES = ['permanent', 'transient'] as const;
export type ErrorClass = (typeof ERROR_CLASSES)[number];

export const FailureHeadersSchema = Type.Object(
  {
    [HEADERS.attempt]: Type.Optional(
      Type.Integer({ minimum: 1, description: 'How many times the message has failed; 1 = first failure.' }),
    ),
    [HEADERS.error]: Type.Optional(Type.String({ maxLength: REASON_MAX_LENGTH, description: 'Human-readable reason of the last failure.' })),
    [HEADERS.errorClass]: Type.Optional(
      StringEnum(ERROR_CLASSES, { description: 'permanent (bad input: park at once) or transient (retry later).' }),
    ),
    [HEADERS.originQueue]: Type.Optional(Type.String({ minLength: 1, description: 'Queue the message failed in.' })),
    [HEADERS.originRoutingKey]: Type.Optional(
      Type.String({ description: 'Routing key the message was originally published with.' }),
    ),
    [HEADERS.tier]: Type.Optional(Type.String({ minLength: 1, description: 'Retry tier the message waits in, e.g. 30s.' })),
    [TIER_ROUTING_HEADER]: Type.Optional(
      Type.String({ minLength: 1, description: 'Same as x-subpack-tier; the retry exchange routes on this one.' }),
    ),
    [HEADERS.parkedAt]: Type.Optional(DateTimeSchema('When the message was parked.')),
    [HEADERS.failedAt]: Type.Optional(DateTimeSchema('When the message last failed.')),
    [HEADERS.truncatedFrom]: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'Set on a parked message whose body was cut to the parking limit: the original body size in bytes.',
      }),
    ),
  },
  {
    title: 'FailureHeaders',
    description:
      'AMQP headers set on a message once it has failed (dead, retry and parked paths, and on re-delivery after a ' +
      'retry). Absent on a first delivery. Other headers (x-death, tracing) may be present and are ignored.',
    examples: [
      {
        [HEADERS.attempt]: 2,
        [HEADERS.error]: 'ECONNRESET while writing to storage',
        [HEADERS.errorClass]: 'transient',
        [HEADERS.originQueue]: 'subpack.uploader.store',
        [HEADERS.originRoutingKey]: 'channel.store',
        [HEADERS.tier]: '30s',
        [TIER_ROUTING_HEADER]: '30s',
        [HEADERS.failedAt]: '2025-06-01T12:00:05.000Z',
      },
    ],
  },
);
export type FailureHeaders = Static<typeof FailureHeadersSchema>;
