import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's framework-res.apk: the aapt `-I` include, and a real 45 MB APK with ~7,600 entries. */
export const FRAMEWORK_RES = process.env.SUBPACK_FRAMEWORK_RES ?? '/usr/share/android-framework-res/framework-res.apk';

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a tool and fails with its name, arguments and output, so a broken fixture says what went wrong. */
export function run(file: string, args: readonly string[], opts: { cwd?: string; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { cwd: opts.cwd, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`${file} ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
      } else {
        resolve({ stdout, stderr });
      }
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Throws one actionable message when a tool the APK fixtures need is missing. */
export function requireAndroidTools(): void {
  const missing: string[] = [];
  for (const tool of ['aapt', 'apksigner', 'zipalign', 'keytool']) {
    const found = (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(join(dir, tool)));
    if (!found) missing.push(tool);
  }
  if (!existsSync(FRAMEWORK_RES)) missing.push(FRAMEWORK_RES);
  if (missing.length > 0) {
    throw new Error(
      `missing Android tools: ${missing.join(', ')}; run \`npm run setup\` ` +
        '(apt-get install apksigner aapt zipalign android-framework-res default-jdk-headless)',
    );
  }
}

export async function makeTempDir(prefix = 'subpack-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
