import { escapeUnsafe } from '@subpack/contracts';
import { isBadInput } from '@subpack/rules';
import { inspectCommand } from './commands/inspect';
import { packCommand } from './commands/pack';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lifetime } from './lifetime';
import { USAGE, commandUsage } from './usage';

type Command = (argv: string[]) => Promise<number>;

// The broker commands load amqplib and ioredis only when used, so `pack` starts fast.
const COMMANDS: Record<string, Command> = {
  inspect: inspectCommand,
  pack: packCommand,
  submit: async (argv) => (await import('./commands/submit.js')).submitCommand(argv),
  status: async (argv) => (await import('./commands/status.js')).statusCommand(argv),
  parked: async (argv) => (await import('./commands/parked.js')).parkedCommand(argv),
  retry: async (argv) => (await import('./commands/retry.js')).retryCommand(argv),
  cancel: async (argv) => (await import('./commands/cancel.js')).cancelCommand(argv),
  notify: async (argv) => (await import('./commands/notify.js')).notifyCommand(argv),
  serve: async (argv) => (await import('./commands/serve.js')).serveCommand(argv),
  api: async (argv) => (await import('./commands/api.js')).apiCommand(argv),
};

/** Errors a person can act on get one line; anything else is a bug and keeps its stack under SUBPACK_DEBUG. */
export function describeError(err: unknown): { message: string; code: number } {
  // Bad arguments, APKs, channel lists, storage URLs and settings, missing buckets or keys, refused credentials.
  if (isBadInput(err)) return { message: err.message, code: 2 };
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && 'code' in e && typeof e.code === 'string') {
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' || e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      // node's messages for these span lines ("argument is ambiguous.\nDid you forget…"): one line reads better.
      return { message: `${e.message.split('\n').join(' ')}; see subpack --help`, code: 2 };
    }
    const path = e.path ? `${e.path}: ` : '';
    if (e.code === 'ENOENT') return { message: `${path}no such file or directory`, code: 2 };
    if (e.code === 'EACCES' || e.code === 'EPERM') return { message: `${path}permission denied`, code: 2 };
    if (e.code === 'EISDIR') return { message: `${path}is a directory, not a file`, code: 2 };
  }
  return { message: err instanceof Error ? err.message : String(err), code: 1 };
}

const HELP_FLAGS = new Set(['--help', '-h']);

/** Help is asked for only before `--`: after it, `--help` is an ordinary argument. */
function asksForHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((a) => HELP_FLAGS.has(a));
}

function version(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || HELP_FLAGS.has(name) || name === 'help') {
    const usage = name === 'help' && rest[0] ? commandUsage(rest[0]) : undefined;
    process.stdout.write(usage ?? USAGE);
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`subpack ${version()}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`subpack: unknown command ${JSON.stringify(name)}\n\n${USAGE}`);
    return 2;
  }
  if (asksForHelp(rest)) {
    process.stdout.write(commandUsage(name) ?? USAGE);
    return 0;
  }
  try {
    return await command(rest);
  } catch (err) {
    const { message, code } = describeError(err);
    process.stderr.write(`subpack: ${escapeUnsafe(message)}\n`);
    if (process.env.SUBPACK_DEBUG && err instanceof Error) process.stderr.write(`${err.stack ?? ''}\n`);
    return code;
  }
}

/** The status a shell shows for a Unix tool stopped by SIGPIPE (128 + 13). */
export const EXIT_BROKEN_PIPE = 141;

/**
 * A reader that went away (`subpack status … | head -1`) ends the command at once and quietly, as SIGPIPE ends a Unix
 * tool: Node ignores SIGPIPE, so the write fails with EPIPE instead.
 */
function exitQuietlyOnBrokenPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT_BROKEN_PIPE);
    throw err;
  });
}

/** Entry point for bin/subpack.js: runs with process.argv and sets the exit code. */
export function run(): void {
  exitQuietlyOnBrokenPipe(process.stdout);
  exitQuietlyOnBrokenPipe(process.stderr);
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // A request given up at its timeout may leave a library waiting on timers of its own (a publish that would be
      // retried, a socket that does not close): the command is over, so the process does not wait for them.
      if (!lifetime.serving) setTimeout(() => process.exit(code), 1000).unref();
    },
    (err: unknown) => {
      process.stderr.write(`subpack: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
