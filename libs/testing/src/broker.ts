import { randomBytes } from 'node:crypto';
import { run } from './tools';

export interface Vhost {
  readonly name: string;
  /** The broker URL with this vhost as its path. */
  readonly amqpUrl: string;
}

export function amqpUrlFor(brokerUrl: string, vhost: string): string {
  const url = new URL(brokerUrl);
  url.pathname = `/${encodeURIComponent(vhost)}`;
  return url.href;
}

/**
 * A fresh vhost the URL's user may use fully: the production exchange and queue names can be declared in it without
 * touching anyone else's on a shared broker. rabbitmqctl starts an Erlang VM per call (about a second).
 */
export async function createVhost(brokerUrl: string, label: string): Promise<Vhost> {
  const name = `${label}-${randomBytes(4).toString('hex')}`;
  const user = decodeURIComponent(new URL(brokerUrl).username) || 'guest';
  await run('rabbitmqctl', ['add_vhost', name]);
  await run('rabbitmqctl', ['set_permissions', '-p', name, user, '.*', '.*', '.*']);
  return { name, amqpUrl: amqpUrlFor(brokerUrl, name) };
}

export async function deleteVhost(vhost: Vhost): Promise<void> {
  await run('rabbitmqctl', ['delete_vhost', vhost.name]);
}
