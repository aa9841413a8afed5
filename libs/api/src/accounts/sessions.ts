import { isIP } from 'node:net';
import type Redis from 'ioredis';
import { AccountError } from './errors';
import { FailureWindow } from './failure-window';
import { AccountKeys } from './keys';
import { verifyAgainstDummy, verifyPassword } from './password-hash';
import { canonicalName, isValidName, PASSWORD_MAX_LENGTH } from './policy';
import type { Principal } from './principal';
import { randomSecret, SECRET_PATTERN, sha256Hex } from './secrets';
import type { User, Users } from './users';

export interface SessionOptions {
  /** A session ends this long after login, however busy. */
  absoluteMs: number;
  /** A session ends after this long without a request. */
  idleMs: number;
  /** Failed logins allowed per user name and per address within `loginWindowMs`. */
  loginFailures: number;
  loginWindowMs: number;
}

export const DEFAULT_SESSION_OPTIONS: SessionOptions = {
  absoluteMs: 12 * 3_600_000,
  idleMs: 2 * 3_600_000,
  loginFailures: 10,
  loginWindowMs: 15 * 60_000,
};

export interface LoginResult {
  /** Goes into the session cookie only; it is never stored, and never returned in a body. */
  sessionId: string;
  csrfToken: string;
  user: User;
  /** When the session ends at the latest (ISO 8601). */
  expiresAt: string;
}

const BAD_CREDENTIALS = 'wrong user name or password';

/** An address as a key part: IPv4-mapped IPv6 is the IPv4 address, anything that is not an address is hashed. */
function addressKey(from: string): string {
  const address = from.trim().toLowerCase().replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
  return isIP(address) !== 0 ? address : `other-${sha256Hex(address).slice(0, 32)}`;
}

/** Browser sessions: login with a password, a cookie id stored only as its hash, idle and absolute expiry. */
export class Sessions {
  private readonly keys: AccountKeys;
  private readonly failures: FailureWindow;
  private readonly options: SessionOptions;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly users: Users,
    options: Partial<SessionOptions> = {},
  ) {
    this.keys = new AccountKeys(prefix);
    this.options = { ...DEFAULT_SESSION_OPTIONS, ...options };
    this.failures = new FailureWindow(redis, { limit: this.options.loginFailures, windowMs: this.options.loginWindowMs });
  }

  /**
   * Refused with BAD_CREDENTIALS whatever was wrong (so names cannot be probed), or RATE_LIMITED once the user name or
   * the address `from` has had too many failures.
   */
  async login(name: string, password: string, from: string): Promise<LoginResult> {
    const limited = [this.keys.loginFailures('ip', addressKey(from))];
    if (isValidName(name)) limited.push(this.keys.loginFailures('user', canonicalName(name)));
    const attempt = await this.failures.begin(limited);
    if ('waitMs' in attempt) {
      const seconds = Math.ceil(attempt.waitMs / 1000);
      throw new AccountError('RATE_LIMITED', `too many failed logins; try again in ${seconds} s`, seconds);
    }
    const credentials = isValidName(name) ? await this.users.credentials(name) : undefined;
    let valid: boolean;
    // Longer than any password that can be set (in UTF-16 units): not worth hashing.
    if (password.length > PASSWORD_MAX_LENGTH * 2) valid = false;
    else if (credentials) valid = await verifyPassword(password, credentials.passwordHash);
    else valid = await verifyAgainstDummy(password);
    if (!credentials || !valid || credentials.user.disabled) throw new AccountError('BAD_CREDENTIALS', BAD_CREDENTIALS);
    await this.failures.succeeded(attempt, limited.slice(1));

    const sessionId = randomSecret();
    const csrfToken = randomSecret();
    const now = Date.now();
    const expiresAt = now + this.options.absoluteMs;
    const key = this.keys.session(sha256Hex(sessionId));
    await this.redis
      .multi()
      .hset(key, { user: canonicalName(credentials.user.name), stamp: credentials.stamp, csrfToken, createdAt: now, expiresAt, from })
      .pexpire(key, Math.min(this.options.idleMs, this.options.absoluteMs))
      .exec();
    await this.users.recordLogin(credentials.user.name, new Date(now));
    return { sessionId, csrfToken, user: { ...credentials.user, lastLoginAt: new Date(now).toISOString() }, expiresAt: new Date(expiresAt).toISOString() };
  }

  /**
   * The caller behind a session cookie's value, or null when there is no such session, it has expired, or its user
   * was removed, disabled or given a new password since. Each use starts the idle period again. The role is the
   * user's current one, so a demotion takes effect on the next request.
   */
  async authenticateSession(cookieValue: string | undefined): Promise<Principal | null> {
    if (cookieValue === undefined || !SECRET_PATTERN.test(cookieValue)) return null;
    const handle = sha256Hex(cookieValue);
    const key = this.keys.session(handle);
    const record = await this.redis.hgetall(key);
    const { user, stamp, csrfToken, expiresAt } = record;
    if (user === undefined || csrfToken === undefined) return null;
    const remaining = Number(expiresAt) - Date.now();
    const credentials = remaining > 0 ? await this.users.credentials(user) : undefined;
    if (!credentials || credentials.user.disabled || credentials.stamp !== stamp) {
      await this.redis.del(key);
      return null;
    }
    await this.redis.pexpire(key, Math.min(this.options.idleMs, remaining));
    return { kind: 'session', name: credentials.user.name, role: credentials.user.role, sessionId: handle, csrfToken };
  }

  /** Ends the session behind a cookie value; an unknown or malformed value is ignored. */
  async logout(cookieValue: string | undefined): Promise<void> {
    if (cookieValue === undefined || !SECRET_PATTERN.test(cookieValue)) return;
    await this.redis.del(this.keys.session(sha256Hex(cookieValue)));
  }
}
