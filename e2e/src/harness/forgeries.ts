import assert from 'node:assert/strict';
import { internalSignature } from './broker';
import { headerText, type QueueSpy, type SpiedMessage } from './queue-spy';
import type { E2eStack } from './stack';

/** The parked copy of a message, found by its exact body. */
export function parkedCopy(parked: QueueSpy, body: unknown): SpiedMessage | undefined {
  return parked.messages.find((m) => m.body.equals(Buffer.from(JSON.stringify(body))));
}

/** An internal message a service must refuse, and the reason it must park it with. */
export interface Forgery {
  name: string;
  body: unknown;
  reason: RegExp;
}

/**
 * Publishes each message on `routingKey` signed with the services' key (so a refusal comes from what the service
 * checks, not from the signature), waits until all are parked and checks each one is parked for good with its reason.
 * `what` names them in the wait (e.g. "jobs").
 */
export async function expectSignedForgeriesParked(
  stack: E2eStack,
  spies: { tap: QueueSpy; parked: QueueSpy },
  routingKey: string,
  forgeries: readonly Forgery[],
  what: string,
): Promise<void> {
  const { tap, parked } = spies;
  for (const forgery of forgeries) await stack.publishTask(forgery.body, { routingKey, headers: internalSignature(routingKey, forgery.body) });
  await parked.waitFor(`${forgeries.length} parked ${what}`, (m) => m.length >= forgeries.length, 30_000, () => stack.describe(tap));
  for (const forgery of forgeries) {
    const message = parkedCopy(parked, forgery.body);
    assert.ok(message, `${forgery.name}: parked`);
    assert.match(headerText(message, 'x-subpack-error'), forgery.reason, forgery.name);
    assert.equal(message.headers['x-subpack-error-class'], 'permanent', `${forgery.name}: permanent`);
  }
}
