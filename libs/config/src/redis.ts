import { urlWithoutCredentials } from './display-url';
import { ConfigError, int, optionalStr, type Field } from './fields';

/** Where the services and the CLI find Redis: one server by URL, or a primary found through Redis Sentinel. */
export type RedisTarget =
  | { readonly kind: 'url'; readonly url: string }
  | {
      readonly kind: 'sentinel';
      readonly sentinels: readonly { readonly host: string; readonly port: number }[];
      /** The name the sentinels monitor the primary under (`sentinel monitor <name> …`). */
      readonly name: string;
      readonly sentinelPassword?: string;
      /** Password of the primary and replicas themselves. */
      readonly password?: string;
      /** Replicas that must confirm a write that decides an outcome (WAIT) before it is acted on. */
      readonly waitReplicas: number;
    };

const REDIS_URL_DEFAULT = 'redis://127.0.0.1:6379';

/** `host:port` pairs, comma-separated; an IPv6 host is written in brackets. */
export const hostPorts = (env: string): Field<{ host: string; port: number }[]> => ({
  env,
  describe: 'comma-separated host:port pairs',
  optional: true,
  parse: (raw) =>
    raw.split(',').map((item) => {
      const m = /^\s*(\[[^\]]+\]|[^:\s]+):(\d{1,5})\s*$/.exec(item);
      const port = Number(m?.[2]);
      if (!m || port < 1 || port > 65535) throw new Error(`entry "${item.trim()}" is not host:port`);
      return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
    }),
});

const optionalSecret = (env: string, describe: string): Field<string> => ({ env, describe, optional: true, secret: true, parse: (raw) => raw });

/** The Redis variables: REDIS_URL for one server, or the REDIS_SENTINEL_* ones for a replicated Redis with failover. */
export const REDIS_CONFIG = {
  redisUrl: urlField(),
  redisSentinels: hostPorts('REDIS_SENTINELS'),
  redisSentinelMaster: optionalStr('REDIS_SENTINEL_MASTER', 'the primary name the sentinels monitor (with REDIS_SENTINELS)'),
  redisSentinelPassword: optionalSecret('REDIS_SENTINEL_PASSWORD', 'password of the sentinels (with REDIS_SENTINELS)'),
  redisPassword: optionalSecret('REDIS_PASSWORD', 'password of the Redis primary and replicas (with REDIS_SENTINELS; REDIS_URL carries its own)'),
  redisWaitReplicas: { ...int('SUBPACK_REDIS_WAIT_REPLICAS', undefined, 0, 16), optional: true } as Field<number>,
};

function urlField(): Field<string> {
  return {
    env: 'REDIS_URL',
    describe: `a redis:/rediss: URL (default ${REDIS_URL_DEFAULT}); not together with REDIS_SENTINELS`,
    optional: true,
    parse: (raw) => {
      let u: URL;
      try {
        u = new URL(raw);
      } catch {
        throw new Error('must be a URL like redis://host:port');
      }
      if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error(`must use redis: or rediss:, not ${u.protocol}`);
      return raw;
    },
  };
}

export interface RedisSettings {
  redisUrl?: string | undefined;
  redisSentinels?: { host: string; port: number }[] | undefined;
  redisSentinelMaster?: string | undefined;
  redisSentinelPassword?: string | undefined;
  redisPassword?: string | undefined;
  redisWaitReplicas?: number | undefined;
}

/**
 * The one Redis the settings point at. Both REDIS_URL and REDIS_SENTINELS set is an error (which one was meant?), and
 * so are sentinel settings without the sentinels or the primary's name.
 */
export function redisTarget(settings: RedisSettings): RedisTarget {
  const { redisUrl, redisSentinels, redisSentinelMaster, redisSentinelPassword, redisPassword, redisWaitReplicas } = settings;
  if (redisSentinels === undefined) {
    const stray = [
      ['REDIS_SENTINEL_MASTER', redisSentinelMaster],
      ['REDIS_SENTINEL_PASSWORD', redisSentinelPassword],
      ['REDIS_PASSWORD', redisPassword],
      ['SUBPACK_REDIS_WAIT_REPLICAS', redisWaitReplicas],
    ].filter(([, v]) => v !== undefined);
    if (stray.length > 0) throw new ConfigError([`${stray.map(([k]) => k).join(' and ')} set without REDIS_SENTINELS (REDIS_URL carries its own password)`]);
    return { kind: 'url', url: redisUrl ?? REDIS_URL_DEFAULT };
  }
  const problems: string[] = [];
  if (redisUrl !== undefined) problems.push('REDIS_URL and REDIS_SENTINELS are both set: use REDIS_URL for one Redis server or REDIS_SENTINELS with REDIS_SENTINEL_MASTER for Sentinel, not both');
  if (redisSentinelMaster === undefined) problems.push('REDIS_SENTINEL_MASTER is required with REDIS_SENTINELS (the primary name the sentinels monitor)');
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    kind: 'sentinel',
    sentinels: redisSentinels,
    name: redisSentinelMaster!,
    waitReplicas: redisWaitReplicas ?? 1,
    ...(redisSentinelPassword !== undefined ? { sentinelPassword: redisSentinelPassword } : {}),
    ...(redisPassword !== undefined ? { password: redisPassword } : {}),
  };
}

/** Where a target points, for logs: no password. */
export function describeRedisTarget(target: RedisTarget): string {
  if (target.kind === 'sentinel') return `primary "${target.name}" via sentinels ${target.sentinels.map((s) => `${s.host}:${s.port}`).join(',')}`;
  return urlWithoutCredentials(target.url);
}
