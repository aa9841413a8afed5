import { Type } from '@sinclair/typebox';
import { NOTIFY_FORMATS, validateNotifySubscriptions } from '@subpack/contracts';
import { sendTestDelivery, type HostAllowlist } from '@subpack/notify';
import { problem } from '../http/problem';
import { defineRoute, type Route } from '../http/route';

/** How long a test delivery waits for the receiver. */
const TEST_TIMEOUT_MS = 10_000;

const TestResultSchema = Type.Object(
  { delivered: Type.Literal(true), status: Type.Integer(), deliveryId: Type.String(), format: Type.String(), signed: Type.Boolean() },
  { title: 'TestDelivery' },
);

/** "Send a test" for a webhook a person is about to subscribe a task to, as `subpack notify test` does. */
export function notifyRoutes(allowlist: HostAllowlist): Route[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/notify/test',
      access: 'operator',
      operationId: 'testNotification',
      summary: 'Sign and send one sample task.completed to a webhook through the notifier’s checks, to try a receiver',
      tag: 'tasks',
      body: Type.Object(
        {
          url: Type.String({ maxLength: 2048 }),
          format: Type.Optional(Type.Union(NOTIFY_FORMATS.map((f) => Type.Literal(f)))),
          secret: Type.Optional(Type.String({ maxLength: 512 })),
        },
        { additionalProperties: false },
      ),
      bodyLimit: 8 * 1024,
      responses: { 200: { description: 'The receiver accepted it.', schema: TestResultSchema }, 422: { description: 'Refused (the allowlist, the URL) or not accepted by the receiver, with the reason.' } },
      handle: async ({ body, note }) => {
        const raw = { url: body.url, format: body.format ?? 'json', ...(body.secret !== undefined ? { secret: body.secret } : {}) };
        const checked = validateNotifySubscriptions([raw], 'subscription');
        if (!checked.ok) throw problem('INVALID_INPUT', checked.errors.join('; '), { errors: checked.errors });
        note(new URL(body.url).origin);
        const outcome = await sendTestDelivery(raw, { allowlist, timeoutMs: TEST_TIMEOUT_MS });
        if (!outcome.delivered) throw problem('INVALID_INPUT', `not delivered: ${outcome.reason}${outcome.permanent ? '' : ' (the notifier would retry this)'}`);
        return { body: outcome };
      },
    }),
  ];
}
