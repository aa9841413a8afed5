import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import { quoted } from '@subpack/rules';
import { AccountError } from './errors';
import { AccountKeys } from './keys';
import { hashPassword } from './password-hash';
import { canonicalName, checkPassword, checkRole, checkUserName } from './policy';
import { isRole, type Role } from './roles';
import { touchIfExists } from './touch';

/** A user as listed and returned: never the password hash. Times are ISO 8601. */
export interface User {
  name: string;
  role: Role;
  disabled: boolean;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
  lastLoginAt: string | null;
}

/** What a login checks, for the session store only. */
export interface UserCredentials {
  user: User;
  passwordHash: string;
  /** Changes with the password and on disabling: sessions made under an older stamp stop working. */
  stamp: string;
}

// Creating a user and every change that can take away an admin run as one script each, so two admins demoting each
// other at the same moment cannot leave none.
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('SADD', KEYS[2], ARGV[1])
if ARGV[2] == 'admin' then redis.call('SADD', KEYS[3], ARGV[1]) end
return 1
`;

const UPDATE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'UNKNOWN_USER' end
local remove = ARGV[2] == 'remove'
local role = ARGV[3] ~= '' and ARGV[3] or redis.call('HGET', KEYS[1], 'role')
local disabled = ARGV[4] ~= '' and ARGV[4] or redis.call('HGET', KEYS[1], 'disabled')
local admin = (not remove) and role == 'admin' and disabled == '0'
if not admin and redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 1 and redis.call('SCARD', KEYS[3]) <= 1 then
  return 'LAST_ADMIN'
end
if remove then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[2], ARGV[1])
  redis.call('SREM', KEYS[3], ARGV[1])
  return 'OK'
end
redis.call('HSET', KEYS[1], 'role', role, 'disabled', disabled, unpack(ARGV, 5))
if admin then redis.call('SADD', KEYS[3], ARGV[1]) else redis.call('SREM', KEYS[3], ARGV[1]) end
return 'OK'
`;

interface Change {
  mode: 'update' | 'remove';
  role?: Role;
  disabled?: boolean;
  fields?: Record<string, string>;
}

function newStamp(): string {
  return randomBytes(9).toString('base64url');
}

function toUser(key: string, record: Record<string, string>): UserCredentials {
  const { name, role, disabled, createdAt, createdBy, updatedAt, updatedBy, lastLoginAt, passwordHash, stamp } = record;
  if (name === undefined || !isRole(role) || createdAt === undefined || updatedAt === undefined || passwordHash === undefined || stamp === undefined) {
    throw new Error(`${key}: damaged user record (fields ${Object.keys(record).sort().join(', ')})`);
  }
  return {
    user: { name, role, disabled: disabled === '1', createdAt, createdBy: createdBy ?? '', updatedAt, updatedBy: updatedBy ?? '', lastLoginAt: lastLoginAt ?? null },
    passwordHash,
    stamp,
  };
}

/** The API's users in Redis: roles, scrypt password hashes, and the rule that one enabled admin always remains. */
export class Users {
  private readonly keys: AccountKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new AccountKeys(prefix);
  }

  /** `by` is who asks (a user or token name, or "configuration"), kept as createdBy. */
  async create(input: { name: string; role: string; password: string }, by: string): Promise<User> {
    const name = checkUserName(input.name);
    const role = checkRole(input.role);
    const passwordHash = await hashPassword(checkPassword(input.password));
    const canonical = canonicalName(name);
    const now = new Date().toISOString();
    const fields = { name, role, disabled: '0', createdAt: now, createdBy: by, updatedAt: now, updatedBy: by, passwordHash, stamp: newStamp() };
    const created = await this.redis.eval(CREATE, 3, this.keys.user(canonical), this.keys.users(), this.keys.admins(), canonical, role, ...Object.entries(fields).flat());
    if (created !== 1) throw new AccountError('USER_EXISTS', `user ${quoted(name)} already exists (names are compared without regard to case)`);
    return { name, role, disabled: false, createdAt: now, createdBy: by, updatedAt: now, updatedBy: by, lastLoginAt: null };
  }

  /** Every user, by name. */
  async list(): Promise<User[]> {
    const names = (await this.redis.smembers(this.keys.users())).sort();
    const pipeline = this.redis.pipeline();
    for (const n of names) pipeline.hgetall(this.keys.user(n));
    const replies = (await pipeline.exec()) ?? [];
    const users: User[] = [];
    replies.forEach(([err, record], i) => {
      if (err) throw err;
      const fields = record as Record<string, string>;
      // A user removed between the two reads is simply not listed.
      if (Object.keys(fields).length > 0) users.push(toUser(this.keys.user(names[i] ?? ''), fields).user);
    });
    return users;
  }

  async get(name: string): Promise<User | undefined> {
    return (await this.credentials(name))?.user;
  }

  /** The user, or UNKNOWN_USER naming who was asked for. */
  async existing(name: string): Promise<User> {
    const user = await this.get(name);
    if (!user) throw unknownUser(name);
    return user;
  }

  async credentials(name: string): Promise<UserCredentials | undefined> {
    const key = this.keys.user(canonicalName(name));
    const record = await this.redis.hgetall(key);
    return Object.keys(record).length === 0 ? undefined : toUser(key, record);
  }

  async hasAdmin(): Promise<boolean> {
    return (await this.redis.scard(this.keys.admins())) > 0;
  }

  /** Refused with LAST_ADMIN when it would demote the only enabled admin. */
  async setRole(name: string, role: string, by: string): Promise<User> {
    return this.change(name, { mode: 'update', role: checkRole(role) }, by);
  }

  /** Ends the user's sessions. */
  async setPassword(name: string, password: string, by: string): Promise<User> {
    const passwordHash = await hashPassword(checkPassword(password));
    return this.change(name, { mode: 'update', fields: { passwordHash, stamp: newStamp() } }, by);
  }

  /** A disabled user cannot log in and their sessions end; the record stays for the audit trail. */
  async disable(name: string, by: string): Promise<User> {
    return this.change(name, { mode: 'update', disabled: true, fields: { stamp: newStamp() } }, by);
  }

  async enable(name: string, by: string): Promise<User> {
    return this.change(name, { mode: 'update', disabled: false }, by);
  }

  /** Refused with LAST_ADMIN for the only enabled admin. The user's sessions end with the record. */
  async remove(name: string): Promise<void> {
    await this.run(name, { mode: 'remove' }, '');
  }

  async recordLogin(name: string, at: Date): Promise<void> {
    await touchIfExists(this.redis, this.keys.user(canonicalName(name)), 'lastLoginAt', at.toISOString());
  }

  private async change(name: string, change: Change, by: string): Promise<User> {
    await this.run(name, change, by);
    return this.existing(name);
  }

  private async run(name: string, change: Change, by: string): Promise<void> {
    const canonical = canonicalName(name);
    const fields: Record<string, string> = change.mode === 'remove' ? {} : { ...change.fields, updatedAt: new Date().toISOString(), updatedBy: by };
    const disabled = change.disabled === undefined ? '' : change.disabled ? '1' : '0';
    const outcome = await this.redis.eval(
      UPDATE,
      3,
      this.keys.user(canonical),
      this.keys.users(),
      this.keys.admins(),
      canonical,
      change.mode,
      change.role ?? '',
      disabled,
      ...Object.entries(fields).flat(),
    );
    if (outcome === 'UNKNOWN_USER') throw unknownUser(name);
    if (outcome === 'LAST_ADMIN') {
      throw new AccountError('LAST_ADMIN', `user ${quoted(name)} is the only enabled admin; make another user admin first`);
    }
    if (outcome !== 'OK') throw new Error(`unexpected reply from Redis while changing user ${quoted(name)}: ${JSON.stringify(outcome)}`);
  }
}

function unknownUser(name: string): AccountError {
  return new AccountError('UNKNOWN_USER', `no user ${quoted(name)}`);
}
