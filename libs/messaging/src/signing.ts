import { createHmac, timingSafeEqual } from 'node:crypto';
import { headerString, type AmqpHeaders } from './headers';

/** The header carrying a message's signature: base64 HMAC-SHA256 over "<routing key>\n<body>". */
export const SIGNATURE_HEADER = 'x-subpack-signature';

/** The shortest internal key accepted: 32 characters, as many bytes of HMAC key material as the digest has. */
export const MIN_INTERNAL_KEY_LENGTH = 32;

/** Why a message is parked without being looked at: it does not come from a service holding the internal key. */
export const FORGED_REASON = 'forged: no valid signature from a subpack service (SUBPACK_INTERNAL_KEY)';

/**
 * Signs what a service publishes for another service, and checks what arrives on an internal queue. The routing key
 * is signed with the body, so a signed channel.store job cannot be replayed as a pack.batch. During a rotation the
 * previous key is still accepted; messages are always signed with the current one.
 */
export class MessageSigner {
  private readonly keys: readonly Buffer[];

  constructor(key: string, previous?: string) {
    this.keys = [key, ...(previous ? [previous] : [])].map((k) => Buffer.from(k, 'utf8'));
  }

  sign(routingKey: string, body: Buffer): string {
    return mac(this.keys[0]!, routingKey, body).toString('base64');
  }

  /** True when `headers` carry a signature of `body` under `routingKey` with the current or the previous key. */
  verify(routingKey: string, body: Buffer, headers: AmqpHeaders): boolean {
    const given = headerString(headers, SIGNATURE_HEADER);
    if (given === undefined) return false;
    const signature = Buffer.from(given, 'base64');
    return this.keys.some((key) => {
      const expected = mac(key, routingKey, body);
      return signature.length === expected.length && timingSafeEqual(signature, expected);
    });
  }
}

function mac(key: Buffer, routingKey: string, body: Buffer): Buffer {
  return createHmac('sha256', key).update(routingKey, 'utf8').update('\n').update(body).digest();
}

/**
 * What a manager signs and checks: the signer, and for each internal queue the routing key its messages must be signed
 * under (retries reach the queue under another routing key, but carry the original signature).
 */
export interface SigningOptions {
  readonly signer: MessageSigner;
  readonly signedQueues: Readonly<Record<string, string>>;
}
