import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { escapeUnsafe } from '@subpack/contracts';
import { Users, type User } from '@subpack/api';
import { COMMAND_USAGE, UsageError } from '../usage';
import { BROKER_TIMEOUT_OPTION, brokerTimeoutMs, withRedis } from './broker';

/** The `api user` lines of the api command's synopsis (one text, in usage.ts). */
const API_USER_USAGE = (COMMAND_USAGE['api']?.synopsis ?? '').split('\n').filter((line) => line.includes('api user')).join('\n');

/** A password longer than the API accepts is refused by it; this only keeps a runaway pipe from filling memory. */
const MAX_PASSWORD_INPUT_BYTES = 64 * 1024;

/**
 * `subpack api user …`: the HTTP API's users, edited in Redis directly (the way to make the first admin, or to get
 * back in when every admin is locked out). Passwords come from a file or stdin, never from the command line, where
 * other local users and the shell history could read them.
 */
export async function apiUserCommand(argv: string[]): Promise<number> {
  const [group, action, ...rest] = argv;
  if (group !== 'user' || action === undefined) throw new UsageError(`usage: ${API_USER_USAGE}`);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { role: { type: 'string' }, 'password-file': { type: 'string' }, json: { type: 'boolean', default: false }, ...BROKER_TIMEOUT_OPTION },
  });
  const by = actor();
  const withUsers = <T>(fn: (users: Users) => Promise<T>): Promise<T> => withRedis(brokerTimeoutMs(values), (redis, prefix) => fn(new Users(redis, prefix)));

  switch (action) {
    case 'add': {
      const name = onlyName(action, positionals);
      if (values.role === undefined) throw new UsageError('api user add needs --role admin, operator or viewer');
      const role = values.role;
      // Read (and checked) before connecting: a missing file fails without touching Redis.
      const password = await readPassword(values['password-file']);
      const user = await withUsers((users) => users.create({ name, role, password }, by));
      process.stdout.write(`created user ${escapeUnsafe(user.name)} (${user.role})\n`);
      return 0;
    }
    case 'list': {
      if (positionals.length > 0) throw new UsageError('api user list takes no arguments');
      const users = await withUsers((u) => u.list());
      if (values.json) for (const u of users) process.stdout.write(`${JSON.stringify(u)}\n`);
      else {
        process.stdout.write(users.map(formatUser).join(''));
        process.stderr.write(`${users.length} user(s)\n`);
      }
      return 0;
    }
    case 'role': {
      if (positionals.length !== 2) throw new UsageError('usage: subpack api user role <name> admin|operator|viewer');
      const [name, role] = positionals as [string, string];
      const user = await withUsers((users) => users.setRole(name, role, by));
      process.stdout.write(`user ${escapeUnsafe(user.name)} is now ${user.role}\n`);
      return 0;
    }
    case 'password': {
      const name = onlyName(action, positionals);
      const password = await readPassword(values['password-file']);
      const user = await withUsers((users) => users.setPassword(name, password, by));
      process.stdout.write(`set a new password for user ${escapeUnsafe(user.name)}; their sessions have ended\n`);
      return 0;
    }
    case 'disable':
    case 'enable': {
      const name = onlyName(action, positionals);
      const user = await withUsers((users) => (action === 'disable' ? users.disable(name, by) : users.enable(name, by)));
      process.stdout.write(`user ${escapeUnsafe(user.name)} is ${user.disabled ? 'disabled; their sessions have ended' : 'enabled'}\n`);
      return 0;
    }
    case 'remove': {
      const name = onlyName(action, positionals);
      await withUsers((users) => users.remove(name));
      process.stdout.write(`removed user ${escapeUnsafe(name)}\n`);
      return 0;
    }
    default:
      throw new UsageError(`unknown action ${JSON.stringify(action)}; usage: ${API_USER_USAGE}`);
  }
}

function onlyName(action: string, positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError(`api user ${action} takes exactly one user name`);
  return positionals[0]!;
}

function formatUser(u: User): string {
  const state = u.disabled ? ' (disabled)' : '';
  const login = u.lastLoginAt === null ? 'never logged in' : `last login ${u.lastLoginAt}`;
  return `${escapeUnsafe(u.name)}  ${u.role}${state}  created ${u.createdAt} by ${escapeUnsafe(u.createdBy)}, ${login}\n`;
}

/** The file's or stdin's content without one final line end (as `echo` and editors leave it). */
async function readPassword(file: string | undefined): Promise<string> {
  const text = file !== undefined ? await readFile(file, 'utf8') : await readStdin();
  return text.replace(/\r?\n$/, '');
}

async function readStdin(): Promise<string> {
  // Typed at a terminal the password would echo; asking for a pipe or a file keeps it off the screen.
  if (process.stdin.isTTY) {
    throw new UsageError('give the password on stdin (e.g. from a password manager: ... | subpack api user add ...) or with --password-file <path>');
  }
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > MAX_PASSWORD_INPUT_BYTES) throw new UsageError(`the password on stdin is longer than ${MAX_PASSWORD_INPUT_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Recorded as createdBy/updatedBy: "cli:" and the local user, which no API user name can look like. */
function actor(): string {
  try {
    return `cli:${userInfo().username || 'unknown'}`;
  } catch {
    return 'cli:unknown';
  }
}
