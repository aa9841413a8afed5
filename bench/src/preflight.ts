// What each benchmark needs on the machine, checked (and, for Debian packages, installed) before it starts, so a
// fresh machine gets one line saying what was there, what was installed and what is missing, never a stack trace.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { FRAMEWORK_RES } from '@subpack/testing';

export interface Need {
  /** How the line names it. */
  readonly name: string;
  present(): Promise<boolean>;
  /** Debian package that provides it, installed with apt-get when missing. */
  readonly aptPackage?: string;
  /** What to do when it is missing and cannot be installed here. */
  readonly hint: string;
}

function onPath(command: string): boolean {
  if (command.includes('/')) return existsSync(command);
  return (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(join(dir, command)));
}

function command(name: string, aptPackage: string | undefined, hint: string, path = name): Need {
  return { name, present: () => Promise.resolve(onPath(path)), ...(aptPackage ? { aptPackage } : {}), hint };
}

function listening(name: string, url: string, defaultPort: number, hint: string): Need {
  const { hostname, port } = new URL(url);
  return {
    name,
    hint,
    present: () =>
      new Promise((resolve) => {
        const socket = connect({ host: hostname || '127.0.0.1', port: Number(port || defaultPort) });
        socket.setTimeout(2000);
        const done = (ok: boolean): void => {
          socket.destroy();
          resolve(ok);
        };
        socket.once('connect', () => done(true));
        socket.once('timeout', () => done(false));
        socket.once('error', () => done(false));
      }),
  };
}

export const AMQP_URL = process.env.SUBPACK_E2E_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const REDIS_URL = process.env.SUBPACK_E2E_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const NGINX = process.env.SUBPACK_BENCH_NGINX ?? '/usr/sbin/nginx';

const SETUP_HINT = 'run `npm run setup`';

/** Building the signed bench master: aapt, zipalign, apksigner, keytool and Debian's framework-res.apk. */
const ANDROID: readonly Need[] = [
  command('aapt', 'aapt', SETUP_HINT),
  command('zipalign', 'zipalign', SETUP_HINT),
  command('apksigner', 'apksigner', SETUP_HINT),
  command('keytool', 'default-jdk-headless', SETUP_HINT),
  { name: 'framework-res.apk', present: () => Promise.resolve(existsSync(FRAMEWORK_RES)), aptPackage: 'android-framework-res', hint: SETUP_HINT },
];

export const NEEDS = {
  android: ANDROID,
  cp: [command('cp', 'coreutils', 'install coreutils'), command('sync', 'coreutils', 'install coreutils')],
  nginx: [command('nginx', 'nginx', 'apt-get install nginx, or point SUBPACK_BENCH_NGINX at an nginx binary', NGINX)],
  moto: [command('moto_server', undefined, 'pip install "moto[server]"')],
  rabbitmq: [listening('RabbitMQ', AMQP_URL, 5672, `start RabbitMQ (${SETUP_HINT}) or set SUBPACK_E2E_AMQP_URL`)],
  redis: [listening('Redis', REDIS_URL, 6379, `start Redis (${SETUP_HINT}) or set SUBPACK_E2E_REDIS_URL`)],
} as const;

function aptInstall(packages: readonly string[]): string | null {
  if (!onPath('apt-get')) return 'apt-get is not available';
  const asRoot = process.getuid?.() === 0;
  if (!asRoot && !onPath('sudo')) return 'not root and no sudo';
  const run = (args: string[]): void => {
    const [file, ...rest] = asRoot ? args : ['sudo', '-n', ...args];
    execFileSync(file!, rest, { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  };
  try {
    run(['apt-get', 'update', '-qq']);
    run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...packages]);
    return null;
  } catch (err) {
    return `apt-get install ${packages.join(' ')} failed: ${(err as Error).message.split('\n')[0] ?? ''}`;
  }
}

/**
 * Checks every need of `bench`, installs the missing Debian packages, and prints one line saying so. When something is
 * still missing it prints what and how to get it, and exits with status 1.
 */
export async function preflight(bench: string, groups: readonly (readonly Need[])[]): Promise<void> {
  const needs = groups.flat();
  let missing: Need[] = [];
  for (const need of needs) if (!(await need.present())) missing.push(need);
  const installable = [...new Set(missing.flatMap((need) => (need.aptPackage ? [need.aptPackage] : [])))];
  let installed = '';
  if (installable.length > 0) {
    const failure = aptInstall(installable);
    const still: Need[] = [];
    for (const need of missing) if (!(await need.present())) still.push(need);
    const helped = [...new Set(missing.filter((need) => !still.includes(need)).flatMap((need) => (need.aptPackage ? [need.aptPackage] : [])))];
    if (failure) installed = ` (could not install ${installable.join(', ')}: ${failure})`;
    else if (helped.length > 0) installed = `; installed ${helped.join(', ')} with apt-get`;
    missing = still;
  }
  const names = needs.map((need) => need.name).join(', ');
  if (missing.length === 0) {
    process.stderr.write(`${bench}: needs ${names}: all present${installed}\n`);
    return;
  }
  const what = missing.map((need) => `${need.name} (${need.hint})`).join('; ');
  process.stderr.write(`${bench}: cannot run, missing ${what}${installed}\n`);
  process.exit(1);
}
