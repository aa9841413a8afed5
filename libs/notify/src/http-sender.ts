import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { checkedAddress, DeliveryRefusedError, type CheckedAddress, type HostAllowlist, type Lookup } from './address-policy';
import type { OutgoingRequest } from './formats';

export interface SendOptions {
  readonly allowlist: HostAllowlist;
  /** Whole request, connect to last byte. */
  readonly timeoutMs: number;
  /** Larger responses are cut off here (only robots' replies are read at all). */
  readonly maxResponseBytes: number;
  readonly lookup?: Lookup;
}

export type SendOutcome =
  | { readonly ok: true; readonly status: number; readonly body: string }
  | { readonly ok: false; readonly permanent: boolean; readonly reason: string; readonly status?: number };

/** Statuses worth retrying; any other 4xx means the request itself is wrong. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * POSTs one request to an allowed, checked address: no redirects, a deadline, a response size cap. Never throws for
 * a delivery problem; the outcome says whether retrying could help. Reasons name the host, never the path or query
 * (robots keep tokens there).
 */
export async function sendRequest(outgoing: OutgoingRequest, options: SendOptions): Promise<SendOutcome> {
  let target: CheckedAddress;
  try {
    target = await checkedAddress(outgoing.url, options.allowlist, options.lookup);
  } catch (error) {
    const permanent = error instanceof DeliveryRefusedError;
    return { ok: false, permanent, reason: error instanceof Error ? error.message : String(error) };
  }
  let response: { status: number; body: string };
  try {
    response = await post(outgoing, target, options);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, permanent: false, reason: `request to ${target.hostname} failed: ${message}` };
  }
  const { status } = response;
  if (status >= 200 && status < 300) return { ok: true, status, body: response.body };
  if (status >= 300 && status < 400) {
    return { ok: false, permanent: true, status, reason: `${target.hostname} answered ${status}; redirects are not followed` };
  }
  return { ok: false, permanent: !isRetryableStatus(status), status, reason: `${target.hostname} answered ${status}` };
}

function post(outgoing: OutgoingRequest, target: CheckedAddress, options: SendOptions): Promise<{ status: number; body: string }> {
  const url = new URL(outgoing.url);
  const body = Buffer.from(outgoing.body, 'utf8');
  // Connect to the address that was checked; TLS still verifies the certificate against the host name.
  const pinned: LookupFunction = (_hostname, lookupOptions, callback) => {
    if (lookupOptions.all === true) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(
      url,
      {
        method: 'POST',
        lookup: pinned,
        headers: { ...outgoing.headers, 'content-length': String(body.length), 'user-agent': 'subpack-notifier' },
        signal: AbortSignal.timeout(options.timeoutMs),
      },
      (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          if (size >= options.maxResponseBytes) return;
          chunks.push(chunk.subarray(0, options.maxResponseBytes - size));
          size += chunk.length;
          if (size >= options.maxResponseBytes) response.destroy();
        });
        const finish = (): void => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        response.on('end', finish);
        response.on('close', finish);
        response.on('error', (error) => (size >= options.maxResponseBytes ? finish() : reject(error)));
      },
    );
    request.on('error', (error: Error) => {
      reject(error.name === 'AbortError' || error.name === 'TimeoutError' ? new Error(`no answer within ${options.timeoutMs} ms`) : error);
    });
    request.end(body);
  });
}
