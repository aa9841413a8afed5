import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { resolve } from 'node:path';

export const BIN = resolve(__dirname, '..', 'bin', 'subpack.js');

export interface CliRun {
  /** The exit status, or 128 + the signal number when a signal ended it (as a shell shows it). */
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real CLI binary. `env` is added to the inherited environment; `closedStdout` closes the reading end of its
 * stdout before it starts, as `| head` does once it has what it wants.
 */
export function runCli(args: readonly string[], opts: { env?: Record<string, string>; closedStdout?: boolean } = {}): Promise<CliRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    if (opts.closedStdout) child.stdout.destroy();
    else child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code, signal) => done({ code: code ?? 128 + (signal ? constants.signals[signal] : 0), stdout, stderr }));
  });
}
