import { createHash } from 'node:crypto';
import {
  DEFAULT_NOTIFY_FORMAT,
  DEFAULT_NOTIFY_LEVEL,
  type Notify,
  type NotifyFormat,
  type NotifyLevel,
  type NotifySubscription,
  type SubscriptionSource,
} from '@subpack/contracts';

/** A subscription with its defaults applied and its secret looked up. Never log it whole: it may hold a secret. */
export interface Subscription {
  readonly source: SubscriptionSource;
  /** Digest of url, format and level: names the subscription in deliveries, logs and events instead of its URL. */
  readonly key: string;
  readonly url: string;
  readonly level: NotifyLevel;
  readonly format: NotifyFormat;
  readonly secret?: string;
}

export class SubscriptionError extends Error {
  override readonly name = 'SubscriptionError';
}

/** Secrets the notifier knows by name (SUBPACK_NOTIFY_SECRET_<name>), and the default json secret. */
export interface SecretBook {
  readonly named: ReadonlyMap<string, string>;
  readonly defaultJsonSecret?: string;
}

/** Both forms of a task's `notify` as a list: the single-webhook object is one json subscription. */
export function subscriptionList(notify: Notify | undefined): NotifySubscription[] {
  if (notify === undefined) return [];
  if (Array.isArray(notify)) return [...notify];
  if (notify.webhook === undefined) return [];
  return [{ url: notify.webhook, format: 'json', ...(notify.level !== undefined ? { level: notify.level } : {}) }];
}

export function subscriptionKey(url: string, format: NotifyFormat, level: NotifyLevel): string {
  return createHash('sha256').update(`${format}\n${level}\n${url}`).digest('hex').slice(0, 16);
}

/** Where a subscription sends and what it gets, without its secret: enough to route events to it. */
export type SubscriptionTarget = Omit<Subscription, 'secret'>;

export function subscriptionTarget(source: SubscriptionSource, raw: NotifySubscription): SubscriptionTarget {
  const format = raw.format ?? DEFAULT_NOTIFY_FORMAT;
  const level = raw.level ?? DEFAULT_NOTIFY_LEVEL;
  return { source, key: subscriptionKey(raw.url, format, level), url: raw.url, level, format };
}

/**
 * Applies the defaults and looks the secret up. A secretRef the notifier does not know is an error that names the
 * reference, never a secret.
 */
export function resolveSubscription(source: SubscriptionSource, raw: NotifySubscription, secrets: SecretBook): Subscription {
  const target = subscriptionTarget(source, raw);
  let secret = raw.secret;
  if (raw.secretRef !== undefined) {
    secret = secrets.named.get(raw.secretRef);
    if (secret === undefined) {
      throw new SubscriptionError(`secretRef "${raw.secretRef}" is not configured (SUBPACK_NOTIFY_SECRET_${raw.secretRef})`);
    }
  }
  if (secret === undefined && target.format === 'json') secret = secrets.defaultJsonSecret;
  return { ...target, ...(secret !== undefined ? { secret } : {}) };
}

/** Scheme, host and port: robots keep their tokens in the path or query, so nothing more is ever shown. */
export function urlOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}

/** How a subscription is named in logs, errors and events. */
export function describeSubscription(subscription: Pick<Subscription, 'url' | 'format' | 'key'>): string {
  return `${subscription.format} subscription ${subscription.key} (${urlOrigin(subscription.url)})`;
}
