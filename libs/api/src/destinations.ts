import type { Static } from '@sinclair/typebox';
import type { Redis } from 'ioredis';
import type { Field } from '@subpack/config';
import { parseStorageUrl, type StorageRoots } from '@subpack/storage';
import { problem } from './http/problem';
import type { DestinationSchema } from './schemas';

export type Destination = Static<typeof DestinationSchema>;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const NAME_RULE = '1-64 letters, digits, ".", "_" or "-", starting with a letter or digit';

function kindOf(url: string): Destination['kind'] {
  const scheme = parseStorageUrl(url, 'destination').scheme;
  if (scheme === 'file' || scheme === 's3' || scheme === 'oss') return scheme;
  throw new Error(`${url} is not a file://, s3:// or oss:// prefix`);
}

/** `name=url` pairs, comma-separated: the destinations operators may choose, each a prefix inside the target roots. */
export const destinationsField = (env: string): Field<Map<string, string>> => ({
  env,
  describe: 'comma-separated name=url pairs (e.g. releases=s3://bucket/releases,local=file:///srv/out), each inside SUBPACK_TARGET_ROOTS',
  parse: (raw) => {
    const out = new Map<string, string>();
    for (const pair of raw.split(',').map((p) => p.trim()).filter(Boolean)) {
      const at = pair.indexOf('=');
      const name = pair.slice(0, at);
      const url = pair.slice(at + 1);
      if (at <= 0 || !NAME.test(name)) throw new Error(`${JSON.stringify(pair)} must be name=url with a name of ${NAME_RULE}`);
      if (out.has(name)) throw new Error(`names destination ${name} twice`);
      kindOf(url);
      out.set(name, url);
    }
    return out;
  },
  default: new Map(),
});

/** Configuration problems the field alone cannot see: a destination outside the target roots. */
export function destinationProblems(configured: ReadonlyMap<string, string>, roots: StorageRoots): string[] {
  return [...configured].filter(([, url]) => !roots.admits(url)).map(([name, url]) => `SUBPACK_API_DESTINATIONS: ${name}=${url} is outside SUBPACK_TARGET_ROOTS`);
}

/**
 * Where tasks may write: configured destinations, plus those an admin adds (kept in Redis). People pick one by name;
 * nobody types a target URL, so nothing outside the roots can be asked for.
 */
export class Destinations {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly configured: ReadonlyMap<string, string>,
    private readonly roots: StorageRoots,
  ) {}

  private key(): string {
    return `${this.prefix}api:destinations`;
  }

  async list(): Promise<Destination[]> {
    const added = await this.redis.hgetall(this.key());
    const out: Destination[] = [...this.configured].map(([name, url]) => ({ name, url, kind: kindOf(url), source: 'configured' as const }));
    for (const [name, url] of Object.entries(added).sort()) {
      if (!this.configured.has(name) && this.roots.admits(url)) out.push({ name, url, kind: kindOf(url), source: 'added' });
    }
    return out;
  }

  async get(name: string): Promise<Destination> {
    const found = (await this.list()).find((d) => d.name === name);
    if (!found) throw problem('NOT_FOUND', `no destination ${JSON.stringify(name)}; GET /api/v1/destinations lists them`);
    return found;
  }

  async add(name: string, url: string): Promise<Destination> {
    if (!NAME.test(name)) throw problem('INVALID_INPUT', `name: must be ${NAME_RULE}`);
    let kind: Destination['kind'];
    try {
      kind = kindOf(url);
    } catch (err) {
      throw problem('INVALID_INPUT', `url: ${(err as Error).message}`);
    }
    if (!this.roots.admits(url)) throw problem('OUTSIDE_ROOTS', `url: ${url} is outside the target roots (SUBPACK_TARGET_ROOTS)`);
    if (this.configured.has(name) || (await this.redis.hsetnx(this.key(), name, url)) === 0) throw problem('ALREADY_EXISTS', `a destination named ${name} exists`);
    return { name, url, kind, source: 'added' };
  }

  async remove(name: string): Promise<void> {
    if (this.configured.has(name)) throw problem('CONFLICT', `${name} comes from SUBPACK_API_DESTINATIONS; change the configuration to remove it`);
    if ((await this.redis.hdel(this.key(), name)) === 0) throw problem('NOT_FOUND', `no destination ${JSON.stringify(name)}`);
  }
}
