import { runCommand, type CommandResult } from './command';
import type { TaskOutcome } from './events';
import { CLI_BIN, REPO_ROOT } from './paths';

/** Runs `node cli/bin/subpack.js <args>` with the given service environment (AMQP_URL, REDIS_URL, prefix). */
export function subpack(args: readonly string[], env: Record<string, string> = {}): Promise<CommandResult> {
  return runCommand(process.execPath, [CLI_BIN, ...args], { env: { ...process.env, ...env }, cwd: REPO_ROOT, timeoutMs: 60_000 });
}

/** Runs the CLI with --json and parses stdout; the error carries the exit code and output. */
export async function subpackJson(args: readonly string[], env: Record<string, string> = {}): Promise<unknown> {
  const result = await subpack([...args, '--json'], env);
  if (result.code !== 0) {
    throw new Error(`subpack ${args.join(' ')} --json exited ${result.code ?? result.signal}:\n${result.stdout}\n${result.stderr}`);
  }
  try {
    return JSON.parse(result.stdout) as unknown;
  } catch {
    throw new Error(`subpack ${args.join(' ')} --json printed no JSON:\n${result.stdout}\n${result.stderr}`);
  }
}

/** Runs the CLI with --json where it prints one JSON object per line (e.g. `parked list`). */
export async function subpackJsonLines(args: readonly string[], env: Record<string, string> = {}): Promise<unknown[]> {
  const result = await subpack([...args, '--json'], env);
  if (result.code !== 0) {
    throw new Error(`subpack ${args.join(' ')} --json exited ${result.code ?? result.signal}:\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as unknown;
      } catch {
        throw new Error(`subpack ${args.join(' ')} --json printed a line that is not JSON: ${line}`);
      }
    });
}

export interface InspectedChannel {
  format: string;
  channel: string;
  extras?: Record<string, string>;
}

/** The channel entries `subpack inspect --json` reads from an APK. */
export async function inspectChannels(apk: string): Promise<InspectedChannel[]> {
  const info = (await subpackJson(['inspect', apk])) as { channels?: InspectedChannel[] };
  if (!Array.isArray(info.channels)) throw new Error(`subpack inspect ${apk} --json has no channels array`);
  return info.channels;
}

/** What `subpack status <id> --json` reports (the Redis task state). */
export interface TaskStatusView extends TaskOutcome {
  taskId?: string;
}

export async function taskStatus(taskId: string, env: Record<string, string>): Promise<TaskStatusView> {
  return (await subpackJson(['status', taskId], env)) as TaskStatusView;
}
