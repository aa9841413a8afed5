import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import { quoted } from '@subpack/rules';
import { AccountError } from './errors';
import { AccountKeys } from './keys';
import { checkRole, checkTokenName } from './policy';
import type { Principal } from './principal';
import { isRole, type Role } from './roles';
import { randomSecret, sha256Hex } from './secrets';
import { touchIfExists } from './touch';

/** An API token as listed: never its secret nor the secret's hash. Times are ISO 8601. */
export interface ApiToken {
  id: string;
  name: string;
  role: Role;
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

/** What creating a token returns: the only time the secret is shown. */
export interface CreatedToken extends ApiToken {
  token: string;
}

export const TOKEN_PREFIX = 'spk_';
const TOKEN_PATTERN = /^spk_[A-Za-z0-9_-]{43}$/;
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** lastUsedAt is written at most this often per token, so a busy machine client does not write on every request. */
const LAST_USED_RESOLUTION_MS = 60_000;

function parseExpiry(expiresAt: Date | string | undefined, now: number): number | undefined {
  if (expiresAt === undefined) return undefined;
  const ms = expiresAt instanceof Date ? expiresAt.getTime() : Date.parse(expiresAt);
  if (Number.isNaN(ms)) throw new AccountError('BAD_EXPIRY', `token expiry ${quoted(String(expiresAt))} is not a date and time (ISO 8601)`);
  if (ms <= now) throw new AccountError('BAD_EXPIRY', `token expiry ${new Date(ms).toISOString()} is not in the future`);
  return ms;
}

function toToken(key: string, record: Record<string, string>): { token: ApiToken; secretHash: string } {
  const { id, name, role, createdBy, createdAt, expiresAt, lastUsedAt, secretHash } = record;
  if (id === undefined || name === undefined || !isRole(role) || createdAt === undefined || secretHash === undefined) {
    throw new Error(`${key}: damaged token record (fields ${Object.keys(record).sort().join(', ')})`);
  }
  return {
    token: { id, name, role, createdBy: createdBy ?? '', createdAt, expiresAt: expiresAt || null, lastUsedAt: lastUsedAt || null },
    secretHash,
  };
}

/** Machine credentials: `Authorization: Bearer spk_…`, stored only as the SHA-256 of the secret. */
export class ApiTokens {
  private readonly keys: AccountKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new AccountKeys(prefix);
  }

  /** `expiresAt` unset: the token works until revoked. `by` is kept as createdBy. */
  async create(input: { name: string; role: string; expiresAt?: Date | string | undefined }, by: string): Promise<CreatedToken> {
    const name = checkTokenName(input.name);
    const role = checkRole(input.role);
    const now = Date.now();
    const expiresMs = parseExpiry(input.expiresAt, now);
    const id = randomBytes(8).toString('hex');
    const secret = `${TOKEN_PREFIX}${randomSecret()}`;
    const secretHash = sha256Hex(secret);
    const token: ApiToken = {
      id,
      name,
      role,
      createdBy: by,
      createdAt: new Date(now).toISOString(),
      expiresAt: expiresMs === undefined ? null : new Date(expiresMs).toISOString(),
      lastUsedAt: null,
    };
    const key = this.keys.token(id);
    const byHash = this.keys.tokenByHash(secretHash);
    const tx = this.redis
      .multi()
      .hset(key, { id, name, role, createdBy: by, createdAt: token.createdAt, expiresAt: token.expiresAt ?? '', secretHash })
      .set(byHash, id)
      .sadd(this.keys.tokens(), id);
    // Redis forgets an expired token by itself; list() drops its id from the index.
    if (expiresMs !== undefined) tx.pexpireat(key, expiresMs).pexpireat(byHash, expiresMs);
    await tx.exec();
    return { ...token, token: secret };
  }

  /** Every token that has not expired or been revoked, oldest first. */
  async list(): Promise<ApiToken[]> {
    const ids = await this.redis.smembers(this.keys.tokens());
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.keys.token(id));
    const replies = (await pipeline.exec()) ?? [];
    const tokens: ApiToken[] = [];
    const gone: string[] = [];
    replies.forEach(([err, record], i) => {
      if (err) throw err;
      const id = ids[i] ?? '';
      const fields = record as Record<string, string>;
      if (Object.keys(fields).length === 0) gone.push(id);
      else tokens.push(toToken(this.keys.token(id), fields).token);
    });
    if (gone.length > 0) await this.redis.srem(this.keys.tokens(), ...gone);
    return tokens.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  async get(id: string): Promise<ApiToken | undefined> {
    return (await this.record(id))?.token;
  }

  /** Takes effect on the token's next request. UNKNOWN_TOKEN when there is no such token (or it already expired). */
  async revoke(id: string): Promise<ApiToken> {
    const found = await this.record(id);
    if (!found) throw new AccountError('UNKNOWN_TOKEN', `no API token with id ${quoted(id)}`);
    await this.redis.multi().del(this.keys.token(id)).del(this.keys.tokenByHash(found.secretHash)).srem(this.keys.tokens(), id).exec();
    return found.token;
  }

  /** The caller behind an Authorization header value, or null (no bearer token, unknown, revoked or expired). */
  async authenticateBearer(headerValue: string | undefined): Promise<Principal | null> {
    const secret = BEARER.exec(headerValue ?? '')?.[1];
    if (secret === undefined || !TOKEN_PATTERN.test(secret)) return null;
    const secretHash = sha256Hex(secret);
    const id = await this.redis.get(this.keys.tokenByHash(secretHash));
    const found = id === null ? undefined : await this.record(id);
    // The hash check guards against an index entry left pointing at a token that was since replaced.
    if (!found || found.secretHash !== secretHash) return null;
    const now = Date.now();
    if (found.token.expiresAt !== null && Date.parse(found.token.expiresAt) <= now) return null;
    if (found.token.lastUsedAt === null || now - Date.parse(found.token.lastUsedAt) >= LAST_USED_RESOLUTION_MS) {
      await touchIfExists(this.redis, this.keys.token(found.token.id), 'lastUsedAt', new Date(now).toISOString());
    }
    return { kind: 'token', name: found.token.name, role: found.token.role, tokenId: found.token.id };
  }

  private async record(id: string): Promise<{ token: ApiToken; secretHash: string } | undefined> {
    // Ids are ours (16 hex digits); anything else cannot name a token and never reaches Redis.
    if (!/^[0-9a-f]{16}$/.test(id)) return undefined;
    const key = this.keys.token(id);
    const record = await this.redis.hgetall(key);
    return Object.keys(record).length === 0 ? undefined : toToken(key, record);
  }
}
