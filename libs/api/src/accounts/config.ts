import { readFileSync } from 'node:fs';
import { ConfigError, int, type ConfigOf, type Field } from '@subpack/config';
import { NAME_RULE, isValidName, passwordProblem, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './policy';
import type { SessionOptions } from './sessions';

const PASSWORD_RULE = `a password of ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`;

/** A password file holds the password and, as editors and `echo` leave it, perhaps one line end. */
function readPasswordFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const password = text.replace(/\r?\n$/, '');
  const problem = passwordProblem(password);
  if (problem !== undefined) throw new Error(`holds a password that ${problem}`);
  return password;
}

export const ACCOUNTS_CONFIG = {
  /** With a password: the admin created at start while there is no admin at all. */
  adminName: {
    env: 'SUBPACK_API_ADMIN',
    describe: `user name of the first admin, created at start when no admin exists (${NAME_RULE})`,
    optional: true,
    parse: (raw) => {
      if (!isValidName(raw)) throw new Error(`is not a valid user name: use ${NAME_RULE}`);
      return raw;
    },
  } as Field<string | undefined>,
  adminPassword: {
    env: 'SUBPACK_API_ADMIN_PASSWORD',
    describe: `${PASSWORD_RULE} for SUBPACK_API_ADMIN (or use SUBPACK_API_ADMIN_PASSWORD_FILE)`,
    optional: true,
    secret: true,
    parse: (raw) => {
      const problem = passwordProblem(raw);
      if (problem !== undefined) throw new Error(`${problem}`);
      return raw;
    },
  } as Field<string | undefined>,
  adminPasswordFile: {
    env: 'SUBPACK_API_ADMIN_PASSWORD_FILE',
    describe: `path of a file holding ${PASSWORD_RULE} for SUBPACK_API_ADMIN (e.g. a mounted secret)`,
    optional: true,
    parse: readPasswordFile,
  } as Field<string | undefined>,
  sessionHours: int('SUBPACK_API_SESSION_HOURS', 12, 1, 24 * 30),
  sessionIdleMinutes: int('SUBPACK_API_SESSION_IDLE_MINUTES', 120, 1, 24 * 60 * 30),
  loginMaxFailures: int('SUBPACK_API_LOGIN_MAX_FAILURES', 10, 1, 1000),
  loginWindowMinutes: int('SUBPACK_API_LOGIN_WINDOW_MINUTES', 15, 1, 24 * 60),
};

export type AccountsConfig = ConfigOf<typeof ACCOUNTS_CONFIG>;

export interface FirstAdmin {
  name: string;
  password: string;
}

/**
 * The first admin the configuration asks for, or undefined when it asks for none. The variables must come as a
 * pair; a half-set pair is a ConfigError naming what is missing (never the password).
 */
export function firstAdminFrom(config: Pick<AccountsConfig, 'adminName' | 'adminPassword' | 'adminPasswordFile'>): FirstAdmin | undefined {
  const { adminName, adminPassword, adminPasswordFile } = config;
  if (adminPassword !== undefined && adminPasswordFile !== undefined) {
    throw new ConfigError(['SUBPACK_API_ADMIN_PASSWORD and SUBPACK_API_ADMIN_PASSWORD_FILE are both set; set only one']);
  }
  const password = adminPassword ?? adminPasswordFile;
  if (adminName === undefined && password === undefined) return undefined;
  if (adminName === undefined) {
    throw new ConfigError([`${adminPassword !== undefined ? 'SUBPACK_API_ADMIN_PASSWORD' : 'SUBPACK_API_ADMIN_PASSWORD_FILE'} is set but SUBPACK_API_ADMIN is not; set the admin's user name too`]);
  }
  if (password === undefined) {
    throw new ConfigError(['SUBPACK_API_ADMIN is set without a password; set SUBPACK_API_ADMIN_PASSWORD_FILE (preferred) or SUBPACK_API_ADMIN_PASSWORD']);
  }
  return { name: adminName, password };
}

export function sessionOptionsFrom(config: Pick<AccountsConfig, 'sessionHours' | 'sessionIdleMinutes' | 'loginMaxFailures' | 'loginWindowMinutes'>): SessionOptions {
  return {
    absoluteMs: config.sessionHours * 3_600_000,
    idleMs: config.sessionIdleMinutes * 60_000,
    loginFailures: config.loginMaxFailures,
    loginWindowMs: config.loginWindowMinutes * 60_000,
  };
}
